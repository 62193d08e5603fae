"""Batched Bernoulli bandit env: every pull is an episode of one step."""

from __future__ import annotations

import torch

from rl2.envs.base import StepResult
from rl2.noise import RandomSource, rand
from rl2.tasks.bandit import BanditTasks


class BanditEnv:
    """Pulls arms of B bandits at once. The observation is a constant 1: a bandit has no state."""

    episode_length = 1
    fixed_length = True  # every pull is a whole episode: a trial is exactly n pulls

    def __init__(self, k: int) -> None:
        self.num_actions = k
        self.obs_dim = 1
        self.obs_shape = (1,)
        self.tasks: BanditTasks | None = None

    def reset(self, tasks: BanditTasks) -> torch.Tensor:
        self.tasks = tasks
        probs = tasks.probs
        self._obs = torch.ones(tasks.batch, 1, device=probs.device)
        self._done = torch.ones(tasks.batch, dtype=torch.bool, device=probs.device)
        self._not_truncated = torch.zeros_like(self._done)
        return self._obs

    def arm_probs(self) -> torch.Tensor:
        """Success probability of every arm for the next pull, [B, k]."""
        return self.tasks.probs

    def step(self, actions: torch.Tensor, generator: RandomSource) -> StepResult:
        assert self.tasks is not None, "reset the env with tasks first"
        p = self.arm_probs().gather(1, actions[:, None]).squeeze(1)  # [B]
        u = rand(p.shape, generator)
        reward = (u < p).to(p.dtype)
        return StepResult(obs=self._obs, reward=reward, terminated=self._done, truncated=self._not_truncated)
