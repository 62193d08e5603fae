"""The yardsticks of adaptation: the oracle (the task in its observation), the blind policy (no memory,
no reward input), the sparse point robot, and the gap closed between blind and oracle, checked where
its value is known."""

from __future__ import annotations

import math

import pytest
import torch

from rl2 import RL2
from rl2.config import ConfigError
from rl2.envs.base import EnvError
from rl2.envs.gym import GymFamily, GymTrialEnv
from rl2.envs.point import GOAL_RADIUS, CircleGoals, HalfCircleGoals, PointNavigation, SparsePointNavigation
from rl2.policy import RecurrentActorCritic
from rl2.tasks.gym import GymTasks, SetAttribute
from rl2.yardsticks import gap_closed, gap_closed_ci95


def test_the_gap_closed_is_zero_at_the_blind_policy_one_at_the_oracle_and_linear_between():
    g = torch.Generator().manual_seed(0)
    blind = torch.randn(500, 3, generator=g) - 10.0
    oracle = blind + 8.0 + torch.randn(500, 3, generator=g)
    assert torch.allclose(gap_closed(blind, oracle, blind), torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(gap_closed(oracle, oracle, blind), torch.ones(3, dtype=torch.float64))
    quarter = blind + 0.25 * (oracle - blind)
    assert torch.allclose(gap_closed(quarter, oracle, blind), torch.full((3,), 0.25, dtype=torch.float64))
    # each episode index on its own: 0 in the first, 1 in the second
    mixed = torch.stack([blind[:, 0], oracle[:, 1], quarter[:, 2]], 1)
    assert torch.allclose(gap_closed(mixed, oracle, blind), torch.tensor([0.0, 1.0, 0.25], dtype=torch.float64))
    with pytest.raises(ValueError, match="same tasks"):
        gap_closed(blind[:10], oracle, blind)


def test_the_bootstrap_interval_holds_the_gap_and_narrows_with_more_tasks():
    def draw(n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        blind = -20.0 + 2.0 * torch.randn(n, 2, generator=g)
        oracle = -5.0 + 2.0 * torch.randn(n, 2, generator=g)
        rl2 = -11.0 + 2.0 * torch.randn(n, 2, generator=g)  # 0.6 of the way on average
        return rl2, oracle, blind

    point, low, high = gap_closed_ci95(*draw(200, 1))
    assert (low <= point).all() and (point <= high).all()
    assert ((low < 0.6) & (0.6 < high)).all()
    _, low_big, high_big = gap_closed_ci95(*draw(5000, 2))
    assert ((high_big - low_big) < (high - low) / 3).all()  # 25x the tasks: about 1/5 the width
    # paired: a shift that a task gives all three methods alike (a hard task) leaves every resample's
    # gap as it was, where an unpaired bootstrap would widen the interval with the tasks' spread
    rl2, oracle, blind = draw(200, 3)
    shared = 30.0 * torch.randn(200, 1, generator=torch.Generator().manual_seed(4))
    _, low_shared, high_shared = gap_closed_ci95(rl2 + shared, oracle + shared, blind + shared)
    _, low_alone, high_alone = gap_closed_ci95(rl2, oracle, blind)
    assert torch.allclose(low_shared, low_alone, atol=1e-9) and torch.allclose(high_shared, high_alone, atol=1e-9)


# The two yardstick agents: the oracle's observation holds the task, the blind policy holds nothing.


def tasks(goals):
    return GymTasks(list(goals), torch.arange(len(goals)))


def test_the_oracle_sees_its_goal_after_the_observation_and_the_blind_policy_sees_no_task():
    env = GymTrialEnv(GymFamily("point", PointNavigation, CircleGoals()), max_episode_steps=3, reveal_task=True)
    assert env.obs_shape == (4,)
    goals = [(1.0, 0.0), (0.0, -1.0)]
    obs = env.reset(tasks(goals))
    assert obs.tolist() == [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, -1.0]]
    for _ in range(3):  # through the episode end and its autoreset: the task stays
        obs = env.step(torch.tensor([[1.0, 1.0], [0.0, 1.0]])).obs
        assert obs[:, 2:].tolist() == [list(g) for g in goals]
    env.close()

    class NoFeatures:
        apply = SetAttribute("goal")

        def sample(self, batch, generator, split="train"):
            return [(1.0, 0.0)] * batch

    with pytest.raises(EnvError, match="no features to reveal"):
        GymTrialEnv(GymFamily("mine", PointNavigation, NoFeatures()), max_episode_steps=3, reveal_task=True)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("critic", ["shared", "separate"])
def test_a_memoryless_policy_acts_on_the_current_observation_alone(rnn, critic):
    torch.manual_seed(0)
    policy = RecurrentActorCritic(obs_dim=3, num_actions=4, rnn=rnn, hidden=16, critic=critic, memoryless=True)
    x = torch.randn(6, 5, policy.input_dim)
    logits, values = policy.unroll(x, policy.initial_state(5))
    # another history (earlier steps, and this step's previous action, reward and done) changes nothing
    other = torch.randn(6, 5, policy.input_dim)
    other[-1, :, :3] = x[-1, :, :3]
    other_logits, other_values = policy.unroll(other, policy.initial_state(5))
    assert torch.allclose(other_logits[-1], logits[-1], atol=1e-6) and torch.allclose(other_values[-1], values[-1],
                                                                                      atol=1e-6)
    state = policy.initial_state(5)
    for t in range(6):  # deployment step by step gives the replay's outputs
        step_logits, step_value, state = policy.step(x[t], state)
        assert torch.allclose(step_logits, logits[t], atol=1e-5) and torch.allclose(step_value, values[t], atol=1e-5)
    # the same weights as an RL² policy: a checkpoint of either loads into the other
    assert policy.state_dict().keys() == RecurrentActorCritic(3, 4, rnn, 16, critic).state_dict().keys()


def test_the_sparse_point_robot_is_rewarded_only_near_its_goal_on_the_upper_half_circle():
    goals = HalfCircleGoals().sample(2000, torch.Generator().manual_seed(0))
    assert all(y >= 0 for _, y in goals) and all(math.isclose(math.hypot(x, y), 1.0) for x, y in goals)
    env = SparsePointNavigation(goal=(0.0, 1.0))
    env.reset()
    rewards, success = [], []
    for _ in range(10):  # straight up: within 0.2 of the goal from the 8th step on
        _, reward, _, _, info = env.step([0.0, 0.1])
        rewards.append(reward)
        success.append(info["success"])
    assert success == [False] * 7 + [True] * 3
    assert rewards[:7] == [0.0] * 7 and rewards[7:] == pytest.approx([0.8, 0.9, 1.0], abs=1e-5)
    assert GOAL_RADIUS == 0.2


def test_the_yardsticks_are_config_fields_of_the_gym_families_and_refused_elsewhere():
    oracle = RL2("point-nav-sparse", reveal_task=True, total_steps=3200)
    assert oracle.policy.obs_dim == 4 and oracle.learner.env.reports_success
    blind = RL2("point-nav", memoryless=True, total_steps=1280)
    assert blind.policy.memoryless and blind.learn().learner.env_steps == 1280
    with pytest.raises(ConfigError, match="reveal_task"):
        RL2("bandit-n10-k5", reveal_task=True)
    with pytest.raises(ConfigError, match="memoryless is the blind yardstick of a recurrent core"):
        RL2("point-nav", memoryless=True, rnn="transformer")
