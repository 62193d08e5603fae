"""Any Gymnasium environment as a task distribution.

A ``TaskDistribution`` says two things: how to draw tasks (``sample``, with a train and a test
split), and how to put one task into an env (``apply``). A task is any picklable value (a goal, a
velocity, a dict of constructor kwargs): under ``gymnasium.vector.AsyncVectorEnv`` it is sent to
the env's own process. Three ways to apply a task cover most envs:

- ``SetAttribute("goal")``: ``env.goal = task``, on the env or the wrapper that defines ``goal``;
- ``CallMethod("set_task")``: ``env.set_task(task)``, likewise;
- ``Rebuild(make)``: a new env ``make(**task)`` replaces the old one (for tasks that are
  constructor arguments).

The task is set before each trial's first reset and stays in the env for the whole trial, because
Gymnasium's vector autoreset calls ``reset()`` with no options: the env itself must remember it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

SPLITS = ("train", "test")


class TaskDistribution(Protocol):
    """Tasks of a Gymnasium env: drawn from a torch generator, applied to an env before a trial."""

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> Sequence[Any]:
        """`batch` tasks of a split ("train" or "test"), drawn only from `generator`."""
        ...

    def apply(self, env: Any, task: Any) -> Any:
        """Puts `task` into `env`; returns the env to run the trial on (the same one, or a new one)."""
        ...


@dataclass(frozen=True)
class SetAttribute:
    """Applies a task by setting an attribute that the env (or one of its wrappers) defines."""

    name: str

    def __call__(self, env: Any, task: Any) -> Any:
        if not env.has_wrapper_attr(self.name):  # setting it anyway would land on the outer wrapper, unread
            raise AttributeError(f"{env} has no attribute {self.name!r} to set the task on")
        env.set_wrapper_attr(self.name, task)
        return env


@dataclass(frozen=True)
class CallMethod:
    """Applies a task by calling a method of the env (or of one of its wrappers) with it."""

    name: str

    def __call__(self, env: Any, task: Any) -> Any:
        env.get_wrapper_attr(self.name)(task)
        return env


@dataclass(frozen=True)
class Rebuild:
    """Applies a task (a dict of keyword arguments) by building a new env ``make(**task)``; the old one is closed."""

    make: Callable[..., Any]

    def __call__(self, env: Any, task: dict[str, Any]) -> Any:
        env.close()
        return self.make(**task)


@dataclass(frozen=True)
class GymTasks:
    """A batch of tasks for Gymnasium envs: one task per trial and the seed of its first reset."""

    values: list[Any]
    seeds: torch.Tensor  # [B] long, on the device the trial's tensors live on


class GymTaskSampler:
    """One split of a ``TaskDistribution`` in the shape the trainer samples from: ``sample(batch, generator)``.

    Each trial also gets a seed for its env's first reset, from the same generator, so a run's
    trials are reproducible from its seed alone.
    """

    def __init__(self, tasks: TaskDistribution, split: str = "train") -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.tasks = tasks
        self.split = split

    def sample(self, batch: int, generator: torch.Generator) -> GymTasks:
        values = list(self.tasks.sample(batch, generator, self.split))
        if len(values) != batch:
            raise ValueError(f"{type(self.tasks).__name__}.sample returned {len(values)} tasks for a batch of {batch}")
        seeds = torch.randint(2**31 - 1, (batch,), generator=generator, device=generator.device)
        return GymTasks(values, seeds)
