"""Rewards that training credits in place of the task's, to push a meta-trained agent to explore
(pure functions on a rollout's steps). The policy always reads the true reward, and statistics and
evaluation count the true return.

- A count bonus: BEB (Kolter & Ng, 2009) adds β / (1 + n(s, a)) to the reward of the posterior-mean
  model, n the visits to (s, a) so far. Added to the rewards PPO credits, it pays the agent for trying
  what its trial has not tried yet; annealed to 0 it leaves the true objective at the end of training.
- Exploration episodes: E-RL² (Stadie et al., 2018) credits no reward of a trial's first episodes, so
  those episodes are worth only what they teach the agent for the later ones.
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


def without_first_episodes(rewards: torch.Tensor, episode_index: torch.Tensor, episodes: int) -> torch.Tensor:
    """``rewards`` [T, B] with those of each trial's first ``episodes`` episodes set to 0, given each step's
    ``episode_index`` [T, B] in its trial (``Rollout.episode_index``)."""
    return rewards * (episode_index >= episodes)
