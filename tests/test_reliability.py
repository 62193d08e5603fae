"""Runs survive kills, interrupts and numerical faults; checkpoints never load wrong; runs are deterministic."""

import csv
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rl2.checkpoint import (CheckpointError, checkpoint_name, list_checkpoints, load_checkpoint, load_latest,
                            save_checkpoint)
from rl2.presets import preset_config
from rl2.train import RunDirError, TrainingFault, train

TIMING_COLUMNS = {"time_s", "perf/env_steps_per_s"}  # wall-clock figures differ between any two runs
SMALL = ["--hidden", "16", "--steps-per-update", "1000", "--total-steps", "16000", "--checkpoint-every", "1",
         "--keep-checkpoints", "2", "--eval-trials", "20", "--threads", "1", "--deterministic", "true",
         "--no-progress", "--no-baselines"]


def rl2(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "rl2", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def metric_rows(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in csv.DictReader(f)]


def final_state(run_dir: Path) -> dict:
    return load_latest(run_dir / "checkpoints")[1]


def assert_same_state(a, b, where="state"):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _rows_written(run_dir: Path) -> int:
    try:
        return len((run_dir / "metrics.csv").read_text().splitlines()) - 1
    except OSError:
        return 0


def test_kill_9_at_random_moments_then_resume_is_bit_identical(tmp_path):
    reference = tmp_path / "reference"
    p = rl2("train", "--run-dir", str(reference), *SMALL)
    assert p.wait(timeout=300) == 0, p.stderr.read()

    run_dir, rng = tmp_path / "killed", random.Random(1234)
    # Kill moments: once during start-up (before any checkpoint), then a random instant after
    # each of three randomly chosen updates (mid-update or mid-save alike).
    p = rl2("train", "--run-dir", str(run_dir), *SMALL)
    time.sleep(rng.uniform(0.2, 1.0))
    kills = 0
    for target in [0, *sorted(rng.sample(range(2, 15), 3))]:
        deadline = time.time() + 120
        while p.poll() is None and _rows_written(run_dir) < target and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))
        if p.poll() is None:
            p.kill()  # SIGKILL: no handler runs, whatever the run was doing
            kills += 1
        p.wait()
        if (run_dir / "config.json").exists():
            p = rl2("train", "--resume", str(run_dir), "--no-progress", "--no-baselines")
        else:  # killed before the run directory was made: nothing to resume, so start it again
            p = rl2("train", "--run-dir", str(run_dir), *SMALL)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    assert kills >= 3, "the run finished before it could be killed: make it longer"
    assert metric_rows(run_dir) == metric_rows(reference)
    assert_same_state(final_state(run_dir)["learner"], final_state(reference)["learner"])


def test_sigint_and_sigterm_save_a_checkpoint_and_say_how_to_resume(tmp_path):
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        run_dir = tmp_path / sig.name
        p = rl2("train", "--run-dir", str(run_dir), *SMALL[:-6], "--total-steps", "10000000", "--no-progress",
                "--no-baselines")
        deadline = time.time() + 120
        while not (run_dir / "metrics.csv").exists() and time.time() < deadline:
            time.sleep(0.2)
        p.send_signal(sig)
        out, err = p.communicate(timeout=120)
        assert p.returncode == code, err
        assert f"rl2 train --resume {run_dir}" in err and "Traceback" not in err
        rows = metric_rows(run_dir)
        newest = list_checkpoints(run_dir / "checkpoints")[-1]
        assert newest.name == checkpoint_name(int(rows[-1]["update"]))  # nothing done is lost


def test_a_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    config = preset_config("bandit-n10-k5", hidden=8, steps_per_update=100, minibatches=2, total_steps=1000,
                           checkpoint_every=1, eval_trials=10)

    def poison(learner, result):
        if result.update == 2:  # as if the update had diverged: the next one meets a NaN
            with torch.no_grad():
                next(learner.policy.parameters()).fill_(float("nan"))

    with pytest.raises(TrainingFault, match=r"update 3: .* (nan|not finite)"):
        train(config, tmp_path / "run", progress=False, on_iteration=poison)
    path, state = load_latest(tmp_path / "run" / "checkpoints")
    assert path.name == checkpoint_name(2)
    assert all(torch.isfinite(t).all() for t in state["learner"]["policy"].values() if t.is_floating_point())


def test_checkpoints_are_atomic_checksummed_and_fall_back_to_the_newest_valid(tmp_path):
    d = tmp_path / "ckpts"
    for update in (1, 2, 3, 4):
        save_checkpoint(d, update, {"update": update, "w": torch.full((3,), float(update))}, keep=3)
    assert [p.name for p in list_checkpoints(d)] == [checkpoint_name(u) for u in (2, 3, 4)]
    (d / ".ckpt-00000005.pt.tmp").write_bytes(b"half a checkpoint")  # a kill during a save leaves only this
    newest = d / checkpoint_name(4)
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0xFF  # one flipped bit
    newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(newest)
    path, state = load_latest(d)
    assert path.name == checkpoint_name(3) and state["update"] == 3
    future = d / checkpoint_name(9)
    future.write_bytes(b"RL2CKPT 99 " + b"0" * 64 + b"\n" + b"payload")
    with pytest.raises(CheckpointError, match="newer than this rl2 reads"):
        load_checkpoint(future)
    (d / checkpoint_name(8)).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not an rl2 checkpoint"):
        load_checkpoint(d / checkpoint_name(8))


def test_same_seed_same_metrics_other_seed_other_tasks(tmp_path):
    def run(name, seed):
        config = preset_config("bandit-n10-k5", hidden=8, steps_per_update=200, total_steps=600, seed=seed,
                               eval_trials=10, deterministic=True)
        learner, _ = train(config, tmp_path / name, progress=False)
        return metric_rows(tmp_path / name), learner

    a, la = run("a", 0)
    b, _ = run("b", 0)
    c, lc = run("c", 1)
    assert a == b
    assert a != c
    tasks_a = la.tasks.sample(5, torch.Generator().manual_seed(la.config.run.seed)).probs
    tasks_c = lc.tasks.sample(5, torch.Generator().manual_seed(lc.config.run.seed)).probs
    assert not torch.equal(tasks_a, tasks_c)


def test_unwritable_or_full_run_directory_is_refused_before_training(tmp_path, monkeypatch):
    config = preset_config("bandit-n10-k5", hidden=8, steps_per_update=100, minibatches=2, total_steps=100)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RunDirError, match="cannot create run directory"):
        train(config, blocker / "run", progress=False)
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1024, 1024))
    with pytest.raises(RunDirError, match="MiB free"):
        train(config, tmp_path / "full", progress=False)
    assert not list_checkpoints(tmp_path / "full" / "checkpoints")
