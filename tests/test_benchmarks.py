"""The benchmark scripts that produce the figures in docs/results.md, run end to end at a tiny size.

They are scripts, not library code, so nothing else imports them: a change in the library can break
one unseen until a session spends an hour on it (time_to_quality.py once crashed on every maze).
These runs check that each script trains, evaluates and writes what it reports, not its figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True,
                          timeout=300)


def test_time_to_quality_evaluates_a_maze_on_its_own_size():
    # A maze's evaluation also covers the large mazes; the script must judge the training size alone.
    r = script("time_to_quality.py", "maze-5x5", "--budget-minutes", "0.001", "--eval-every", "0.01",
               "--trials", "3", "--threads", "1", "--set", "steps_per_update=500", "minibatches=1", "epochs=1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "held-out" in r.stdout and "maze-5x5 from scratch: did not reach inf" in r.stdout


def test_time_to_quality_saves_each_arms_final_agent(tmp_path):
    # Two arms run in separate processes are paired afterwards on the same held-out tasks: each must
    # leave its final agent behind, loadable as any checkpoint.
    from rl2 import RL2

    r = script("time_to_quality.py", "bandit-n10-k5", "--budget-minutes", "0.001", "--eval-every", "0.01",
               "--trials", "3", "--threads", "1", "--save-dir", str(tmp_path), "--init-from", "zoo:bandit-n10-k5",
               "--set", "steps_per_update=240", "total_steps=480")
    assert r.returncode == 0, r.stderr[-2000:]
    scratch, warm = RL2.load(tmp_path / "bandit-n10-k5-scratch.pt"), RL2.load(tmp_path / "bandit-n10-k5-warm.pt")
    assert {scratch.learner.env_steps, warm.learner.env_steps} <= {240, 480}  # one update, or both of the budget
    assert scratch.config.task == warm.config.task
    # A folder it cannot write is refused before any training, not after it.
    (tmp_path / "file").write_text("")
    r = script("time_to_quality.py", "bandit-n10-k5", "--save-dir", str(tmp_path / "file" / "under"))
    assert r.returncode == 2 and "--save-dir" in r.stderr.splitlines()[-1] and "held-out" not in r.stdout


def test_adaptation_trains_three_arms_then_redraws_from_its_json(tmp_path):
    common = ["--trials", "4", "--seeds", "0", "--out", str(tmp_path)]
    r = script("adaptation.py", "point-nav", "--set", "total_steps=2560", "eval_trials=4", *common)
    assert r.returncode == 0, r.stderr[-2000:]
    measured = json.loads((tmp_path / "point-nav-s0.json").read_text())
    assert set(measured["arms"]) == {"rl2", "oracle", "blind"}
    for arm in measured["arms"].values():
        assert len(arm["episode_returns"]) == 2 and arm["env_steps"] == 2560
    assert len(measured["gap_closed"]["mean"]) == 2
    figure = tmp_path / "point-nav-s0.png"
    figure.unlink()

    r = script("adaptation.py", "point-nav", "--plot-only", *common)
    assert r.returncode == 0, r.stderr[-2000:]
    assert figure.exists() and "| 2 |" in r.stdout

    # The trained arms again, each taking its most likely action: figures of their own beside the sampled ones.
    r = script("adaptation.py", "point-nav", "--greedy", *common)
    assert r.returncode == 0, r.stderr[-2000:]
    greedy = json.loads((tmp_path / "point-nav-s0-greedy.json").read_text())
    assert greedy["greedy"] and "most likely action" in r.stdout and "rl2 train" not in r.stdout
    assert greedy["arms"]["rl2"]["episode_returns"] != measured["arms"]["rl2"]["episode_returns"]

    r = script("adaptation.py", "point-nav", "--plot-only", "--trials", "4", "--seeds", "7", "--out", str(tmp_path))
    assert r.returncode == 2 and "point-nav-s7.json does not exist" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("agent, episodes", [("zoo:mdp-n10", "10"), ("zoo:bandit-n10-k5", "10")])
def test_handover_shares_the_first_episodes(agent, episodes):
    r = script("handover.py", agent, "--handover", "0", episodes, "--trials", "30")
    assert r.returncode == 0, r.stderr[-2000:]
    trials = {line.split("then")[1].split(":")[0].strip(): line.split("trial")[1].split(";")[0].strip()
              for line in r.stdout.splitlines() if f"agent for  {episodes} episodes" in line}
    # Handed over after the last episode, every player is the agent itself on the same draws.
    assert set(trials) == {"agent", "argmax", "planner"} and len(set(trials.values())) == 1
    assert "agent for   0 episodes, then planner" in r.stdout and "over the agent's (paired" in r.stdout


def test_loss_gradients_names_each_term_that_reaches_the_core():
    r = script("loss_gradients.py", "zoo:mdp-n10", "--trials", "8")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "8 trials of 100 steps" in r.stdout and "belief x 3" in r.stdout and "value x 0.5" in r.stdout
    r = script("loss_gradients.py", "zoo:bandit-n10-k5", "--trials", "8")
    assert r.returncode == 0 and "policy" in r.stdout and "belief" not in r.stdout  # trained without it
    r = script("loss_gradients.py", "zoo:no-such-agent")
    assert r.returncode == 2 and "cannot load zoo:no-such-agent" in r.stderr and "Traceback" not in r.stderr


def test_handover_refuses_other_families_in_one_line():
    r = script("handover.py", "zoo:point-nav")
    assert r.returncode == 2 and "needs a bandit or tabular-MDP one" in r.stderr and "Traceback" not in r.stderr


def test_search_paths_lists_the_goals_each_episode_finds():
    r = script("search_paths.py", "zoo:point-nav-sparse", "--goals", "6")
    assert r.returncode == 0, r.stderr
    assert "episode 1 reaches the goal in 100% of trials" in r.stdout and "never found: none" in r.stdout
    r = script("search_paths.py", "zoo:point-nav")
    assert r.returncode == 2 and "need a point-nav-sparse one" in r.stderr and "Traceback" not in r.stderr


def test_imitation_trains_toward_the_planner_and_saves_a_warm_start(tmp_path):
    out = tmp_path / "imitating.pt"
    r = script("imitation.py", "zoo:mdp-n10", "--iters", "2", "--batch", "8", "--eval-every", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "imitating beb" in r.stdout and r.stdout.count("held-out") == 3  # the start, then each iteration
    from rl2 import RL2

    assert RL2.load(out).config.task.n == 10  # a checkpoint that --init-from takes
    r = script("imitation.py", "zoo:bandit-n10-k5")
    assert r.returncode == 2 and "needs a tabular-MDP one" in r.stderr and "Traceback" not in r.stderr
