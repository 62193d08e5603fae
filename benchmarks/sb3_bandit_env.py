"""The RL² bandit task as a Gymnasium env for peers (sb3-contrib): one trial = one Gymnasium episode.

The observation is rl2's input φ: (constant 1, one-hot previous arm, previous reward, previous done),
so the peer sees exactly what rl2's policy sees and its LSTM state resets at trial starts.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class RL2BanditEnv(gym.Env):
    def __init__(self, k: int = 5, n: int = 100, seed: int = 0) -> None:
        self.k, self.n = k, n
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(k + 3,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(k)
        self._rng = np.random.default_rng(seed)

    def _obs(self, action: int | None, reward: float, done: float) -> np.ndarray:
        obs = np.zeros(self.k + 3, dtype=np.float32)
        obs[0] = 1.0
        if action is not None:
            obs[1 + action] = 1.0
        obs[-2], obs[-1] = reward, done
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.probs = self._rng.uniform(size=self.k)  # a new task for every trial
        self.t = 0
        return self._obs(None, 0.0, 0.0), {}

    def step(self, action):
        action = int(action)
        reward = float(self._rng.uniform() < self.probs[action])
        self.t += 1
        # Every pull ends a bandit episode (the done input); the trial ends after n pulls.
        return self._obs(action, reward, 1.0), reward, self.t >= self.n, False, {}
