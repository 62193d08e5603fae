"""Task distributions as data: ``sample(batch, generator)`` returns task tensors; no hidden global RNG."""

from rl2.tasks.bandit import BanditTasks, BernoulliBandit
from rl2.tasks.maze import MazeDistribution, MazeTasks
from rl2.tasks.mdp import MDPTasks, TabularMDP
from rl2.tasks.switching import SwitchingBandit, SwitchingBanditTasks


def slice_tasks(tasks, start: int, stop: int):
    """Rows start:stop of a batch of tasks (any dataclass of [B, ...] tensors)."""
    fields = {name: value[start:stop] for name, value in vars(tasks).items()}
    return type(tasks)(**fields)


__all__ = ["BanditTasks", "BernoulliBandit", "MDPTasks", "MazeDistribution", "MazeTasks", "SwitchingBandit",
           "SwitchingBanditTasks", "TabularMDP", "slice_tasks"]
