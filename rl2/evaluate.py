"""Adaptation (the fast phase): the frozen policy on fresh held-out tasks, hidden state only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rl2.config import TaskConfig
from rl2.envs import make_env, make_task_distribution
from rl2.policy import RecurrentActorCritic
from rl2.rollout import collect_trials
from rl2.tasks import slice_tasks


def mean_ci95(x: torch.Tensor) -> tuple[float, float]:
    """Mean and half-width of its normal-approximation 95% confidence interval."""
    x = x.double()
    n = x.numel()
    half = 1.96 * float(x.std()) / math.sqrt(n) if n > 1 else float("nan")
    return float(x.mean()), half


@dataclass(frozen=True)
class EvalResult:
    """Returns of N held-out trials: per trial and per episode index inside the trial."""

    episode_returns: torch.Tensor  # [N, n]

    @property
    def trial_returns(self) -> torch.Tensor:
        return self.episode_returns.sum(1)

    def summary(self) -> dict:
        mean, ci = mean_ci95(self.trial_returns)
        per_episode = [mean_ci95(self.episode_returns[:, i]) for i in range(self.episode_returns.shape[1])]
        return {
            "trials": self.episode_returns.shape[0],
            "mean_trial_return": mean,
            "ci95": ci,
            "episode_return_mean": [m for m, _ in per_episode],
            "episode_return_ci95": [c for _, c in per_episode],
        }


def sample_test_tasks(task: TaskConfig, trials: int, seed: int, device: torch.device | str):
    """The held-out tasks of a seed: the same for every policy and baseline evaluated with it."""
    generator = torch.Generator(device).manual_seed(seed)
    return make_task_distribution(task).sample(trials, generator)


@torch.no_grad()
def evaluate(policy: RecurrentActorCritic, task: TaskConfig, trials: int = 1000, seed: int = 1_000_003,
             greedy: bool = False, chunk: int = 1000) -> EvalResult:
    """Runs the frozen policy for one trial on each of `trials` fresh tasks drawn from `seed`."""
    device = policy.policy_head.weight.device
    tasks = sample_test_tasks(task, trials, seed, device)
    env = make_env(task)
    outcome_generator = torch.Generator(device).manual_seed(seed + 1)
    was_training = policy.training
    policy.eval()
    parts = []
    for start in range(0, trials, chunk):
        part = slice_tasks(tasks, start, start + chunk)
        rollout = collect_trials(env, policy, part, task.trial_length, outcome_generator, greedy=greedy)
        parts.append(rollout.episode_returns(task.n).cpu())
    policy.train(was_training)
    return EvalResult(episode_returns=torch.cat(parts, 0))
