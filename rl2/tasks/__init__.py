"""Task distributions as data: ``sample(batch, generator)`` returns task tensors; no hidden global RNG."""

from rl2.tasks.bandit import BanditTasks, BernoulliBandit
from rl2.tasks.mdp import MDPTasks, TabularMDP

__all__ = ["BanditTasks", "BernoulliBandit", "MDPTasks", "TabularMDP"]
