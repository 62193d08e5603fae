"""2D point-robot navigation to an unseen goal on the unit circle (the continuous family of ProMP and
VariBAD's experiments, no dependency): the fast check of the continuous-action path.

The robot starts every episode at the origin and moves by its action, a step of at most 0.1 per
axis; the reward is minus its distance to the goal. It never sees the goal: it infers it from the
rewards of the first episode and can head straight for it in the next ones.
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


class CircleGoals:
    """Goals at a uniform angle on the unit circle. The splits are draws of different seeds (a
    continuum of goals: a held-out goal is almost surely new)."""

    apply = SetAttribute("goal")

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[tuple[float, float]]:
        angle = torch.rand(batch, generator=generator, device=generator.device, dtype=torch.float64) * 2 * math.pi
        return [(math.cos(a), math.sin(a)) for a in angle.tolist()]
