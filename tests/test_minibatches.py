"""PPO's minibatches: whole trial columns, each epoch a fresh split, and under torchrun equal parts
per rank whose advantages carry the statistics of the whole (global) minibatch."""

import torch

from rl2.distributed import World
from rl2.ppo import masked_mean, masked_std, minibatch_parts


def epoch(world: World, norm_adv: bool = True, seed: int = 3) -> list:
    """One epoch's minibatch parts of 12 trial columns of 5 steps with a ragged valid mask, 3 minibatches."""
    advantages = torch.arange(60.0).reshape(5, 12).sin() * torch.arange(1.0, 13.0)  # [T, B]
    mask = torch.arange(5)[:, None] < torch.arange(12) % 5 + 1  # column c has c % 5 + 1 valid steps
    return list(minibatch_parts(advantages, mask, 3, norm_adv, torch.Generator().manual_seed(seed), world))


def test_each_epoch_splits_every_column_into_equal_minibatches():
    parts = epoch(World())
    assert [len(mb.cols) for mb in parts] == [4, 4, 4]
    assert sorted(torch.cat([mb.cols for mb in parts]).tolist()) == list(range(12))
    other = epoch(World(), seed=4)
    assert not all(torch.equal(a.cols, b.cols) for a, b in zip(parts, other))  # a fresh shuffle per draw


def test_advantages_are_normalized_over_each_minibatch_valid_steps():
    raw = epoch(World(), norm_adv=False)
    for mb, plain in zip(epoch(World()), raw):
        assert torch.equal(mb.cols, plain.cols) and torch.equal(mb.mask, plain.mask)
        assert abs(float(masked_mean(mb.advantages, mb.mask))) < 1e-6
        assert abs(float(masked_std(mb.advantages, mb.mask)) - 1) < 1e-6
        assert not torch.equal(mb.advantages, plain.advantages)


def test_two_ranks_parts_make_up_the_single_process_minibatch():
    """Rank 0 and rank 1 get the halves of each minibatch, normalized as the whole one was."""
    whole, first, second = epoch(World()), epoch(World(rank=0, size=2)), epoch(World(rank=1, size=2))
    for mb, a, b in zip(whole, first, second):
        assert len(a.cols) == len(b.cols) == 2
        assert torch.equal(torch.cat([a.cols, b.cols]), mb.cols)
        assert torch.equal(torch.cat([a.advantages, b.advantages], 1), mb.advantages)
        assert torch.equal(torch.cat([a.mask, b.mask], 1), mb.mask)
