"""Batched switching Bernoulli bandit env: pull t of the trial pays with the probabilities in force at t."""

from __future__ import annotations

import torch

from rl2.envs.base import StepResult
from rl2.tasks.switching import SwitchingBanditTasks


class SwitchingBanditEnv:
    """Pulls arms of B switching bandits at once; every pull is an episode of one step.

    The observation is a constant 1 (as for stationary bandits): the agent learns of a change
    point only through the rewards. The env counts the pulls since ``reset`` to know which row of
    the tasks' per-pull probabilities is in force; a trial ends after the tasks' n pulls.
    """

    episode_length = 1

    def __init__(self, k: int) -> None:
        self.num_actions = k
        self.obs_dim = 1
        self.tasks: SwitchingBanditTasks | None = None
        self.t = 0

    def reset(self, tasks: SwitchingBanditTasks) -> torch.Tensor:
        self.tasks = tasks
        self.t = 0
        probs = tasks.probs
        self._obs = torch.ones(tasks.batch, 1, device=probs.device)
        self._done = torch.ones(tasks.batch, dtype=torch.bool, device=probs.device)
        self._not_truncated = torch.zeros_like(self._done)
        return self._obs

    def step(self, actions: torch.Tensor, generator: torch.Generator) -> StepResult:
        assert self.tasks is not None, "reset the env with tasks first"
        if self.t >= self.tasks.pulls:
            raise RuntimeError(f"the trial of {self.tasks.pulls} pulls is over: reset the env with new tasks")
        p = self.tasks.probs[:, self.t].gather(1, actions[:, None]).squeeze(1)  # [B]
        u = torch.rand(p.shape, generator=generator, device=p.device)
        reward = (u < p).to(p.dtype)
        self.t += 1
        return StepResult(obs=self._obs, reward=reward, terminated=self._done, truncated=self._not_truncated)
