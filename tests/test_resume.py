"""`rl2 train --resume`: the machine may change and the budget grow; any other change is one line, exit 2."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rl2.checkpoint import list_checkpoints, load_checkpoint, write_checkpoint
from rl2.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"

TINY = ["--hidden", "8", "--steps-per-update", "1200", "--minibatches", "4", "--eval-trials", "20",
        "--no-progress", "--no-baselines"]


def rl2(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rl2", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("resume") / "R"
    r = rl2("train", "bandit-n10-k5", "--total-steps", "4800", "--run-dir", str(run_dir), *TINY)
    assert r.returncode == 0, r.stderr
    return run_dir


def env_steps(run_dir) -> list[int]:
    return [int(row.split(",")[1]) for row in (run_dir / "metrics.csv").read_text().splitlines()[1:]]


def test_a_longer_budget_on_one_thread_runs_on_to_it(trained):
    assert env_steps(trained)[-1] == 4800
    # No --no-progress or --no-baselines this time: the run keeps what it was first launched with.
    r = rl2("train", "--resume", str(trained), "--total-steps", "9600", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "(update 4, 4,800 env steps)" in r.stdout
    assert env_steps(trained) == [1200 * i for i in range(1, 9)]
    stored = json.loads((trained / "config.json").read_text())
    assert (stored["run"]["total_steps"], stored["machine"]["threads"]) == (9600, 1)
    assert (stored["machine"]["progress"], stored["machine"]["baselines"]) == (False, False)
    assert "classic baselines" not in r.stdout and not (trained / "baselines.json").exists()


@pytest.mark.parametrize("flags, message", [
    (["--hidden", "16"], "hidden is 8 there, 16 asked"),
    (["--k", "7"], "k is 5 there, 7 asked"),
    (["--max-kl", "0.02"], "max_kl is 0.01 there, 0.02 asked"),
    (["--total-steps", "1200"], "total_steps is"),
    (["--family", "mdp"], "family is 'bandit' there, 'mdp' asked"),
])
def test_a_change_to_the_experiment_is_refused_in_one_line(trained, flags, message):
    before = (trained / "config.json").read_text()
    r = rl2("train", "--resume", str(trained), *flags, "--no-progress")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"rl2 train: cannot resume {trained} with a different config: " in r.stderr and message in r.stderr
    assert (trained / "config.json").read_text() == before


def test_a_run_trained_on_a_gpu_resumes_on_a_cpu(tmp_path, monkeypatch, capsys):
    # The format-1 fixture run, made into what a CUDA run writes: its config's device "cuda", its
    # checkpoint's storages tagged 'cuda:0' and its generators in CUDA's Philox layout (16 bytes).
    run_dir = Path(shutil.copytree(FIXTURES / "v1-bandit-run", tmp_path / "gpu-run"))
    config = json.loads((run_dir / "config.json").read_text())
    config["run"]["device"] = "cuda"
    (run_dir / "config.json").write_text(json.dumps(config))
    newest = list_checkpoints(run_dir / "checkpoints")[-1]
    state = load_checkpoint(newest)
    state["config"]["run"]["device"] = "cuda"
    for name in ("task_generator", "rollout_generator"):
        state["learner"][name] = torch.arange(16, dtype=torch.uint8)
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        write_checkpoint(newest, state)
    code = main(["train", "--resume", str(run_dir), "--device", "cpu", "--total-steps", "300", "--no-progress",
                 "--no-baselines"])
    assert code == 0, capsys.readouterr().err
    assert env_steps(run_dir) == [100, 200, 300]
    assert json.loads((run_dir / "config.json").read_text())["machine"]["device"] == "cpu"
