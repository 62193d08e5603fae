"""A count-based exploration bonus for tabular tasks (pure functions on a rollout's visits).

BEB (Kolter & Ng, 2009) adds β / (1 + n(s, a)) to the reward of the posterior-mean model, n the
visits to (s, a) so far. Added to the rewards PPO credits (never to those the policy reads), it
pays a meta-trained agent for trying what its trial has not tried yet; annealed to 0 it leaves the
true objective at the end of training.
"""

from __future__ import annotations

import torch


def visits_before(keys: torch.Tensor, num_keys: int) -> torch.Tensor:
    """[T, B] float: how often each step's key (long, in [0, num_keys)) occurred at the earlier steps
    of its column, a column being one trial."""
    one_hot = torch.nn.functional.one_hot(keys, num_keys).to(torch.float32)  # [T, B, K]
    earlier = one_hot.cumsum(0) - one_hot
    return (earlier * one_hot).sum(-1)


def count_bonus(states: torch.Tensor, actions: torch.Tensor, num_states: int, num_actions: int,
                beta: float) -> torch.Tensor:
    """[T, B]: β / (1 + n(s_t, a_t)) at each step, n(s_t, a_t) the trial's visits to the pair before
    step t. ``states`` and ``actions`` are [T, B] long; a bandit has one state."""
    visits = visits_before(states * num_actions + actions, num_states * num_actions)
    return beta / (1.0 + visits)
