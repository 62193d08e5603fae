"""Random tabular MDPs as in the RL² paper: Dirichlet(1) transition rows, N(1, 1) mean rewards."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class MDPTasks:
    """A batch of tabular MDPs."""

    transitions: torch.Tensor  # [B, S, A, S] next-state distribution of each (state, action)
    mean_rewards: torch.Tensor  # [B, S, A] expected reward of each (state, action)

    @property
    def batch(self) -> int:
        return self.transitions.shape[0]


@dataclass(frozen=True)
class TabularMDP:
    """The distribution of random MDPs with `states` states and `actions` actions."""

    states: int = 10
    actions: int = 5

    def sample(self, batch: int, generator: torch.Generator) -> MDPTasks:
        device = generator.device
        shape = (batch, self.states, self.actions, self.states)
        # Dirichlet(1, ..., 1) = normalized i.i.d. Exponential(1) draws; -log(U) is Exponential(1).
        # 1 - U lies in (0, 1], so the log is finite.
        exp = -torch.log1p(-torch.rand(shape, generator=generator, device=device))
        transitions = exp / exp.sum(-1, keepdim=True)
        mean_rewards = 1.0 + torch.randn(batch, self.states, self.actions, generator=generator, device=device)
        return MDPTasks(transitions=transitions, mean_rewards=mean_rewards)
