"""Classic baselines for Bernoulli bandits (Table 1 of Duan et al. 2016, "RL²").

Setting: k arms with success probabilities p ~ U[0, 1]^k per task (a Beta(1, 1) prior on each
arm, independently); a trial is n pulls with n known in advance; rewards are 0/1.  The paper's
score is the mean total reward of a trial over 1,000 test tasks.

Every baseline is a :class:`BanditPolicy` that sees each arm's success and failure counts and
picks one arm per task; :func:`run_bandit_baseline` runs one loop over the n pulls, batched over
the B tasks.  The baselines:

* ``random``          a uniformly random arm;
* ``greedy``          the largest posterior mean (s + 1) / (s + f + 2);
* ``epsilon_greedy``  greedy, but a uniformly random arm with probability ``epsilon``;
* ``ucb1``            each arm once, then the largest empirical mean + c·sqrt(2 ln t / n_i)
                      (Auer et al. 2002; c = 1 is the textbook rule; ``c`` is tuned, and so is
                      ``prior`` ∈ {0, 1}: > 0 uses Beta pseudo-counts instead of the forced
                      first round, see :class:`UCB1Policy`);
* ``thompson``        the largest draw from the Beta(s + 1, f + 1) posteriors (Thompson 1933);
* ``ots``             optimistic Thompson sampling: the largest max(draw, posterior mean)
                      (May et al. 2012);
* ``gittins``         the largest finite-horizon Gittins index (see :mod:`rl2.baselines.gittins`);
* ``bayes_optimal``   the exact Bayes-optimal policy by DP over joint beliefs (see
                      :mod:`rl2.baselines.bayes_optimal`; only small n, e.g. n = 10).

All ties are broken uniformly at random: before any data every arm looks the same, and always
taking the first would bias the play.  Every random draw (the policies' and the rewards') comes
from the caller's ``torch.Generator``, so a seed reproduces a run exactly.
"""

from __future__ import annotations

import itertools
import math
from typing import Callable

import torch
from torch import Tensor

from rl2.baselines.bayes_optimal import solve_bayes_optimal
from rl2.baselines.gittins import gittins_table
from rl2.baselines.sampling import sample_beta

__all__ = [
    "BANDIT_BASELINES",
    "BANDIT_HPARAMS",
    "DEFAULT_BANDIT_HPARAMS",
    "BanditPolicy",
    "argmax_random_ties",
    "make_bandit_policy",
    "play_bandit_baseline",
    "run_bandit_baseline",
    "tune_bandit_baseline",
]

BANDIT_BASELINES: tuple[str, ...] = (
    "random",
    "greedy",
    "epsilon_greedy",
    "ucb1",
    "thompson",
    "ots",
    "gittins",
    "bayes_optimal",
)

#: Tuning grids searched by :func:`tune_bandit_baseline`; baselines without
#: hyperparameters have an empty grid.  ε = 0 (pure greedy) and c = 0 (greedy on empirical
#: means after one pull of each arm) are in the grids because short trials and many arms leave
#: no time to profit from exploration.
BANDIT_HPARAMS: dict[str, dict[str, list[float]]] = {
    "random": {},
    "greedy": {},
    "epsilon_greedy": {"epsilon": [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3]},
    "ucb1": {"c": [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0], "prior": [0.0, 1.0]},
    "thompson": {},
    "ots": {},
    "gittins": {},
    "bayes_optimal": {},
}

#: Values used for any hyperparameter the caller does not pass.
DEFAULT_BANDIT_HPARAMS: dict[str, dict[str, float]] = {
    "random": {},
    "greedy": {},
    "epsilon_greedy": {"epsilon": 0.1},
    "ucb1": {"c": 1.0, "prior": 0.0},
    "thompson": {},
    "ots": {},
    "gittins": {},
    "bayes_optimal": {},
}

# Scores closer than this count as tied (float64 Q-values of the Bayes-optimal DP can differ
# in the last bits for genuinely equal actions).
_TIE_TOLERANCE = 1e-12


# ----------------------------------------------------------------------------------------------
# Random helpers that draw only from the given generator
# ----------------------------------------------------------------------------------------------


def argmax_random_ties(scores: Tensor, generator: torch.Generator, atol: float = 0.0) -> Tensor:
    """argmax over the last dim of ``scores`` [B, k], ties (within ``atol``) broken uniformly.

    Always draws B·k uniforms, so the generator's stream does not depend on the scores.
    """
    best = scores.max(dim=-1, keepdim=True).values
    tied = scores >= best - atol
    noise = torch.rand(scores.shape, generator=generator, device=scores.device)
    return torch.where(tied, noise, -1.0).argmax(dim=-1)


def _random_arms(batch: int, k: int, generator: torch.Generator, device: torch.device) -> Tensor:
    return torch.randint(k, (batch,), generator=generator, device=device)


def beta_posterior_mean(successes: Tensor, failures: Tensor) -> Tensor:
    """Mean of the Beta(s + 1, f + 1) posterior of every arm, float64."""
    return (successes + 1).double() / (successes + failures + 2).double()


# ----------------------------------------------------------------------------------------------
# Policies
# ----------------------------------------------------------------------------------------------


class BanditPolicy:
    """One baseline: picks an arm per task from the counts; may keep per-trial state.

    ``act`` gets integer counts [B, k] (successes and failures so far) and the number of pulls
    ``t`` already made in this trial (0..n−1) and returns arms [B] (int64).  ``observe`` then sees
    the pulled arms and their 0/1 rewards; only stateful policies need it.
    """

    def __init__(self, n: int, k: int) -> None:
        self.n, self.k = n, k

    def reset(self, batch: int, device: torch.device) -> None:
        """Start a new trial for ``batch`` tasks."""

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def observe(self, actions: Tensor, rewards: Tensor) -> None:
        """Hear the outcome of the last pull (rewards float [B])."""


class RandomPolicy(BanditPolicy):
    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        return _random_arms(successes.shape[0], self.k, generator, successes.device)


class GreedyPolicy(BanditPolicy):
    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        return argmax_random_ties(beta_posterior_mean(successes, failures), generator)


class EpsilonGreedyPolicy(BanditPolicy):
    def __init__(self, n: int, k: int, epsilon: float) -> None:
        super().__init__(n, k)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        batch, device = successes.shape[0], successes.device
        # Draw all three every step, so the stream is the same whichever branch each task takes.
        explore = torch.rand(batch, generator=generator, device=device) < self.epsilon
        random_arms = _random_arms(batch, self.k, generator, device)
        greedy_arms = argmax_random_ties(beta_posterior_mean(successes, failures), generator)
        return torch.where(explore, random_arms, greedy_arms)


class UCB1Policy(BanditPolicy):
    """UCB1 with a tunable exploration constant, optionally on Beta-prior pseudo-counts.

    ``prior = 0`` (default) is textbook UCB1: pull every arm once, then the largest empirical
    mean + c·sqrt(2 ln t / n_i), t being the pulls made so far.  ``prior = a > 0`` adds a
    pseudo-successes and a pseudo-failures to every arm instead, (s + a) / (n_i + 2a) +
    c·sqrt(2 ln(t + 1) / (n_i + a)), which needs no forced first round: with a = 1 (the true
    Beta(1, 1) prior) it scores close to the paper's UCB1 column in short trials and with many
    arms, where the forced round costs most (n = 10: 6.7 vs 5.9 for k = 5).
    """

    def __init__(self, n: int, k: int, c: float, prior: float) -> None:
        super().__init__(n, k)
        if c < 0.0 or prior < 0.0:
            raise ValueError(f"c and prior must be ≥ 0, got c={c}, prior={prior}")
        self.c, self.prior = c, prior

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        pulls = (successes + failures).double()
        if self.prior > 0.0:
            mean = (successes.double() + self.prior) / (pulls + 2.0 * self.prior)
            scores = mean + self.c * torch.sqrt(2.0 * math.log(t + 1) / (pulls + self.prior))
            return argmax_random_ties(scores, generator)
        # Untried arms score +inf, so the first k pulls try every arm once (in random order).
        tried = pulls.clamp(min=1.0)
        mean = successes.double() / tried
        bonus = self.c * torch.sqrt(2.0 * math.log(max(t, 1)) / tried)
        scores = torch.where(pulls > 0, mean + bonus, math.inf)
        return argmax_random_ties(scores, generator)


def _posterior_draws(successes: Tensor, failures: Tensor, generator: torch.Generator) -> Tensor:
    """One draw from every arm's Beta(s + 1, f + 1) posterior, float32.

    float32 because CPU normal draws cost ~6x more in float64, and draws that differ in the 7th
    digit pick the same arm anyway.
    """
    return sample_beta((successes + 1).float(), (failures + 1).float(), generator)


class ThompsonPolicy(BanditPolicy):
    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        return argmax_random_ties(_posterior_draws(successes, failures, generator), generator)


class OptimisticThompsonPolicy(BanditPolicy):
    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        draws = _posterior_draws(successes, failures, generator).double()
        scores = torch.maximum(draws, beta_posterior_mean(successes, failures))  # never below the mean
        return argmax_random_ties(scores, generator)


class GittinsPolicy(BanditPolicy):
    """Largest finite-horizon Gittins index with n − t pulls remaining (table built or loaded once)."""

    def __init__(self, n: int, k: int) -> None:
        super().__init__(n, k)
        self.table = gittins_table(n)

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        return argmax_random_ties(self.table.index(successes, failures, self.n - t), generator)


class BayesOptimalPolicy(BanditPolicy):
    """Follows the solved DP, tracking each task's belief-state id as pulls are observed."""

    def __init__(self, n: int, k: int) -> None:
        super().__init__(n, k)
        self.solution = solve_bayes_optimal(n, k)  # raises ValueError when too large

    def reset(self, batch: int, device: torch.device) -> None:
        self.state_ids = torch.zeros(batch, dtype=torch.int64, device=device)
        self.q = self.solution.q.to(device)
        self.child = self.solution.child.to(device)

    def act(self, successes: Tensor, failures: Tensor, t: int, generator: torch.Generator) -> Tensor:
        rows = self.solution.action_rows(self.state_ids, successes, failures)
        actions = argmax_random_ties(self.q[rows], generator, atol=_TIE_TOLERANCE)
        self._chosen_rows = rows.gather(1, actions[:, None]).squeeze(1)
        return actions

    def observe(self, actions: Tensor, rewards: Tensor) -> None:
        self.state_ids = self.child[self._chosen_rows, rewards.long()]


_POLICIES: dict[str, Callable[..., BanditPolicy]] = {
    "random": RandomPolicy,
    "greedy": GreedyPolicy,
    "epsilon_greedy": EpsilonGreedyPolicy,
    "ucb1": UCB1Policy,
    "thompson": ThompsonPolicy,
    "ots": OptimisticThompsonPolicy,
    "gittins": GittinsPolicy,
    "bayes_optimal": BayesOptimalPolicy,
}


def _resolve_hparams(name: str, hparams: dict[str, float]) -> dict[str, float]:
    """Defaults overridden by ``hparams``; unknown names are an error, not silently ignored."""
    if name not in BANDIT_BASELINES:
        raise ValueError(f"unknown bandit baseline {name!r}; expected one of {BANDIT_BASELINES}")
    unknown = set(hparams) - set(DEFAULT_BANDIT_HPARAMS[name])
    if unknown:
        raise ValueError(f"baseline {name!r} takes no hyperparameter(s) {sorted(unknown)}")
    return {**DEFAULT_BANDIT_HPARAMS[name], **{key: float(value) for key, value in hparams.items()}}


def make_bandit_policy(name: str, n: int, k: int, **hparams: float) -> BanditPolicy:
    """The policy of baseline ``name`` for trials of n pulls on k arms."""
    resolved = _resolve_hparams(name, hparams)  # validates the name first
    return _POLICIES[name](n, k, **resolved)


# ----------------------------------------------------------------------------------------------
# Running and tuning
# ----------------------------------------------------------------------------------------------


def run_bandit_baseline(name: str, probs: Tensor, n: int, generator: torch.Generator, **hparams: float) -> Tensor:
    """Plays one trial of n pulls on each of the B tasks; returns rewards per pull, float [B, n].

    ``probs`` [B, k] are the arms' success probabilities.  Each pull's reward is
    ``u < p[arm]`` with u ~ U[0, 1) from ``generator``, drawn after the policy's own draws.
    """
    return play_bandit_baseline(name, probs, n, generator, **hparams)[1]


def play_bandit_baseline(
    name: str, probs: Tensor, n: int, generator: torch.Generator, **hparams: float
) -> tuple[Tensor, Tensor]:
    """Like :func:`run_bandit_baseline`, but returns (arms pulled int64 [B, n], rewards [B, n])."""
    if probs.dim() != 2:
        raise ValueError(f"probs must be [B, k], got shape {tuple(probs.shape)}")
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    batch, k = probs.shape
    policy = make_bandit_policy(name, n, k, **hparams)
    # The reward uniform of each pull is drawn after the policy's own draws for that pull.
    return play_policy(policy, n, lambda t: probs,
                       lambda t: torch.rand(batch, generator=generator, device=probs.device, dtype=probs.dtype),
                       generator)


def play_policy(policy: BanditPolicy, n: int, probs_at: Callable[[int], Tensor], uniforms_at: Callable[[int], Tensor],
                generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Runs a policy for n pulls; pull t pays ``uniforms_at(t) < probs_at(t)[arm]``.

    probs_at(t) gives the arms' probabilities at pull t, [B, k] (the same tensor for stationary
    bandits); uniforms_at(t), [B], is called after the policy acted. Returns (arms int64 [B, n],
    rewards [B, n]).
    """
    probs0 = probs_at(0)
    batch, k = probs0.shape
    device, dtype = probs0.device, probs0.dtype
    policy.reset(batch, device)
    successes = torch.zeros(batch, k, dtype=torch.int64, device=device)
    failures = torch.zeros_like(successes)
    arms = torch.empty(batch, n, dtype=torch.int64, device=device)
    rewards = torch.empty(batch, n, dtype=dtype, device=device)
    for t in range(n):
        actions = policy.act(successes, failures, t, generator)
        p = probs_at(t).gather(1, actions[:, None]).squeeze(1)  # [B]
        reward = (uniforms_at(t) < p).to(dtype)
        policy.observe(actions, reward)
        hit = reward.long()[:, None]
        successes.scatter_add_(1, actions[:, None], hit)
        failures.scatter_add_(1, actions[:, None], 1 - hit)
        arms[:, t], rewards[:, t] = actions, reward
    return arms, rewards


def _default_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def tune_bandit_baseline(
    name: str,
    n: int,
    k: int,
    tasks: int,
    seed: int,
    generator_factory: Callable[[int], torch.Generator] | None = None,
) -> dict[str, float]:
    """Grid search on TRAINING tasks (sampled here from U[0,1]^k with the given seed); returns the best hparams.

    ``generator_factory(seed)`` makes the generators (default: a CPU ``torch.Generator`` seeded
    with ``seed``); tasks come from ``seed`` and play from ``seed + 1``.  Every grid point plays
    the same tasks with the same play seed (common random numbers), so score differences reflect
    the hyperparameter rather than luck.  Returns {} for baselines without hyperparameters; ties
    go to the earlier grid point.
    """
    _resolve_hparams(name, {})
    grid = BANDIT_HPARAMS[name]
    if not grid:
        return {}
    factory = generator_factory or _default_generator
    task_generator = factory(seed)
    probs = torch.rand(tasks, k, generator=task_generator, device=task_generator.device)
    best_score, best = -math.inf, {}
    for values in itertools.product(*grid.values()):
        candidate = {key: float(value) for key, value in zip(grid, values)}
        rewards = run_bandit_baseline(name, probs, n, factory(seed + 1), **candidate)
        score = rewards.sum(dim=1).mean().item()
        if score > best_score:
            best_score, best = score, candidate
    return best
