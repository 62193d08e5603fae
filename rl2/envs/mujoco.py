"""The MuJoCo locomotion families of the meta-RL literature (ProMP, VariBAD), as wrappers of
Gymnasium's v5 envs that recompute the task's reward from ``info`` (needs ``pip install 'rl2[mujoco]'``).

- HalfCheetah-Vel: run at a target velocity v* ~ U[0, 3]: r = -|v_x - v*| - 0.05 |a|².
- HalfCheetah-Dir: run forward or backward (d = ±1, equally likely): r = d v_x - 0.05 |a|².
- Ant-Dir: walk in a direction θ ~ U[0, 2π) of the plane: r = (cos θ, sin θ)·(v_x, v_y) - 0.5 |a|²
  - contact cost + 1 while healthy; an unhealthy ant ends its episode (terminated), so Ant-Dir
  episodes vary in length.

The control costs are v5's own (``reward_ctrl``), with HalfCheetah's weight set to 0.05 as in those
papers. The splits are draws of different seeds (continuous task parameters).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch

from rl2.envs.extras import available, require
from rl2.tasks.gym import SetAttribute


def make_v5(env_id: str, family: str, **kwargs: Any) -> gym.Env:
    """Gymnasium's `env_id` (v5); a missing MuJoCo is a one-line ConfigError naming the extra."""
    require("mujoco", family, "MuJoCo", "mujoco")
    return gym.make(env_id, **kwargs)


class TaskReward(gym.Wrapper):
    """A v5 env whose reward is the task's, recomputed from the step's ``info`` by ``reward``."""

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, float(self.reward(info)), terminated, truncated, info

    def reward(self, info: dict) -> float:
        raise NotImplementedError


class HalfCheetahVel(TaskReward):
    """HalfCheetah-v5 rewarded for running at ``target_velocity``."""

    def __init__(self) -> None:
        super().__init__(make_v5("HalfCheetah-v5", "halfcheetah-vel", ctrl_cost_weight=0.05))
        self.target_velocity = 1.0

    def reward(self, info: dict) -> float:
        return -abs(info["x_velocity"] - self.target_velocity) + info["reward_ctrl"]


class HalfCheetahDir(TaskReward):
    """HalfCheetah-v5 rewarded for running in ``direction`` (+1 forward, -1 backward)."""

    def __init__(self) -> None:
        super().__init__(make_v5("HalfCheetah-v5", "halfcheetah-dir", ctrl_cost_weight=0.05))
        self.direction = 1.0

    def reward(self, info: dict) -> float:
        return self.direction * info["x_velocity"] + info["reward_ctrl"]


class AntDir(TaskReward):
    """Ant-v5 rewarded for walking at ``angle`` (radians) in the plane."""

    def __init__(self) -> None:
        super().__init__(make_v5("Ant-v5", "ant-dir"))
        self.angle = 0.0

    def reward(self, info: dict) -> float:
        forward = math.cos(self.angle) * info["x_velocity"] + math.sin(self.angle) * info["y_velocity"]
        return forward + info["reward_ctrl"] + info["reward_contact"] + info["reward_survive"]


class UniformVelocity:
    """Target velocities ~ U[0, 3]."""

    apply = SetAttribute("target_velocity")

    @staticmethod
    def features(velocity: float) -> list[float]:
        return [velocity]

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[float]:
        return (3.0 * torch.rand(batch, generator=generator, device=generator.device, dtype=torch.float64)).tolist()


class ForwardBackward:
    """Directions +1 or -1, equally likely."""

    apply = SetAttribute("direction")

    @staticmethod
    def features(direction: float) -> list[float]:
        return [direction]

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[float]:
        coin = torch.randint(2, (batch,), generator=generator, device=generator.device)
        return (2.0 * coin - 1.0).tolist()


class UniformAngle:
    """Directions at a uniform angle in [0, 2π)."""

    apply = SetAttribute("angle")

    @staticmethod
    def features(angle: float) -> list[float]:
        return [math.cos(angle), math.sin(angle)]  # continuous across 2π

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[float]:
        return (2 * math.pi * torch.rand(batch, generator=generator, device=generator.device,
                                         dtype=torch.float64)).tolist()


MUJOCO_FAMILIES = {
    "halfcheetah-vel": (HalfCheetahVel, UniformVelocity),
    "halfcheetah-dir": (HalfCheetahDir, ForwardBackward),
    "ant-dir": (AntDir, UniformAngle),
}


def mujoco_available() -> bool:
    """MuJoCo and Gymnasium's MuJoCo envs can be imported."""
    return available("mujoco")
