"""Classic baselines for random tabular MDPs (Table 2 of Duan et al. 2016, "RL²").

Setting: S states, A actions; per task each transition row ``P[s, a, :]`` is drawn
from Dirichlet(1, ..., 1) and each mean reward ``R[s, a]`` from N(1, 1); an observed
reward is ``R[s, a] + N(0, 1)``.  An episode is ``horizon`` steps from state 0, and a
trial is ``n_episodes`` episodes on the same task.  Every agent knows S, A, the
horizon and these priors, but not P or R.

All agents keep per-task sufficient statistics (:class:`MDPStats`) and re-plan at
the start of every episode with finite-horizon value iteration, batched over the B
tasks.  They differ only in the model they plan on:

* ``random``          uniform random actions, no planning;
* ``greedy``          the posterior-mean model;
* ``epsilon_greedy``  the posterior-mean model, with an ``epsilon`` chance of a random action;
* ``psrl``            one posterior sample of (P, R) per episode (Strens 2000; Osband et al. 2013);
* ``opsrl``           ``samples`` posterior samples; every Bellman backup takes the max over
                      them, per (s, a) (optimistic PSRL as in Agrawal & Jia 2017, Tiapkin et
                      al. 2022);
* ``ucrl2``           extended value iteration over L1 confidence balls on the transition rows
                      plus reward bonuses (Jaksch et al. 2010), both scaled by ``scale``;
* ``beb``             the posterior-mean model plus a reward bonus ``beta / (1 + N[s, a])``
                      (Kolter & Ng 2009).

Every random draw (the environment's and the agent's) goes through the caller's
``torch.Generator``, so a seed reproduces a run exactly.  ``torch.distributions``
cannot take a generator, hence the Marsaglia–Tsang sampler of :mod:`rl2.baselines.sampling`.

Performance: the work is many small elementwise ops, so on a CPU shared with other jobs
``torch.set_num_threads(1)`` is much faster than OpenMP's default (its threads spin-wait
for each other); a full Table 2 (7 baselines x 5 trial lengths x 1,000 tasks, with
tuning) then takes minutes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from rl2.baselines.sampling import sample_dirichlet

__all__ = [
    "MDP_BASELINES",
    "MDP_HPARAMS",
    "DEFAULT_MDP_HPARAMS",
    "MDPStats",
    "sample_mdp_tasks",
    "finite_horizon_q",
    "model_backup",
    "optimistic_transitions",
    "plan_q_values",
    "greedy_actions",
    "run_mdp_baseline",
    "tune_mdp_baseline",
]

MDP_BASELINES: tuple[str, ...] = (
    "random",
    "greedy",
    "epsilon_greedy",
    "psrl",
    "opsrl",
    "ucrl2",
    "beb",
)

#: Tuning grids searched by :func:`tune_mdp_baseline`; baselines without
#: hyperparameters have an empty grid.
MDP_HPARAMS: dict[str, dict[str, list[float]]] = {
    "random": {},
    "greedy": {},
    "psrl": {},
    "epsilon_greedy": {"epsilon": [0.01, 0.03, 0.1, 0.2, 0.3]},
    "opsrl": {"samples": [2.0, 3.0, 5.0, 10.0]},
    "ucrl2": {"scale": [0.01, 0.03, 0.1, 0.3, 1.0]},
    "beb": {"beta": [0.1, 0.3, 1.0, 3.0, 10.0]},
}

#: Values used for any hyperparameter the caller does not pass: the typical picks of
#: :func:`tune_mdp_baseline` for n in {10, ..., 100} (UCRL2's ``delta`` is not tuned).
DEFAULT_MDP_HPARAMS: dict[str, dict[str, float]] = {
    "random": {},
    "greedy": {},
    "psrl": {},
    "epsilon_greedy": {"epsilon": 0.03},
    "opsrl": {"samples": 5.0},
    "ucrl2": {"scale": 0.03, "delta": 0.05},
    "beb": {"beta": 1.0},
}

# The task prior, known to every agent.
TRANSITION_PRIOR = 1.0  # Dirichlet concentration of each transition row
REWARD_PRIOR_MEAN = 1.0
REWARD_PRIOR_VAR = 1.0
REWARD_NOISE_VAR = 1.0

# Planning runs in float64 so that genuinely tied actions (e.g. unvisited ones under
# the posterior mean) compare exactly equal and get broken at random.
_PLAN_DTYPE = torch.float64
_TIE_TOLERANCE = 1e-9


# ----------------------------------------------------------------------------- tasks


def sample_mdp_tasks(
    batch: int,
    states: int,
    actions: int,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Sample ``batch`` tasks from the Table 2 prior.

    Returns ``transitions`` [B, S, A, S] with Dirichlet(1) rows and ``mean_rewards``
    [B, S, A] drawn from N(1, 1).
    """
    ones = torch.full((batch, states, actions, states), TRANSITION_PRIOR, dtype=_PLAN_DTYPE)
    transitions = sample_dirichlet(ones, generator)
    mean_rewards = REWARD_PRIOR_MEAN + math.sqrt(REWARD_PRIOR_VAR) * torch.randn(
        (batch, states, actions), generator=generator, dtype=_PLAN_DTYPE
    )
    return transitions.to(dtype), mean_rewards.to(dtype)


# ------------------------------------------------------------------------ statistics


@dataclass
class MDPStats:
    """Per-task sufficient statistics gathered during a trial (all batched over B)."""

    visits: Tensor  # N[b, s, a], float [B, S, A]
    transition_counts: Tensor  # C[b, s, a, s'], float [B, S, A, S]
    reward_sums: Tensor  # sum of observed rewards, float [B, S, A]
    reward_sq_sums: Tensor  # sum of squared rewards, float [B, S, A]; kept for unknown-variance variants
    steps: int = 0  # environment steps taken so far in the trial (same for every task)

    @classmethod
    def zeros(cls, batch: int, states: int, actions: int, device: torch.device | str = "cpu") -> "MDPStats":
        """Empty statistics: nothing observed yet."""
        kw = {"dtype": _PLAN_DTYPE, "device": device}
        return cls(
            visits=torch.zeros(batch, states, actions, **kw),
            transition_counts=torch.zeros(batch, states, actions, states, **kw),
            reward_sums=torch.zeros(batch, states, actions, **kw),
            reward_sq_sums=torch.zeros(batch, states, actions, **kw),
        )

    def update(self, state: Tensor, action: Tensor, reward: Tensor, next_state: Tensor | None) -> None:
        """Record one transition per task; every index tensor is long [B]. ``next_state`` None: the
        reward alone, where the successor is unknown (an env that resets at an episode's end)."""
        rows = torch.arange(state.shape[0], device=state.device)
        # Each task contributes exactly one (s, a) per step, so plain indexed adds never collide.
        self.visits[rows, state, action] += 1.0
        if next_state is not None:
            self.transition_counts[rows, state, action, next_state] += 1.0
        self.reward_sums[rows, state, action] += reward
        self.reward_sq_sums[rows, state, action] += reward * reward
        self.steps += 1

    @property
    def states(self) -> int:
        return self.visits.shape[1]

    # Posterior of the known-variance Normal-Normal model for the mean rewards.
    def reward_posterior(self) -> tuple[Tensor, Tensor]:
        """Posterior (mean, variance) of every R[s, a], each [B, S, A]."""
        precision = 1.0 / REWARD_PRIOR_VAR + self.visits / REWARD_NOISE_VAR
        mean = (REWARD_PRIOR_MEAN / REWARD_PRIOR_VAR + self.reward_sums / REWARD_NOISE_VAR) / precision
        return mean, 1.0 / precision

    def transition_posterior(self) -> Tensor:
        """Dirichlet concentration of the posterior over every row P[s, a, :], [B, S, A, S]."""
        return TRANSITION_PRIOR + self.transition_counts

    def transition_posterior_mean(self) -> Tensor:
        """Posterior-mean transition rows, [B, S, A, S]."""
        concentration = self.transition_posterior()
        return concentration / concentration.sum(dim=-1, keepdim=True)


# -------------------------------------------------------------------------- planning

Backup = Callable[[Tensor], Tensor]


def finite_horizon_q(backup: Backup, batch: int, states: int, horizon: int,
                     device: torch.device | str = "cpu") -> Tensor:
    """Finite-horizon value iteration.

    ``backup(V)`` maps next-step values [B, S] to Q-values [B, S, A].  Returns the
    non-stationary Q-functions, [horizon, B, S, A], where index t is used at step t of
    an episode (``horizon - t`` steps to go) and the terminal value is zero.
    """
    values = torch.zeros(batch, states, dtype=_PLAN_DTYPE, device=device)
    q_functions: list[Tensor] = []
    for _ in range(horizon):
        q = backup(values)
        q_functions.append(q)
        values = q.amax(dim=-1)
    q_functions.reverse()
    return torch.stack(q_functions)


def _expected_next_value(transitions: Tensor, values: Tensor) -> Tensor:
    """sum_s' P[..., b, s, a, s'] V[b, s'] -> [..., B, S, A] (a broadcast matmul: ~3x faster than einsum)."""
    return (transitions @ values[:, None, :, None]).squeeze(-1)


def model_backup(transitions: Tensor, rewards: Tensor) -> Backup:
    """Bellman backup of a fixed model: Q = r + P V (transitions [B,S,A,S], rewards [B,S,A])."""

    def backup(values: Tensor) -> Tensor:
        return rewards + _expected_next_value(transitions, values)

    return backup


def _max_over_samples_backup(transitions: Tensor, rewards: Tensor) -> Backup:
    """Optimistic backup over K sampled models ([K,B,S,A,S], [K,B,S,A]): max_k of r_k + P_k V."""

    def backup(values: Tensor) -> Tensor:
        return (rewards + _expected_next_value(transitions, values)).amax(dim=0)

    return backup


def _optimistic_shift(p_hat: Tensor, radius: Tensor, values: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Solve UCRL2's inner problem in value order; see :func:`optimistic_transitions`.

    Returns ``order`` [B, S] (next states by ascending value), ``removed`` [B, S, A, S-1]
    (mass taken from each state but the best, in that order) and ``added`` [B, S, A]
    (mass moved onto the best state).
    """
    order = values.argsort(dim=-1)
    p_sorted = p_hat.gather(-1, order[:, None, None, :].expand_as(p_hat))
    rest, best = p_sorted[..., :-1], p_sorted[..., -1]
    added = torch.minimum(radius / 2.0, 1.0 - best)
    # Mass taken from the i-th worst state: whatever is still owed after the worse ones are emptied.
    taken_before = rest.cumsum(dim=-1) - rest
    removed = torch.minimum(rest, (added.unsqueeze(-1) - taken_before).clamp(min=0.0))
    return order, removed, added


def optimistic_transitions(p_hat: Tensor, radius: Tensor, values: Tensor) -> Tensor:
    """argmax of p·V over {p in simplex : ||p - p_hat||_1 <= radius} (UCRL2's inner problem).

    The classic greedy solution: move up to ``radius / 2`` mass onto the highest-valued
    next state, taking it from the lowest-valued states first.  ``p_hat`` [B,S,A,S],
    ``radius`` [B,S,A], ``values`` [B,S]; returns distributions [B,S,A,S].
    """
    order, removed, added = _optimistic_shift(p_hat, radius, values)
    shift = torch.cat([-removed, added.unsqueeze(-1)], dim=-1)
    return p_hat + torch.zeros_like(p_hat).scatter(-1, order[:, None, None, :].expand_as(p_hat), shift)


def _optimistic_expected_value(p_hat: Tensor, radius: Tensor, values: Tensor) -> Tensor:
    """max of p·V over the L1 ball, [B, S, A]; same as using :func:`optimistic_transitions`
    but without materializing the distributions (the hot loop of UCRL2's planning)."""
    order, removed, added = _optimistic_shift(p_hat, radius, values)
    sorted_values = values.gather(-1, order)  # [B, S]
    lost = (removed @ sorted_values[:, None, :-1, None]).squeeze(-1)
    return _expected_next_value(p_hat, values) + added * sorted_values[:, None, None, -1] - lost


def _ucrl2_backup(stats: MDPStats, scale: float, delta: float) -> Backup:
    """Extended value iteration backup with UCRL2's confidence sets, both radii times ``scale``.

    Jaksch et al. (2010), with t the steps so far and n = max(1, N[s, a]):
    reward bonus ``scale * sqrt(3.5 log(2 S A t / delta) / n)`` on the empirical mean,
    L1 radius ``scale * sqrt(14 S log(2 A t / delta) / n)`` (capped at 2, the whole
    simplex) around the empirical row.  Unvisited pairs start from the prior mean reward
    and a uniform row.  The radii were derived for rewards in [0, 1]; ``scale`` absorbs
    the different reward range here and is tuned.
    """
    states = stats.states
    actions = stats.visits.shape[2]
    n = stats.visits.clamp(min=1.0)
    t = max(stats.steps, 1)
    log_term_r = math.log(2.0 * states * actions * t / delta)
    log_term_p = math.log(2.0 * actions * t / delta)
    reward_bonus = scale * torch.sqrt(3.5 * log_term_r / n)
    radius = (scale * torch.sqrt(14.0 * states * log_term_p / n)).clamp(max=2.0)

    visited = stats.visits > 0
    r_hat = torch.where(visited, stats.reward_sums / n, torch.full_like(n, REWARD_PRIOR_MEAN))
    p_hat = torch.where(
        visited.unsqueeze(-1),
        stats.transition_counts / n.unsqueeze(-1),
        torch.full_like(stats.transition_counts, 1.0 / states),
    )
    optimistic_rewards = r_hat + reward_bonus

    def backup(values: Tensor) -> Tensor:
        return optimistic_rewards + _optimistic_expected_value(p_hat, radius, values)

    return backup


def _sample_models(stats: MDPStats, samples: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Draw ``samples`` models from the posterior: transitions [K,B,S,A,S], rewards [K,B,S,A]."""
    concentration = stats.transition_posterior().expand(samples, *stats.transition_counts.shape)
    # Sampling in float32 is ~3x faster and, thanks to sample_gamma's stable accept
    # test, accurate even for very large counts; planning then continues in float64.
    transitions = sample_dirichlet(concentration.to(torch.float32), generator).to(_PLAN_DTYPE)
    mean, var = stats.reward_posterior()
    noise = torch.randn((samples, *mean.shape), generator=generator, dtype=mean.dtype, device=mean.device)
    return transitions, mean + var.sqrt() * noise


def plan_q_values(
    name: str, stats: MDPStats, hparams: dict[str, float], horizon: int, generator: torch.Generator
) -> Tensor | None:
    """Q-functions [horizon, B, S, A] that baseline ``name`` acts greedily on this episode.

    ``None`` for ``random``, which does not plan.  ``hparams`` must be complete (see
    :data:`DEFAULT_MDP_HPARAMS`).
    """
    batch, states = stats.visits.shape[:2]
    device = stats.visits.device
    if name == "random":
        return None
    if name in ("greedy", "epsilon_greedy", "beb"):
        rewards, _ = stats.reward_posterior()
        if name == "beb":
            rewards = rewards + hparams["beta"] / (1.0 + stats.visits)
        backup = model_backup(stats.transition_posterior_mean(), rewards)
    elif name == "psrl":
        transitions, rewards = _sample_models(stats, 1, generator)
        backup = model_backup(transitions[0], rewards[0])
    elif name == "opsrl":
        transitions, rewards = _sample_models(stats, int(hparams["samples"]), generator)
        backup = _max_over_samples_backup(transitions, rewards)
    elif name == "ucrl2":
        backup = _ucrl2_backup(stats, hparams["scale"], hparams["delta"])
    else:
        raise ValueError(f"unknown MDP baseline {name!r}; expected one of {MDP_BASELINES}")
    return finite_horizon_q(backup, batch, states, horizon, device)


def greedy_actions(q: Tensor, generator: torch.Generator) -> Tensor:
    """argmax over the last dim of ``q`` [B, A], breaking ties uniformly at random.

    Before any data every action looks the same; a first-index rule would make every
    planner try action 0 first in every state, a bias unrelated to the algorithm.
    """
    best = q.amax(dim=-1, keepdim=True)
    tied = q >= best - _TIE_TOLERANCE * (1.0 + best.abs())
    noise = torch.rand(q.shape, generator=generator, dtype=q.dtype, device=q.device)
    return torch.where(tied, noise, torch.full_like(noise, -1.0)).argmax(dim=-1)


# ------------------------------------------------------------------------ simulation


def _resolve_hparams(name: str, hparams: dict[str, float]) -> dict[str, float]:
    if name not in MDP_BASELINES:
        raise ValueError(f"unknown MDP baseline {name!r}; expected one of {MDP_BASELINES}")
    unknown = set(hparams) - set(DEFAULT_MDP_HPARAMS[name])
    if unknown:
        raise ValueError(f"baseline {name!r} got unknown hyperparameters {sorted(unknown)}")
    return {**DEFAULT_MDP_HPARAMS[name], **hparams}


def _sample_next_states(rows: Tensor, generator: torch.Generator) -> Tensor:
    """One categorical draw per row of ``rows`` [B, S] by inverting the CDF."""
    u = torch.rand(rows.shape[0], 1, generator=generator, dtype=rows.dtype, device=rows.device)
    cdf = rows.cumsum(dim=-1)
    # Clamp guards against the last CDF entry rounding to just below u.
    return (cdf < u).sum(dim=-1).clamp(max=rows.shape[-1] - 1)


def run_mdp_baseline(
    name: str,
    transitions: Tensor,
    mean_rewards: Tensor,
    n_episodes: int,
    horizon: int,
    generator: torch.Generator,
    **hparams: float,
) -> Tensor:
    """Play one trial of baseline ``name`` on each of B tabular MDPs.

    ``transitions`` float [B, S, A, S] (rows sum to 1), ``mean_rewards`` float [B, S, A].
    Each of the ``n_episodes`` episodes runs ``horizon`` steps from state 0; next states
    and noisy rewards (mean + N(0, 1)) are drawn with ``generator``, as are the agent's
    own random choices.  Statistics persist across the episodes of the trial.  Returns
    the return of every episode, float [B, n_episodes] (dtype of ``mean_rewards``).
    """
    hp = _resolve_hparams(name, hparams)
    batch, states, actions, _ = transitions.shape
    device = transitions.device
    model_p = transitions.to(_PLAN_DTYPE)
    model_r = mean_rewards.to(_PLAN_DTYPE)
    rows = torch.arange(batch, device=device)
    stats = MDPStats.zeros(batch, states, actions, device)
    returns = torch.zeros(batch, n_episodes, dtype=_PLAN_DTYPE, device=device)
    noise_std = math.sqrt(REWARD_NOISE_VAR)

    for episode in range(n_episodes):
        q = plan_q_values(name, stats, hp, horizon, generator)
        state = torch.zeros(batch, dtype=torch.long, device=device)
        for t in range(horizon):
            if q is None:
                action = torch.randint(actions, (batch,), generator=generator, device=device)
            else:
                action = greedy_actions(q[t, rows, state], generator)
            if name == "epsilon_greedy":
                explore = torch.rand(batch, generator=generator, device=device) < hp["epsilon"]
                random_action = torch.randint(actions, (batch,), generator=generator, device=device)
                action = torch.where(explore, random_action, action)
            noise = torch.randn(batch, generator=generator, dtype=_PLAN_DTYPE, device=device)
            reward = model_r[rows, state, action] + noise_std * noise
            next_state = _sample_next_states(model_p[rows, state, action], generator)
            stats.update(state, action, reward, next_state)
            returns[:, episode] += reward
            state = next_state
    return returns.to(mean_rewards.dtype)


def tune_mdp_baseline(
    name: str,
    n_episodes: int,
    tasks: int,
    seed: int,
    *,
    states: int = 10,
    actions: int = 5,
    horizon: int = 10,
) -> dict[str, float]:
    """Grid-search ``MDP_HPARAMS[name]`` on ``tasks`` training tasks sampled here from ``seed``.

    Every grid point plays the same tasks from the same generator seed, which removes
    the task-sampling noise from the comparison between grid points.
    Returns the hyperparameters with the highest mean trial return ({} if none to tune).
    """
    _resolve_hparams(name, {})
    grid = MDP_HPARAMS[name]
    if not grid:
        return {}
    task_generator = torch.Generator().manual_seed(seed)
    transitions, mean_rewards = sample_mdp_tasks(tasks, states, actions, task_generator)
    best_score, best = -math.inf, {}
    for values in itertools.product(*grid.values()):
        candidate = {key: float(value) for key, value in zip(grid, values)}
        play_generator = torch.Generator().manual_seed(seed + 1)
        returns = run_mdp_baseline(name, transitions, mean_rewards, n_episodes, horizon, play_generator, **candidate)
        score = returns.sum(dim=1).mean().item()
        if score > best_score:
            best_score, best = score, candidate
    return best
