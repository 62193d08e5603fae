"""Meta-World (rl2[metaworld]): the train/test split of ML1 and ML10, success-rate bookkeeping on a
known trace, one-line errors, and short runs of metaworld-ml1 (CLI) and metaworld-ml10 (API).

Tests that need Meta-World are skipped with the reason where it is not installed; the bookkeeping
and config tests run everywhere.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl2 import RL2
from rl2.cli import main
from rl2.config import Config, ConfigError
from rl2.families.metaworld import METAWORLD_ENVS
from rl2.envs import GymFamily, GymTrialEnv
from rl2.envs.metaworld import BENCHMARK_SEED, MetaWorldTaskEnv, MetaWorldTasks, metaworld_available
from rl2.evaluate import evaluate
from rl2.policy import RecurrentActorCritic
from rl2.rollout import collect_trials
from rl2.tasks.gym import GymTasks, SetAttribute
from rl2.train import format_eval, metrics_row

needs_metaworld = pytest.mark.skipif(not metaworld_available(),
                                     reason="Meta-World is not installed (pip install 'rl2[metaworld]')")

ML10_TRAIN = ["reach-v3", "push-v3", "pick-place-v3", "door-open-v3", "drawer-close-v3", "button-press-topdown-v3",
              "peg-insert-side-v3", "window-open-v3", "sweep-v3", "basketball-v3"]
ML10_TEST = ["drawer-open-v3", "door-close-v3", "shelf-place-v3", "sweep-into-v3", "lever-pull-v3"]


class Flags(gym.Env):
    """Episodes of 4 steps, reward 1 a step; ``info["success"]`` is up at the steps its task lists.

    A task is a set of (episode, step) pairs, both counted from 0 within the copy's trial.
    """

    metadata: dict = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.flags: frozenset = frozenset()
        self.t = 0

    @property
    def flags(self) -> frozenset:
        return self._flags

    @flags.setter
    def flags(self, value: frozenset) -> None:
        self._flags, self.episode = value, -1  # a new trial: its episodes are counted from its first

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.t = self.episode + 1, 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        success = (self.episode, self.t) in self.flags
        self.t += 1
        return np.zeros(1, np.float32), 1.0, False, False, {"success": float(success)}


class FlagTasks:
    apply = SetAttribute("flags")

    def sample(self, batch, generator, split="train"):
        return [frozenset()] * batch


def test_success_is_counted_once_per_episode_where_the_flag_was_up_at_any_step():
    # Copy 0: up at the last step of episode 0 (where SAME_STEP autoreset moves the step's info into
    # final_info) and twice in episode 2; copy 1: only in episode 1, at its first step.
    family = GymFamily("flags", Flags, FlagTasks(), success_key="success")
    env = GymTrialEnv(family, max_episode_steps=4)
    tasks = GymTasks([frozenset({(0, 3), (2, 0), (2, 2)}), frozenset({(1, 0)})], torch.arange(2))
    torch.manual_seed(0)
    policy = RecurrentActorCritic((1,), 2, hidden=8)
    rollout = collect_trials(env, policy, tasks, 3, 12, torch.Generator().manual_seed(0))
    env.close()
    assert rollout.success.sum(0).tolist() == [3, 1]
    assert rollout.episode_success(3).tolist() == [[True, False, True], [False, True, False]]
    assert not rollout.terminated.any()  # success does not end a Meta-World episode


class FirstStepFlags(FlagTasks):
    """Success at the first step of the trial's first episode only."""

    def sample(self, batch, generator, split="train"):
        return [frozenset({(0, 0)})] * batch


def test_success_rates_reach_the_training_metrics_the_evaluation_and_the_printout():
    # Every trial succeeds in its first episode only: rates 1, 0, 0 per episode index.
    model = RL2.gym(Flags, FirstStepFlags(), name="flags", success_key="success", n=3, max_episode_steps=4,
                    steps_per_update=12 * 4, minibatches=1, hidden=8, total_steps=12 * 4)
    results = []
    model.learn(callback=results.append)
    row = metrics_row(results[0], 1.0, 1.0)
    assert [row[f"charts/episode_{i}_success"] for i in (1, 2, 3)] == [1.0, 0.0, 0.0]
    assert "charts/episode_1_length" not in row  # lengths are logged for mazes only
    summary = model.evaluate(trials=5, seed=0).summary()
    assert summary["episode_success_rate"] == [1.0, 0.0, 0.0] and summary["episode_return_mean"] == [4.0] * 3
    assert "success rate per episode in the trial: 100.0%, 0.0%, 0.0%" in format_eval(summary)
    task = model.config.task
    no_flag = evaluate(model.policy, task, trials=5, seed=0, family=GymFamily("flags", Flags, FirstStepFlags()))
    assert "episode_success_rate" not in no_flag.summary()  # an env without a success flag reports none


def test_metaworld_config_refuses_a_wrong_env_and_too_long_episodes_in_one_line(capsys, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="max_episode_steps of a Meta-World family must be <= 500"):
        Config().replace(family="metaworld-ml1", n=2, max_episode_steps=600, steps_per_update=1200, minibatches=1)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "ml1-reach", "--metaworld-env", "reach-v2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "metaworld_env must be one of assembly-v3," in err
    assert "reach-v3" in err and not (tmp_path / "runs").exists()  # refused before anything was written


def test_missing_metaworld_is_one_line_naming_the_extra(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "metaworld", None)  # hidden, as on a machine without the extra
    assert main(["train", "ml1-reach", "--run-dir", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "needs Meta-World: pip install 'rl2[metaworld]'" in err


@needs_metaworld
def test_rl2_lists_the_same_envs_as_metaworld():
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    assert list(METAWORLD_ENVS) == list(ALL_V3_ENVIRONMENTS)


def _goals(tasks) -> set:
    return {tuple(np.round(pickle.loads(t.data)["rand_vec"], 9)) for t in tasks}


@needs_metaworld
def test_ml1_trains_on_metaworlds_training_goals_and_tests_on_its_test_goals():
    # metaworld 3.1.1's id Meta-World/ML1-train builds the *test* goals; drawing our train split from
    # there (or swapping the splits) fails here.
    import metaworld

    benchmark = metaworld.ML1("reach-v3", seed=BENCHMARK_SEED)
    train, test = _goals(benchmark.train_tasks), _goals(benchmark.test_tasks)
    assert len(train) == len(test) == 50 and not train & test
    tasks = MetaWorldTasks("reach-v3")
    generator = torch.Generator().manual_seed(0)
    drawn_train = _goals(tasks.sample(64, generator, "train"))
    drawn_test = _goals(tasks.sample(64, generator, "test"))
    assert drawn_train <= train and drawn_test <= test and len(drawn_train) > 25 and len(drawn_test) > 25
    # ... and the goal reaches the env: a reach task's target is the last 3 numbers of its rand_vec.
    env = GymTrialEnv(GymFamily("ml1", MetaWorldTaskEnv, tasks, "success"), max_episode_steps=5)
    batch = tasks.sample(3, generator, "train")
    env.reset(GymTasks(batch, torch.arange(3)))
    targets = np.array([copy.unwrapped.env._target_pos for copy in env.envs.envs])  # the Sawyer envs' goals
    env.close()
    expected = np.array([pickle.loads(t.data)["rand_vec"][-3:] for t in batch])
    assert np.allclose(targets, expected)


@needs_metaworld
def test_ml10_trials_take_the_ten_training_envs_by_turns_and_test_on_the_five_others():
    tasks = MetaWorldTasks("ML10")
    assert tasks.envs("train") == ML10_TRAIN and tasks.envs("test") == ML10_TEST
    generator = torch.Generator().manual_seed(0)
    assert [t.env_name for t in tasks.sample(20, generator, "train")] == ML10_TRAIN * 2
    assert [t.env_name for t in tasks.sample(7, generator, "test")] == ML10_TEST + ML10_TEST[:2]


@needs_metaworld
def test_ml1_reach_trains_through_the_cli_and_reports_success(rl2_cmd, tmp_path):
    run_dir = tmp_path / "ml1"
    r = subprocess.run([*rl2_cmd, "train", "ml1-reach", "--run-dir", str(run_dir), "--max-episode-steps", "20",
                        "--steps-per-update", str(60 * 4), "--total-steps", str(60 * 8), "--hidden", "16",
                        "--eval-trials", "4", "--no-progress", "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "success rate per episode in the trial:" in r.stdout
    header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert [f"charts/episode_{i}_success" in header for i in (1, 2, 3)] == [True] * 3
    assert "charts/episode_1_length" not in header  # Meta-World episodes all run to the cap
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["trials"] == 4 and len(result["episode_success_rate"]) == 3
    assert all(0.0 <= rate <= 1.0 for rate in result["episode_success_rate"])
    assert all(0 < ret <= 10 * 20 for ret in result["episode_return_mean"])  # rewards are in [0, 10]
    assert (run_dir / "plots" / "success_curve.png").is_file()
    assert "success rate" in (run_dir / "report.html").read_text()


@needs_metaworld
def test_ml10_trains_on_its_training_envs_and_evaluates_success_on_the_test_envs():
    model = RL2("ml10", max_episode_steps=10, n=2, steps_per_update=20 * 10, minibatches=2, hidden=16,
                total_steps=20 * 10 * 2)
    results = []
    model.learn(callback=results.append)
    assert [r.update for r in results] == [1, 2] and all(len(r.episode_success) == 2 for r in results)
    assert sorted(set(model.learner.env.envs.get_attr("env_name"))) == sorted(ML10_TRAIN)
    assert np.isfinite(metrics_row(results[-1], 1.0, 1.0)["charts/episode_2_success"])
    summary = model.evaluate(trials=5, seed=3).summary()
    assert len(summary["episode_success_rate"]) == 2 and len(summary["episode_return_mean"]) == 2
