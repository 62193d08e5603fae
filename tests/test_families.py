"""The family registry: one module and one registration make a family that every part of rl2 serves.

The toy family is the code block of docs/adding-a-task-family.md, run as a module: the doc a newcomer
follows is the code that this test registers, then trains, evaluates, compares, plots and reports
through the Python API and through the CLI's entry point.
"""

import contextlib
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rl2 import RL2, Config, ConfigError
from rl2.cli import main
from rl2.families import family_of, register, registered, unregister
from rl2.presets import preset_config

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--hidden", "8", "--steps-per-update", "200", "--total-steps", "400", "--eval-trials", "50",
        "--threads", "1", "--no-progress"]


def doc_module(tmp_path: Path):
    """The doc's family module, written to a file and imported as a newcomer's own module would be."""
    page = (ROOT / "docs" / "adding-a-task-family.md").read_text()
    code = re.search(r"```python\n(.*?)```", page, flags=re.DOTALL).group(1)
    path = tmp_path / "coin_family.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("coin_family", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["coin_family"] = module  # as an import would: dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def coin(tmp_path):
    """The doc's coin family, registered for one test (the registry is process-wide: taken out after)."""
    module = doc_module(tmp_path)
    register(module.FAMILY)
    yield module
    unregister("coin")
    sys.modules.pop("coin_family", None)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_the_docs_family_trains_evaluates_and_saves_through_the_api(coin, tmp_path):
    model = RL2("coin-n10", bias=0.9, hidden=8, steps_per_update=200, total_steps=400, seed=0).learn()
    assert isinstance(model.config.task, coin.CoinConfig) and model.config.task.bias == 0.9
    assert model.learner.env_steps == 400
    result = model.evaluate(trials=50, seed=3)
    assert result.episode_returns.shape == (50, 10)
    model.save(tmp_path / "coin.pt")
    loaded = RL2.load(tmp_path / "coin.pt")  # the config's task group round-trips through its tag
    assert loaded.config == model.config
    assert torch.equal(loaded.evaluate(trials=50, seed=3).episode_returns, result.episode_returns)
    assert json.loads(model.config.to_json())["task"] == {"family": "coin", "n": 10, "bias": 0.9}


def test_the_docs_family_through_the_cli_train_eval_compare_plot_report(coin, tmp_path):
    run_dir = tmp_path / "run"
    code, out, err = run_cli("train", "coin-n10", "--bias", "0.9", *TINY, "--run-dir", str(run_dir))
    assert code == 0, err
    # The end of training compares with the family's baseline, titled by the family
    assert "coins of bias 0.9, n=10 pulls, 50 held-out tasks:" in out and "| Random |" in out
    assert json.loads((run_dir / "config.json").read_text())["task"] == {"family": "coin", "n": 10, "bias": 0.9}
    code, out, err = run_cli("eval", str(run_dir), "--trials", "30")
    assert code == 0, err
    assert json.loads((run_dir / "eval.json").read_text())["trials"] == 30
    code, out, err = run_cli("compare", "coin", "--n", "10", "--bias", "0.9", "--tasks", "30", "--runs", str(run_dir))
    assert code == 0, err
    assert f"RL² ({run_dir})" in out and "| Random |" in out
    code, out, err = run_cli("plot", str(run_dir))
    assert code == 0, err
    assert {p.name for p in (run_dir / "plots").iterdir()} >= {"learning_curve.png", "adaptation_curve.png"}
    code, out, err = run_cli("report", str(run_dir))
    assert code == 0, err
    assert "coins of bias 0.9, n=10 pulls" in (run_dir / "report.html").read_text()


def test_a_flag_the_family_lacks_is_one_line_naming_its_fields(coin, tmp_path):
    code, out, err = run_cli("train", "coin-n10", "--k", "3", *TINY, "--run-dir", str(tmp_path / "r"))
    assert code == 2 and err.strip() == "rl2: error: the coin family has no field k (its fields: n, bias)"
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="the bandit family has no field bias"):
        preset_config("bandit-n10-k5", bias=0.9)


def test_compare_refuses_a_family_without_baselines_in_one_line():
    code, out, err = run_cli("compare", "maze")
    assert code == 2
    assert err.strip() == ("rl2 compare: the maze family has no classic baselines "
                           "(families with them: bandit, mdp, switching)")


def test_a_registered_family_is_taken_out_again_and_names_are_unique(coin):
    assert family_of(coin.CoinConfig()).name == "coin"
    with pytest.raises(ValueError, match="registered already"):
        register(coin.FAMILY)
    unregister("coin")
    assert "coin" not in [f.name for f in registered()]
    with pytest.raises(ConfigError, match="unknown family 'coin'"):
        Config.from_dict({"version": 2, "task": {"family": "coin"}})
    register(coin.FAMILY)  # for the fixture's teardown


def test_no_module_outside_the_registry_branches_on_a_family_name():
    # What the registry is for: a family's name is compared nowhere else in rl2/.
    names = "|".join(re.escape(f.name) for f in registered())
    pattern = re.compile(r"family\s*(==|!=)\s*[\"']|family\s+(not\s+)?in\s*[(\[{A-Z]"  # family == "maze", in (...)
                         rf"|[\"']({names})[\"']\s*(==|!=|in\b)|(==|!=)\s*[\"']({names})[\"']"
                         r"|\b(is_bandit|has_baselines|gym_title|maze_test_settings|_setting_title)\b")
    offenders = []
    for path in (ROOT / "rl2").rglob("*.py"):
        if "families" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_family_presets_titles_and_round_trips_its_config():
    for family in registered():
        task = family.config()
        config = Config(task=task).replace(steps_per_update=task.trial_length, minibatches=1)
        assert Config.from_json(config.to_json()) == config
        assert isinstance(family.title(task), str) and family.title(task)
        for name in family.presets:
            preset = preset_config(name)
            assert type(preset.task) is family.config and family.preset_of(preset.task) == name


def test_rl2_train_help_lists_every_family_flag_with_its_doc(rl2_cmd):
    text = subprocess.run([*rl2_cmd, "train", "--help"], capture_output=True, text=True, timeout=120,
                          check=True).stdout
    flat = " ".join(text.split())
    assert "--hazard FLOAT switching bandits: chance per pull that all arm probabilities are redrawn" in flat
    assert "task of switching]" in flat and "--max-kl FLOAT trpo: limit" in flat and "[machine;" in flat


def test_the_config_references_json_example_is_a_config():
    page = (ROOT / "docs" / "config-reference.md").read_text()
    config = Config.from_json(re.search(r"```json\n(.*?)```", page, flags=re.DOTALL).group(1))
    assert config.task.family == "bandit" and (config.task.n, config.task.k, config.ppo.lr) == (10, 5, 0.003)
