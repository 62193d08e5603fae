"""Random perfect mazes with a start and a target cell, generated on the device in batches.

A maze of ``size`` x ``size`` cells is a spanning tree of the grid (a *perfect* maze: exactly one
path between any two cells), carved by the recursive backtracker (randomized depth-first search),
which makes the long winding corridors a navigation task wants. The backtracker runs for all B mazes
at once: one Python iteration per carving step (2·cells − 3 of them), never one per maze.

Train and test mazes are disjoint by construction: a fixed hash of the wall layout assigns every
maze to one split, and each split's sampler keeps only its own mazes. So held-out mazes are never
seen in training, whatever the seeds, while both splits stay effectively unlimited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# Directions: 0 north (row - 1), 1 east (col + 1), 2 south (row + 1), 3 west (col - 1); clockwise,
# so turning right is +1 and the opposite direction is +2 (mod 4).
DIRECTION_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))
SPLITS = ("train", "test")


@dataclass(frozen=True)
class MazeTasks:
    """A batch of mazes, each with a start cell, a start heading and a target cell."""

    passages: torch.Tensor  # [B, N, 4] bool: passages[b, c, d] = one can move from cell c in direction d
    start: torch.Tensor  # [B] long: start cell (row * size + col), the agent's respawn point in every episode
    start_dir: torch.Tensor  # [B] long: heading at the start of every episode
    target: torch.Tensor  # [B] long: target cell (never the start cell)

    @property
    def batch(self) -> int:
        return self.passages.shape[0]

    @property
    def size(self) -> int:
        return math.isqrt(self.passages.shape[1])


def neighbours(size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """[N, 4] long: the cell next to each cell in each direction, or N (a null cell) off the grid."""
    rows = torch.arange(size, device=device).repeat_interleave(size)
    cols = torch.arange(size, device=device).repeat(size)
    out = []
    for dr, dc in DIRECTION_STEPS:
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
        out.append(torch.where(inside, r * size + c, size * size))
    return torch.stack(out, 1)


def carve_mazes(size: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """[B, N, 4] bool passages of B random perfect mazes (recursive backtracker, batched)."""
    device = generator.device
    N = size * size
    nbr = neighbours(size, device)  # [N, 4]
    rows = torch.arange(batch, device=device)
    # One extra column on every per-cell table: index N is the null cell off the grid, always
    # "visited", and the write target of the steps that carve nothing.
    visited = torch.zeros(batch, N + 1, dtype=torch.bool, device=device)
    visited[:, N] = True
    passages = torch.zeros(batch, (N + 1) * 4, dtype=torch.bool, device=device)
    stack = torch.zeros(batch, N, dtype=torch.long, device=device)
    root = torch.randint(N, (batch,), generator=generator, device=device)
    stack[:, 0] = root
    visited[rows, root] = True
    top = torch.zeros(batch, dtype=torch.long, device=device)  # stack pointer
    # Every cell but the root is pushed once and popped at most once before the last push.
    for _ in range(max(0, 2 * N - 3)):
        cell = stack[rows, top]  # [B]
        candidates = nbr[cell]  # [B, 4]
        free = ~visited.gather(1, candidates)  # [B, 4] unvisited neighbours
        score = torch.rand(batch, 4, generator=generator, device=device).masked_fill(~free, -1.0)
        d = score.argmax(1)  # a uniformly random free direction
        carve = free.any(1)
        nxt = torch.where(carve, candidates[rows, d], N)
        # Open both sides of the wall; mazes that carve nothing this step write into the null cell.
        passages[rows, torch.where(carve, cell * 4 + d, N * 4)] = True
        passages[rows, nxt * 4 + (d + 2) % 4] = True
        visited[rows, nxt] = True
        top = torch.where(carve, top + 1, (top - 1).clamp(min=0))
        stack[rows, top] = torch.where(carve, nxt, stack[rows, top])
    return passages.view(batch, N + 1, 4)[:, :N]


def maze_split(passages: torch.Tensor) -> torch.Tensor:
    """[B] long: 0 (train) or 1 (test), a fixed hash of each maze's wall layout."""
    B, N, _ = passages.shape
    bits = passages[:, :, 1:3].reshape(B, 2 * N).long()  # east and south passages describe the maze
    # Fixed odd multipliers (a Weyl sequence mod 2^31): the hash depends on the layout only, on any device.
    weights = (torch.arange(1, 2 * N + 1, device=passages.device) * 2654435761) % 2**31
    return ((bits * weights).sum(1) >> 17) & 1


@dataclass(frozen=True)
class MazeDistribution:
    """Random size x size perfect mazes of one split, with uniformly random start, heading and target."""

    size: int
    split: str = "train"

    def __post_init__(self) -> None:
        if self.size < 2:
            raise ValueError(f"a maze needs at least 2 x 2 cells, got size {self.size}")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")

    def sample(self, batch: int, generator: torch.Generator) -> MazeTasks:
        device = generator.device
        passages = self._sample_passages(batch, generator)
        N = self.size * self.size
        start = torch.randint(N, (batch,), generator=generator, device=device)
        # target = start + an offset in [1, N): uniform over the other cells
        target = (start + 1 + torch.randint(N - 1, (batch,), generator=generator, device=device)) % N
        start_dir = torch.randint(4, (batch,), generator=generator, device=device)
        return MazeTasks(passages=passages, start=start, start_dir=start_dir, target=target)

    def _sample_passages(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """Carves candidates and keeps this split's (about half of them) until `batch` are found."""
        want = SPLITS.index(self.split)
        kept: list[torch.Tensor] = []
        found = 0
        while found < batch:
            candidates = carve_mazes(self.size, 2 * (batch - found) + 16, generator)
            mine = candidates[maze_split(candidates) == want]
            kept.append(mine)
            found += mine.shape[0]
        return torch.cat(kept)[:batch]
