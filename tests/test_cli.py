"""The `rl2` command end to end: train a few updates, evaluate, resume; bad input is one line and exit 2."""

import json
import subprocess

import pytest

TINY = ["--hidden", "16", "--steps-per-update", "200", "--total-steps", "600", "--eval-trials", "50",
        "--checkpoint-every", "1", "--no-progress", "--threads", "1"]


def run(cmd, *args, cwd=None):
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_train_eval_resume_end_to_end(rl2_cmd, tmp_path):
    run_dir = tmp_path / "run"
    r = run(rl2_cmd, "train", "bandit-n10-k5", "--run-dir", str(run_dir), *TINY)
    assert r.returncode == 0, r.stderr
    assert "mean total reward per trial" in r.stdout
    config = json.loads((run_dir / "config.json").read_text())
    assert config["policy"]["hidden"] == 16 and config["task"]["n"] == 10
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 and "charts/trial_return" in rows[0] and "charts/episode_10_return" in rows[0]
    assert list((run_dir / "tb").iterdir()), "TensorBoard event file missing"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        "ckpt-00000001.pt", "ckpt-00000002.pt", "ckpt-00000003.pt"]

    r = run(rl2_cmd, "eval", str(run_dir), "--trials", "40", "--seed", "5")
    assert r.returncode == 0, r.stderr
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["trials"] == 40 and len(result["episode_return_mean"]) == 10
    # A trial's return is the sum of its pulls', and the held-out tasks of a seed are always the same.
    assert result["mean_trial_return"] == pytest.approx(sum(result["episode_return_mean"]), abs=1e-9)
    r = run(rl2_cmd, "eval", str(run_dir), "--trials", "40", "--seed", "5", "--output", str(tmp_path / "again.json"))
    assert r.returncode == 0 and json.loads((tmp_path / "again.json").read_text()) == result, r.stderr

    # Resume: drop the last checkpoint as if the run had been killed after update 2.
    (run_dir / "checkpoints" / "ckpt-00000003.pt").unlink()
    r = run(rl2_cmd, "train", "--resume", str(run_dir), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and "update 2" in r.stdout
    rows2 = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows2) == 4 and rows2[:3] == rows[:3]  # update 3 redone once, not appended twice


@pytest.mark.parametrize("args, needle", [
    (["train", "no-such-preset"], "unknown preset"),
    (["train", "--k", "1"], "k must be >= 2"),
    (["train", "--n", "0"], "n must be >= 1"),
    (["train", "--hidden", "0"], "hidden must be >= 1"),
    (["train", "--lr", "-0.1"], "lr must be in (0.0, 1.0]"),
    (["train", "--gamma", "1.5"], "gamma must be in (0.0, 1.0]"),
    (["train", "--lam", "-0.1"], "lam must be in [0.0, 1.0]"),
    (["train", "--steps-per-update", "105"], "multiple of the trial length"),
    (["train", "--rnn", "mamba"], "rnn must be one of gru, lstm, transformer"),
    (["train", "--device", "tpu"], "device must be one of auto, cpu, cuda"),
    (["train", "--rnn", "lstm", "--gru-kernel", "fused"], "gru_kernel fused replays GRU cores under PPO"),
    (["train", "--rnn", "transformer", "--rnn-layers", "2"], "a transformer's depth is attn_layers"),
    (["train", "--hidden", "many"], "invalid int value"),
    (["train", "--bogus-flag", "1"], "unrecognized arguments"),
    (["eval", "/no/such/run"], "does not exist"),
    (["paper-tables", "--output", "/no/such/folder/tables.md"], "folder does not exist"),
    (["compare", "bandit", "--hazard", "0.1"], "the bandit family has no field hazard (its fields: n, k, time_obs)"),
])
def test_bad_input_is_one_line_and_exit_2(rl2_cmd, tmp_path, args, needle):
    r = run(rl2_cmd, *args, cwd=tmp_path)
    assert r.returncode == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()  # nothing written for a refused command


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA GPU is present here")
def test_cuda_without_a_gpu_is_refused_before_anything_is_written(rl2_cmd, tmp_path):
    r = run(rl2_cmd, "train", "--device", "cuda", "--run-dir", str(tmp_path / "run"))
    assert r.returncode == 2 and "no CUDA GPU is available" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_existing_run_dir_is_refused_and_kept(rl2_cmd, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "precious.txt").write_text("keep me")
    r = run(rl2_cmd, "train", "--run-dir", str(run_dir), *TINY)
    assert r.returncode == 2 and "--resume" in r.stderr
    assert (run_dir / "precious.txt").read_text() == "keep me"


def test_resume_with_a_different_config_or_a_corrupt_checkpoint_is_refused(rl2_cmd, tmp_path):
    run_dir = tmp_path / "run"
    assert run(rl2_cmd, "train", "--run-dir", str(run_dir), *TINY).returncode == 0
    r = run(rl2_cmd, "train", "--resume", str(run_dir), "--hidden", "32")
    assert r.returncode == 2 and "different config" in r.stderr
    for ckpt in (run_dir / "checkpoints").iterdir():
        data = ckpt.read_bytes()
        ckpt.write_bytes(data[: len(data) // 2])  # truncated, as by a full disk
    r = run(rl2_cmd, "train", "--resume", str(run_dir), "--no-progress")
    assert r.returncode == 2 and "truncated or corrupted" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["train", "eval", "compare", "tune", "presets"])
def test_help_of_every_command(command, capsys):
    from rl2.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: rl2 " + command in capsys.readouterr().out


def test_presets_are_listed(rl2_cmd):
    r = run(rl2_cmd, "presets")
    assert r.returncode == 0
    names = [line.split(":")[0].removesuffix(" (default)") for line in r.stdout.splitlines()]
    assert len(names) == 25 and "bandit-n100-k5" in names and "mdp-n100" in names and "switching-n100-k5" in names
    assert {"maze-5x5", "point-nav", "point-nav-sparse", "halfcheetah-vel", "halfcheetah-dir", "ant-dir"} <= set(names)
    assert {"ml1-reach", "ml1-push", "ml10"} <= set(names)
    assert "atari-space-invaders" in names
    assert "maze-5x5" in names
