"""Batched trial envs: many tasks stepped as one tensor op on a torch device."""

from __future__ import annotations

from rl2.config import TaskConfig
from rl2.envs.bandit import BanditEnv
from rl2.envs.base import StepResult, TrialEnv
from rl2.envs.maze import MazeEnv
from rl2.envs.mdp import MDPEnv
from rl2.envs.switching import SwitchingBanditEnv
from rl2.tasks import BernoulliBandit, MazeDistribution, SwitchingBandit, TabularMDP


def make_task_distribution(task: TaskConfig, split: str = "train"
                           ) -> BernoulliBandit | SwitchingBandit | TabularMDP | MazeDistribution:
    """The task distribution a config names. Mazes have disjoint train and test splits; the other
    families' held-out tasks differ from the training ones by their seed only."""
    if task.family == "maze":
        return MazeDistribution(size=task.maze_size, split=split)
    if task.family == "bandit":
        return BernoulliBandit(k=task.k)
    if task.family == "switching":
        return SwitchingBandit(k=task.k, n=task.n, hazard=task.hazard)
    return TabularMDP(states=task.states, actions=task.actions)


def make_env(task: TaskConfig) -> TrialEnv:
    """The batched env of a config's task family (tasks are given to ``reset``)."""
    if task.family == "bandit":
        return BanditEnv(k=task.k)
    if task.family == "switching":
        return SwitchingBanditEnv(k=task.k)
    if task.family == "maze":
        return MazeEnv(size=task.maze_size, max_episode_steps=task.max_episode_steps, view=task.view,
                       view_depth=task.view_depth)
    return MDPEnv(states=task.states, actions=task.actions, horizon=task.horizon)


__all__ = ["BanditEnv", "MDPEnv", "MazeEnv", "StepResult", "SwitchingBanditEnv", "TrialEnv", "make_env",
           "make_task_distribution"]
