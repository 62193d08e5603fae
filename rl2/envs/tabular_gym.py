"""The tabular families as single-task Gymnasium envs, registered as Gymnasium ids.

    import rl2.envs  # registers the ids (or: gym.make("rl2.envs:rl2/BernoulliBandit-v0"))
    env = gym.make("rl2/BernoulliBandit-v0", k=5)
    env = gym.make("rl2/TabularMDP-v0", states=10, actions=5, horizon=10)

Each is one task (a bandit's arm probabilities, an MDP's tables): its ``task`` attribute, which
``TensorTasks`` fills from rl2's own task distributions, so the adapter can meta-train on them too.
They follow the tensor envs' rules: a pull is an episode of one step; an MDP episode starts in state
0 and ends (terminated: the horizon is part of the task) after ``horizon`` steps.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rl2.tasks.gym import SetAttribute

IDS = ("rl2/BernoulliBandit-v0", "rl2/TabularMDP-v0")


class BernoulliBanditEnv(gym.Env):
    """k arms; pulling arm a pays 1 with probability task["probs"][a]. The observation is a constant 1
    (bandits have no state)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, k: int = 5, probs: Any = None) -> None:
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)  # always 1 (equal bounds would warn)
        self.action_space = gym.spaces.Discrete(k)
        # Default task: evenly spaced arm probabilities (a known single task; tasks come from ``task``).
        self.task = {"probs": np.linspace(0.1, 0.9, k) if probs is None else np.asarray(probs, np.float64)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = float(self.np_random.random() < self.task["probs"][int(action)])
        return np.ones(1, np.float32), reward, True, False, {}


class TabularMDPEnv(gym.Env):
    """A tabular MDP: state index observations, rewards N(mean_rewards[s, a], 1), next state drawn from
    transitions[s, a]; episodes of `horizon` steps from state 0."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, states: int = 10, actions: int = 5, horizon: int = 10) -> None:
        self.observation_space = gym.spaces.Discrete(states)
        self.action_space = gym.spaces.Discrete(actions)
        self.horizon = horizon
        # Default task: uniform transitions, mean reward 1 everywhere (tasks come from ``task``).
        self.task = {"transitions": np.full((states, actions, states), 1.0 / states),
                     "mean_rewards": np.ones((states, actions))}
        self.state, self.t = 0, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.state, self.t = 0, 0
        return self.state, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        s, a = self.state, int(action)
        reward = float(self.task["mean_rewards"][s, a] + self.np_random.normal())
        p = self.task["transitions"][s, a]
        self.state = int(self.np_random.choice(len(p), p=p / p.sum()))
        self.t += 1
        return self.state, reward, self.t >= self.horizon, False, {}


class TensorTasks:
    """One of rl2's tensor task distributions (``BernoulliBandit``, ``TabularMDP``) as tasks for the envs
    above: each task is a dict of numpy arrays, one row of the sampled tensors."""

    apply = SetAttribute("task")

    def __init__(self, distribution: Any) -> None:
        self.distribution = distribution

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[dict[str, np.ndarray]]:
        tasks = vars(self.distribution.sample(batch, generator))
        return [{name: value[i].double().cpu().numpy() for name, value in tasks.items()} for i in range(batch)]


def register_envs() -> None:
    """Registers the ids with Gymnasium (again where already registered: the same specs)."""
    gym.register(IDS[0], entry_point=BernoulliBanditEnv)
    gym.register(IDS[1], entry_point=TabularMDPEnv)


register_envs()
