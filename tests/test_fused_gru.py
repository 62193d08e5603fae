"""The fused GRU kernel (rl2/csrc/fused_gru.cpp) against torch.nn.GRU: same outputs and gradients."""

import shutil

import pytest
import torch

from rl2 import fused_gru, preset_config
from rl2.config import ConfigError
from rl2.learner import Learner, build_policy, choose_gru_kernel
from rl2.policy import RecurrentActorCritic
from rl2.ppo import ppo_update

# Where a C++ compiler exists the kernel must build: a failed build is a failure, not a skip.
pytestmark = pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                                reason="no C++ compiler to build the fused GRU kernel")


@pytest.fixture(scope="module", autouse=True)
def kernel():
    assert fused_gru.load() is None, fused_gru.load()


def _grads(core, x, h0, use_fused):
    for t in (x, h0, *core.parameters()):
        t.grad = None
    out, h_n = fused_gru.gru_sequence(core, x, h0) if use_fused else core(x, h0)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    ((out * weights).sum() + 0.3 * (h_n ** 2).sum()).backward()
    grads = [t.grad.clone() if t.grad is not None else None for t in (x, h0, *core.parameters())]
    return [out.detach(), h_n.detach(), *grads]


@pytest.mark.parametrize("T,B,D,H,L", [(1, 3, 4, 8, 1), (7, 5, 6, 16, 1), (30, 2, 9, 33, 1), (7, 5, 6, 16, 3)])
@pytest.mark.parametrize("input_grad", [True, False])
def test_matches_nn_gru_in_float64(T, B, D, H, L, input_grad):
    torch.manual_seed(T * 100 + H)
    core = torch.nn.GRU(D, H, num_layers=L).double()
    with torch.no_grad():  # nonzero biases, so every bias path is checked
        for p in core.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=input_grad)
    h0 = torch.randn(L, B, H, dtype=torch.float64, requires_grad=True)
    assert fused_gru.supports(core, x)
    ref, got = _grads(core, x, h0, False), _grads(core, x, h0, True)
    for a, b in zip(ref, got):
        if a is None:
            assert b is None
        else:
            torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-11)


def test_float32_matches_to_rounding():
    torch.manual_seed(0)
    core = torch.nn.GRU(8, 256)
    x, h0 = torch.randn(100, 60, 8), torch.zeros(1, 60, 256, requires_grad=True)
    for a, b in zip(_grads(core, x, h0, False), _grads(core, x, h0, True)):
        if a is not None:
            torch.testing.assert_close(b, a, rtol=2e-3, atol=2e-3)  # 6,000-term float32 sums, other order


def test_unsupported_cores_and_inputs():
    x = torch.zeros(3, 2, 4)
    assert not fused_gru.supports(torch.nn.LSTM(4, 8), x)
    assert not fused_gru.supports(torch.nn.GRU(4, 8, num_layers=2, dropout=0.5), x)
    assert not fused_gru.supports(torch.nn.GRU(4, 8, batch_first=True), x)
    assert not fused_gru.supports(torch.nn.GRU(4, 8), x.half())


def _with_kernel(policy: RecurrentActorCritic, gru_kernel: str, **kwargs) -> RecurrentActorCritic:
    """A policy built with `kwargs` and `gru_kernel`, holding the weights of `policy`."""
    twin = RecurrentActorCritic(policy.obs_shape, policy.num_actions, gru_kernel=gru_kernel, **kwargs)
    twin.to(next(policy.parameters()).dtype).load_state_dict(policy.state_dict())
    return twin


@pytest.mark.parametrize("obs_shape", [6, (3, 7, 7)])  # vector inputs; pixels through the CNN (input gradient)
def test_policy_unroll_same_with_either_kernel(obs_shape):
    torch.manual_seed(1)
    kwargs = dict(hidden=32, critic="separate", norm_obs=True)
    policy = RecurrentActorCritic(obs_shape, 3, **kwargs).double()
    x = torch.rand(12, 4, policy.input_dim, dtype=torch.float64)
    results = []
    for kernel in ("torch", "fused"):
        replayer = _with_kernel(policy, kernel, **kwargs)
        logits, values = replayer.unroll(x, replayer.initial_state(4).double())
        (logits.square().sum() + values.sum()).backward()
        assert replayer.gru_kernel.fused == (kernel == "fused")
        results.append([logits.detach(), values.detach(), *[p.grad.clone() for p in replayer.parameters()
                                                             if p.grad is not None]])
    assert len(results[0]) == len(results[1]) > 2
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-11)


def test_a_policy_resolves_its_kernel_at_its_first_training_replay(monkeypatch):
    calls = []
    monkeypatch.setattr(fused_gru, "load", lambda: calls.append(1) or "no compiler here")
    policy = RecurrentActorCritic(4, 2, hidden=8, gru_kernel="auto")
    x = torch.rand(5, 3, policy.input_dim)
    with torch.no_grad():  # collection and evaluation: no backward pass, nothing loaded
        policy.unroll(x, policy.initial_state(3))
    assert calls == [] and policy.gru_kernel.fused is None
    policy.unroll(x, policy.initial_state(3))
    policy.unroll(x, policy.initial_state(3))
    assert calls == [1] and policy.gru_kernel.fused is False  # once, then cached
    assert policy.resolve_gru_kernel() == "no compiler here; training replays use torch.nn.GRU"
    assert RecurrentActorCritic(4, 2, hidden=8).gru_kernel.choice == "torch"  # built directly: torch.nn.GRU
    fused = RecurrentActorCritic(4, 2, hidden=8, gru_kernel="fused")
    with pytest.raises(ConfigError, match="^--gru-kernel fused: no compiler here$"):
        fused.unroll(x, fused.initial_state(3))
    on_meta = RecurrentActorCritic(4, 2, hidden=8, gru_kernel="fused").to("meta")  # any device but the CPU
    with pytest.raises(ConfigError, match="--gru-kernel fused does not fit this run: it runs on CPU"):
        on_meta.resolve_gru_kernel()
    with pytest.raises(ValueError, match="gru_kernel must be one of torch, fused, auto, got 'fast'"):
        RecurrentActorCritic(4, 2, gru_kernel="fast")


def test_kernel_choice(monkeypatch):
    monkeypatch.delenv("RL2_GRU_KERNEL", raising=False)
    config = preset_config("bandit-n10-k5", hidden=16)
    cpu = torch.device("cpu")
    assert choose_gru_kernel(config, cpu) == "auto"
    assert choose_gru_kernel(config.replace(gru_kernel="torch"), cpu) == "torch"
    assert choose_gru_kernel(config.replace(gru_kernel="fused"), cpu) == "fused"
    assert choose_gru_kernel(config.replace(rnn="lstm"), cpu) == "torch"
    assert choose_gru_kernel(config.replace(algo="trpo"), cpu) == "torch"
    assert choose_gru_kernel(config, torch.device("cuda")) == "torch"
    assert build_policy(config.replace(gru_kernel="fused")).gru_kernel.choice == "fused"
    for bad in (dict(rnn="lstm"), dict(algo="trpo")):
        with pytest.raises(ConfigError, match="gru_kernel fused replays GRU cores under PPO"):
            config.replace(gru_kernel="fused", **bad)


def test_the_environment_forces_the_kernel_of_runs_that_say_auto(monkeypatch):
    config = preset_config("bandit-n10-k5", hidden=16)
    cpu = torch.device("cpu")
    monkeypatch.setenv("RL2_GRU_KERNEL", "torch")
    assert choose_gru_kernel(config, cpu) == "torch"
    assert choose_gru_kernel(config.replace(gru_kernel="fused"), cpu) == "fused"  # a config's own choice wins
    monkeypatch.setenv("RL2_GRU_KERNEL", "fused")
    assert choose_gru_kernel(config, cpu) == "fused"
    assert choose_gru_kernel(config.replace(gru_kernel="torch"), cpu) == "torch"
    assert choose_gru_kernel(config.replace(rnn="lstm"), cpu) == "torch"  # cores it cannot replay keep nn.GRU
    monkeypatch.setenv("RL2_GRU_KERNEL", "fast")
    with pytest.raises(ConfigError, match="RL2_GRU_KERNEL must be one of auto, fused, torch, got 'fast'"):
        choose_gru_kernel(config, cpu)


def test_loading_an_agent_compiles_nothing_until_its_first_update(monkeypatch):
    monkeypatch.delenv("RL2_GRU_KERNEL", raising=False)
    calls = []
    monkeypatch.setattr(fused_gru, "load", lambda: calls.append(1))  # returns None: "ready"
    learner = Learner(preset_config("bandit-n10-k5", hidden=16, steps_per_update=100, minibatches=2))
    assert calls == [] and learner.policy.gru_kernel.fused is None
    learner.iterate()
    assert calls == [1] and learner.policy.gru_kernel.fused


def test_a_ppo_step_is_the_same_with_either_kernel():
    """One PPO step on one rollout, its replay through either kernel, moves the weights alike (to float
    rounding). One plain gradient step, not a run: after many Adam steps one sample's ratio crossing
    the clip boundary under one kernel only parts them, and Adam turns rounding in a gradient near zero
    into a full step, so that comparison would hold on one machine's rounding only."""
    config = preset_config("bandit-n10-k5", hidden=32, steps_per_update=400, minibatches=1, epochs=1)
    learner = Learner(config.replace(gru_kernel="torch"))
    rollout = learner.collect()
    steps = []
    for kernel in ("torch", "fused"):
        policy = build_policy(config.replace(gru_kernel=kernel))
        policy.load_state_dict(learner.policy.state_dict())
        before = torch.cat([p.detach().flatten() for p in policy.parameters()])
        ppo_update(policy, torch.optim.SGD(policy.parameters(), lr=1.0), rollout, config.ppo, 1, 0.01,
                   torch.Generator().manual_seed(0))
        assert policy.gru_kernel.fused == (kernel == "fused")
        steps.append(torch.cat([p.detach().flatten() for p in policy.parameters()]) - before)
    assert steps[0].abs().max() > 1e-3  # a real step, clipped to max_grad_norm
    torch.testing.assert_close(steps[1], steps[0], rtol=1e-4, atol=1e-6)


def test_train_without_a_compiler_falls_back_in_one_line(rl2_cmd, tmp_path):
    """No C++ compiler (and nothing cached): `rl2 train` says so in one line and trains on nn.GRU;
    asking for the kernel outright is a one-line error, exit 2."""
    import os
    import subprocess

    env = {**os.environ, "CXX": str(tmp_path / "no-compiler"), "TORCH_EXTENSIONS_DIR": str(tmp_path / "ext"),
           "RL2_GRU_KERNEL": "auto"}  # what the run asks for, whatever kernel the suite forces
    tiny = ["--hidden", "16", "--steps-per-update", "200", "--total-steps", "200", "--eval-trials", "20",
            "--no-progress", "--threads", "1"]
    r = subprocess.run([*rl2_cmd, "train", "--run-dir", str(tmp_path / "run"), *tiny], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stdout.splitlines() if "fused GRU kernel" in line]
    assert len(notes) == 2 and "building" in notes[0], r.stdout
    assert "found none" in notes[1] and notes[1].endswith("training replays use torch.nn.GRU")
    r = subprocess.run([*rl2_cmd, "train", "--run-dir", str(tmp_path / "run2"), "--gru-kernel", "fused", *tiny],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "--gru-kernel fused: the fused GRU kernel needs a C++ compiler" in r.stderr
