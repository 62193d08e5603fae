"""2D point-robot navigation to an unseen goal on the unit circle (the continuous family of ProMP and
VariBAD's experiments, no dependency): the fast check of the continuous-action path.

The robot starts every episode at the origin and moves by its action, a step of at most 0.1 per
axis; the reward is minus its distance to the goal. It never sees the goal: it infers it from the
rewards of the first episode and can head straight for it in the next ones.

The sparse variant is PEARL's and VariBAD's: goals on the upper half of the circle, and a reward only
within 0.2 of the goal (1 − distance there, 0 elsewhere), so the first episode must search the arc
and the next ones can go straight to where the reward was.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rl2.tasks.gym import SetAttribute

MAX_STEP = 0.1
GOAL_RADIUS = 0.2  # the sparse variant's reward region around its goal


class PointNavigation(gym.Env):
    """A point in the plane; observation: its position; action: a move in [-0.1, 0.1]²; reward: −distance
    to the goal."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, goal: Sequence[float] = (1.0, 0.0)) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Box(-MAX_STEP, MAX_STEP, (2,), np.float32)
        self.goal = goal
        self.position = np.zeros(2, np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = np.zeros(2, np.float32)
        return self.position.copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        move = np.clip(np.asarray(action, np.float32), -MAX_STEP, MAX_STEP)
        self.position = (self.position + move).astype(np.float32)
        distance = float(np.linalg.norm(self.position - np.asarray(self.goal, np.float32)))
        return self.position.copy(), -distance, False, False, {"distance": distance}


class SparsePointNavigation(PointNavigation):
    """Point navigation rewarded only near the goal: 1 − distance within GOAL_RADIUS of it, else 0;
    ``info["success"]`` says the robot is in that region."""

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = super().step(action)
        inside = info["distance"] <= GOAL_RADIUS
        return obs, (1.0 - info["distance"]) if inside else 0.0, terminated, truncated, {**info, "success": inside}


class CircleGoals:
    """Goals at a uniform angle on the unit circle. The splits are draws of different seeds (a
    continuum of goals: a held-out goal is almost surely new)."""

    apply = SetAttribute("goal")

    @staticmethod
    def features(goal: tuple[float, float]) -> tuple[float, float]:
        """What the oracle yardstick is shown: the goal itself."""
        return goal

    arc = 2 * math.pi  # goals at angles in [0, arc)

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[tuple[float, float]]:
        angle = torch.rand(batch, generator=generator, device=generator.device, dtype=torch.float64) * self.arc
        return [(math.cos(a), math.sin(a)) for a in angle.tolist()]


class HalfCircleGoals(CircleGoals):
    """Goals at a uniform angle on the upper half of the unit circle (the sparse variant's)."""

    arc = math.pi
