"""Run directories and checkpoints written by rl2 before the family registry (config version 1,
checkpoint format 1; tests/fixtures/README.md says how they were made) still load, evaluate and resume."""

import json
import shutil
from pathlib import Path

import pytest

from rl2 import RL2, Config, ConfigError
from rl2.checkpoint import FORMAT_VERSION, CheckpointError, list_checkpoints, load_checkpoint, write_checkpoint
from rl2.cli import main
from rl2.families.bandit import BanditConfig
from rl2.families.maze import MazeConfig
from rl2.families.mdp import MDPConfig
from rl2.migrate import upgrade_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "v1-expected.json").read_text())


@pytest.fixture
def v1_run(tmp_path) -> Path:
    """A copy of the format-1 run directory (tests write into it)."""
    return Path(shutil.copytree(FIXTURES / "v1-bandit-run", tmp_path / "run"))


def test_a_v1_config_becomes_the_tagged_config_with_its_values_kept():
    config = Config.from_json((FIXTURES / "v1-bandit-run" / "config.json").read_text())
    assert config.task == BanditConfig(n=10, k=5)  # the MDP and maze fields v1 stored for every family are gone
    assert (config.policy.hidden, config.ppo.steps_per_update, config.ppo.minibatches, config.ppo.lr) \
        == (8, 100, 2, 3e-3)
    assert (config.trpo.max_kl, config.trpo.cg_iters) == (0.01, 10)
    assert (config.run.total_steps, config.run.eval_trials, config.machine.threads, config.machine.checkpoint_every) \
        == (200, 20, 1, 1)
    assert Config.from_json(config.to_json()) == config and config.to_dict()["version"] == 2


def test_configs_of_unknown_versions_or_sections_are_one_line_errors():
    with pytest.raises(ConfigError, match="config version 3 is newer than this rl2 reads"):
        upgrade_config({"version": 3})
    with pytest.raises(ConfigError, match="unknown config section"):
        upgrade_config({"task": {"family": "bandit"}, "optimizer": {}})
    with pytest.raises(ConfigError, match="unknown family 'pomdp'"):
        upgrade_config({"task": {"family": "pomdp"}})


@pytest.mark.parametrize("name, config_type, trials", [("mdp", MDPConfig, 20), ("maze", MazeConfig, 8)])
def test_v1_checkpoints_load_and_evaluate_as_the_release_that_wrote_them(name, config_type, trials):
    assert load_checkpoint(FIXTURES / f"v1-{name}.pt")["format"] == 1
    model = RL2.load(FIXTURES / f"v1-{name}.pt")
    assert type(model.config.task) is config_type and model.config.policy.hidden == 8
    summary = model.evaluate(trials=trials, seed=5).summary()
    # The numbers the writing release measured on the same held-out tasks (NaN: no successful episode)
    assert json.dumps(summary, sort_keys=True) == json.dumps(EXPECTED[name], sort_keys=True)


def test_v1_checkpoints_train_on_and_are_written_back_in_format_2(tmp_path):
    model = RL2.load(FIXTURES / "v1-mdp.pt")
    steps = model.learner.env_steps
    model.learn(200)
    assert model.learner.env_steps == steps + 200
    path = model.save(tmp_path / "mdp.pt")
    assert path.read_bytes().startswith(b"RL2CKPT 2 ") and FORMAT_VERSION == 2
    # fields added since (time_obs, prev_state, pair_obs, belief_target) are written back with their defaults
    assert load_checkpoint(path)["config"]["task"] == {"family": "mdp", "n": 10, "states": 10, "actions": 5,
                                                      "horizon": 10, "time_obs": False, "prev_state": False,
                                                      "pair_obs": False, "belief_target": "parameters"}


def test_a_checkpoint_of_a_newer_format_is_refused_in_one_line(tmp_path):
    state = load_checkpoint(FIXTURES / "v1-mdp.pt")
    path = write_checkpoint(tmp_path / "new.pt", state)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"RL2CKPT 2 ", b"RL2CKPT 3 ", 1))
    with pytest.raises(CheckpointError, match="checkpoint format 3, newer than this rl2 reads"):
        load_checkpoint(path)


def test_a_v1_run_directory_evaluates_plots_and_reports(v1_run, capsys):
    assert main(["eval", str(v1_run), "--trials", "20"]) == 0
    assert json.loads((v1_run / "eval.json").read_text())["trials"] == 20
    assert main(["plot", str(v1_run)]) == 0
    assert (v1_run / "plots" / "learning_curve.png").is_file() and (v1_run / "plots" / "regret.png").is_file()
    assert main(["report", str(v1_run)]) == 0
    assert "Bernoulli bandits, k=5 arms, n=10 pulls per trial" in (v1_run / "report.html").read_text()


def test_a_v1_run_directory_resumes_longer_on_other_machine_settings(v1_run, capsys):
    code = main(["train", "--resume", str(v1_run), "--total-steps", "400", "--threads", "2", "--checkpoint-every",
                 "2", "--no-progress", "--no-baselines"])
    assert code == 0, capsys.readouterr().err
    rows = (v1_run / "metrics.csv").read_text().splitlines()
    assert [int(r.split(",")[1]) for r in rows[1:]] == [100, 200, 300, 400]
    # Went on from the checkpoint of update 2: the fixture's two logged updates are kept as they were
    assert rows[:3] == (FIXTURES / "v1-bandit-run" / "metrics.csv").read_text().splitlines()
    stored = json.loads((v1_run / "config.json").read_text())  # rewritten in the current shape, as resumed
    assert stored["version"] == 2 and stored["run"]["total_steps"] == 400 and stored["machine"]["threads"] == 2
    newest = list_checkpoints(v1_run / "checkpoints")[-1]
    assert newest.name == "ckpt-00000004.pt" and newest.read_bytes().startswith(b"RL2CKPT 2 ")
