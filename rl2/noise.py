"""Random draws for a batch of tasks that may be one rank's rows of a larger, global batch.

Envs and action sampling draw their noise through ``rand``/``randn`` from a ``RandomSource``: a
plain ``torch.Generator`` (the whole batch is here), or a ``ShardedGenerator`` that draws the
numbers of the whole global batch and keeps this rank's rows. Every rank then sees exactly the
numbers one process would see for the same columns, and all ranks' generators stay in the same
state, so one checkpointed state resumes them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ShardedGenerator:
    """Rows [start, stop) of a batch of `total` rows whose random numbers come from `generator`."""

    generator: torch.Generator
    start: int
    stop: int
    total: int

    @property
    def device(self) -> torch.device:
        return self.generator.device


RandomSource = torch.Generator | ShardedGenerator


def _draw(fn, shape: torch.Size | tuple[int, ...], source: RandomSource) -> torch.Tensor:
    if isinstance(source, torch.Generator):
        return fn(tuple(shape), generator=source, device=source.device)
    if shape[0] != source.stop - source.start:
        raise ValueError(f"a shard of rows {source.start}:{source.stop} drew a batch of {shape[0]}")
    # Costs `total` rows of draws per call; they are cheap next to the policy's forward pass.
    full = fn((source.total, *shape[1:]), generator=source.generator, device=source.device)
    return full[source.start : source.stop]


def rand(shape: torch.Size | tuple[int, ...], source: RandomSource) -> torch.Tensor:
    """Uniform [0, 1) numbers of `shape` (first dim: the batch) from a generator or a shard of one."""
    return _draw(torch.rand, shape, source)


def randn(shape: torch.Size | tuple[int, ...], source: RandomSource) -> torch.Tensor:
    """Standard normal numbers of `shape` (first dim: the batch) from a generator or a shard of one."""
    return _draw(torch.randn, shape, source)
