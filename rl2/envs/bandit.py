"""Batched Bernoulli bandit env: every pull is an episode of one step."""

from __future__ import annotations

import torch

from rl2.envs.base import StepResult, with_time_left
from rl2.noise import RandomSource, rand
from rl2.tasks.bandit import BanditTasks


class BanditEnv:
    """Pulls arms of B bandits at once. The observation is a constant 1: a bandit has no state.

    With ``pulls`` > 0 the observation also carries the share of the trial's pulls still to come
    (1 at the first pull, 1/pulls at the last): a finite-horizon index such as Gittins' depends on
    it, and otherwise the recurrent core must count the pulls itself. The env counts the pulls
    since ``reset`` either way.
    """

    episode_length = 1
    fixed_length = True  # every pull is a whole episode: a trial is exactly n pulls

    def __init__(self, k: int, pulls: int = 0) -> None:
        self.num_actions = k
        self.task_parameter_dim = k
        self.pulls = pulls
        self.obs_dim = 2 if pulls else 1
        self.obs_shape = (self.obs_dim,)
        # The observation's optional parts and their columns (a warm start bridges a source without them).
        self.optional_inputs = {"time_obs": range(1, 2)} if pulls else {}
        self.tasks: BanditTasks | None = None
        self.t = 0

    def reset(self, tasks: BanditTasks) -> torch.Tensor:
        self.tasks = tasks
        self.t = 0
        probs = tasks.probs
        self._ones = torch.ones(tasks.batch, 1, device=probs.device)
        self._done = torch.ones(tasks.batch, dtype=torch.bool, device=probs.device)
        self._not_truncated = torch.zeros_like(self._done)
        return self._observation()

    def _observation(self) -> torch.Tensor:
        if not self.pulls:
            return self._ones
        return with_time_left(self._ones, self.t, self.pulls)

    def arm_probs(self) -> torch.Tensor:
        """Success probability of every arm for the next pull, [B, k]."""
        return self.tasks.probs

    def task_parameters(self) -> torch.Tensor:
        """The task in force for the next pull, [B, k]: every arm's success probability."""
        return self.arm_probs()

    def step(self, actions: torch.Tensor, generator: RandomSource) -> StepResult:
        assert self.tasks is not None, "reset the env with tasks first"
        p = self.arm_probs().gather(1, actions[:, None]).squeeze(1)  # [B]
        u = rand(p.shape, generator)
        reward = (u < p).to(p.dtype)
        self.t += 1
        return StepResult(obs=self._observation(), reward=reward, terminated=self._done,
                          truncated=self._not_truncated, mean_reward=p)
