"""rl2: RL² — fast reinforcement learning via slow reinforcement learning (Duan et al. 2016).

A recurrent policy meta-trained with PPO across a distribution of tasks, so that its hidden state
becomes a learning algorithm: on a new task it adapts within a trial, with no weight updates.
"""

from rl2.agent import Agent
from rl2.api import RL2
from rl2.config import (Config, ConfigError, MachineConfig, PolicyConfig, PPOConfig, RunConfig, TaskConfig, TRPOConfig,
                        make_task)
from rl2.evaluate import EvalResult, evaluate
from rl2.presets import DEFAULT_PRESET, PRESETS, preset_config

__version__ = "0.1.0"

__all__ = [
    "Agent", "Config", "ConfigError", "DEFAULT_PRESET", "EvalResult", "MachineConfig", "PPOConfig", "PRESETS",
    "PolicyConfig", "RL2", "RunConfig", "TRPOConfig", "TaskConfig", "evaluate", "make_task", "preset_config",
]
