"""Batched trial envs: many tasks stepped as one tensor op on a torch device, and the Gymnasium adapter."""

from __future__ import annotations

from rl2.config import METAWORLD_FAMILIES, ConfigError, TaskConfig
from rl2.envs.atari import atari_family
from rl2.envs.bandit import BanditEnv
from rl2.envs.base import EnvError, StepResult, TrialEnv
from rl2.envs.gym import GymFamily, GymTrialEnv
from rl2.envs.maze import MazeEnv
from rl2.envs.mdp import MDPEnv
from rl2.envs.metaworld import metaworld_family
from rl2.envs.mujoco import MUJOCO_FAMILIES
from rl2.envs.point import CircleGoals, PointNavigation
from rl2.envs.switching import SwitchingBanditEnv
from rl2.envs.tabular_gym import BernoulliBanditEnv, TabularMDPEnv, TensorTasks  # registers rl2/... Gymnasium ids
from rl2.tasks import BernoulliBandit, MazeDistribution, SwitchingBandit, TabularMDP
from rl2.tasks.gym import GymTaskSampler


def gym_family(task: TaskConfig, family: GymFamily | None = None) -> GymFamily:
    """The Gymnasium env and task distribution of a config's family (``family`` for the user's own env)."""
    if family is not None:
        return family
    if task.family == "point":
        return GymFamily("point", PointNavigation, CircleGoals())
    if task.family == "atari":
        return atari_family(task.game, task.frame_stack)
    if task.family in MUJOCO_FAMILIES:
        make, tasks = MUJOCO_FAMILIES[task.family]
        return GymFamily(task.family, make, tasks())
    if task.family in METAWORLD_FAMILIES:
        return metaworld_family(task)
    raise ConfigError("the gym family is the user's own Gymnasium env: build it in Python with RL2.gym(...)")


def make_task_distribution(task: TaskConfig, split: str = "train", family: GymFamily | None = None
                           ) -> BernoulliBandit | SwitchingBandit | TabularMDP | MazeDistribution | GymTaskSampler:
    """The task distribution a config names. Mazes have disjoint train and test splits; the other
    families' held-out tasks differ from the training ones by their seed only (Gymnasium families:
    as their distribution's splits say). ``family``: the user's own Gymnasium env and tasks."""
    if task.is_gym:
        return GymTaskSampler(gym_family(task, family).tasks, split)
    if task.family == "maze":
        return MazeDistribution(size=task.maze_size, split=split)
    if task.family == "bandit":
        return BernoulliBandit(k=task.k)
    if task.family == "switching":
        return SwitchingBandit(k=task.k, n=task.n, hazard=task.hazard)
    return TabularMDP(states=task.states, actions=task.actions)


def make_env(task: TaskConfig, family: GymFamily | None = None) -> TrialEnv:
    """The batched env of a config's task family (tasks are given to ``reset``)."""
    if task.is_gym:
        return GymTrialEnv(gym_family(task, family), task.max_episode_steps, task.vector)
    if task.family == "bandit":
        return BanditEnv(k=task.k)
    if task.family == "switching":
        return SwitchingBanditEnv(k=task.k)
    if task.family == "maze":
        return MazeEnv(size=task.maze_size, max_episode_steps=task.max_episode_steps, view=task.view,
                       view_depth=task.view_depth)
    return MDPEnv(states=task.states, actions=task.actions, horizon=task.horizon)


__all__ = ["BanditEnv", "BernoulliBanditEnv", "EnvError", "GymFamily", "GymTrialEnv", "MDPEnv", "MazeEnv", "StepResult",
           "SwitchingBanditEnv", "TabularMDPEnv", "TensorTasks", "TrialEnv", "gym_family", "make_env",
           "make_task_distribution"]
