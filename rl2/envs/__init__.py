"""Batched trial envs: many tasks stepped as one tensor op on a torch device."""

from __future__ import annotations

from rl2.config import TaskConfig
from rl2.envs.bandit import BanditEnv
from rl2.envs.base import StepResult, TrialEnv
from rl2.envs.mdp import MDPEnv
from rl2.envs.switching import SwitchingBanditEnv
from rl2.tasks import BernoulliBandit, SwitchingBandit, TabularMDP


def make_task_distribution(task: TaskConfig) -> BernoulliBandit | SwitchingBandit | TabularMDP:
    """The task distribution a config names."""
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
    return MDPEnv(states=task.states, actions=task.actions, horizon=task.horizon)


__all__ = ["BanditEnv", "MDPEnv", "StepResult", "SwitchingBanditEnv", "TrialEnv", "make_env",
           "make_task_distribution"]
