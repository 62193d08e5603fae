"""Baselines for switching (non-stationary) Bernoulli bandits (see :mod:`rl2.tasks.switching`).

Every policy speaks the :class:`~rl2.baselines.bandits.BanditPolicy` interface (``act`` on the
lifetime success/failure counts, ``observe`` the outcome), so :func:`run_switching_baseline` drives
the stationary bandit baselines of :mod:`rl2.baselines.bandits` as well as the ones made for change:

* ``sw_ucb``         sliding-window UCB (Garivier & Moulines 2011): UCB on the last ``window`` pulls
                     only, score = windowed mean + c·sqrt(ln min(t, window) / windowed pulls);
                     an arm absent from the window is pulled first. ``prior = a > 0`` adds a
                     pseudo-successes and a pseudo-failures to every arm instead of forcing those
                     pulls, as ``ucb1`` does (see :class:`SlidingWindowUCBPolicy`);
* ``discounted_ts``  discounted Thompson sampling (Raj & Kalyani 2017): Beta(S + 1, F + 1)
                     posteriors whose success and failure counts S, F decay by γ at every pull,
                     so old evidence fades (γ = 1 is Thompson sampling);
* ``changepoint_ucb`` the exact posterior of Bayesian online change-point detection (Adams &
                     MacKay 2007), a belief over the pull at which the arms in force were drawn at an
                     assumed chance ``hazard`` of a change before each pull; pulls the arm of highest
                     posterior mean + c·posterior standard deviation (see
                     :class:`ChangePointUCBPolicy`);
* ``random``, ``ucb1``, ``thompson``, ...  the stationary baselines, which never forget;
* ``oracle``         pulls the arm that is best at this pull, reading the TRUE probabilities. It is a
                     ceiling for reference, not a fair competitor: no learner can know the arms.

The outcome of every pull is ``u < p_t[arm]`` with the uniforms u [B, n] drawn from the generator
before any policy draw: all baselines run on the same tasks with the same seed then see the same
uniforms (common random numbers), so the oracle's total is at least any other policy's on every task.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import torch
from torch import Tensor

from rl2.baselines.bandits import (
    BANDIT_BASELINES,
    BANDIT_HPARAMS,
    BanditPolicy,
    argmax_random_ties,
    make_bandit_policy,
    play_policy,
)
from rl2.baselines.sampling import sample_beta
from rl2.tasks.switching import SwitchingBandit

__all__ = [
    "DEFAULT_SWITCHING_HPARAMS",
    "SWITCHING_BASELINES",
    "SWITCHING_HPARAMS",
    "make_switching_policy",
    "play_switching_baseline",
    "run_switching_baseline",
    "tune_switching_baseline",
]

#: The baselines compared with RL² on switching bandits (any name of BANDIT_BASELINES also runs).
SWITCHING_BASELINES: tuple[str, ...] = ("random", "ucb1", "thompson", "sw_ucb", "discounted_ts", "changepoint_ucb",
                                         "oracle")

#: Tuning grids of :func:`tune_switching_baseline`. A window of 100 or γ = 1 forgets nothing in
#: trials of 100 pulls: the grids contain the stationary algorithm, so tuning can only gain.
SWITCHING_HPARAMS: dict[str, dict[str, list[float]]] = {
    "random": {},
    "ucb1": BANDIT_HPARAMS["ucb1"],
    "thompson": {},
    "sw_ucb": {"window": [5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 70.0, 100.0],
               "c": [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5], "prior": [0.0, 1.0]},
    "discounted_ts": {"gamma": [0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0]},
    "changepoint_ucb": {"hazard": [0.0, 0.02, 0.05, 0.1, 0.2], "c": [0.0, 0.2, 0.5, 1.0, 2.0]},
    "oracle": {},
}

#: Values used for any hyperparameter of the switching-specific policies the caller does not pass.
DEFAULT_SWITCHING_HPARAMS: dict[str, dict[str, float]] = {
    "sw_ucb": {"window": 20.0, "c": 0.5, "prior": 0.0},
    "discounted_ts": {"gamma": 0.9},
    "changepoint_ucb": {"hazard": 0.05, "c": 0.5},
    "oracle": {},
}


class SlidingWindowUCBPolicy(BanditPolicy):
    """UCB on the last ``window`` pulls only (Garivier & Moulines 2011), with exploration constant c.

    ``prior = 0`` is the published rule: an arm with no pull in the window scores +inf, so with k
    arms at least k of every ``window`` pulls go to forced exploration. ``prior = a > 0`` scores
    (wins + a) / (pulls + 2a) + c·sqrt(ln(min(t, window) + 1) / (pulls + a)) instead (Beta-prior
    pseudo-counts, as :class:`~rl2.baselines.bandits.UCB1Policy`): no forced pulls, which pays
    in short windows with several arms.

    Keeps the trial's history so the pull that leaves the window can be subtracted: the windowed
    counts then cost O(k) per pull whatever the window.
    """

    def __init__(self, n: int, k: int, window: float, c: float, prior: float) -> None:
        super().__init__(n, k)
        if window < 1 or window != int(window):
            raise ValueError(f"window must be a whole number >= 1, got {window}")
        if c < 0.0 or prior < 0.0:
            raise ValueError(f"c and prior must be >= 0, got c={c}, prior={prior}")
        self.window, self.c, self.prior = int(window), c, prior

    def reset(self, batch: int, device: torch.device) -> None:
        self.t = 0
        self.history_arms = torch.zeros(batch, self.n, dtype=torch.int64, device=device)
        self.history_rewards = torch.zeros(batch, self.n, dtype=torch.float64, device=device)
        self.pulls = torch.zeros(batch, self.k, dtype=torch.float64, device=device)  # pulls inside the window
        self.wins = torch.zeros_like(self.pulls)  # rewards inside the window

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        if self.prior > 0.0:
            a = self.prior
            mean = (self.wins + a) / (self.pulls + 2.0 * a)
            bonus = self.c * torch.sqrt(math.log(min(t, self.window) + 1) / (self.pulls + a))
            return argmax_random_ties(mean + bonus, generator)
        tried = self.pulls.clamp(min=1.0)
        horizon = max(min(t, self.window), 1)  # log(1) = 0: no bonus before there is data
        scores = self.wins / tried + self.c * torch.sqrt(math.log(horizon) / tried)
        # An arm that left the window (or was never pulled) scores +inf: it is tried again.
        return argmax_random_ties(torch.where(self.pulls > 0, scores, math.inf), generator)

    def observe(self, actions: Tensor, rewards: Tensor) -> None:
        rewards = rewards.double()
        self.history_arms[:, self.t], self.history_rewards[:, self.t] = actions, rewards
        self._add(actions, rewards, +1.0)
        leaving = self.t - self.window  # the pull that just fell out of the window of the next act
        if leaving >= 0:
            self._add(self.history_arms[:, leaving], self.history_rewards[:, leaving], -1.0)
        self.t += 1

    def _add(self, arms: Tensor, rewards: Tensor, sign: float) -> None:
        self.pulls.scatter_add_(1, arms[:, None], torch.full_like(rewards[:, None], sign))
        self.wins.scatter_add_(1, arms[:, None], sign * rewards[:, None])


class DiscountedThompsonPolicy(BanditPolicy):
    """Thompson sampling on Beta(S + 1, F + 1) whose counts decay: S ← γ S + r, F ← γ F + (1 − r) (pulled arm;
    the others only decay), after Raj & Kalyani (2017)."""

    def __init__(self, n: int, k: int, gamma: float) -> None:
        super().__init__(n, k)
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        self.gamma = gamma

    def reset(self, batch: int, device: torch.device) -> None:
        # float64 so that γ = 1 keeps exact integer counts (and equals Thompson sampling draw for draw).
        self.successes = torch.zeros(batch, self.k, dtype=torch.float64, device=device)
        self.failures = torch.zeros_like(self.successes)

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        # float32 draws, as ThompsonPolicy's: the same inputs give the same draws from the same stream.
        draws = sample_beta((self.successes + 1).float(), (self.failures + 1).float(), generator)
        return argmax_random_ties(draws, generator)

    def observe(self, actions: Tensor, rewards: Tensor) -> None:
        rewards = rewards.double()[:, None]
        self.successes.mul_(self.gamma).scatter_add_(1, actions[:, None], rewards)
        self.failures.mul_(self.gamma).scatter_add_(1, actions[:, None], 1.0 - rewards)


class ChangePointUCBPolicy(BanditPolicy):
    """An optimistic policy on the exact Bayesian posterior of a switching bandit.

    The model is the task family's: the k arms are drawn from U[0, 1] at the first pull and, with
    chance ``hazard`` before each later pull, all redrawn at once. The posterior is then a mixture
    over the pull c at which the arms in force were drawn (Bayesian online change-point detection):
    given c, each arm's probability is Beta(1 + wins, 1 + losses) counted over pulls c..t−1 only.
    Each pull scores every arm by the mixture's mean + c·its standard deviation; the outcome reweighs
    every start by its predictive probability of it, then joins the counts. ``hazard = 0`` forgets
    nothing (a Bayes-UCB of the stationary bandit); ``c = 0`` is greedy on the posterior mean.

    Thompson sampling on the same posterior (Mellor & Shapiro 2013) scored 61.2 on the 1,000 held-out
    tasks of ``switching-n100-k5``, level with plain Thompson sampling, where this rule, tuned, scores
    69.42: sampling explores too much when every change point widens the posteriors again.
    """

    def __init__(self, n: int, k: int, hazard: float, c: float) -> None:
        super().__init__(n, k)
        if not 0.0 <= hazard < 1.0:
            raise ValueError(f"hazard must be in [0, 1), got {hazard}")
        if c < 0.0:
            raise ValueError(f"c must be >= 0, got {c}")
        self.hazard, self.c = hazard, c

    def reset(self, batch: int, device: torch.device) -> None:
        self.t = 0
        # The belief over the start c = 0..n−1 of the arms in force at the coming pull, kept as the
        # prior of that pull: starts after it have weight 0 (log −inf), and the first pull always
        # draws the arms.
        self.log_belief = torch.full((batch, self.n), -math.inf, dtype=torch.float64, device=device)
        self.log_belief[:, 0] = 0.0
        self.wins = torch.zeros(batch, self.n, self.k, dtype=torch.float64, device=device)  # per start and arm
        self.losses = torch.zeros_like(self.wins)

    def posterior(self) -> tuple[Tensor, Tensor]:
        """Each arm's posterior mean and standard deviation at the coming pull, [B, k] each."""
        starts = self.t + 1  # the starts that can hold the arms in force: pulls 0..t
        belief = self.log_belief[:, :starts].exp()[..., None]  # [B, starts, 1]
        a, b = self.wins[:, :starts] + 1, self.losses[:, :starts] + 1  # each start's Beta posteriors [B, starts, k]
        mean = (belief * a / (a + b)).sum(1)  # [B, k]
        second_moment = (belief * a * (a + 1) / ((a + b) * (a + b + 1))).sum(1)
        return mean, (second_moment - mean ** 2).clamp(min=0.0).sqrt()

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        mean, spread = self.posterior()
        return argmax_random_ties(mean + self.c * spread, generator)

    def observe(self, actions: Tensor, rewards: Tensor) -> None:
        starts = self.t + 1
        arm = actions[:, None, None].expand(-1, starts, 1)  # [B, starts, 1]
        wins, losses = self.wins[:, :starts].gather(2, arm)[..., 0], self.losses[:, :starts].gather(2, arm)[..., 0]
        p_win = (wins + 1) / (wins + losses + 2)  # each start's predictive chance that this pull pays
        reward = rewards.double()[:, None]  # [B, 1]
        # Bayes' rule over the starts, then the prior of the next pull: each start kept with 1 − hazard,
        # a new one at the next pull with hazard (the two still sum to 1).
        posterior = self.log_belief[:, :starts] + torch.log(torch.where(reward > 0, p_win, 1 - p_win))
        posterior = posterior - posterior.logsumexp(dim=1, keepdim=True)
        if starts < self.n:  # a next pull to come
            posterior = posterior + math.log1p(-self.hazard)
            self.log_belief[:, starts] = math.log(self.hazard) if self.hazard > 0.0 else -math.inf
        self.log_belief[:, :starts] = posterior
        # The pull joins the counts of every start up to and including this one.
        one_hot = torch.nn.functional.one_hot(actions, self.k).double()[:, None, :]  # [B, 1, k]
        self.wins[:, :starts] += one_hot * reward[..., None]
        self.losses[:, :starts] += one_hot * (1 - reward[..., None])
        self.t += 1


class OraclePolicy(BanditPolicy):
    """Pulls the arm that is best at this pull: reads the true probabilities, so it is a ceiling, not a competitor.

    Since change points do not depend on the actions, no policy can expect more reward per pull.
    """

    def __init__(self, probs: Tensor) -> None:
        batch, n, k = probs.shape
        super().__init__(n, k)
        self.probs = probs  # [B, n, k]

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        return argmax_random_ties(self.probs[:, t], generator)


_SWITCHING_POLICIES: dict[str, Callable[..., BanditPolicy]] = {
    "sw_ucb": SlidingWindowUCBPolicy,
    "discounted_ts": DiscountedThompsonPolicy,
    "changepoint_ucb": ChangePointUCBPolicy,
}


def _resolve_hparams(name: str, hparams: dict[str, float]) -> dict[str, float]:
    """Defaults of a switching-specific policy overridden by ``hparams``; unknown names are an error."""
    unknown = set(hparams) - set(DEFAULT_SWITCHING_HPARAMS[name])
    if unknown:
        raise ValueError(f"baseline {name!r} takes no hyperparameter(s) {sorted(unknown)}")
    return {**DEFAULT_SWITCHING_HPARAMS[name], **{key: float(value) for key, value in hparams.items()}}


def make_switching_policy(name: str, probs: Tensor, **hparams: float) -> BanditPolicy:
    """The policy of baseline ``name`` for the tasks ``probs`` [B, n, k] (only the oracle reads them)."""
    _, n, k = probs.shape
    if name == "oracle":
        _resolve_hparams(name, hparams)
        return OraclePolicy(probs)
    if name in _SWITCHING_POLICIES:
        return _SWITCHING_POLICIES[name](n, k, **_resolve_hparams(name, hparams))
    if name in BANDIT_BASELINES:
        return make_bandit_policy(name, n, k, **hparams)
    known = (*SWITCHING_BASELINES, *(b for b in BANDIT_BASELINES if b not in SWITCHING_BASELINES))
    raise ValueError(f"unknown switching bandit baseline {name!r}; expected one of {known}")


def run_switching_baseline(name: str, probs: Tensor, generator: torch.Generator, **hparams: float) -> Tensor:
    """Plays one trial on each of the B tasks with per-pull probabilities ``probs`` [B, n, k]; rewards float [B, n]."""
    return play_switching_baseline(name, probs, generator, **hparams)[1]


def play_switching_baseline(name: str, probs: Tensor, generator: torch.Generator,
                            **hparams: float) -> tuple[Tensor, Tensor]:
    """Like :func:`run_switching_baseline`, but returns (arms pulled int64 [B, n], rewards [B, n])."""
    if probs.dim() != 3:
        raise ValueError(f"probs must be [B, n, k], got shape {tuple(probs.shape)}")
    batch, n, k = probs.shape
    policy = make_switching_policy(name, probs, **hparams)
    # Drawn before any policy draw: every baseline sees the same uniforms (common random numbers).
    outcomes = torch.rand(batch, n, generator=generator, device=probs.device, dtype=probs.dtype)
    return play_policy(policy, n, lambda t: probs[:, t], lambda t: outcomes[:, t], generator)


def tune_switching_baseline(name: str, n: int, k: int, hazard: float, tasks: int, seed: int) -> dict[str, float]:
    """Grid search on TRAINING tasks (switching bandits sampled from ``seed``); returns the best hparams.

    Every grid point plays the same tasks with the same play seed ``seed + 1`` (common random
    numbers), so score differences reflect the hyperparameters; ties go to the earlier grid point.
    Returns {} for baselines without hyperparameters.
    """
    if name not in SWITCHING_HPARAMS:
        raise ValueError(f"no tuning grid for {name!r}; expected one of {tuple(SWITCHING_HPARAMS)}")
    grid = SWITCHING_HPARAMS[name]
    if not grid:
        return {}
    probs = SwitchingBandit(k=k, n=n, hazard=hazard).sample(tasks, torch.Generator().manual_seed(seed)).probs
    best_score, best = -math.inf, {}
    for values in itertools.product(*grid.values()):
        candidate = {key: float(value) for key, value in zip(grid, values)}
        rewards = run_switching_baseline(name, probs, torch.Generator().manual_seed(seed + 1), **candidate)
        score = rewards.sum(dim=1).mean().item()
        if score > best_score:
            best_score, best = score, candidate
    return best
