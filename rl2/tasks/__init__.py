"""Task distributions as data: ``sample(batch, generator)`` returns task tensors; no hidden global RNG."""

from rl2.tasks.bandit import BanditTasks, BernoulliBandit
from rl2.tasks.maze import MazeDistribution, MazeTasks
from rl2.tasks.mdp import MDPTasks, TabularMDP
from rl2.tasks.switching import SwitchingBandit, SwitchingBanditTasks

__all__ = ["BanditTasks", "BernoulliBandit", "MDPTasks", "MazeDistribution", "MazeTasks", "SwitchingBandit", "SwitchingBanditTasks", "TabularMDP"]
