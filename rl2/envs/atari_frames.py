"""The standard Atari preprocessing (Mnih et al. 2015, with Machado et al. 2018's evaluation
conventions) as a Gymnasium wrapper of an ALE env that returns single grayscale frames:

- a random number (1 to 30) of no-op frames after every reset, so episodes start in different states;
- each action repeated for 4 frames, the rewards summed, the observation the pixel-wise maximum of
  the last two frames (sprites flicker: some are drawn on every other frame only);
- frames resized from 210 x 160 to 84 x 84 by area averaging, kept as uint8;
- the last k frames stacked into a [k, 84, 84] observation;
- losing a life does not end the episode (an episode is a whole game, as in evaluation).

Sticky actions are the ALE's own (each frame repeats the previous action with probability 0.25, as
in the v5 envs), so they act inside the frame skip exactly as in v5.

Resizing without OpenCV: Gymnasium's ``AtariPreprocessing`` needs opencv-python, a ~60 MB wheel,
for this one resize. Area averaging is two small matrix products with the overlap weights of
OpenCV's INTER_AREA (about 0.1 ms a frame, next to ~0.4 ms for the ALE to emulate the 4 frames).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

NOOP = 0  # action 0 is NOOP in every game's action set


def area_weights(n: int, m: int) -> np.ndarray:
    """[m, n] float32 weights that average n samples into m (m <= n) by how much of each sample
    every output cell covers: output i spans [i n/m, (i + 1) n/m) of the input."""
    edges = np.arange(m + 1) * n / m
    start = np.arange(n)
    overlap = np.minimum(edges[1:, None], start + 1) - np.maximum(edges[:-1, None], start)
    return (np.clip(overlap, 0.0, None) * m / n).astype(np.float32)


class AreaResize:
    """Resizes [H, W] uint8 frames to [h, w] by area averaging, rounded to the nearest integer."""

    def __init__(self, shape: tuple[int, int], size: tuple[int, int]) -> None:
        self.rows = area_weights(shape[0], size[0])  # [h, H]
        self.cols = area_weights(shape[1], size[1]).T.copy()  # [W, w]

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        out = self.rows @ frame.astype(np.float32) @ self.cols  # [h, H] @ [H, W] @ [W, w]
        return np.rint(out).clip(0, 255).astype(np.uint8)


class AtariFrames(gym.Wrapper):
    """No-op starts, frame skip with max-pooling, 84 x 84 grayscale and a stack of the last `stack` frames.

    The wrapped env returns [210, 160] uint8 grayscale frames one emulator frame per step
    (``ale_py.AtariEnv(obs_type="grayscale", frameskip=1)``); observations are [stack, 84, 84] uint8.
    """

    def __init__(self, env: gym.Env, stack: int = 1, frame_skip: int = 4, noop_max: int = 30,
                 size: int = 84) -> None:
        super().__init__(env)
        if len(env.observation_space.shape) != 2:
            raise ValueError(f"AtariFrames needs grayscale frames [H, W], got {env.observation_space.shape}")
        self.frame_skip, self.noop_max = frame_skip, noop_max
        self.resize = AreaResize(env.observation_space.shape, (size, size))
        self.frames: deque[np.ndarray] = deque(maxlen=stack)
        self.observation_space = gym.spaces.Box(0, 255, (stack, size, size), np.uint8)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        frame, info = self.env.reset(seed=seed, options=options)
        # The no-op count comes from the ALE env's own generator, seeded by the trial's first reset.
        for _ in range(int(self.env.unwrapped.np_random.integers(1, self.noop_max + 1))):
            frame, _, terminated, truncated, info = self.env.step(NOOP)
            if terminated or truncated:
                frame, info = self.env.reset()
        small = self.resize(frame)
        for _ in range(self.frames.maxlen or 1):
            self.frames.append(small)
        return self._observation(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward, frames = 0.0, []
        for _ in range(self.frame_skip):
            frame, r, terminated, truncated, info = self.env.step(action)
            reward += float(r)
            frames.append(frame)
            if terminated or truncated:
                break
        pooled = np.maximum(frames[-2], frames[-1]) if len(frames) > 1 else frames[-1]
        self.frames.append(self.resize(pooled))
        return self._observation(), reward, terminated, truncated, info

    def _observation(self) -> np.ndarray:
        return np.stack(self.frames)  # [stack, 84, 84]
