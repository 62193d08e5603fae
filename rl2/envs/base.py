"""The interface every batched trial env speaks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from rl2.noise import RandomSource


class EnvError(ValueError):
    """An env cannot be used or misbehaved (shown to the user as one line naming the env and step)."""


def with_time_left(obs: torch.Tensor, steps_done: int, trial_steps: int) -> torch.Tensor:
    """obs [B, D] with the share of the trial's steps still to come appended, [B, D + 1]: 1 at the
    trial's first step, 1/trial_steps at its last (the time observation of bandits and MDPs)."""
    return torch.cat([obs, obs.new_full((obs.shape[0], 1), 1.0 - steps_done / trial_steps)], dim=1)


@dataclass(frozen=True)
class StepResult:
    """What one step of B tasks returns; every tensor has the batch as its first dim."""

    obs: torch.Tensor  # [B, obs_dim] observation after the step (the next episode's first one after an end)
    reward: torch.Tensor  # [B] float
    terminated: torch.Tensor  # [B] bool: the episode ended by the task's own rule
    truncated: torch.Tensor  # [B] bool: the episode was cut by a time limit outside the task
    # [B] bool: the task's own success flag at this step, for envs that report one apart from the
    # episode's end (Meta-World's info["success"]); None: success is terminated (a maze's target reached)
    success: torch.Tensor | None = None
    # [B] float: the reward's mean given the task, the state and the action, for envs whose reward is
    # noise around a mean they know (Bernoulli arms, the MDPs' Gaussian rewards); None where unknown
    mean_reward: torch.Tensor | None = None

    @property
    def episode_done(self) -> torch.Tensor:
        return self.terminated | self.truncated


class TrialEnv(Protocol):
    """B tasks stepped at once.

    Bandit and MDP episodes have a fixed length, so all their trials have one length; maze
    episodes end early at the target, and ``episode_length`` is their cap.
    """

    obs_dim: int  # size of the flattened observation
    obs_shape: tuple[int, ...]  # its shape: (obs_dim,) for vectors, (C, H, W) for images
    num_actions: int  # discrete: the number of actions; Box actions (``continuous``): the action vector's size
    episode_length: int
    # Box actions: ``continuous = True`` (envs without the attribute are discrete)
    # Episodes that never end before ``episode_length`` steps: ``fixed_length = True``, and a trial is
    # then collected for exactly its length, without a per-step check that all trials have ended
    # Episodes that succeed or fail (StepResult.success, or terminated): ``reports_success = True``, and
    # the success rate of each episode index is logged and evaluated

    def reset(self, tasks: Any) -> torch.Tensor:
        """Starts the first episode on each task; returns the observation [B, obs_dim]."""
        ...

    def step(self, actions: torch.Tensor, generator: RandomSource) -> StepResult:
        """Applies actions [B] (long) and draws stochastic outcomes from the generator (via ``rl2.noise``)."""
        ...

    # Envs whose task is a few numbers they hold (bandits, MDPs; their family config's
    # ``task_parameter_dim`` is not 0) also define ``task_parameters() -> [B, F]``: the task in force for the next
    # step, as floats, which belief supervision (``belief_coef``) teaches the core to estimate; and
    # ``task_parameter_dim`` (F), known before any reset.
