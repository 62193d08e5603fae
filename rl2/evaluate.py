"""Adaptation (the fast phase): the frozen policy on fresh held-out tasks, hidden state only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rl2.config import TaskConfig
from rl2.envs import GymFamily
from rl2.families import family_of, make_env, make_task_distribution
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
    """Returns of N held-out trials: per trial and per episode index inside the trial.

    Where episodes succeed or fail (the env ``reports_success``) also whether each did; for mazes
    also each episode's length (the paper's navigation table: success rate, and mean length of the
    successful episodes).
    """

    episode_returns: torch.Tensor  # [N, n]
    episode_lengths: torch.Tensor | None = None  # [N, n] steps
    episode_success: torch.Tensor | None = None  # [N, n] bool

    @property
    def trial_returns(self) -> torch.Tensor:
        return self.episode_returns.sum(1)

    def summary(self) -> dict:
        mean, ci = mean_ci95(self.trial_returns)
        per_episode = [mean_ci95(self.episode_returns[:, i]) for i in range(self.episode_returns.shape[1])]
        out = {
            "trials": self.episode_returns.shape[0],
            "mean_trial_return": mean,
            "ci95": ci,
            "episode_return_mean": [m for m, _ in per_episode],
            "episode_return_ci95": [c for _, c in per_episode],
        }
        if self.episode_success is not None:
            out["episode_success_rate"] = self.episode_success.double().mean(0).tolist()
            if self.episode_lengths is not None:
                out.update(self._success_lengths(self.episode_lengths, self.episode_success))
        return out

    @staticmethod
    def _success_lengths(lengths: torch.Tensor, success: torch.Tensor) -> dict:
        """Mean length (± 95% CI) of the successful episodes of each index (NaN where none succeeded)."""
        means, cis = [], []
        for i in range(lengths.shape[1]):
            ok = success[:, i]
            m, c = mean_ci95(lengths[ok, i]) if bool(ok.any()) else (float("nan"), float("nan"))
            means.append(m)
            cis.append(c)
        return {"episode_success_length_mean": means, "episode_success_length_ci95": cis}


@dataclass(frozen=True)
class NavigationResult:
    """The evaluation of a family with several held-out settings (mazes: the training size and large
    ones), by name; summarized under "navigation"."""

    by_maze: dict[str, EvalResult]

    def summary(self) -> dict:
        return {"navigation": {name: result.summary() for name, result in self.by_maze.items()}}


def held_out_settings(task: TaskConfig) -> dict[str, TaskConfig]:
    """The held-out settings a run is evaluated on, by name: its family's (mazes: small and large
    mazes), or the training setting alone under the name ""."""
    settings = family_of(task).eval_settings
    return {"": task} if settings is None else settings(task)


def sample_test_tasks(task: TaskConfig, trials: int, seed: int, device: torch.device | str,
                      family: GymFamily | None = None):
    """The held-out tasks of a seed: the same for every policy and baseline evaluated with it."""
    generator = torch.Generator(device).manual_seed(seed)
    return make_task_distribution(task, split="test", family=family).sample(trials, generator)


@torch.no_grad()
def evaluate(policy: RecurrentActorCritic, task: TaskConfig, trials: int = 1000, seed: int = 1_000_003,
             greedy: bool = False, chunk: int = 1000, family: GymFamily | None = None
             ) -> EvalResult | NavigationResult:
    """Runs the frozen policy for one trial on each of `trials` fresh tasks drawn from `seed`.

    Families with several held-out settings (mazes): on each (``held_out_settings``). ``family``: the
    user's own Gymnasium env and tasks (config family "gym").
    """
    if family_of(task).eval_settings is None:
        return evaluate_setting(policy, task, trials, seed, greedy, chunk, family)
    return NavigationResult({name: evaluate_setting(policy, setting, trials, seed, greedy, chunk, family)
                             for name, setting in held_out_settings(task).items()})


@torch.no_grad()
def evaluate_setting(policy: RecurrentActorCritic, task: TaskConfig, trials: int, seed: int, greedy: bool = False,
                     chunk: int = 1000, family: GymFamily | None = None) -> EvalResult:
    """The frozen policy on `trials` held-out tasks of one setting, exactly as the config describes it."""
    device = policy.policy_head.weight.device
    spec = family_of(task)
    tasks = sample_test_tasks(task, trials, seed, device, family)
    env = make_env(task, family)
    # Gymnasium copies are Python objects (and processes under async): their family evaluates fewer
    # at once, the same chunks in either vector mode, so sync and async evaluations agree.
    chunk = min(chunk, spec.eval_chunk)
    outcome_generator = torch.Generator(device).manual_seed(seed + 1)
    was_training = policy.training
    policy.eval()
    returns, lengths, success = [], [], []
    for start in range(0, trials, chunk):
        part = slice_tasks(tasks, start, start + chunk)
        rollout = collect_trials(env, policy, part, task.n, task.trial_length, outcome_generator, greedy=greedy,
                                 record_inputs=False)
        returns.append(rollout.episode_returns(task.n).cpu())
        lengths.append(rollout.episode_lengths(task.n).cpu())
        success.append(rollout.episode_success(task.n).cpu())
    policy.train(was_training)
    if hasattr(env, "close"):  # Gymnasium copies (processes under async) end with the evaluation
        env.close()
    reports_success = getattr(env, "reports_success", False)
    return EvalResult(torch.cat(returns, 0), torch.cat(lengths, 0) if spec.episode_lengths else None,
                      torch.cat(success, 0) if reports_success else None)
