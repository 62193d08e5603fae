"""Batched maze navigation seen from pixels: find the target, then find it again faster.

The agent stands in a cell facing one of four directions and acts: 0 forward, 1 turn left,
2 turn right. Rewards follow the RL² paper's navigation task: −0.04 every step, −0.001 more when
a forward move hits a wall (the agent stays put), +1 on reaching the target, which ends the episode
(terminated). An episode that reaches ``max_episode_steps`` is cut (truncated). After either, the
agent respawns at the task's start cell and heading; the maze and target stay the same for the
whole trial.

Observations are RGB images [3, H, W] in [0, 1], returned flattened as [B, 3·H·W] (``obs_shape``
gives the image shape). Every maze cell is drawn as a 3 x 3 pixel tile: floor centre (or the
target), wall or floor on each of its four edges, wall-coloured corner posts.

- ``egocentric``: a window of 3 cells across and ``view_depth`` cells ahead, rotated so the agent
  looks up from the bottom-centre tile. Only what is in sight is drawn: the corridor straight ahead
  up to the first wall, and the side cells seen through openings of that corridor; the rest is
  black. The image is the same size on any maze, so an agent trained on small mazes runs on large ones.
- ``topdown``: the whole maze, north up, with the target and the agent (its tile centre, and the
  edge it faces); for debugging (it shows the target, so there is nothing to explore).
"""

from __future__ import annotations

import torch

from rl2.envs.base import StepResult
from rl2.tasks.maze import MazeTasks, neighbours

STEP_REWARD = -0.04
WALL_HIT_REWARD = -0.001
TARGET_REWARD = 1.0
FORWARD, TURN_LEFT, TURN_RIGHT = 0, 1, 2
VIEWS = ("egocentric", "topdown")

# Pixel labels and their colours (RGB in [0, 1]).
UNSEEN, FLOOR, WALL, TARGET, AGENT = range(5)
PALETTE = torch.tensor([
    [0.0, 0.0, 0.0],  # unseen: black
    [0.6, 0.6, 0.6],  # floor: grey
    [0.15, 0.3, 0.85],  # wall: blue
    [0.9, 0.15, 0.1],  # target: red
    [1.0, 0.85, 0.0],  # agent (top-down view only): yellow
])
TILE = 3
# Pixel (row, col) inside a tile of the edge facing each direction: north, east, south, west.
EDGE_PIXELS = ((0, 1), (1, 2), (2, 1), (1, 0))
CORNER_PIXELS = ((0, 0), (0, 2), (2, 0), (2, 2))


def cell_tiles(tasks: MazeTasks) -> torch.Tensor:
    """[B, N + 1, 4, 3, 3] pixel labels of every cell as seen facing each of the 4 headings.

    Seen facing heading h, the tile's top edge is the wall in direction h, its right edge h + 1,
    and so on clockwise. Cell N is the null cell (all unseen) that out-of-sight lookups land on.
    """
    B, N, _ = tasks.passages.shape
    device = tasks.passages.device
    tiles = torch.full((B, N + 1, 4, TILE, TILE), FLOOR, dtype=torch.uint8, device=device)
    for r, c in CORNER_PIXELS:
        tiles[:, :N, :, r, c] = WALL
    is_target = torch.zeros(B, N, dtype=torch.bool, device=device)
    is_target[torch.arange(B, device=device), tasks.target] = True
    tiles[:, :N, :, 1, 1] = torch.where(is_target, TARGET, FLOOR).to(torch.uint8)[:, :, None]
    for heading in range(4):
        for rel, (r, c) in enumerate(EDGE_PIXELS):
            wall = ~tasks.passages[:, :, (heading + rel) % 4]  # [B, N]
            tiles[:, :N, heading, r, c] = torch.where(wall, WALL, FLOOR).to(torch.uint8)
    tiles[:, N] = UNSEEN
    return tiles


def labels_to_rgb(labels: torch.Tensor) -> torch.Tensor:
    """Pixel labels [..., H, W] -> RGB [..., 3, H, W] floats in [0, 1]."""
    rgb = PALETTE.to(labels.device)[labels.long()]  # [..., H, W, 3]
    return rgb.movedim(-1, -3)


class MazeEnv:
    """Steps B mazes at once, all as tensor ops; observations are rendered images (flattened)."""

    num_actions = 3
    reports_success = True  # an episode that reaches the target (terminated) succeeded

    def __init__(self, size: int, max_episode_steps: int, view: str = "egocentric", view_depth: int = 4) -> None:
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
        self.size = size
        self.episode_length = max_episode_steps  # the cap: episodes end earlier at the target
        self.max_episode_steps = max_episode_steps
        self.view = view
        self.view_depth = view_depth
        cells = (view_depth, 3) if view == "egocentric" else (size, size)
        self.obs_shape = (3, cells[0] * TILE, cells[1] * TILE)
        self.obs_dim = 3 * self.obs_shape[1] * self.obs_shape[2]
        self.tasks: MazeTasks | None = None

    def reset(self, tasks: MazeTasks) -> torch.Tensor:
        if tasks.size != self.size:
            raise ValueError(f"this env steps {self.size}x{self.size} mazes, got {tasks.size}x{tasks.size}")
        self.tasks = tasks
        device = tasks.passages.device
        B, N = tasks.batch, self.size * self.size
        self._rows = torch.arange(B, device=device)
        self._nbr = neighbours(self.size, device).reshape(-1)  # [N * 4]: cell * 4 + direction -> cell
        self._open = tasks.passages.reshape(B, N * 4)
        self._tiles = cell_tiles(tasks)  # [B, N + 1, 4, 3, 3] labels
        # The same tiles in colour, one row per (maze, cell, heading): a step's image is then one
        # row gather and one permute. Top-down: the whole maze without the agent, drawn once a trial.
        self._tile_rgb = labels_to_rgb(self._tiles).reshape(B * (N + 1) * 4, 3 * TILE * TILE)
        if self.view == "topdown":
            self._maze_rgb = labels_to_rgb(self._maze_labels()).reshape(B, -1)
        self.cell = tasks.start.clone()
        self.heading = tasks.start_dir.clone()
        self.t = torch.zeros(B, dtype=torch.long, device=device)  # steps into the current episode
        self.arrived = self.cell
        return self.observe()

    def step(self, actions: torch.Tensor, generator: torch.Generator | None = None) -> StepResult:
        """Applies actions [B]; the maze is deterministic, so the generator is not used."""
        assert self.tasks is not None, "reset the env with tasks first"
        forward = actions == FORWARD
        edge = self.cell * 4 + self.heading
        can_move = self._open.gather(1, edge[:, None]).squeeze(1)
        hit = forward & ~can_move
        cell = torch.where(forward & can_move, self._nbr[edge], self.cell)
        heading = (self.heading + (actions == TURN_RIGHT).long() - (actions == TURN_LEFT).long()) % 4
        self.t += 1
        self.arrived = cell  # where this step took each agent, before any respawn (to draw paths)
        reached = cell == self.tasks.target
        truncated = ~reached & (self.t >= self.max_episode_steps)
        reward = STEP_REWARD + WALL_HIT_REWARD * hit.float() + TARGET_REWARD * reached.float()
        done = reached | truncated
        # A finished episode respawns at the start: the next observation is the new episode's first.
        self.cell = torch.where(done, self.tasks.start, cell)
        self.heading = torch.where(done, self.tasks.start_dir, heading)
        self.t = torch.where(done, 0, self.t)
        return StepResult(obs=self.observe(), reward=reward, terminated=reached, truncated=truncated)

    def observe(self) -> torch.Tensor:
        """The current observation of every maze, [B, 3·H·W] (the colours of the pixel labels)."""
        B, N = self._rows.shape[0], self.size * self.size
        if self.view == "topdown":
            obs = self._maze_rgb.clone()
            _, H, W = self.obs_shape
            r, c = self.cell // self.size, self.cell % self.size
            facing = torch.tensor(EDGE_PIXELS, device=self.cell.device)[self.heading]  # [B, 2]
            for y, x in ((r * TILE + 1, c * TILE + 1), (r * TILE + facing[:, 0], c * TILE + facing[:, 1])):
                for ch in range(3):
                    obs[self._rows, ch * H * W + y * W + x] = float(PALETTE[AGENT, ch])
            return obs
        rows = (self._rows[:, None, None] * (N + 1) + self._window()) * 4 + self.heading[:, None, None]
        tiles = self._tile_rgb.index_select(0, rows.reshape(-1))  # [B·depth·3, 3·3·3]
        # [B, depth, col, channel, tile row, tile col] -> [B, channel, depth, tile row, col, tile col]
        tiles = tiles.view(B, self.view_depth, 3, 3, TILE, TILE).permute(0, 3, 1, 4, 2, 5)
        return tiles.reshape(B, -1)

    def egocentric_labels(self) -> torch.Tensor:
        """[B, 3·depth, 9] pixel labels of the window ahead of each agent (farthest row on top)."""
        B = self._rows.shape[0]
        tiles = self._tiles[self._rows[:, None, None], self._window(),
                            self.heading[:, None, None]]  # [B, depth, 3, 3, 3]
        return tiles.permute(0, 1, 3, 2, 4).reshape(B, self.view_depth * TILE, 3 * TILE)

    def _window(self) -> torch.Tensor:
        """[B, depth, 3] the cells of the egocentric window (N where out of sight), farthest row first,
        columns left, centre, right of the agent's heading."""
        B, N, h = self._rows.shape[0], self.size * self.size, self.heading
        left, right = (h + 3) % 4, (h + 1) % 4
        cell, in_sight = self.cell, torch.ones(B, dtype=torch.bool, device=h.device)
        rows = []
        for _ in range(self.view_depth):  # from the agent's cell forward, one window row each
            seen = torch.where(in_sight, cell, N)
            sides = [torch.where(in_sight & self._sees(cell, d), self._nbr[cell * 4 + d], N) for d in (left, right)]
            rows.append(torch.stack([sides[0], seen, sides[1]], 1))  # [B, 3] left, centre, right
            in_sight = in_sight & self._sees(cell, h)
            cell = torch.where(in_sight, self._nbr[cell * 4 + h], cell)
        return torch.stack(rows[::-1], 1)

    def _sees(self, cell: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        """[B] bool: the passage from `cell` in `direction` is open (so the cell beyond is in sight)."""
        return self._open.gather(1, (cell * 4 + direction)[:, None]).squeeze(1)

    def topdown_labels(self) -> torch.Tensor:
        """[B, 3·size, 3·size] pixel labels of the whole maze, north up, with the agent drawn."""
        labels = self._maze_labels()
        r, c = self.cell // self.size, self.cell % self.size
        facing = torch.tensor(EDGE_PIXELS, device=self.cell.device)[self.heading]  # [B, 2] edge pixel faced
        labels[self._rows, r * TILE + 1, c * TILE + 1] = AGENT
        labels[self._rows, r * TILE + facing[:, 0], c * TILE + facing[:, 1]] = AGENT
        return labels

    def _maze_labels(self) -> torch.Tensor:
        """[B, 3·size, 3·size] pixel labels of the whole maze, north up, without the agent."""
        B, s = self._rows.shape[0], self.size
        tiles = self._tiles[:, : s * s, 0]  # [B, N, 3, 3] heading 0: north up
        return tiles.reshape(B, s, s, TILE, TILE).permute(0, 1, 3, 2, 4).reshape(B, s * TILE, s * TILE)
