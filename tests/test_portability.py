"""What a run needs from the machine: a GPU-trained checkpoint evaluates on a CPU-only one, loading an
agent compiles nothing, and requests that cannot fit in memory are refused in one line (exit 2)."""

from __future__ import annotations

import subprocess

import pytest
import torch

from rl2 import RL2
from rl2.checkpoint import write_checkpoint
from rl2.config import ConfigError
from rl2.memory import check_fits, check_training_fits, results_bytes, training_bytes
from rl2.presets import preset_config
from rl2.train import checkpoint_state

TINY = dict(hidden=8, steps_per_update=100, minibatches=2, total_steps=100)


def as_if_saved_on_cuda(model: RL2, path, monkeypatch) -> None:
    """Writes `model` as a CUDA run writes it: every tensor's storage tagged 'cuda:0', the config's
    device 'cuda', and the generators in CUDA's Philox layout (16 bytes: seed and offset)."""
    state = checkpoint_state(model.learner)
    state["config"]["machine"]["device"] = "cuda"
    for name in ("task_generator", "rollout_generator"):
        state["learner"][name] = torch.arange(16, dtype=torch.uint8)
    monkeypatch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
    write_checkpoint(path, state)
    monkeypatch.undo()


def test_a_checkpoint_saved_on_a_gpu_loads_and_evaluates_on_a_cpu(tmp_path, monkeypatch, rl2_cmd):
    model = RL2("bandit-n10-k5", **TINY).learn()
    path = tmp_path / "gpu.pt"
    as_if_saved_on_cuda(model, path, monkeypatch)
    if not torch.cuda.is_available():  # the file really asks for a GPU: a plain torch.load cannot place it here
        payload = path.read_bytes().partition(b"\n")[2]
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(__import__("io").BytesIO(payload), weights_only=True)
    loaded = RL2.load(path)
    assert loaded.policy.policy_head.weight.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    for a, b in zip(loaded.policy.parameters(), model.policy.parameters()):
        assert torch.equal(a.cpu(), b)
    expected = model.evaluate(trials=50, seed=3).episode_returns
    assert torch.equal(RL2.load(path, device="cpu").evaluate(trials=50, seed=3).episode_returns, expected)
    loaded.learn(100)  # and it trains on from there (its generators seeded from the GPU's state)
    r = subprocess.run([*rl2_cmd, "eval", str(path), "--trials", "20", "--device", "cpu"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "mean total reward per trial" in r.stdout


def test_evaluating_a_run_compiles_no_kernel(tmp_path, rl2_cmd):
    import os

    model = RL2("bandit-n10-k5", **TINY).learn()
    model.save(tmp_path / "agent.pt")
    extensions = tmp_path / "extensions"  # an empty extension cache: a build would write here
    env = {**os.environ, "TORCH_EXTENSIONS_DIR": str(extensions), "RL2_GRU_KERNEL": "auto"}
    r = subprocess.run([*rl2_cmd, "eval", str(tmp_path / "agent.pt"), "--trials", "20"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert not extensions.exists() or not any(extensions.rglob("*.so")), "rl2 eval compiled the fused kernel"


def test_memory_estimates_grow_with_what_they_count():
    config = preset_config("bandit-n10-k5", hidden=64, steps_per_update=1000, minibatches=5)
    # Four copies of the GRU's matrices (weights, gradients, Adam's two moments), 3 H (H + 1) floats
    # each, and a minibatch's replay: its 200 steps' 3 gates and output, H each.
    # And the update's rollout: 1,000 steps of at least 45 bytes (φ without the observation 12, the
    # action 8, log-prob, value and reward 12, five flags 5, advantage and return 8).
    rollout = 1000 * 45
    assert training_bytes(config) == 4 * (4 * 3 * 64 * 65 + 200 * 64 * 4) + rollout
    assert training_bytes(config.replace(critic="separate")) - rollout == 2 * (training_bytes(config) - rollout)
    # Belief supervision records the task's k = 5 parameters at each of the 1,000 steps, and a
    # minibatch's 200 steps of the head's estimates with their gradient.
    assert training_bytes(config.replace(belief_coef=1.0)) - training_bytes(config) == 4 * (1000 + 2 * 200) * 5
    assert results_bytes(1000, 10, methods=2) == 2 * results_bytes(1000, 10)
    check_fits(2**20, "anything", available=2**21)
    with pytest.raises(ConfigError, match=r"^--tasks 9 needs at least 2.0 GiB of memory, more than the 1.0 GiB"):
        check_fits(2 * 2**30, "--tasks 9", available=2**30)
    with pytest.raises(ConfigError, match="training with --hidden 100000000, --steps-per-update 2400"):
        check_training_fits(preset_config("bandit-n10-k5", hidden=100_000_000), available=24 * 2**30)
    # a small core over a huge update: the rollout alone does not fit
    huge = preset_config("bandit-n10-k5", steps_per_update=10**12, minibatches=10**9)
    assert training_bytes(huge) > 10**12 * 45
    with pytest.raises(ConfigError, match="--steps-per-update 1000000000000 and --minibatches 1000000000 needs at"):
        check_training_fits(huge, available=24 * 2**30)
    # a large MDP's recorded task: 100 states x 10 actions x 101 parameters a step, 9.7 GB at 24,000 steps
    believe = preset_config("mdp-n10", states=100, actions=10, belief_coef=1.0)
    with pytest.raises(ConfigError, match=r"--minibatches 4 with --belief-coef 1.0 \(101,000 task parameters recorded "
                                          r"a step\) needs at least 1[0-9].[0-9] GiB"):
        check_training_fits(believe, available=8 * 2**30)
    check_training_fits(believe.replace(belief_coef=0.0), available=8 * 2**30)


@pytest.mark.parametrize("args, needle", [
    (["train", "--hidden", "100000000"], "rl2: error: training with --hidden 100000000, --steps-per-update"),
    (["compare", "bandit", "--tasks", "100000000"], "rl2 compare: --tasks 100000000 needs at least"),
    (["paper-tables", "--tasks", "100000000"], "rl2 paper-tables: --tasks 100000000 needs at least"),
])
def test_requests_that_cannot_fit_in_memory_are_one_line(args, needle, rl2_cmd, tmp_path):
    r = subprocess.run([*rl2_cmd, *args, *(["--run-dir", str(tmp_path / "run")] if args[0] == "train" else [])],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith(needle), r.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written
