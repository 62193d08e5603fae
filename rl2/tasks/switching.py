"""Switching (non-stationary) Bernoulli bandits: all arm probabilities are redrawn at random change points.

A trial is n pulls on k arms. The arm probabilities start as p ~ U[0, 1]^k, and before every pull
after the first, with probability ``hazard``, all k of them are redrawn from U[0, 1]^k (a change
point). The change points are drawn up front, with the task, as a [B, n, k] tensor of the
probabilities in force at each pull: the RL² agent and every baseline evaluated on the same tasks
then face exactly the same sequence of arms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SwitchingBanditTasks:
    """A batch of switching bandit tasks: the arm probabilities in force at every pull of the trial."""

    probs: torch.Tensor  # [B, n, k] success probability of each arm at each pull

    @property
    def batch(self) -> int:
        return self.probs.shape[0]

    @property
    def pulls(self) -> int:
        return self.probs.shape[1]

    def change_points(self) -> torch.Tensor:
        """[B, n] bool: True at the pulls whose probabilities were redrawn (never the first pull).

        Read off the probabilities themselves (a redraw that repeats all k floats has probability 0).
        """
        changed = (self.probs[:, 1:] != self.probs[:, :-1]).any(-1)  # [B, n-1]
        first = torch.zeros_like(changed[:, :1])
        return torch.cat([first, changed], 1)


@dataclass(frozen=True)
class SwitchingBandit:
    """The distribution of k-armed switching Bernoulli bandits over trials of n pulls.

    The trial length n is part of the distribution because the change points are task data.
    """

    k: int
    n: int
    hazard: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.hazard <= 1.0:
            raise ValueError(f"hazard must be in [0, 1], got {self.hazard}")
        if self.n < 1 or self.k < 1:
            raise ValueError(f"n and k must be >= 1, got n={self.n}, k={self.k}")

    def sample(self, batch: int, generator: torch.Generator) -> SwitchingBanditTasks:
        device = generator.device
        # The first draw is exactly BernoulliBandit's, so hazard 0 gives the stationary bandit of the seed.
        first = torch.rand(batch, 1, self.k, generator=generator, device=device)  # [B, 1, k]
        # Every later pull gets a candidate redraw and a switch coin, whatever the hazard: the stream
        # of random numbers (and so the tasks of a seed) changes smoothly as the hazard changes.
        redraws = torch.rand(batch, self.n - 1, self.k, generator=generator, device=device)  # [B, n-1, k]
        coins = torch.rand(batch, self.n - 1, generator=generator, device=device)  # [B, n-1]
        candidates = torch.cat([first, redraws], 1)  # [B, n, k]: the probabilities a change at t would set
        switch = torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=device), coins < self.hazard], 1)
        # Pull t uses the candidate of the latest change point at or before t (pull 0 always is one).
        pull_index = torch.arange(self.n, device=device).expand(batch, -1)  # [B, n]
        latest = torch.where(switch, pull_index, 0).cummax(dim=1).values  # [B, n]
        probs = candidates.gather(1, latest[..., None].expand(-1, -1, self.k))  # [B, n, k]
        return SwitchingBanditTasks(probs=probs)
