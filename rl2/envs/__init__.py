"""Batched trial envs: many tasks stepped as one tensor op on a torch device, and the Gymnasium adapter.

Which env a config's family steps is the family's to say (``rl2.families.make_env``).
"""

from __future__ import annotations

from rl2.envs.bandit import BanditEnv
from rl2.envs.base import EnvError, StepResult, TrialEnv
from rl2.envs.gym import GymFamily, GymTrialEnv
from rl2.envs.maze import MazeEnv
from rl2.envs.mdp import MDPEnv
from rl2.envs.switching import SwitchingBanditEnv
from rl2.envs.tabular_gym import BernoulliBanditEnv, TabularMDPEnv, TensorTasks  # registers rl2/... Gymnasium ids

__all__ = ["BanditEnv", "BernoulliBanditEnv", "EnvError", "GymFamily", "GymTrialEnv", "MDPEnv", "MazeEnv", "StepResult",
           "SwitchingBanditEnv", "TabularMDPEnv", "TensorTasks", "TrialEnv"]
