"""The Gymnasium adapter: tasks applied to envs, trials of n episodes, sync/async equivalence, Box
actions (Gaussian head, bounds), input normalization, and point-robot navigation."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl2 import RL2
from rl2.config import Config, ConfigError
from rl2.envs import EnvError, GymFamily, GymTrialEnv, TensorTasks
from rl2.families import make_env, make_task_distribution
from rl2.envs.mujoco import mujoco_available
from rl2.envs.point import CircleGoals, PointNavigation
from rl2.evaluate import evaluate
from rl2.policy import InputNormalizer, RecurrentActorCritic, gaussian_stats
from rl2.rollout import collect_trials
from rl2.tasks import BernoulliBandit, TabularMDP
from rl2.tasks.gym import CallMethod, GymTasks, GymTaskSampler, Rebuild, SetAttribute

needs_mujoco = pytest.mark.skipif(not mujoco_available(), reason="MuJoCo is not installed (pip install 'rl2[mujoco]')")


class TwoArms(gym.Env):
    """Each step pull arm 0 or 1: reward 1 for the task's good arm, 0 for the other; episodes of 3 pulls.

    Its optimum per trial of n episodes is known: the first pull is a coin flip (1/2 expected), every
    later pull takes the arm found good: 3n - 1/2.
    """

    metadata: dict = {"render_modes": []}

    def __init__(self, good: int = 0, obs_value: float = 1.0) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.good = good
        self.obs_value = obs_value

    def set_good(self, good: int) -> None:
        self.good = good

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.array([self.obs_value], np.float32), {}

    def step(self, action):
        return np.array([self.obs_value], np.float32), float(int(action) == self.good), False, False, {}


class GoodArms:
    """The good arm is 0 or 1 with equal chance (both splits)."""

    def __init__(self, apply=SetAttribute("good")) -> None:
        self.apply = apply

    def sample(self, batch, generator, split="train"):
        return torch.randint(2, (batch,), generator=generator, device=generator.device).tolist()


def two_arms(apply=SetAttribute("good")) -> GymFamily:
    return GymFamily("two-arms", TwoArms, GoodArms(apply))


def fixed_tasks(values: list) -> GymTasks:
    return GymTasks(values, torch.arange(len(values)))


def test_tasks_reach_the_envs_by_attribute_method_or_rebuild():
    # Always pulling arm 0 earns 1 per step exactly where the task's good arm is 0, whichever way it is applied.
    for apply, tasks in ((SetAttribute("good"), [0, 1, 1, 0]), (CallMethod("set_good"), [0, 1, 1, 0]),
                         (Rebuild(lambda good: TwoArms(good=good)), [{"good": g} for g in (0, 1, 1, 0)])):
        env = GymTrialEnv(two_arms(apply), max_episode_steps=3)
        env.reset(fixed_tasks(tasks))
        for _ in range(5):  # across an episode end (3 steps): the task stays in the env
            result = env.step(torch.zeros(4, dtype=torch.long))
            assert result.reward.tolist() == [1.0, 0.0, 0.0, 1.0]
        env.close()


def test_episodes_end_by_time_limit_as_truncation_and_the_next_observation_starts_the_next_episode():
    env = GymTrialEnv(GymFamily("point", PointNavigation, CircleGoals()), max_episode_steps=3)
    obs = env.reset(fixed_tasks([(1.0, 0.0), (0.0, 1.0)]))
    assert torch.equal(obs, torch.zeros(2, 2))
    action = torch.tensor([[1.0, 0.0], [5.0, -5.0]])  # the second is clipped to the box: (0.1, -0.1) a step
    flags = []
    for t in range(1, 4):
        r = env.step(action)
        flags.append((r.terminated.tolist(), r.truncated.tolist()))
        if t < 3:  # distance to the goal after t steps, reward its negative
            assert r.obs.flatten().tolist() == pytest.approx([0.1 * t, 0.0, 0.1 * t, -0.1 * t], abs=1e-6)
            assert r.reward.tolist() == pytest.approx([-(1 - 0.1 * t), -math.hypot(0.1 * t, 1 + 0.1 * t)], abs=1e-5)
    assert flags == [([False] * 2, [False] * 2)] * 2 + [([False] * 2, [True] * 2)]
    assert torch.equal(r.obs, torch.zeros(2, 2))  # SAME_STEP autoreset: the next episode's first observation
    env.close()


def test_box_actions_map_from_the_unit_box_onto_the_bounds():
    env = GymTrialEnv(GymFamily("point", PointNavigation, CircleGoals()), max_episode_steps=3)
    mapped = env._env_actions(torch.tensor([[-1.0, 1.0], [0.0, 0.5], [-7.0, 3.0]]))
    assert mapped.flatten().tolist() == pytest.approx([-0.1, 0.1, 0.0, 0.05, -0.1, 0.1])


class Broken(TwoArms):
    """Returns a NaN observation at its third step."""

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return super().reset(seed=seed)

    def step(self, action):
        self.t += 1
        obs, r, term, trunc, info = super().step(action)
        return (obs * np.nan if self.t == 3 else obs), r, term, trunc, info


def test_a_nan_observation_is_one_line_naming_the_env_and_step():
    env = GymTrialEnv(GymFamily("broken-env", Broken, GoodArms()), max_episode_steps=10)
    env.reset(fixed_tasks([0, 1]))
    env.step(torch.zeros(2, dtype=torch.long))
    env.step(torch.zeros(2, dtype=torch.long))
    with pytest.raises(EnvError, match=r"^broken-env: copy 0 returned a non-finite observation at step 3$"):
        env.step(torch.zeros(2, dtype=torch.long))


def test_unsupported_spaces_are_refused_in_one_line():
    class DictObs(TwoArms):
        def __init__(self):
            super().__init__()
            self.observation_space = gym.spaces.Dict({"x": gym.spaces.Discrete(2)})

    with pytest.raises(EnvError, match="observation space .* is not supported"):
        GymTrialEnv(GymFamily("dict-env", DictObs, GoodArms()), max_episode_steps=3)


def _point_rollout(vector: str, seed: int = 3):
    task = Config().replace(family="point", n=2, max_episode_steps=5, steps_per_update=10, minibatches=1,
                            vector=vector).task
    torch.manual_seed(0)
    policy = RecurrentActorCritic((2,), 2, hidden=16, continuous=True)
    tasks = make_task_distribution(task).sample(4, torch.Generator().manual_seed(seed))
    env = make_env(task)
    try:
        return collect_trials(env, policy, tasks, task.n, task.trial_length, torch.Generator().manual_seed(seed + 1))
    finally:
        env.close()


def test_sync_and_async_vector_envs_give_the_same_trials():
    sync, asynchronous = _point_rollout("sync"), _point_rollout("async")
    for name in ("inputs", "actions", "rewards", "terminated", "truncated", "trial_end"):
        assert torch.equal(getattr(sync, name), getattr(asynchronous, name)), name
    assert sync.rewards.shape == (10, 4) and bool(sync.trial_end[-1].all())


def test_gaussian_log_prob_and_entropy_match_torch_distributions():
    mean, log_std = torch.randn(5, 3), torch.randn(3)
    actions = torch.randn(5, 3)
    logp, entropy = gaussian_stats(mean, log_std, actions)
    ref = torch.distributions.Normal(mean, log_std.exp())
    assert torch.allclose(logp, ref.log_prob(actions).sum(-1), atol=1e-5)
    assert torch.allclose(entropy, ref.entropy().sum(-1), atol=1e-5)


def test_gaussian_policy_samples_around_its_mean_with_its_std():
    torch.manual_seed(0)
    policy = RecurrentActorCritic((2,), 2, hidden=8, continuous=True)
    with torch.no_grad():
        policy.log_std.fill_(math.log(0.5))
    mean = torch.tensor([[0.3, -0.2]]).expand(20000, 2)
    actions, logp = policy.sample(mean, torch.Generator().manual_seed(0))
    assert actions.mean(0).tolist() == pytest.approx([0.3, -0.2], abs=0.02)
    assert actions.std(0).tolist() == pytest.approx([0.5, 0.5], abs=0.02)
    assert torch.allclose(logp, policy.action_stats(mean, actions)[0])
    greedy, _ = policy.sample(mean, torch.Generator().manual_seed(0), greedy=True)
    assert torch.equal(greedy, mean)


def test_input_normalizer_merges_batches_into_the_statistics_of_all_steps():
    norm = InputNormalizer(obs_dim=3, reward_index=5, obs=True, reward=True)
    a, b = torch.randn(7, 4, 7) * 3 + 2, torch.randn(5, 4, 7) - 1
    valid_a, valid_b = torch.rand(7, 4) < 0.8, torch.ones(5, 4, dtype=torch.bool)
    norm.update(a, valid_a)
    norm.update(b, valid_b)
    every = torch.cat([a[valid_a], b[valid_b]], 0).double()
    assert torch.allclose(norm.obs_mean.double(), every[:, :3].mean(0), atol=1e-5)
    assert torch.allclose(norm.obs_var.double(), every[:, :3].var(0, unbiased=False), atol=1e-4)
    assert float(norm.reward_var) == pytest.approx(float(every[:, 5].pow(2).mean()), rel=1e-5)
    x = norm(every[:2].float())
    expected_obs = (every[:2, :3] - every[:, :3].mean(0)) / every[:, :3].std(0, unbiased=False)
    assert torch.allclose(x[:, :3].double(), expected_obs.clamp(-10, 10), atol=1e-4)
    assert torch.equal(x[:, 3:5], every[:2, 3:5].float())  # the previous action is left alone


def test_trpo_refuses_box_actions_in_one_line():
    with pytest.raises(ConfigError, match="trpo steps discrete actions only"):
        Config().replace(family="point", n=2, max_episode_steps=5, steps_per_update=10, minibatches=1, algo="trpo")


def test_mean_reward_credit_refuses_envs_without_reward_means_in_one_line():
    with pytest.raises(ConfigError, match="reward_credit mean needs an env that knows each reward's mean; the point"):
        Config().replace(family="point", n=2, max_episode_steps=5, steps_per_update=10, minibatches=1,
                         reward_credit="mean")
    Config().replace(family="mdp", reward_credit="mean")  # bandits and MDPs know theirs


@pytest.mark.learning
def test_own_gym_env_learns_its_task_and_checkpoints_round_trip(tmp_path, learning_seed, record_figure):
    # The known optimum of a 2-episode trial is 5.5 (see TwoArms); a policy that ignores rewards gets 3.
    model = RL2.gym(TwoArms, GoodArms(), name="two-arms", n=2, max_episode_steps=3, steps_per_update=6 * 32,
                    minibatches=2, epochs=4, lr=1e-2, hidden=32, total_steps=6 * 32 * 40, seed=learning_seed,
                    norm_obs=True, norm_reward=True)
    model.learn()
    result = model.evaluate(trials=200, seed=5)
    trial_return = record_figure("mean_trial_return", result.summary()["mean_trial_return"])
    # Sweep (8 seeds x fused, torch kernels x 1, 2 threads; scripts/sweep_learning_tests.py):
    # min 5.44 / median 5.47 / max 5.515 over 32 runs.
    assert 4.5 < trial_return <= 5.5 + 0.05, trial_return
    path = model.save(tmp_path / "two-arms.pt")
    loaded = RL2.load(path, family=GymFamily("two-arms", TwoArms, GoodArms()))
    assert torch.equal(loaded.policy.input_norm.obs_var, model.policy.input_norm.obs_var)
    assert torch.equal(loaded.evaluate(trials=200, seed=5).episode_returns, result.episode_returns)


def test_the_gym_family_without_its_env_is_one_line():
    with pytest.raises(ConfigError, match="RL2.gym"):
        RL2(Config().replace(family="gym", n=2, max_episode_steps=3, steps_per_update=6, minibatches=1))


class FixedGoal:
    """Always the goal (1, 0): one task, so the optimum is known."""

    apply = SetAttribute("goal")

    def sample(self, batch, generator, split="train"):
        return [(1.0, 0.0)] * batch


@pytest.mark.learning
def test_gaussian_policy_learns_a_fixed_goal_close_to_its_known_optimum(learning_seed, record_figure):
    # Steps of 0.1 straight to the goal 1 away: distances 0.9, 0.8, ..., 0.1, then 0 for the rest of
    # the 20 steps; the optimal return is -4.5. Standing still returns -20.
    model = RL2.gym(PointNavigation, FixedGoal(), name="point-fixed", n=1, max_episode_steps=20,
                    steps_per_update=20 * 32, minibatches=2, epochs=4, lr=3e-3, lam=0.95, ent_coef=0.0, hidden=32,
                    total_steps=20 * 32 * 60, seed=learning_seed)
    model.learn()
    greedy = record_figure("greedy_return",
                           model.evaluate(trials=20, seed=3, greedy=True).summary()["mean_trial_return"])
    # Sweep (8 seeds x fused, torch kernels x 1, 2 threads; scripts/sweep_learning_tests.py):
    # min -5.04 / median -4.92 / max -4.82 over 32 runs: within 12% of the optimum; asked within 22%.
    assert -5.5 < greedy <= -4.5, greedy


def test_cli_trains_point_navigation_and_refuses_the_gym_family_in_one_line(rl2_cmd, tmp_path):
    import json
    import subprocess

    run_dir = tmp_path / "point"
    r = subprocess.run([*rl2_cmd, "train", "point-nav", "--run-dir", str(run_dir), "--total-steps", str(40 * 32 * 2),
                        "--eval-trials", "20", "--no-progress", "--threads", "1", "--norm-obs", "true"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["trials"] == 20 and len(result["episode_return_mean"]) == 2
    assert -40 < result["episode_return_mean"][0] < 0  # a return of -distance per step, the goal 1 away
    r = subprocess.run([*rl2_cmd, "train", "--family", "gym", "--n", "2", "--steps-per-update", "500",
                        "--minibatches", "1"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 2 and "RL2.gym" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_point_robot_preset_episode_two_beats_episode_one():
    # The point-nav preset (3,000 updates, 4-7 minutes): on held-out goals the second episode goes
    # nearly straight to the goal the first one found. Training seeds 0 and 1 (benchmarks/adaptation.py,
    # 200 goals): episode 1 / 2 -7.94 / -5.19 and -8.77 / -6.14, a gain of 2.75 and 2.63; the oracle
    # (told the goal) -4.1, the blind policy (no memory, no reward input) -20 or worse. Asserted: a
    # gain of 1.5 (paired over trials), and episode 2 above -7.3, which closes 0.8 of the blind
    # policy's -20 to the oracle's -4.1.
    model = RL2("point-nav", seed=0)
    model.learn()
    returns = model.evaluate(trials=500, seed=11).episode_returns
    gain = returns[:, 1] - returns[:, 0]
    assert float(gain.mean()) > 1.5, returns.mean(0)
    assert float(returns[:, 1].mean()) > -7.3, returns.mean(0)


@pytest.mark.slow
def test_sparse_point_robot_searches_in_episode_one_and_goes_straight_in_episode_two():
    # The point-nav-sparse preset (1,200 updates, 3-7 minutes): the reward shows only within 0.2 of
    # the goal. Training seeds 0 and 1 (benchmarks/adaptation.py, 200 goals), episodes 1 / 2: success
    # 100% / 100% on both, return 26.3 / 40.0 and 29.0 / 41.2 (episode 1 searches the arc, episode 2
    # goes straight to the goal it found); the oracle (told the goal) 100% and 42, the blind policy
    # 28% and 4.9. (With gamma 0.99 in place of the preset's 0.999: 40% / 97% and 93% / 92%, return
    # 13.0 / 34.9 and 27.4 / 36.4.) Asserted, with room for another trajectory: episode 2 succeeds in
    # 80% of trials, earns 30 (two thirds of the way from blind to oracle) and 5 more than episode 1.
    model = RL2("point-nav-sparse", seed=0)
    model.learn()
    result = model.evaluate(trials=500, seed=11)
    success = result.episode_success.double().mean(0)
    returns = result.episode_returns.mean(0)
    assert float(success[1]) > 0.8, (success, returns)
    assert float(returns[1]) > 30.0 and float(returns[1]) > float(returns[0]) + 5.0, (success, returns)


# The HalfCheetah presets (10M steps, 20-40 minutes on one thread): the task shows in the first
# steps' rewards, so adaptation happens inside episode 1, and episode 2 keeps what it found. Figures
# of benchmarks/adaptation.py on 100 held-out tasks, per training seed: episodes 1 / 2, and the share
# of the gap between the blind policy and the oracle (told the task) that episode 1 closes.
# - halfcheetah-dir, seeds 0 and 1: 463.4 / 472.5 and 581.4 / 604.5; blind -17.9 / -21.0, oracle
#   556.0 / 602.4; 0.84 [0.80, 0.87] and 0.97 [0.92, 1.02]. Asserted: episode 1 above 330 (0.6 of
#   seed 0's gap).
# - halfcheetah-vel (initial σ = e⁻¹), seeds 0 and 1: -78.1 / -86.7 and -87.9 / -92.7; blind
#   -178.5 and -174.0, oracle -62.4 and -47.8; 0.86 [0.84, 0.89] and 0.68 [0.64, 0.72]. Asserted:
#   episode 1 above -120 (half of seed 0's gap). The oracle too loses 5.9 in episode 2, so the drop there is
#   not a loss of what episode 1 found.
# Episode 2 may fall no more than 25 below episode 1 (measured +9.1 and +23.1 for dir, -8.6 and
# -4.8 for vel).
@pytest.mark.slow
@needs_mujoco
@pytest.mark.parametrize("preset, episode_1_floor", [("halfcheetah-dir", 330.0), ("halfcheetah-vel", -120.0)])
def test_half_cheetah_finds_its_task_in_episode_one_and_keeps_it_in_episode_two(preset, episode_1_floor):
    model = RL2(preset, seed=0)
    model.learn()
    returns = model.evaluate(trials=100, seed=11).episode_returns.mean(0)
    assert float(returns[0]) > episode_1_floor, returns
    assert float(returns[1]) > float(returns[0]) - 25.0, returns


@pytest.mark.parametrize("env_id, kwargs", [("rl2/BernoulliBandit-v0", {"k": 3}),
                                             ("rl2/TabularMDP-v0", {"states": 4, "actions": 3, "horizon": 5})])
def test_tabular_families_are_gymnasium_ids_that_pass_check_env(env_id, kwargs):
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings fail the test too
        check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_tabular_gym_envs_follow_the_tasks_given_to_them():
    # Arms of probability 0 and 1: the rewards of a pull are known; each pull is an episode (terminated).
    family = GymFamily("bandit", lambda: gym.make("rl2/BernoulliBandit-v0", k=2), TensorTasks(BernoulliBandit(2)))
    env = GymTrialEnv(family, max_episode_steps=10)
    env.reset(fixed_tasks([{"probs": np.array([0.0, 1.0])}, {"probs": np.array([1.0, 0.0])}]))
    for _ in range(3):
        result = env.step(torch.tensor([1, 1]))
        assert result.reward.tolist() == [1.0, 0.0] and result.terminated.all()
    # The MDP tasks are rows of rl2's own distribution, and a 5-step episode terminates at its horizon.
    tasks = GymTaskSampler(TensorTasks(TabularMDP(4, 3))).sample(2, torch.Generator().manual_seed(0))
    assert tasks.values[0]["transitions"].shape == (4, 3, 4)
    mdp = GymTrialEnv(GymFamily("mdp", lambda: gym.make("rl2/TabularMDP-v0", states=4, actions=3, horizon=5),
                                TensorTasks(TabularMDP(4, 3))), max_episode_steps=100)
    mdp.reset(tasks)
    ends = [bool(mdp.step(torch.tensor([0, 2])).terminated.all()) for _ in range(10)]
    assert ends == [False] * 4 + [True] + [False] * 4 + [True]


@needs_mujoco
@pytest.mark.parametrize("family", ["halfcheetah-vel", "halfcheetah-dir", "ant-dir"])
def test_mujoco_family_starts_and_updates(family):
    # Two updates of 4 short trials: the wrappers build, take tasks, step, and PPO runs on their Box actions.
    model = RL2(family, max_episode_steps=20, steps_per_update=40 * 4, minibatches=2, hidden=16, total_steps=40 * 8)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn()
    assert model.learner.update == 2
    assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    returns = model.evaluate(trials=4, seed=1).episode_returns
    assert returns.shape == (4, 2) and bool(torch.isfinite(returns).all())


@needs_mujoco
def test_halfcheetah_vel_reward_is_recomputed_from_the_velocity():
    from rl2.envs.mujoco import HalfCheetahVel

    env = HalfCheetahVel()
    env.target_velocity = 2.0
    env.reset(seed=0)
    action = np.full(6, 0.5, np.float32)
    _, reward, _, _, info = env.step(action)
    assert reward == pytest.approx(-abs(info["x_velocity"] - 2.0) - 0.05 * 6 * 0.25, rel=1e-5)


def test_readme_gymnasium_example_runs(capsys):
    # The README's "Any Gymnasium environment" example as printed there, with a budget of 2 updates.
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Any Gymnasium environment", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert "total_steps=768_000" in code
    exec(compile(code.replace("total_steps=768_000", "total_steps=2560"), "README.md", "exec"), {})
    first, second = (float(x) for x in capsys.readouterr().out.strip().strip("[]").split(","))
    assert -40 < first < 0 and -40 < second < 0


def test_evaluation_of_a_gymnasium_family_is_the_same_in_sync_and_async_mode():
    # 40 trials: two chunks (32 + 8), so at most 32 copies (processes under async) at once.
    config = Config().replace(family="point", n=2, max_episode_steps=5, steps_per_update=10, minibatches=1)
    torch.manual_seed(0)
    policy = RecurrentActorCritic((2,), 2, hidden=16, continuous=True)
    sync = evaluate(policy, config.task, trials=40, seed=2)
    asynchronous = evaluate(policy, config.replace(vector="async").task, trials=40, seed=2)
    assert sync.episode_returns.shape == (40, 2)
    assert torch.equal(sync.episode_returns, asynchronous.episode_returns)


@pytest.mark.parametrize("core", [{}, {"rnn": "transformer", "attn_layers": 2, "attn_heads": 2}],
                         ids=["gru", "transformer"])
def test_a_resumed_point_run_continues_exactly_as_an_uninterrupted_one(core, tmp_path):
    # The trials' env seeds come from the task generator, so a checkpoint (weights, log-std, input
    # statistics, generators) is all a Gymnasium run needs to continue bit for bit.
    overrides = dict(total_steps=40 * 32 * 3, hidden=16, norm_obs=True, norm_reward=True, seed=4, **core)
    straight = RL2("point-nav", **overrides).learn()
    first = RL2("point-nav", **overrides).learn(total_steps=40 * 32 * 2)
    resumed = RL2.load(first.save(tmp_path / "two.pt")).learn()
    assert resumed.learner.update == straight.learner.update == 3
    for (name, a), b in zip(straight.policy.state_dict().items(), resumed.policy.state_dict().values()):
        assert torch.equal(a, b), name


class Countdown(TwoArms):
    """Episodes that end by the task's own rule (terminated) after `length` steps."""

    def __init__(self) -> None:
        super().__init__()
        self.length, self.t = 3, 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return super().reset(seed=seed)

    def step(self, action):
        self.t += 1
        obs, reward, _, truncated, info = super().step(action)
        return obs, reward, self.t >= self.length, truncated, info


def test_trials_of_episodes_that_end_early_stop_at_their_own_step_and_pad_the_rest():
    # Episodes of 2 and 3 steps (and a 10-step cap): trials of 2 episodes end after 4 and 6 steps.
    family = GymFamily("countdown", Countdown, GoodArms(SetAttribute("length")))
    env = GymTrialEnv(family, max_episode_steps=10)
    torch.manual_seed(0)
    policy = RecurrentActorCritic((1,), 2, hidden=8)
    rollout = collect_trials(env, policy, fixed_tasks([2, 3]), 2, 20, torch.Generator().manual_seed(0))
    assert rollout.valid.sum(0).tolist() == [4, 6] and rollout.rewards.shape[0] == 6
    assert rollout.episode_lengths(2).tolist() == [[2.0, 2.0], [3.0, 3.0]]
    assert rollout.trial_end[3, 0] and rollout.trial_end[5, 1] and int(rollout.trial_end.sum()) == 2
    assert rollout.terminated.sum(0).tolist() == [2, 2] and not rollout.truncated.any()
    # The done flag is an input: the step after an episode's end sees d_prev = 1.
    assert rollout.inputs[2, 0, -1] == 1 and rollout.inputs[3, 1, -1] == 1 and rollout.inputs[1, 0, -1] == 0
