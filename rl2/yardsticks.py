"""How much of the room between a blind policy and an oracle an RL² agent closes, per episode index.

The yardsticks of an adaptation figure (issue 19): on the same held-out tasks, the **oracle** is the
same network and training with the task appended to its observation (it need not infer anything),
and the **blind** policy has no memory and no reward input (it can only learn the behaviour that is
best on average over tasks). Per episode index k,

    gap closed_k = (RL²_k − blind_k) / (oracle_k − blind_k)

is 0 where RL² does no better than knowing nothing about the task and 1 where it does as well as
being told it. Its 95% interval comes from a paired bootstrap over the tasks: the three methods ran
on the same tasks, so a task index is resampled for all three at once.
"""

from __future__ import annotations

import torch


def gap_closed(rl2: torch.Tensor, oracle: torch.Tensor, blind: torch.Tensor) -> torch.Tensor:
    """Episode returns [N, n] of each method on the same N tasks -> the gap closed per episode index [n]."""
    if not rl2.shape == oracle.shape == blind.shape:
        raise ValueError(f"the three methods need the same tasks and episodes: {list(rl2.shape)}, "
                         f"{list(oracle.shape)}, {list(blind.shape)}")
    low, high = blind.double().mean(0), oracle.double().mean(0)
    return (rl2.double().mean(0) - low) / (high - low)


def gap_closed_ci95(rl2: torch.Tensor, oracle: torch.Tensor, blind: torch.Tensor, samples: int = 2000,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gap closed per episode index [n] and the 2.5% and 97.5% points of its paired bootstrap [n] each."""
    point = gap_closed(rl2, oracle, blind)
    N = rl2.shape[0]
    index = torch.randint(N, (samples, N), generator=torch.Generator().manual_seed(seed))
    means = [x.double()[index].mean(1) for x in (rl2, oracle, blind)]  # [samples, n] each
    boot = (means[0] - means[2]) / (means[1] - means[2])
    return point, boot.quantile(0.025, 0), boot.quantile(0.975, 0)
