"""Batched trial envs: many tasks stepped as one tensor op on a torch device."""

from __future__ import annotations

from rl2.config import TaskConfig
from rl2.envs.bandit import BanditEnv
from rl2.envs.base import StepResult, TrialEnv
from rl2.envs.mdp import MDPEnv
from rl2.tasks import BernoulliBandit, TabularMDP


def make_task_distribution(task: TaskConfig) -> BernoulliBandit | TabularMDP:
    """The task distribution a config names."""
    if task.family == "bandit":
        return BernoulliBandit(k=task.k)
    return TabularMDP(states=task.states, actions=task.actions)


def make_env(task: TaskConfig) -> TrialEnv:
    """The batched env of a config's task family (tasks are given to ``reset``)."""
    if task.family == "bandit":
        return BanditEnv(k=task.k)
    return MDPEnv(states=task.states, actions=task.actions, horizon=task.horizon)


__all__ = ["BanditEnv", "MDPEnv", "StepResult", "TrialEnv", "make_env", "make_task_distribution"]
