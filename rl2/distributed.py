"""Scale-out on torch.distributed: one ``World`` per process, launched by torchrun or alone.

A run with N ranks learns exactly like one process with the same global batch:

- every rank samples the whole global batch of tasks from the same seeded generator and keeps its
  contiguous slice of columns; its rollout noise is likewise its rows of the global draws
  (``rl2.noise.ShardedGenerator``). Generators therefore stay identical on every rank, and a
  checkpoint written by rank 0 is the state of all of them;
- after collection the ranks all-gather their columns (a few numbers per env step, small next to
  the forward passes), so each holds the global rollout: GAE, PopArt statistics, advantage
  normalization and every logged figure are global with no further communication;
- each minibatch (a random set of global columns) is split into equal parts, one per rank; the
  mean of the ranks' gradients is then the gradient of the global minibatch's mean loss, and
  gradient clipping, Adam and the target-KL stop see the same numbers on every rank;
- TRPO likewise splits the batch's trials: its gradient, each Fisher-vector product (on a subset
  that may split unevenly: parts weighted by size) and the line search's figures are reduced.

In one process every method here is the identity, so the algorithm code reads the same either way.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

from rl2.config import Config, ConfigError
from rl2.device import resolve_device
from rl2.noise import RandomSource, ShardedGenerator

T = TypeVar("T")


def env_rank() -> int:
    """This process's global rank as torchrun set it (0 when not launched by torchrun)."""
    return int(os.environ.get("RANK", "0"))


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a run; the single process when size is 1."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the only one that prints, logs and writes files."""
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """The device of `name` ('auto' | 'cpu' | 'cuda') for this rank: CUDA is cuda:LOCAL_RANK."""
        device = resolve_device(name)
        if device.type != "cuda":
            return device
        count = torch.cuda.device_count()
        # Agreed by all ranks: rank 0 (the one that reports) may have a GPU while another has none.
        if self.max(int(self.local_rank >= count)):
            raise ConfigError(f"--device cuda: some rank has no GPU of its own ({count} on rank 0's machine): "
                              "launch at most as many processes per machine as it has GPUs")
        device = torch.device("cuda", self.local_rank)
        torch.cuda.set_device(device)
        return device

    def check(self, config: Config) -> None:
        """Refuses a config that cannot be split evenly over the ranks (ConfigError, one line)."""
        if self.size == 1:
            return
        from rl2.families import family_of  # the families' modules import this one

        reason = family_of(config.task).one_process
        if reason is not None:
            raise ConfigError(f"the {config.task.family} family ({reason}) trains in one process: "
                              "torchrun is not supported for it yet")
        parts = self.size * config.ppo.minibatches
        if config.trials_per_update % parts:
            raise ConfigError(
                f"the {config.trials_per_update} trials per update (the global batch) must split into "
                f"{config.ppo.minibatches} minibatches x {self.size} ranks of equal size: make steps_per_update "
                f"a multiple of {parts * config.task.trial_length}, got {config.ppo.steps_per_update}")

    def shard(self, n: int) -> slice:
        """This rank's contiguous share of n items: n / size of them where size divides n, else
        shares differing by at most one (some may be empty)."""
        return slice(self.rank * n // self.size, (self.rank + 1) * n // self.size)

    def part(self, x: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """This rank's contiguous share of x along `dim` (``shard`` of its size, a view); x itself alone."""
        if self.size == 1:
            return x
        mine = self.shard(x.shape[dim])
        return x.narrow(dim, mine.start, mine.stop - mine.start)

    def noise(self, generator: torch.Generator, n: int) -> RandomSource:
        """The random source of this rank's rows of a global batch of n (the generator itself alone)."""
        if self.size == 1:
            return generator
        rows = self.shard(n)
        return ShardedGenerator(generator, rows.start, rows.stop, n)

    def gather_columns(self, x: torch.Tensor) -> torch.Tensor:
        """Every rank's [T, b, ...] concatenated in rank order along dim 1: [T, size*b, ...]."""
        if self.size == 1:
            return x
        if x.numel() == 0:  # nothing recorded (a rollout's pixels where observations are not images)
            return x.new_empty(x.shape[0], x.shape[1] * self.size, *x.shape[2:])
        send = x.to(torch.uint8) if x.dtype == torch.bool else x  # gloo has no bool collectives
        parts = [torch.empty_like(send) for _ in range(self.size)]
        dist.all_gather(parts, send.contiguous())
        return torch.cat(parts, 1).to(x.dtype)

    def average_gradients(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Replaces each gradient by its mean over the ranks (one all-reduce of one flat buffer)."""
        if self.size == 1:
            return
        params = list(params)
        for p in params:
            if p.grad is None:  # unused by this loss: every rank contributes zeros, so layouts match
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        """The elementwise sum of x over the ranks (a new tensor; x itself alone)."""
        if self.size == 1:
            return x
        x = x.clone()
        dist.all_reduce(x)
        return x

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """The elementwise mean of x over the ranks (a new tensor; x itself alone)."""
        return x if self.size == 1 else self.sum(x) / self.size

    def max(self, value: int) -> int:
        """The largest of the ranks' integers (e.g. to agree on stopping at a signal)."""
        if self.size == 1:
            return value
        t = torch.tensor([value], dtype=torch.long)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return int(t.item())

    def on_main(self, fn: Callable[[], T]) -> T:
        """Runs fn on rank 0 only and gives every rank its result, or raises its error on every rank.

        File-system work (run directory, checkpoint choice and loading) goes through here, so the
        ranks never disagree on what happened and never wait on a rank that failed.
        """
        if self.size == 1:
            return fn()
        outcome: list = [None]
        if self.is_main:
            try:
                outcome = [(True, fn())]
            except Exception as e:
                dist.broadcast_object_list([(False, e)], src=0)
                raise
        dist.broadcast_object_list(outcome, src=0)
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    def in_step(self, tensors: Iterable[torch.Tensor]) -> bool:
        """Whether every rank holds exactly the same values (elementwise min == max over ranks)."""
        if self.size == 1:
            return True
        flat = torch.cat([t.detach().reshape(-1).double() for t in tensors])
        low, high = flat.clone(), flat.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        return bool(torch.equal(low, high))


SINGLE = World()


@contextmanager
def launched() -> Iterator[World]:
    """This process's World: from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
    MASTER_PORT) with the process group up until the block ends, else the single process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        yield SINGLE
        return
    rank, local_rank = env_rank(), int(os.environ.get("LOCAL_RANK", "0"))
    # gloo moves CPU tensors (and the pickled objects of on_main) and NCCL moves CUDA tensors, so the
    # backend need not be known before the config (which may come from rank 0's run directory).
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        if local_rank < torch.cuda.device_count():
            torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, rank=rank, world_size=size)
    try:
        yield World(rank=rank, size=size, local_rank=local_rank)
    finally:
        dist.destroy_process_group()
        # Free the backend's objects now, while the interpreter is whole: left to its shutdown, a gloo
        # worker thread still alive there aborted the process (SIGABRT after the run's work was done,
        # one run in five under load).
        gc.collect()
