"""Pictures of a maze trial: the top-down maze with the agent's path, one panel per episode.

Episode 1 shows the exploration that found the target; episode 2 (same maze, same start) shows
whether the agent remembered where it is. Images are written as PNG by a small zlib encoder, so
no imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from rl2.config import TaskConfig
from rl2.families import make_env
from rl2.policy import RecurrentActorCritic
from rl2.rollout import collect_trials
from rl2.tasks.maze import MazeTasks

CELL = 24  # pixels per maze cell in the picture
WALL = 3  # wall thickness in pixels
COLOURS = {"background": (255, 255, 255), "floor": (236, 236, 236), "wall": (38, 77, 217),
           "target": (230, 38, 26), "start": (255, 200, 0)}
PATH_COLOURS = [(255, 128, 0), (0, 160, 60), (150, 60, 200), (0, 150, 200), (200, 0, 120)]


@dataclass(frozen=True)
class TrialPath:
    """One trial on one maze: the cells the agent stood in, episode by episode."""

    maze: MazeTasks  # a batch of one
    episodes: list[list[int]]  # per episode: the cells visited, from the start cell on
    reached: list[bool]  # per episode: the target was reached (else the episode was cut)


@torch.no_grad()
def record_trial(policy: RecurrentActorCritic, task: TaskConfig, maze: MazeTasks, generator: torch.Generator,
                 greedy: bool = False) -> TrialPath:
    """Runs one trial of ``task.n`` episodes on a single maze and records the agent's cells."""
    env = make_env(task)
    arrived: list[int] = []
    rollout = collect_trials(env, policy, maze, task.n, task.trial_length, generator, greedy=greedy,
                             record_inputs=False, after_step=lambda: arrived.append(int(env.arrived[0])))
    start = int(maze.start[0])
    episodes, reached, current = [], [], [start]
    for t in range(int(rollout.valid[:, 0].sum())):
        current.append(arrived[t])
        if rollout.terminated[t, 0] or rollout.truncated[t, 0]:
            episodes.append(current)
            reached.append(bool(rollout.terminated[t, 0]))
            current = [start]
    return TrialPath(maze=maze, episodes=episodes, reached=reached)


def draw_episode(maze: MazeTasks, path: list[int], colour: tuple[int, int, int]) -> np.ndarray:
    """[H, W, 3] uint8: the top-down maze (north up) with one episode's path drawn over it."""
    size = maze.size
    passages = maze.passages[0].cpu().numpy()
    side = size * CELL + WALL
    img = np.empty((side, side, 3), dtype=np.uint8)
    img[:] = COLOURS["floor"]
    centre = CELL // 2 + WALL // 2

    def cell_box(cell: int, margin: int, rgb: tuple[int, int, int]) -> None:
        r, c = divmod(cell, size)
        img[r * CELL + margin : (r + 1) * CELL + WALL - margin,
            c * CELL + margin : (c + 1) * CELL + WALL - margin] = rgb

    cell_box(int(maze.start[0]), 4, COLOURS["start"])
    cell_box(int(maze.target[0]), 4, COLOURS["target"])
    # The path: a thick line between the centres of consecutive cells (moves are one cell at a time).
    half = 2
    for a, b in pairwise(path):
        (ra, ca), (rb, cb) = divmod(a, size), divmod(b, size)
        y0, y1 = sorted((ra * CELL + centre, rb * CELL + centre))
        x0, x1 = sorted((ca * CELL + centre, cb * CELL + centre))
        img[y0 - half : y1 + half + 1, x0 - half : x1 + half + 1] = colour
    for cell in range(size * size):
        r, c = divmod(cell, size)
        y, x = r * CELL, c * CELL
        if not passages[cell, 0]:  # north wall (the grid's outer walls are closed passages too)
            img[y : y + WALL, x : x + CELL + WALL] = COLOURS["wall"]
        if not passages[cell, 3]:  # west wall
            img[y : y + CELL + WALL, x : x + WALL] = COLOURS["wall"]
    img[-WALL:, :] = COLOURS["wall"]  # south and east borders
    img[:, -WALL:] = COLOURS["wall"]
    return img


def trial_strip(trial: TrialPath, gap: int = 8) -> np.ndarray:
    """[H, W, 3] uint8: the episodes' panels side by side, each path in its own colour."""
    panels = [draw_episode(trial.maze, path, PATH_COLOURS[i % len(PATH_COLOURS)])
              for i, path in enumerate(trial.episodes)]
    h = panels[0].shape[0]
    spacer = np.full((h, gap, 3), COLOURS["background"], dtype=np.uint8)
    pieces = [p for panel in panels for p in (panel, spacer)][:-1]
    return np.concatenate(pieces, axis=1)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Writes an [H, W, 3] uint8 image as an 8-bit RGB PNG."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(data)
