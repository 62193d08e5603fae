"""What the families run through the Gymnasium adapter share: their config fields, and how their
tasks and batched env are built from a ``GymFamily`` (an env maker and its task distribution)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rl2.config import TaskConfig, opt
from rl2.envs.gym import GymFamily, GymTrialEnv
from rl2.families.registry import Family
from rl2.tasks.gym import GymTaskSampler

GYM_CHUNK = 32  # trials of a Gymnasium family evaluated at once: its copies are Python objects (or processes)


@dataclass(frozen=True)
class GymConfig(TaskConfig):
    """A family stepped through the Gymnasium adapter: n episodes of at most max_episode_steps."""

    max_episode_steps: int = opt(250, "Gymnasium families: steps after which an episode is cut", ge=1)
    vector: str = opt("sync", "Gymnasium families: env copies stepped in this process (sync) or one process "
                      "each (async)", choices=("sync", "async"))
    reveal_task: bool = opt(False, "Gymnasium families: append the task (goal, velocity, direction) to every "
                            "observation: the oracle yardstick, which need not infer it")

    @property
    def episode_length(self) -> int:
        return self.max_episode_steps


def gym_title(task: GymConfig, name: str) -> str:
    """A Gymnasium family's setting in a few words: `name`, the trial's episodes and their cap."""
    return f"{name}, n={task.n} episodes of up to {task.max_episode_steps} steps"


def gym_family(name: str, doc: str, config: type[GymConfig], build: Callable[[Any, GymFamily | None], GymFamily],
               title: Callable[[Any], str] | None = None, **more: Any) -> Family:
    """A family run through the Gymnasium adapter: `build(task, user)` gives its env maker and tasks."""
    return Family(
        name=name, doc=doc, config=config,
        tasks=lambda task, split, user: GymTaskSampler(build(task, user).tasks, split),
        env=lambda task, user: GymTrialEnv(build(task, user), task.max_episode_steps, task.vector, task.reveal_task),
        title=title or (lambda task: gym_title(task, name)), eval_chunk=GYM_CHUNK,
        # Each rank would step its own env copies: not tested under torchrun yet.
        one_process="Gymnasium envs", **more,
    )
