"""Multi-process training under torchrun (2 ranks, gloo on CPU) equals one process with the same
global batch; the GPU path runs where CUDA exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rl2.checkpoint import list_checkpoints, load_checkpoint
from rl2.cli import main
from rl2.config import Config, ConfigError
from rl2.distributed import World
from rl2.noise import rand, randn
from rl2.presets import preset_config

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
WORKER = Path(__file__).with_name("distributed_worker.py")
# 4 updates of 20 trials (10 per rank, 5 per rank and minibatch); a checkpoint after every update.
TRAIN = ["train", "bandit-n10-k5", "--hidden", "32", "--steps-per-update", "200", "--minibatches", "2",
         "--epochs", "2", "--total-steps", "800", "--threads", "1", "--eval-trials", "20", "--checkpoint-every", "1",
         "--no-progress", "--no-baselines"]


def torchrun(args: list[str], nproc: int = 2, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """torchrun on this machine. --standalone lets the rendezvous store bind a port the OS picks and
    holds: choosing a free port here and handing it over would leave a window in which another
    process (a second test run, gloo's own connections) can take it, and the run then fails."""
    launch = [*TORCHRUN, "--standalone", f"--nproc_per_node={nproc}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*launch, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env,
                          check=False)


def final_state(run_dir: Path) -> dict:
    return load_checkpoint(list_checkpoints(run_dir / "checkpoints")[-1])["learner"]


def assert_same_learner(a: dict, b: dict, tol: float = 1e-5) -> None:
    assert a["update"] == b["update"] and a["env_steps"] == b["env_steps"]
    for name, value in a["policy"].items():
        assert torch.allclose(value.double(), b["policy"][name].double(), atol=tol, rtol=0), name
    # The generators advance identically whatever the number of ranks: the same draws are made.
    assert torch.equal(a["task_generator"], b["task_generator"])
    assert torch.equal(a["rollout_generator"], b["rollout_generator"])


def test_ranks_inside_a_two_process_run(tmp_path):
    """Each rank: collects half the global batch, trains to the weights of a one-process learner
    with the whole batch, stays in step with the other rank, and hears of rank 0's errors."""
    r = torchrun([str(WORKER), str(tmp_path)])
    assert r.returncode == 0, r.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank-{rank}.json").read_text()) for rank in range(2)]
    for rank, report in enumerate(reports):
        assert report["rank"] == rank and report["size"] == 2
        assert report["local_trials"] == 4 and report["global_trials"] == 8 == report["sum_of_local_trials"]
        assert report["own_columns_are_local_rollout"]
        assert report["rollout_actions_equal"] and report["rollout_max_logprob_difference"] < 1e-12
        assert report["max_param_difference"] < 1e-10  # float64 (see distributed_worker.py)
        assert report["trial_return"][0] == pytest.approx(report["trial_return"][1], abs=1e-10)
        assert report["approx_kl"][0] == pytest.approx(report["approx_kl"][1], rel=1e-6, abs=1e-12)
        assert report["epochs"] == [1, 1]  # the target-KL stop, on the global KL, at the same epoch
        assert report["generators_equal"]
        assert report["trpo_max_param_difference"] < 1e-10 and report["trpo_approx_kl"][0] > 0
        assert report["trpo_approx_kl"][0] == pytest.approx(report["trpo_approx_kl"][1], rel=1e-6)
        assert report["in_step"] and not report["in_step_after_nudging_rank_1"]
        assert report["error_from_rank_0"] == "rank 0 could not create the run directory"


def test_torchrun_cli_equals_one_process_and_resumes(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*TRAIN, "--run-dir", str(one)]) == 0
    capsys.readouterr()
    r = torchrun(["-m", "rl2", *TRAIN, "--run-dir", str(two)])
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("run directory:") == 1  # rank 0 alone speaks
    # Logs hold global figures: env steps of all ranks. The first update's trials are played by the
    # same weights and noise as the one process's, so its return is the same. Later updates are not
    # compared: gradients summed over ranks round differently, and once one sampled action flips the
    # runs part (float64 equivalence, update by update, is tests/distributed_worker.py's job).
    rows = [line.split(",") for line in (two / "metrics.csv").read_text().splitlines()[1:]]
    assert [int(row[1]) for row in rows] == [200, 400, 600, 800]
    one_rows = [line.split(",") for line in (one / "metrics.csv").read_text().splitlines()[1:]]
    assert float(rows[0][3]) == pytest.approx(float(one_rows[0][3]), abs=1e-5)
    assert json.loads((two / "eval.json").read_text())["trials"] == 20

    # Resume under torchrun: drop the last checkpoint, continue, and land on the uninterrupted run's weights.
    uninterrupted = final_state(two)
    list_checkpoints(two / "checkpoints")[-1].unlink()
    r = torchrun(["-m", "rl2", "train", "--resume", str(two), "--no-progress", "--no-baselines"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "from ckpt-00000003.pt" in r.stdout
    assert_same_learner(final_state(two), uninterrupted, tol=1e-6)
    assert len((two / "metrics.csv").read_text().splitlines()) == 1 + 4


def test_torchrun_trains_and_resumes_a_transformer(tmp_path, capsys):
    # The transformer's state is its key/value cache, built by each rank for its own trials: the same
    # launcher, checkpoints and resume serve it as they serve recurrent cores.
    flags = [*TRAIN, "--total-steps", "400", "--rnn", "transformer", "--hidden", "16", "--attn-layers", "1",
             "--attn-heads", "2"]  # later flags win: 2 updates
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*flags, "--run-dir", str(one)]) == 0
    capsys.readouterr()
    r = torchrun(["-m", "rl2", *flags, "--run-dir", str(two)])
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [line.split(",") for line in (two / "metrics.csv").read_text().splitlines()[1:]]
    one_rows = [line.split(",") for line in (one / "metrics.csv").read_text().splitlines()[1:]]
    assert [int(row[1]) for row in rows] == [200, 400]
    assert float(rows[0][3]) == pytest.approx(float(one_rows[0][3]), abs=1e-5)  # the same first update's trials
    uninterrupted = final_state(two)
    list_checkpoints(two / "checkpoints")[-1].unlink()
    r = torchrun(["-m", "rl2", "train", "--resume", str(two), "--no-progress", "--no-baselines"])
    assert r.returncode == 0 and "from ckpt-00000001.pt" in r.stdout, r.stderr[-3000:]
    assert_same_learner(final_state(two), uninterrupted, tol=1e-6)


def test_uneven_split_refused_in_one_line(tmp_path):
    r = torchrun(["-m", "rl2", *TRAIN, "--steps-per-update", "300", "--run-dir", str(tmp_path / "run")])
    ours = [line for line in r.stderr.splitlines() if line.startswith("rl2:")]  # torchrun adds its own summary
    assert ours == [("rl2: error: the 30 trials per update (the global batch) must split into 2 minibatches x 2 ranks "
                     "of equal size: make steps_per_update a multiple of 40, got 300")]
    assert "[rank" not in r.stderr  # no rank's traceback
    assert not (tmp_path / "run").exists()


def test_world_refuses_what_does_not_split():
    config = Config().replace(n=10, steps_per_update=300, minibatches=3)  # 30 trials
    World(rank=0, size=2).check(config)  # 30 = 2 ranks x 3 minibatches x 5 trials
    with pytest.raises(ConfigError, match="multiple of 120, got 300"):
        World(rank=0, size=4).check(config)
    maze = preset_config("maze-5x5")
    World(rank=0, size=1).check(maze)
    with pytest.raises(ConfigError, match="maze family .* one process"):
        World(rank=0, size=2).check(maze)


def test_ranks_other_than_0_report_nothing(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    assert main(["train", "--hidden", "0"]) == 2
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RANK", "0")
    assert main(["train", "--hidden", "0"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none here)")
def test_gpu_training_stays_on_the_gpu(tmp_path, capsys):
    assert main([*TRAIN, "--device", "cuda", "--run-dir", str(tmp_path / "gpu")]) == 0
    from rl2.learner import Learner

    learner = Learner(Config().replace(n=10, hidden=32, steps_per_update=200, minibatches=2), torch.device("cuda"))
    rollout = learner.collect()
    assert all(t.is_cuda for t in vars(rollout).values())
    learner.iterate()
    assert all(p.is_cuda for p in learner.policy.parameters())


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs for NCCL (fewer here)")
def test_two_gpus_equal_one(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*TRAIN, "--device", "cuda", "--run-dir", str(one)]) == 0
    r = torchrun(["-m", "rl2", *TRAIN, "--device", "cuda", "--run-dir", str(two)])
    assert r.returncode == 0, r.stderr[-3000:]
    assert_same_learner(final_state(two), final_state(one), tol=1e-4)


def test_a_rank_draws_its_rows_of_the_global_batch():
    """Rank r's noise is rows of what one process draws for the whole batch; generators stay in step."""
    whole, part = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    expected = torch.rand(8, 3, generator=whole), torch.randn(8, generator=whole)
    source = World(rank=1, size=2).noise(part, 8)
    assert torch.equal(rand((4, 3), source), expected[0][4:8])
    assert torch.equal(randn((4,), source), expected[1][4:8])
    assert torch.equal(part.get_state(), whole.get_state())
    with pytest.raises(ValueError, match="rows 4:8 drew a batch of 5"):
        rand((5, 3), source)
    assert World().noise(part, 8) is part  # one process: the generator itself


def test_shards_cover_the_batch_once():
    for n, size in [(8, 2), (3, 2), (1, 2), (10, 4)]:
        parts = [World(rank=r, size=size).shard(n) for r in range(size)]
        assert [i for p in parts for i in range(n)[p]] == list(range(n))
        assert max(p.stop - p.start for p in parts) - min(p.stop - p.start for p in parts) <= 1
