"""Observation encoders, chosen by the observation's shape: vectors go to the core as they are (the
identity, no encoder); images [C, H, W], flattened in φ like every observation, go through a small CNN."""

from __future__ import annotations

import torch
from torch import nn


class ImageEncoder(nn.Module):
    """A CNN ``net`` over images of ``shape`` [C, H, W] with ``out_dim`` features, read from the
    flattened observations every input carries."""

    shape: tuple[int, int, int]
    net: nn.Sequential
    out_dim: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened images [..., C·H·W] -> features [..., out_dim]."""
        lead = x.shape[:-1]
        return self.net(x.reshape(-1, *self.shape)).reshape(*lead, self.out_dim)  # [N, C, H, W] -> [..., out]


class ConvEncoder(ImageEncoder):
    """A small CNN for images [C, H, W] -> features [out].

    The first layer reads non-overlapping 3 x 3 patches: the maze renderer draws each cell as a
    3 x 3 tile, so each of its outputs describes one cell; the second mixes neighbouring cells.
    """

    def __init__(self, shape: tuple[int, int, int], channels: int = 32, out: int = 128) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, channels, kernel_size=3, stride=3), nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(channels * (h // 3) * (w // 3), out), nn.ReLU(),
        )
        self.out_dim = out


class FrameEncoder(ImageEncoder):
    """The DQN (Mnih et al. 2015) CNN for screens such as Atari's 84 x 84 frames [C, H, W] -> features [out],
    at half its widths (16, 32, 32 channels, 256 features).

    Half widths because PPO replays every step through the encoder each epoch on a CPU: the full
    network costs ~1.9 ms per frame forward and backward on one core, this one ~0.36 ms.
    """

    MIN_SIDE = 36  # the smallest side the three convolutions (8/4, 4/2, 3/1) leave a 1 x 1 map of

    def __init__(self, shape: tuple[int, int, int], out: int = 256) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        side = lambda n: ((n - 8) // 4 + 1 - 4) // 2 + 1 - 2  # noqa: E731  (the map's side after the convolutions)
        self.net = nn.Sequential(
            nn.Conv2d(c, 16, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * side(h) * side(w), out), nn.ReLU(),
        )
        self.out_dim = out


def make_encoder(obs_shape: tuple[int, ...]) -> ImageEncoder | None:
    """The encoder an observation shape needs: None (identity) for vectors, a CNN for images: the
    cell-tile CNN for small pictures (mazes), the DQN-style one for screens of at least 36 x 36."""
    if len(obs_shape) == 1:
        return None
    if len(obs_shape) == 3 and min(obs_shape[1:]) >= FrameEncoder.MIN_SIDE:
        return FrameEncoder(obs_shape)  # type: ignore[arg-type]
    if len(obs_shape) == 3 and min(obs_shape[1:]) >= 3:
        return ConvEncoder(obs_shape)  # type: ignore[arg-type]
    raise ValueError(f"observations must be vectors [D] or images [C, H, W] of at least 3 x 3, got {obs_shape}")
