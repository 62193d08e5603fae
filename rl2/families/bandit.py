"""Bernoulli bandits (Table 1 of Duan et al. 2016): k arms with success probabilities ~ U[0, 1];
a trial is n pulls, each an episode of one step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from rl2.baselines import (BANDIT_BASELINES, BANDIT_HPARAMS, BAYES_OPTIMAL_MAX_STATES, bayes_optimal_state_count,
                           run_bandit_baseline, tune_bandit_baseline)
from rl2.config import TaskConfig, opt
from rl2.envs.bandit import BanditEnv
from rl2.families.registry import Baselines, Family
from rl2.tasks import BernoulliBandit


@dataclass(frozen=True)
class BanditConfig(TaskConfig):
    """Bernoulli bandits: n pulls per trial on k arms."""

    family: ClassVar[str] = "bandit"
    mean_rewards: ClassVar[bool] = True  # an arm's success probability
    k: int = opt(5, "bandits: number of arms", ge=2)
    time_obs: bool = opt(False, "bandits: the observation also carries the share of the trial's pulls still "
                                "to come (1 at the first pull); the paper's agent sees none")

    @property
    def counted_states(self) -> int:
        return 1  # one state: the bonus counts pulls of each arm

    @property
    def task_parameter_dim(self) -> int:
        return self.k  # the arms' success probabilities (those in force, where they switch)

    @property
    def episode_length(self) -> int:
        return 1


def bandit_env(task: BanditConfig, env_class: type[BanditEnv] = BanditEnv) -> BanditEnv:
    """The env of a bandit config (or of a subclass's, e.g. switching bandits), its time observation included."""
    return env_class(k=task.k, pulls=task.n if task.time_obs else 0)


def title(task: BanditConfig) -> str:
    return f"Bernoulli bandits, k={task.k} arms, n={task.n} pulls per trial"


SETTINGS = [(n, k) for n in (10, 100, 500) for k in (5, 10, 50)]


def preset(n: int, k: int) -> dict[str, Any]:
    # Bandit trials are n steps: 240 trials an update up to n = 100, 48 (24,000 steps) at n = 500.
    # Training budgets grow with the trial length.
    trials = 240 if n <= 100 else 48
    budget = {10: 1_000_000, 100: 6_000_000, 500: 20_000_000}[n]
    if (n, k) == (100, 50):
        # 50 arms over 100 pulls keep learning past 6M steps (docs/results.md#the-zoo has the figures).
        budget = 20_000_000
    if (n, k) == (10, 50):
        # 50 arms over 10 pulls: learning to stay on an arm that won more than it lost takes past
        # 3M steps (the screens are in docs/results.md#the-zoo).
        budget = 6_000_000
    # GAE λ: the paper's 0.3 at n = 10; 0.9 for the long trials, where a pull's information pays off
    # over many later pulls and λ = 0.3 leans on the critic for all of it. Measured at n = 100, k = 5
    # (benchmarks/time_to_quality.py): λ = 0.9 reached 77.2 on the held-out tasks in 5M steps (two
    # runs), λ = 0.3 stayed at 76.2-76.7 up to 6M, and its regret per pull rose again at the trial's end.
    lam = 0.3 if n <= 10 else 0.9
    # lr 2e-3 for the long trials: with 3e-3 (and the fused GRU kernel) n = 100, k = 5 peaked at 76.98
    # after 3.7M steps and sagged (76.5-76.9) until the annealed end; with 2e-3 it climbed steadily to
    # 77.28 at 5.4M (2 threads) and 77.23 at 4.1M (1 thread).
    lr = 3e-3 if n <= 10 else 2e-3
    return {"family": "bandit", "n": n, "k": k, "steps_per_update": n * trials, "minibatches": 4,
            "lr": lr, "lam": lam, "total_steps": budget}


PRESETS = {f"bandit-n{n}-k{k}": preset(n, k) for n, k in SETTINGS}


def key(task: BanditConfig) -> str:
    return f"bandit-n{task.n}-k{task.k}"


def preset_of(task: BanditConfig) -> str | None:
    return key(task) if key(task) in PRESETS else None


def baseline_names(task: BanditConfig) -> list[str]:
    """Every bandit baseline; Bayes-optimal only where its state space is small enough to solve."""
    names = list(BANDIT_BASELINES)
    if bayes_optimal_state_count(task.n, task.k) > BAYES_OPTIMAL_MAX_STATES:
        names.remove("bayes_optimal")
    return names


def run_baseline(name: str, task: BanditConfig, tasks: Any, generator: torch.Generator,
                 hparams: dict[str, float]) -> torch.Tensor:
    return run_bandit_baseline(name, tasks.probs.cpu(), task.n, generator, **hparams)


def tune_baseline(name: str, task: BanditConfig, tasks: int, seed: int) -> dict[str, float] | None:
    return tune_bandit_baseline(name, task.n, task.k, tasks, seed) if BANDIT_HPARAMS[name] else None


FAMILY = Family(
    name="bandit", doc="Bernoulli bandits: k arms, n pulls per trial (the paper's Table 1)", config=BanditConfig,
    tasks=lambda task, split, user: BernoulliBandit(k=task.k), env=lambda task, user: bandit_env(task),
    title=title, presets=PRESETS, preset_of=preset_of, key=key,
    baselines=Baselines(baseline_names, run_baseline, tune_baseline), regret=True,
)
