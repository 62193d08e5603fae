"""Bernoulli multi-armed bandits: arm probabilities p ~ U[0, 1]^k per task."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BanditTasks:
    """A batch of bandit tasks."""

    probs: torch.Tensor  # [B, k] success probability of each arm

    @property
    def batch(self) -> int:
        return self.probs.shape[0]


@dataclass(frozen=True)
class BernoulliBandit:
    """The distribution of k-armed Bernoulli bandits with independent uniform arm probabilities."""

    k: int

    def sample(self, batch: int, generator: torch.Generator) -> BanditTasks:
        probs = torch.rand(batch, self.k, generator=generator, device=generator.device)
        return BanditTasks(probs=probs)
