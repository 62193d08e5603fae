"""The causal transformer core (--rnn transformer): positions, causality, streamed steps equal to the
batched replay (rollouts, Agent.act), a new trial is a new context, its config checks, TRPO, mazes
from pixels, Box actions, and exact resume."""

import copy
import math

import pytest
import torch

from rl2 import RL2
from rl2.config import ConfigError
from rl2.envs.maze import MazeEnv
from rl2.learner import Learner
from rl2.memory import training_bytes
from rl2.policy import RecurrentActorCritic
from rl2.policy.attention import CausalTransformer, sinusoidal_positions
from rl2.presets import preset_config
from rl2.rollout import collect_trials
from rl2.tasks import MazeDistribution
from rl2.trpo import categorical_kl

TX = dict(rnn="transformer", attn_heads=2, attn_layers=2)


def transformer_policy(obs, actions, context=12, **kwargs) -> RecurrentActorCritic:
    torch.manual_seed(0)
    return RecurrentActorCritic(obs, actions, **{**TX, "hidden": 16, **kwargs}, attn_context=context)


def test_sinusoidal_positions_are_sines_and_cosines_whose_products_depend_on_the_offset_only():
    codes = sinusoidal_positions(50, 8).double()
    assert torch.equal(codes[0], torch.tensor([0.0, 1.0] * 4, dtype=torch.float64))
    assert codes[7, 0] == pytest.approx(math.sin(7), abs=1e-6) and codes[7, 1] == pytest.approx(math.cos(7), abs=1e-6)
    assert codes[7, 2] == pytest.approx(math.sin(7 / 10_000 ** (2 / 8)), abs=1e-6)
    before = sinusoidal_positions(3, 8, start=-1)  # positions -1, 0, 1: sin is odd, cos even
    assert torch.equal(before[1:], codes[:2].float())
    assert torch.allclose(before[0], codes[1].float() * torch.tensor([-1.0, 1.0] * 4))
    # sin a sin b + cos a cos b = cos(a - b): each pair's product is a function of the offset alone.
    gram = codes @ codes.T
    assert torch.allclose(gram[3, 10], gram[30, 37], atol=1e-5) \
        and torch.allclose(gram.diagonal(), torch.full((50,), 4.0, dtype=torch.float64))


@pytest.mark.parametrize("critic", ["shared", "separate"])
@pytest.mark.parametrize("head_hidden", [0, 8])
@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("sink", [False, True])
def test_streamed_steps_equal_the_batched_replay(critic, head_hidden, continuous, sink):
    policy = transformer_policy(3, 4, critic=critic, head_hidden=head_hidden, continuous=continuous, attn_sink=sink)
    x = torch.randn(12, 5, policy.input_dim)  # a trial as long as the context
    logits, values = policy.unroll(x, policy.initial_state(5))
    state = policy.initial_state(5)
    with torch.no_grad():
        for t in range(12):
            step_logits, step_value, state = policy.step(x[t], state)
            assert torch.allclose(step_logits, logits[t], atol=1e-5, rtol=1e-4)
            assert torch.allclose(step_value, values[t], atol=1e-5, rtol=1e-4)
    assert [cache.position for cache in state] == [12] * (2 if critic == "separate" else 1)
    with pytest.raises(ConfigError, match="past the transformer's context of 12 steps"):
        policy.step(x[0], state)


def test_attention_is_causal_and_reaches_back_over_the_whole_trial():
    policy = transformer_policy(3, 4)
    x = torch.randn(10, 2, policy.input_dim)
    logits, values = policy.unroll(x, policy.initial_state(2))
    later = x.clone()
    later[6:] = torch.randn(4, 2, policy.input_dim)  # the future changes: the past's outputs do not
    logits2, values2 = policy.unroll(later, policy.initial_state(2))
    assert torch.equal(logits2[:6], logits[:6]) and torch.equal(values2[:6], values[:6])
    first = x.clone()
    first[0, 0] += 1.0  # the first step changes: every later step of that trial sees it, the other trial nothing
    logits3, values3 = policy.unroll(first, policy.initial_state(2))
    assert (values3[:, 0] - values[:, 0]).abs().min() > 1e-6 and torch.equal(values3[:, 1], values[:, 1])


def test_a_new_trial_is_a_new_context_and_collection_replays_exactly():
    from rl2.envs.mdp import MDPEnv
    from rl2.tasks import TabularMDP

    env = MDPEnv(states=4, actions=3, horizon=5)
    policy = transformer_policy(env.obs_shape, env.num_actions, context=15)
    tasks = TabularMDP(states=4, actions=3).sample(8, torch.Generator().manual_seed(1))
    others = TabularMDP(states=4, actions=3).sample(8, torch.Generator().manual_seed(2))
    first = collect_trials(env, policy, tasks, 3, 15, torch.Generator().manual_seed(0))
    collect_trials(env, policy, others, 3, 15, torch.Generator().manual_seed(5))
    again = collect_trials(env, policy, tasks, 3, 15, torch.Generator().manual_seed(0))
    assert torch.equal(again.actions, first.actions) and torch.equal(again.logprobs, first.logprobs)
    logits, values = policy.unroll(first.inputs, policy.initial_state(8))
    assert torch.allclose(policy.action_stats(logits, first.actions)[0], first.logprobs, atol=1e-5)
    assert torch.allclose(values, first.values, atol=1e-5)


def test_a_cnn_transformer_replays_its_maze_collection_and_trains_its_encoder():
    torch.manual_seed(0)
    env = MazeEnv(5, max_episode_steps=10)
    policy = RecurrentActorCritic(env.obs_shape, 3, hidden=16, attn_context=20, **TX)
    tasks = MazeDistribution(5).sample(8, torch.Generator().manual_seed(1))
    r = collect_trials(env, policy, tasks, 2, 20, torch.Generator().manual_seed(2))
    assert policy.encoder is not None and bool((r.terminated | r.truncated)[:-1][r.valid[1:]].any())
    logits, values = policy.unroll(r.policy_inputs(), policy.initial_state(8))
    logp = torch.log_softmax(logits, -1).gather(-1, r.actions[..., None]).squeeze(-1)
    assert torch.allclose(logp[r.valid], r.logprobs[r.valid], atol=1e-5)
    assert torch.allclose(values[r.valid], r.values[r.valid], atol=1e-5)
    grads = torch.autograd.grad(logits.sum(), list(policy.encoder.parameters()))
    assert all(g.abs().sum() > 0 for g in grads)


def test_agent_act_streams_the_batched_forward_one_step_at_a_time():
    model = RL2("mdp-n10", **TX, hidden=16, steps_per_update=1000, minibatches=2, total_steps=1000)
    policy = model.policy
    agent = model.agent(greedy=True)
    seen = []  # what each act put through the policy: its input, logits, value and the step's cache
    step = policy.step

    def recording(x, state):
        out = step(x, state)
        seen.append((x, *out))
        return out

    policy.step = recording
    gen = torch.Generator().manual_seed(3)
    actions, reward, done = [], 0.0, False
    for t in range(100):  # a whole trial: 10 episodes of 10 steps, the user's own loop
        actions.append(agent.act(int(torch.randint(10, (1,), generator=gen)), reward, done))
        reward, done = float(torch.rand(1, generator=gen)), (t + 1) % 10 == 0
    x = torch.stack([s[0] for s in seen])  # [100, 1, D]
    logits, values = policy.unroll(x, policy.initial_state(1))
    assert torch.allclose(torch.stack([s[1] for s in seen]), logits, atol=1e-5, rtol=1e-4)
    assert torch.allclose(torch.stack([s[2] for s in seen]), values, atol=1e-5, rtol=1e-4)
    assert actions == logits.argmax(-1)[:, 0].tolist()
    # Each act computes its own step only (the cache holds the rest): one row through the input layer.
    rows = []
    policy.core.input.register_forward_hook(lambda module, args, out: rows.append(args[0].shape[0]))
    agent.reset()
    assert agent.state[0].position == 0
    for _ in range(3):
        agent.act(0)
    assert rows == [1, 1, 1] and agent.state[0].position == 3


def test_box_action_agent_replays_the_greedy_evaluation_in_the_users_own_loop():
    from rl2.envs.point import PointNavigation
    from rl2.evaluate import sample_test_tasks

    model = RL2("point-nav", **TX, hidden=16, steps_per_update=80, total_steps=80)
    model.learn()
    expected = model.evaluate(trials=1, seed=11, greedy=True).episode_returns[0]
    task = model.config.task
    env = PointNavigation(sample_test_tasks(task, 1, 11, "cpu").values[0])
    agent = model.agent(greedy=True)
    returns, reward, done = [], 0.0, False
    for _ in range(task.n):
        obs, _ = env.reset()
        total = 0.0
        for step in range(task.max_episode_steps):
            obs, reward, *_ = env.step(agent.act(obs, reward, done))
            total += reward
            done = step == task.max_episode_steps - 1
        returns.append(total)
    assert torch.allclose(torch.tensor(returns, dtype=torch.float64), expected.double(), atol=1e-4)


@pytest.mark.parametrize("overrides, message", [
    (dict(hidden=10, attn_heads=4), "hidden must be a multiple of attn_heads 4"),
    (dict(attn_context=99), r"attn_context 99 is shorter than the trial \(100 steps: n=10 episodes x 10\)"),
])
def test_config_checks_are_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message):
        preset_config("mdp-n10", rnn="transformer", **overrides)
    preset_config("mdp-n10", rnn="gru", **overrides)  # the attention fields bind transformers only


def test_a_maze_whose_held_out_trials_outrun_the_context_is_refused_before_training():
    # maze-5x5 trains on 2 episodes of 250 steps and tests on 5 of them and on 5 of 1,000 on 9x9 mazes:
    # the final evaluation would run past a 500-step context, after the whole training.
    with pytest.raises(ConfigError, match="held-out tests run trials of 5000 steps, past the transformer's "
                                          r"context of 500: .*--eval-episodes 2 --large-maze-size 0"):
        preset_config("maze-5x5", rnn="transformer", hidden=128)
    assert preset_config("maze-5x5", rnn="transformer", hidden=128, eval_episodes=2, large_maze_size=0)
    assert preset_config("maze-5x5", rnn="transformer", hidden=128, attn_context=5000)
    assert preset_config("maze-5x5", rnn="gru").task.longest_trial == 5000


def test_the_context_is_the_trial_unless_set_and_replays_from_mid_trial_are_refused():
    learner = Learner(preset_config("mdp-n10", rnn="transformer", hidden=8, steps_per_update=1000, minibatches=2))
    assert learner.policy.core.context == 100 and learner.policy.core.positions.shape == (100, 8)
    assert "core.positions" not in learner.policy.state_dict()  # computed, not stored: checkpoints hold weights
    config = preset_config("mdp-n10", rnn="transformer", hidden=8, attn_context=250, steps_per_update=1000,
                           minibatches=2)
    policy = Learner(config).policy
    assert policy.core.context == 250
    x = torch.randn(2, 3, policy.input_dim)
    with torch.no_grad():
        _, _, state = policy.step(x[0], policy.initial_state(3))
    with pytest.raises(ValueError, match="whole trials from their first step"):
        policy.unroll(x, state)
    with pytest.raises(ConfigError, match="multiple of attn_heads"):
        CausalTransformer(4, 10, 1, 4, 10)


def test_residual_branches_start_scaled_by_depth():
    core = CausalTransformer(5, 32, 8, 4, 10)
    bound = math.sqrt(6 / (32 + 32)) / math.sqrt(16)  # xavier's bound, over sqrt(2 x layers)
    assert 0.9 * bound < core.blocks[0].proj.weight.abs().max() <= bound
    assert all(not block.qkv.bias.any() for block in core.blocks)


def test_memory_estimate_counts_blocks_and_trpo_scores():
    config = preset_config("mdp-n10", rnn="transformer", hidden=16, attn_layers=2, attn_heads=4,
                           steps_per_update=2000, minibatches=2)
    weights = 2 * 12 * 16 * 16  # per block: QKV 3 H², output H², MLP 8 H²
    rollout = 2000 * 45  # the update's rollout, at least 45 bytes a step
    assert training_bytes(config) == 4 * (4 * weights + 1000 * 2 * 12 * 16) + rollout  # 1,000 steps a minibatch
    trpo = config.replace(algo="trpo", fisher_fraction=0.5)
    assert training_bytes(trpo) == 4 * (4 * weights + 10 * 2 * 4 * 100 * 100) + rollout  # 10 trials' T x T scores
    assert training_bytes(trpo.replace(fisher_fraction=1.0)) - training_bytes(trpo) == 4 * 10 * 2 * 4 * 100 * 100
    sink = trpo.replace(attn_sink=True)  # the sink's token makes every trial's scores 101 x 101
    assert training_bytes(sink) - training_bytes(trpo) == 4 * 10 * 2 * 4 * (101 * 101 - 100 * 100)


def test_trpo_steps_a_transformer_inside_the_trust_region():
    config = preset_config("bandit-n10-k5", algo="trpo", critic="separate", hidden=16, steps_per_update=500,
                           minibatches=2, max_kl=0.01, **TX)
    learner = Learner(config)
    old = copy.deepcopy(learner.policy)
    rollout = learner.collect()
    stats = learner.update_fn(learner.policy, learner.optimizer, rollout, learner.update_settings, 2, 0.0,
                              learner.rollout_generator)
    inputs, state0 = rollout.policy_inputs(), old.initial_state(50)
    with torch.no_grad():
        kl = float(categorical_kl(old.unroll(inputs, state0)[0], learner.policy.unroll(inputs, state0)[0]).mean())
    assert kl == pytest.approx(stats.approx_kl, rel=1e-4, abs=1e-7) and 0 < kl <= 0.01


def test_cli_trains_and_resumes_a_transformer(tmp_path, rl2_cmd):
    import subprocess

    run = tmp_path / "run"
    flags = ["--rnn", "transformer", "--attn-layers", "1", "--attn-heads", "2", "--hidden", "8",
             "--steps-per-update", "400", "--minibatches", "2", "--eval-trials", "20", "--no-progress",
             "--no-baselines"]
    r = subprocess.run([*rl2_cmd, "train", "bandit-n10-k5", *flags, "--total-steps", "800", "--run-dir", str(run)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*rl2_cmd, "train", "--resume", str(run), "--total-steps", "1200", "--no-progress",
                        "--no-baselines"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "(update 2, 800 env steps)" in r.stdout, r.stderr
    r = subprocess.run([*rl2_cmd, "train", "--resume", str(run), "--attn-heads", "4", "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "attn_heads is 2 there, 4 asked" in r.stderr, r.stderr
    r = subprocess.run([*rl2_cmd, "train", "bandit-n10-k5", *flags, "--attn-context", "5", "--run-dir",
                        str(tmp_path / "short")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "attn_context 5" in r.stderr, r.stderr


def test_a_sink_is_a_token_every_step_attends_to_and_only_a_sink_core_has_its_weights():
    plain, sunk = transformer_policy(3, 4), transformer_policy(3, 4, attn_sink=True)
    assert "core.sink" in dict(sunk.named_parameters()) and "core.sink" not in dict(plain.named_parameters())
    # Everything else is drawn as before: the sink starts as position -1's code, no random draw.
    shared = plain.state_dict()
    assert all(torch.equal(w, shared[name]) for name, w in sunk.state_dict().items() if name != "core.sink")
    # The first step attends to itself and the sink, so the sink moves it.
    x = torch.randn(12, 5, plain.input_dim)
    with torch.no_grad():
        first = sunk.core(x)[0]
        sunk.core.sink.add_(torch.randn_like(sunk.core.sink))  # not a constant: LayerNorm removes one
        assert (sunk.core(x)[0] - first).abs().max() > 0.01
