"""The Python API: build, learn, evaluate, save, load, and the streaming agent."""

import pytest
import torch

from rl2 import RL2, Config, ConfigError, preset_config
from rl2.envs import BanditEnv
from rl2.tasks import BernoulliBandit


def small(**kw):
    return RL2("bandit-n10-k5", hidden=16, steps_per_update=200, total_steps=400, **kw)


def test_learn_save_load_evaluate_roundtrip(tmp_path):
    model = small()
    seen = []
    model.learn(callback=seen.append)
    assert [r.update for r in seen] == [1, 2] and model.learner.env_steps == 400
    path = model.save(tmp_path / "model.pt")
    loaded = RL2.load(path)
    assert loaded.config == model.config and loaded.learner.update == 2
    for a, b in zip(model.policy.parameters(), loaded.policy.parameters()):
        assert torch.equal(a, b)
    r1, r2 = model.evaluate(trials=64, seed=3), loaded.evaluate(trials=64, seed=3)
    assert torch.equal(r1.episode_returns, r2.episode_returns)
    assert r1.episode_returns.shape == (64, 10)


def test_streaming_agent_adapts_with_its_state_only():
    model = small()
    agent = model.agent(seed=1)
    env = BanditEnv(k=5)
    tasks = BernoulliBandit(5).sample(1, torch.Generator().manual_seed(0))
    env.reset(tasks)
    g = torch.Generator().manual_seed(0)
    before = [p.clone() for p in model.policy.parameters()]
    action = agent.act(None)
    for _ in range(10):
        step = env.step(torch.tensor([action]), g)
        action = agent.act(None, float(step.reward), bool(step.episode_done))
        assert 0 <= action < 5
    assert all(torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    state = agent.state.clone()
    agent.reset()
    assert agent.state.abs().sum() == 0 and state.abs().sum() > 0
    with pytest.raises(ValueError):
        agent.act([1.0, 2.0])


def test_an_mdp_agent_takes_a_state_index_unless_it_also_observes_more_than_the_state():
    plain = RL2("mdp-n10", hidden=16, steps_per_update=400, total_steps=400)
    assert 0 <= plain.agent().act(3) < 5
    timed = RL2("mdp-n10", time_obs=True, hidden=16, steps_per_update=400, total_steps=400).agent()
    with pytest.raises(ValueError, match="pass the observation, not a state index"):
        timed.act(3)
    assert 0 <= timed.act([0.0, 0.0, 0.0, 1.0, 0, 0, 0, 0, 0, 0, 1.0]) < 5  # state 3, the whole trial left
    paired = RL2("mdp-n10", prev_state=True, hidden=16, steps_per_update=400, total_steps=400).agent()
    with pytest.raises(ValueError, match="pass the observation, not a state index"):
        paired.act(3)


def test_config_json_roundtrip_and_validation():
    config = preset_config("mdp-n25", hidden=64)
    assert Config.from_json(config.to_json()) == config
    assert config.task.trial_length == 250 and config.trials_per_update == 96
    with pytest.raises(ConfigError, match="gamma"):
        config.replace(gamma=0.0)
    with pytest.raises(ConfigError, match="unknown config field"):
        config.replace(hiddden=3)


def test_box_action_agent_replays_the_greedy_evaluation_in_the_users_own_loop():
    from rl2.envs.point import MAX_STEP, PointNavigation
    from rl2.evaluate import sample_test_tasks

    model = RL2("point-nav", hidden=16, steps_per_update=80, total_steps=80)
    model.learn()  # any weights will do; one update so the policy is not its initialization
    expected = model.evaluate(trials=1, seed=11, greedy=True).episode_returns[0]
    task = model.config.task
    goal = sample_test_tasks(task, 1, 11, "cpu").values[0]
    env, agent = PointNavigation(goal), model.agent(greedy=True)
    returns, reward, done = [], 0.0, False
    for _ in range(task.n):  # the user's own loop: n episodes of the trial, one env
        obs, _ = env.reset()
        total = 0.0
        for step in range(task.max_episode_steps):
            action = agent.act(obs, reward, done)
            assert action.shape == (2,) and (abs(action) <= MAX_STEP + 1e-7).all()
            obs, reward, *_ = env.step(action)
            total += reward
            done = step == task.max_episode_steps - 1  # the time limit ends the episode
        returns.append(total)
    assert torch.allclose(torch.tensor(returns, dtype=torch.float64), expected.double(), atol=1e-4)
    with pytest.raises(ValueError, match="spaces"):
        type(agent)(model.policy)
