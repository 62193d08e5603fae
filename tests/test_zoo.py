"""The zoo: every shipped agent matches its manifest (file checksum, config, shapes, counters) and
re-measures its held-out figure; agents load by name (API, CLI, warm starts); bad names are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rl2 import RL2
from rl2.checkpoint import CheckpointError, load_checkpoint
from rl2.config import Config
from rl2.learner import build_policy
from rl2.presets import preset_config
from rl2.zoo import (ZooEntry, entry_named, load_index, manifest_json, setting_agents, sha256_of, training_seconds,
                     zoo_dir, zoo_origin)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = load_index(ROOT / "zoo")


@pytest.mark.parametrize("entry", SHIPPED, ids=[entry.name for entry in SHIPPED])
def test_a_shipped_agent_is_what_its_manifest_says(entry, monkeypatch):
    monkeypatch.setenv("RL2_ZOO", str(ROOT / "zoo"))
    path = ROOT / "zoo" / entry.path
    assert sha256_of(path) == entry.sha256, "the file is not the one the manifest describes"
    assert path.stat().st_size < 5e6  # weights only
    state = load_checkpoint(path)
    assert set(state["learner"]) == {"policy", "update", "env_steps"}
    config = Config.from_dict(state["config"])
    assert config.task == preset_config(entry.preset).task and config.run.seed == entry.seed
    stages = entry.command.split(" && ")  # a chain may cross horizons (mdp-n50, then mdp-n75): the last is its own
    assert all(stage.startswith("rl2 train ") for stage in stages)
    assert stages[-1].startswith(f"rl2 train {entry.preset} ")
    assert (entry.starts_from or {}).get("name") == zoo_origin(entry.command)  # the zoo agent it started from
    # Trained in stages (warm starts from local runs, or a further stage of the agent of its own name that
    # it replaced, whose steps its entry carries over): the file has the last stage's steps.
    if len(stages) > 1 or (entry.starts_from or {}).get("name") == entry.name:
        assert state["learner"]["env_steps"] < entry.env_steps and config.run.init_from
    else:
        assert state["learner"]["env_steps"] == entry.env_steps
    shapes = {name: tuple(value.shape) for name, value in build_policy(config).state_dict().items()}
    assert {name: tuple(value.shape) for name, value in state["learner"]["policy"].items()} == shapes
    # Its held-out figure, re-measured on the same tasks: sampled actions may flip where another CPU
    # rounds the GRU differently, which moves the mean by far less than its CI.
    summary = RL2.load(f"zoo:{entry.name}").evaluate(trials=entry.eval["trials"], seed=entry.eval["seed"]).summary()
    assert abs(summary["mean_trial_return"] - entry.eval["mean"]) <= entry.eval["ci95"] / 2, summary
    if entry.yardsticks is not None:  # its gap closed is the one its own figures and the yardsticks' give
        rl2, oracle, blind = (torch.tensor(x, dtype=torch.float64) for x in (
            entry.eval["episode_returns"], entry.yardsticks["oracle"]["episode_returns"],
            entry.yardsticks["blind"]["episode_returns"]))
        gap = torch.tensor(entry.yardsticks["gap_closed"]["mean"], dtype=torch.float64)
        assert torch.allclose((rl2 - blind) / (oracle - blind), gap, atol=0.02)


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory):
    """A zoo of one agent, added from a short run by scripts/zoo_add.py as a shipped one is."""
    root = tmp_path_factory.mktemp("zoo")
    run_dir = root / "run"
    train = ["train", "bandit-n10-k5", "--hidden", "16", "--minibatches", "2", "--steps-per-update", "200",
             "--total-steps", "400", "--eval-trials", "50", "--threads", "1", "--run-dir", str(run_dir),
             "--no-progress", "--no-baselines"]
    r = subprocess.run([sys.executable, "-m", "rl2", *train], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    env = {"RL2_ZOO": str(root / "zoo"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_add.py"), str(run_dir), "--name", "tiny",
                        "--preset", "bandit-n10-k5", "--paper", "6.7", "--command", "rl2 " + " ".join(train)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return root / "zoo", run_dir


def test_an_agent_loads_by_name_through_the_api_and_the_cli(tiny_zoo, monkeypatch, tmp_path, rl2_cmd):
    directory, run_dir = tiny_zoo
    monkeypatch.setenv("RL2_ZOO", str(directory))
    assert zoo_dir() == directory
    entry = entry_named("tiny")
    assert entry.env_steps == 400 and entry.eval["trials"] == 50 and entry.paper == 6.7
    assert entry.eval["mean"] == json.loads((run_dir / "eval.json").read_text())["mean_trial_return"]
    model, trained = RL2.load("zoo:tiny"), RL2.load(run_dir)
    for a, b in zip(model.policy.parameters(), trained.policy.parameters()):
        assert torch.equal(a, b)
    assert model.learner.env_steps == 400 and not model.learner.optimizer.state  # weights only
    assert model.learn(200).learner.env_steps == 600  # and it trains on, with a fresh optimizer
    warm = RL2("bandit-n100-k5", init_from="zoo:tiny", hidden=16, minibatches=2, steps_per_update=1000,
               total_steps=1000)
    assert torch.equal(warm.policy.policy_head.weight, trained.policy.policy_head.weight)
    r = subprocess.run([*rl2_cmd, "eval", "zoo:tiny", "--trials", "20"], capture_output=True, text=True,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "tiny.eval.json").read_text())["trials"] == 20  # beside the user, not in the zoo
    r = subprocess.run([*rl2_cmd, "eval", "zoo:no-such-agent"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "no agent 'no-such-agent' in the zoo" in r.stderr and "tiny" in r.stderr
    with pytest.raises(CheckpointError, match="no agent 'nope' in the zoo"):
        RL2.load("zoo:nope")


def test_an_agent_trained_in_stages_counts_every_stage(tiny_zoo, tmp_path, monkeypatch):
    # A warm start from a local run is a second stage of one agent: its cost is both stages'.
    directory, first = tiny_zoo
    second = tmp_path / "stage2"
    train = ["train", "bandit-n10-k5", "--init-from", str(first), "--hidden", "16", "--minibatches", "2",
             "--steps-per-update", "200", "--total-steps", "600", "--eval-trials", "50", "--threads", "1",
             "--run-dir", str(second), "--no-progress", "--no-baselines"]
    r = subprocess.run([sys.executable, "-m", "rl2", *train], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_add.py"), str(second), "--name", "tiny2",
                        "--preset", "bandit-n10-k5", "--command", "two stages"], capture_output=True, text=True,
                       timeout=300, env={"RL2_ZOO": str(directory), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("RL2_ZOO", str(directory))
    staged, alone = entry_named("tiny2"), entry_named("tiny")
    assert staged.env_steps == 400 + 600 and staged.train_minutes >= alone.train_minutes
    record = json.loads((second / "warm_start.json").read_text())  # the file the stage started from
    assert Path(record["file"]).parent == first / "checkpoints" and record["sha256"] == sha256_of(record["file"])

    # A stage warm from a zoo agent: added under another name it counts its own steps (the agent it
    # started from keeps its entry); added as that agent, whose entry it replaces, it carries its cost.
    third = tmp_path / "stage3"
    train = [*train[:2], "--init-from", "zoo:tiny2", *train[4:train.index("--total-steps")], "--total-steps", "400",
             "--eval-trials", "50", "--threads", "1", "--run-dir", str(third), "--no-progress", "--no-baselines"]
    r = subprocess.run([sys.executable, "-m", "rl2", *train], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "RL2_ZOO": str(directory)})
    assert r.returncode == 0, r.stderr
    source = entry_named("tiny2").sha256
    add = [sys.executable, str(ROOT / "scripts" / "zoo_add.py"), str(third), "--preset", "bandit-n10-k5"]
    zoo_env = {"RL2_ZOO": str(directory), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([*add, "--name", "tiny3", "--command", "three stages"], capture_output=True, text=True,
                       timeout=300, env=zoo_env)  # a command that does not name the agent it started from
    assert r.returncode == 2 and "--init-from zoo:tiny2" in r.stderr and "tiny3" not in {e.name for e in load_index()}
    # tiny2 replaced first: tiny3 still records the file it started from (its warm_start.json), not tiny2's new one
    for name, steps in (("tiny2", 400 + 400 + 600), ("tiny3", 400)):
        r = subprocess.run([*add, "--name", name, "--command", "rl2 " + " ".join(train)], capture_output=True,
                           text=True, timeout=300, env=zoo_env)
        assert r.returncode == 0, r.stderr
        assert entry_named(name).env_steps == steps
        assert entry_named(name).starts_from == {"name": "tiny2", "sha256": source}  # the file it started from
    assert entry_named("tiny2").train_minutes >= staged.train_minutes
    # tiny3's source is the tiny2 that tiny2's new entry replaced, and this zoo has no history to restore it from
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_source.py"), "tiny3"], capture_output=True,
                       text=True, timeout=300, env=zoo_env, cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not in a git checkout" in r.stderr


@pytest.mark.parametrize("entry", [e for e in SHIPPED if e.starts_from],
                         ids=[e.name for e in SHIPPED if e.starts_from])
def test_the_agent_a_shipped_one_started_from_can_be_restored(entry, tmp_path):
    # zoo:NAME in a command means the agent of that name when it ran; a later one under that name is
    # not it, and the agent it was comes back from git history by its checksum.
    shallow = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True,
                             text=True)
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        pytest.skip("not a full git checkout: earlier zoo agents are in its history")
    out = tmp_path / "source.pt"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_source.py"), entry.name, "--out", str(out)],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "RL2_ZOO": str(ROOT / "zoo")})
    assert r.returncode == 0, r.stderr
    current = {e.name: e.sha256 for e in SHIPPED}.get(entry.starts_from["name"])
    if current == entry.starts_from["sha256"]:
        assert "runs as written" in r.stdout and not out.exists()
    else:
        assert sha256_of(out) == entry.starts_from["sha256"] and f"--init-from {out}" in r.stdout


def test_the_agent_of_a_setting_is_the_entry_named_as_its_preset(tmp_path):
    def entry(name, preset, seed):
        return ZooEntry(name=name, preset=preset, path=f"{name}.pt", sha256="", command=f"rl2 train {preset}",
                        env_steps=1, train_minutes=1.0, threads=1, seed=seed, eval={})
    entries = [entry("bandit-n10-k5", "bandit-n10-k5", 0), entry("bandit-n10-k5-s1", "bandit-n10-k5", 1),
               entry("mdp-n10", "mdp-n10", 0)]
    (tmp_path / "index.json").write_text(manifest_json(entries))
    assert [e.name for e in setting_agents(tmp_path)] == ["bandit-n10-k5", "mdp-n10"]  # other seeds stand aside
    assert {e.name for e in setting_agents(ROOT / "zoo")} <= {e.preset for e in SHIPPED}


def test_a_resumed_runs_training_time_sums_its_stretches():
    # metrics.csv's clock restarts at each resume; the zoo counts every stretch
    assert training_seconds([10.0, 20.0, 30.0]) == 30.0
    assert training_seconds([10.0, 2870.5, 5.0, 254.0, 300.0]) == 2870.5 + 300.0
    assert training_seconds([]) == 0.0
