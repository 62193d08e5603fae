"""Task families: one module each (its task config, tasks, env, presets, title, baselines, metrics
and evaluation settings), registered here. Adding a family: a new module that builds a ``Family``,
and one entry in ``BUILTIN`` (or ``register(family)`` from your own code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rl2.config import TaskConfig
from rl2.families import atari, bandit, gym, maze, mdp, metaworld, mujoco, point, switching
from rl2.families.registry import (REGISTRY, Baselines, Family, TaskSampler, family_named, family_of, register,
                                   registered, unregister)

if TYPE_CHECKING:
    from rl2.envs.base import TrialEnv
    from rl2.envs.gym import GymFamily

DEFAULT_FAMILY = "bandit"
BUILTIN = (bandit.FAMILY, mdp.FAMILY, switching.FAMILY, maze.FAMILY, point.FAMILY, *mujoco.FAMILIES,
           *metaworld.FAMILIES, atari.FAMILY, gym.FAMILY)
for _family in BUILTIN:
    register(_family)
del _family


def setting_title(task: TaskConfig) -> str:
    """A setting in a few words, for tables, figure titles and reports (its family's title)."""
    return family_of(task).title(task)


def make_task_distribution(task: TaskConfig, split: str = "train", family: GymFamily | None = None) -> TaskSampler:
    """The task distribution of a config's family and split ("train" or "test"; mazes have disjoint
    splits, the tensor families' held-out tasks differ by their seed only). ``family``: the user's
    own Gymnasium env and tasks (``RL2.gym``)."""
    return family_of(task).tasks(task, split, family)


def make_env(task: TaskConfig, family: GymFamily | None = None) -> TrialEnv:
    """The batched trial env of a config's family (tasks are given to ``reset``)."""
    return family_of(task).env(task, family)


__all__ = ["BUILTIN", "Baselines", "DEFAULT_FAMILY", "Family", "REGISTRY", "TaskSampler", "family_named", "family_of",
           "make_env", "make_task_distribution", "register", "registered", "setting_title", "unregister"]
