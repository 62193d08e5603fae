"""Normalizers whose statistics are buffers (checkpoints carry them): the value head's targets (PopArt)
and the observation and previous-reward parts of φ."""

from __future__ import annotations

import torch
from torch import nn


class ValueNormalizer(nn.Module):
    """Tracks the mean and std of value targets and keeps the value head's outputs in return units.

    The value head learns normalized targets, so the value loss has the same scale whatever the
    rewards (trial returns range from ~5 to ~2000 across the paper's settings). When the statistics
    move, the head's weights are rescaled so its predictions in return units are unchanged (PopArt,
    van Hasselt et al. 2016).
    """

    def __init__(self, decay: float = 0.9) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, targets: torch.Tensor, head: nn.Linear) -> None:
        """Moves the statistics toward the batch's and rescales ``head`` to preserve its outputs."""
        batch_mean, batch_std = targets.mean(), targets.std(unbiased=False).clamp(min=1e-4)
        w = self.decay * self.initialized.to(targets.dtype)  # the first batch sets the statistics
        new_mean = w * self.mean + (1 - w) * batch_mean
        new_std = w * self.std + (1 - w) * batch_std
        # head(x) * std + mean == head'(x) * new_std + new_mean
        head.weight.mul_(self.std / new_std)
        head.bias.mul_(self.std).add_(self.mean - new_mean).div_(new_std)
        self.mean.copy_(new_mean)
        self.std.copy_(new_std)
        self.initialized.fill_(True)


class InputNormalizer(nn.Module):
    """Running mean and std of the observations and of the previous-reward input, applied to φ.

    Observations are centred and scaled, the reward input only scaled (its sign carries meaning);
    both are clipped to ±10. The statistics are buffers, so checkpoints carry them. They move only
    between updates (``update`` on a collected rollout), never while a batch is being collected or
    trained on: the log-probs of collection and of the PPO epochs then see the same inputs.
    """

    def __init__(self, obs_dim: int, reward_index: int, obs: bool, reward: bool) -> None:
        super().__init__()
        self.obs_dim, self.reward_index = obs_dim, reward_index
        self.obs, self.reward = obs, reward
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_var", torch.ones(obs_dim))
        self.register_buffer("reward_var", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs [..., D] with the observation and reward parts normalized."""
        # [obs | previous action | previous reward | previous done]
        sizes = [self.obs_dim, self.reward_index - self.obs_dim, 1, x.shape[-1] - self.reward_index - 1]
        parts = list(x.split(sizes, -1))
        if self.obs:
            parts[0] = ((parts[0] - self.obs_mean) / (self.obs_var.sqrt() + 1e-8)).clamp(-10, 10)
        if self.reward:
            parts[2] = (parts[2] / (self.reward_var.sqrt() + 1e-8)).clamp(-10, 10)
        return torch.cat(parts, -1)

    @torch.no_grad()
    def update(self, inputs: torch.Tensor, valid: torch.Tensor) -> None:
        """Merges in the statistics of the valid steps of inputs [T, B, D] (Chan et al.'s parallel update)."""
        x = inputs[valid].double()  # [N, D]
        n, c = x.shape[0], self.count
        if n == 0:
            return
        total = c + n
        obs = x[:, : self.obs_dim]
        delta = obs.mean(0) - self.obs_mean
        # M2 of the union = M2_old + M2_batch + δ² · c · n / (c + n)
        m2 = self.obs_var * c + obs.var(0, unbiased=False) * n + delta.pow(2) * c * n / total
        self.obs_mean.add_((delta * n / total).float())
        self.obs_var.copy_(m2 / total)
        # The reward input is scaled by its root mean square (a second moment about zero: no centring).
        self.reward_var.copy_((self.reward_var * c + x[:, self.reward_index].pow(2).mean() * n) / total)
        self.count.fill_(total)
