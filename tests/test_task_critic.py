"""The asymmetric critic (``task_critic``): values read the task's parameters, the policy never does, and
collection's values are the replay's."""

from __future__ import annotations

import subprocess

import pytest
import torch

from rl2 import RL2
from rl2.config import ConfigError
from rl2.envs import BanditEnv, MDPEnv
from rl2.policy import RecurrentActorCritic
from rl2.presets import preset_config
from rl2.rollout import collect_trials
from rl2.tasks import BernoulliBandit, TabularMDP


def test_values_read_the_task_and_the_policy_never_does():
    torch.manual_seed(0)
    policy = RecurrentActorCritic(1, 4, hidden=16, task_dim=4)
    x, state = torch.randn(3, policy.input_dim), policy.initial_state(3)
    a, b = torch.rand(3, 4), torch.rand(3, 4)
    # Its output layer starts at zero: at first the values are the value head's alone, task or none.
    assert torch.equal(policy.step(x, state, a)[1], policy.step(x, state)[1])
    torch.nn.init.normal_(policy.task_value[2].weight)
    logits_a, values_a, _ = policy.step(x, state, a)
    logits_b, values_b, _ = policy.step(x, state, b)
    assert torch.equal(logits_a, logits_b) and not torch.allclose(values_a, values_b)
    assert not torch.allclose(policy.step(x, state)[1], values_a)  # without the task: the value head's alone


@pytest.mark.parametrize("family", ["bandit", "mdp"])
def test_collection_values_are_the_replay_values_given_the_recorded_task(family):
    g = torch.Generator().manual_seed(1)
    if family == "bandit":
        env, tasks, episodes, steps = BanditEnv(k=3), BernoulliBandit(k=3).sample(6, g), 8, 8
    else:
        env, tasks, episodes, steps = MDPEnv(states=3, actions=2, horizon=4), TabularMDP(3, 2).sample(6, g), 2, 8
    torch.manual_seed(0)
    policy = RecurrentActorCritic(env.obs_shape, env.num_actions, hidden=16, task_dim=env.task_parameter_dim)
    torch.nn.init.normal_(policy.task_value[2].weight)
    rollout = collect_trials(env, policy, tasks, episodes, steps, torch.Generator().manual_seed(2), record_task=True)
    _, values = policy.unroll(rollout.inputs, policy.initial_state(6), rollout.task)
    torch.testing.assert_close(values, rollout.values)
    _, blind = policy.unroll(rollout.inputs, policy.initial_state(6))
    assert not torch.allclose(blind, rollout.values)


def test_the_task_critic_trains_and_warm_starts_cross_it():
    small = dict(hidden=16, steps_per_update=200, minibatches=2, total_steps=200)
    critic = RL2("bandit-n10-k5", task_critic=True, seed=0, **small)
    assert critic.policy.task_value[0].in_features == 16 + 5
    # Every other weight of a seed is as without it (created last).
    plain = RL2("bandit-n10-k5", seed=0, **small)
    for name, value in plain.policy.state_dict().items():
        assert torch.equal(value, critic.policy.state_dict()[name]), name
    layer = critic.policy.task_value[2].weight.clone()
    critic.learner.iterate()
    assert not torch.equal(layer, critic.policy.task_value[2].weight)
    for algo in ("trpo",):  # TRPO fits it with the rest of its value function
        run = RL2("bandit-n10-k5", task_critic=True, algo=algo, critic="separate", **small)
        before = run.policy.task_value[2].weight.clone()
        run.learner.iterate()
        assert not torch.equal(before, run.policy.task_value[2].weight)
    # A warm start either way: from an agent without it (fresh task layers), and into a run without it.
    warm = RL2("bandit-n10-k5", task_critic=True, **small)
    warm.learner.warm_start(plain.policy.state_dict(), "plain")
    assert torch.equal(warm.policy.value_head.weight, plain.policy.value_head.weight)
    back = RL2("bandit-n10-k5", **small)
    back.learner.warm_start(critic.policy.state_dict(), "critic")
    assert torch.equal(back.policy.core.weight_hh_l0, critic.policy.core.weight_hh_l0)


def test_the_task_critic_is_refused_where_the_env_reports_no_task_in_one_line(rl2_cmd, tmp_path):
    with pytest.raises(ConfigError, match="task_critic needs an env that reports its task's parameters; the maze"):
        preset_config("maze-5x5", task_critic=True)
    r = subprocess.run([*rl2_cmd, "train", "point-nav", "--task-critic", "true"], capture_output=True, text=True,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "task_critic" in r.stderr and not any(tmp_path.iterdir())
