"""Batched switching Bernoulli bandit env: pull t of the trial pays with the probabilities in force at t."""

from __future__ import annotations

import torch

from rl2.envs.bandit import BanditEnv
from rl2.envs.base import StepResult
from rl2.noise import RandomSource


class SwitchingBanditEnv(BanditEnv):
    """Pulls arms of B switching bandits at once; every pull is an episode of one step.

    The observation is that of stationary bandits: the agent learns of a change point only
    through the rewards. The base env counts the pulls since ``reset`` to know which row of
    the tasks' per-pull probabilities is in force; a trial ends after the tasks' n pulls.
    """

    def arm_probs(self) -> torch.Tensor:
        """The probabilities in force at this pull, [B, k]."""
        return self.tasks.probs[:, self.t]

    def step(self, actions: torch.Tensor, generator: RandomSource) -> StepResult:
        assert self.tasks is not None, "reset the env with tasks first"
        if self.t >= self.tasks.pulls:
            raise RuntimeError(f"the trial of {self.tasks.pulls} pulls is over: reset the env with new tasks")
        return super().step(actions, generator)
