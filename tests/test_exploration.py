"""Rewards the update credits in place of the task's. The count bonus (``count_bonus``): visits counted per
trial, BEB's β / (1 + n) on the rewards the update credits alone, annealed to 0, and refused where observations
are not tabular. Exploration episodes (``explore_episodes``): no credit for a trial's first episodes."""

from __future__ import annotations

import pytest
import torch

from rl2 import RL2
from rl2.config import ConfigError
from rl2.exploration import count_bonus, visits_before, without_first_episodes
from rl2.presets import preset_config
from rl2.rollout import collect_trials, episode_index

SMALL = dict(hidden=16, steps_per_update=200, minibatches=2, total_steps=400)


def harmonic(m: int) -> float:
    return sum(1.0 / j for j in range(1, m + 1))


def test_visits_are_counted_before_each_step_and_per_trial():
    keys = torch.tensor([[0, 2], [1, 2], [0, 2], [0, 1], [2, 2]])  # two trials (columns), five steps
    assert visits_before(keys, 3).tolist() == [[0, 0], [0, 1], [1, 2], [2, 0], [0, 3]]
    # A pair's bonuses over a trial sum to β times the harmonic number of its visits.
    bonus = count_bonus(torch.zeros_like(keys), keys, 1, 3, beta=0.5)
    assert bonus[:, 0].sum().item() == pytest.approx(0.5 * (harmonic(3) + harmonic(1) + harmonic(1)))
    assert bonus[:, 1].sum().item() == pytest.approx(0.5 * (harmonic(4) + harmonic(1)))
    # (state, action) pairs, not actions alone: action 1 in states 0 and 1 are two first visits.
    assert count_bonus(torch.tensor([[0], [1]]), torch.tensor([[1], [1]]), 2, 2, beta=1.0).tolist() == [[1.0], [1.0]]


def test_the_update_credits_the_mdp_bonus_of_the_states_the_env_was_in():
    model = RL2("mdp-n10", states=4, actions=3, count_bonus=0.5, seed=0, **SMALL)
    learner = model.learner
    tasks = learner.tasks.sample(2, learner.task_generator)
    visited = []  # the state each action was taken in, as the env knows it
    rollout = collect_trials(learner.env, learner.policy, tasks, 10, 100, learner.rollout_generator,
                             after_step=lambda: visited.append(learner.env.previous.clone()))
    states = torch.stack(visited)
    assert 1 < len(states.unique()) and states.shape == rollout.actions.shape
    shaped = learner.with_count_bonus(rollout)
    assert torch.allclose(shaped.rewards - rollout.rewards, count_bonus(states, rollout.actions, 4, 3, 0.5))
    assert torch.equal(shaped.actions, rollout.actions)
    # β falls linearly to 0 over the run, and then the rollout is left as it is.
    learner.update = learner.config.num_updates // 2
    assert learner.bonus_weight() == pytest.approx(0.25)
    learner.update = learner.config.num_updates
    assert learner.with_count_bonus(rollout) is rollout


def test_the_bonus_moves_the_update_and_leaves_the_statistics_alone():
    plain = RL2("bandit-n10-k5", seed=0, **SMALL).learner.iterate()
    bonus = RL2("bandit-n10-k5", count_bonus=1.0, seed=0, **SMALL)
    result = bonus.learner.iterate()
    assert result.trial_return == plain.trial_return and result.episode_returns == plain.episode_returns
    assert result.stats.value_loss != plain.stats.value_loss


def test_the_bonus_is_refused_where_observations_are_not_tabular():
    with pytest.raises(ConfigError, match="count_bonus counts visits to tabular states; the maze family"):
        preset_config("maze-5x5", count_bonus=1.0)


def test_episodes_are_numbered_from_their_ends_and_the_first_ones_lose_their_rewards():
    # Two trials: three 2-step episodes, and episodes of 1, 3 and 2 steps.
    ends = torch.tensor([[0, 1], [1, 0], [0, 0], [1, 1], [0, 0], [1, 1]], dtype=torch.bool)
    index = episode_index(ends, torch.zeros_like(ends))  # an end by termination or by time limit alike
    assert index.tolist() == [[0, 0], [0, 1], [1, 1], [1, 1], [2, 2], [2, 2]]
    assert torch.equal(episode_index(torch.zeros_like(ends), ends), index)
    rewards = torch.arange(1.0, 13.0).reshape(6, 2)
    assert without_first_episodes(rewards, index, 1).tolist() == [[0, 0], [0, 4], [5, 6], [7, 8], [9, 10], [11, 12]]
    assert without_first_episodes(rewards, index, 2).tolist() == [[0, 0], [0, 0], [0, 0], [0, 0], [9, 10], [11, 12]]
    assert torch.equal(without_first_episodes(rewards, index, 0), rewards)


def test_exploration_episodes_move_the_update_and_leave_the_statistics_alone():
    plain = RL2("mdp-n10", states=4, actions=3, seed=0, **SMALL)

    def free():
        return RL2("mdp-n10", states=4, actions=3, explore_episodes=3, seed=0, **SMALL)

    rollout = free().learner.collect()
    credited = free().learner.with_explore_episodes(rollout)  # MDP episodes are 10 steps: the first 30 rows
    assert credited.rewards[:30].abs().sum() == 0 and torch.equal(credited.rewards[30:], rollout.rewards[30:])
    assert plain.learner.with_explore_episodes(rollout) is rollout
    a, b = plain.learner.iterate(), free().learner.iterate()
    assert a.trial_return == b.trial_return and a.episode_returns == b.episode_returns
    assert a.stats.value_loss != b.stats.value_loss


def test_exploration_episodes_must_leave_a_credited_episode():
    with pytest.raises(ConfigError, match="explore_episodes must leave an episode whose rewards training credits: "
                                          "the trial has n=10, got 10"):
        preset_config("mdp-n10", explore_episodes=10)
