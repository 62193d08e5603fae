"""Warm starts (``--init-from`` / ``init_from=``): trained weights with a fresh optimizer and counters,
across horizons (the network does not depend on n); another network's shapes refused in one line."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch

from rl2 import RL2
from rl2.config import ConfigError

TINY = dict(hidden=16, minibatches=2)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A short n=10 bandit agent saved as a checkpoint file."""
    model = RL2("bandit-n10-k5", steps_per_update=200, total_steps=400, **TINY).learn()
    path = tmp_path_factory.mktemp("source") / "n10.pt"
    model.save(path)
    return model, path


def test_a_warm_start_takes_the_weights_and_nothing_else(source):
    trained, path = source
    warm = RL2("bandit-n100-k5", init_from=str(path), steps_per_update=1000, total_steps=1000, **TINY)
    for (name, a), b in zip(warm.policy.state_dict().items(), trained.policy.state_dict().values()):
        assert torch.equal(a, b), name  # the value normalizer's statistics come along too
    assert warm.learner.update == 0 and warm.learner.env_steps == 0 and not warm.learner.optimizer.state
    cold = RL2("bandit-n100-k5", steps_per_update=1000, total_steps=1000, **TINY)
    assert not torch.equal(cold.policy.policy_head.weight, warm.policy.policy_head.weight)
    warm.learn()  # and it trains on at n = 100
    assert warm.learner.env_steps == 1000


def test_a_source_without_the_time_observation_starts_one_with_it_computing_what_it_did(source, tmp_path):
    trained, path = source
    warm = RL2("bandit-n100-k5", init_from=str(path), time_obs=True, steps_per_update=1000, total_steps=1000, **TINY)
    assert warm.policy.obs_dim == 2 and trained.policy.obs_dim == 1
    # φ without the time: [1, one-hot action (5), reward, done]; the time enters after the observation's 1.
    g = torch.Generator().manual_seed(0)
    x = torch.rand(12, 7, 8, generator=g)
    timed = torch.cat([x[..., :1], torch.rand(12, 7, 1, generator=g), x[..., 1:]], dim=-1)
    with torch.no_grad():
        logits, values = trained.policy.unroll(x, trained.policy.initial_state(7))
        logits_t, values_t = warm.policy.unroll(timed, warm.policy.initial_state(7))
    assert torch.allclose(logits, logits_t, atol=1e-6) and torch.allclose(values, values_t, atol=1e-5)
    warm.learn()  # and it learns to read the new input
    assert warm.policy.state_dict()["core.weight_ih_l0"][:, 1].abs().sum() > 0
    warm.save(tmp_path / "timed.pt")  # the other way round is another observation: refused
    with pytest.raises(ConfigError, match=r"core.weight_ih_l0 is \[48, 9\] there, \[48, 8\] here"):
        RL2("bandit-n100-k5", init_from=str(tmp_path / "timed.pt"), steps_per_update=200, total_steps=200,
            **TINY)


def test_a_source_without_reward_by_action_starts_one_with_it_computing_what_it_did(source, tmp_path):
    trained, path = source
    warm = RL2("bandit-n100-k5", init_from=str(path), reward_by_action=True, time_obs=True, steps_per_update=1000,
               total_steps=1000, **TINY)
    # φ without the time: [1, one-hot action (5), reward, done]; the time enters after the observation's 1, and
    # what the previous action earned (5 columns) after φ.
    g = torch.Generator().manual_seed(1)
    x = torch.rand(12, 7, 8, generator=g)
    timed = torch.cat([x[..., :1], torch.rand(12, 7, 1, generator=g), x[..., 1:]], dim=-1)
    with torch.no_grad():
        before = trained.policy.unroll(x, trained.policy.initial_state(7))
        after = warm.policy.unroll(timed, warm.policy.initial_state(7))
    for a, b in zip(before, after):
        assert torch.allclose(a, b, atol=1e-5)
    warm.learn()  # and it learns to read the new inputs
    assert warm.policy.state_dict()["core.weight_ih_l0"][:, 9:].abs().sum() > 0
    warm.save(tmp_path / "earned.pt")  # the other way round drops an input: refused
    with pytest.raises(ConfigError, match=r"core.weight_ih_l0 is \[48, 14\] there, \[48, 9\] here"):
        RL2("bandit-n100-k5", init_from=str(tmp_path / "earned.pt"), time_obs=True, steps_per_update=200,
            total_steps=200, **TINY)


def test_an_mdp_source_starts_one_that_also_sees_the_previous_state_pair_and_time_computing_what_it_did(tmp_path):
    trained = RL2("mdp-n10", steps_per_update=200, total_steps=200, **TINY).learn()
    trained.save(tmp_path / "n10.pt")
    g = torch.Generator().manual_seed(2)
    x = torch.rand(12, 3, 17, generator=g)  # φ: one-hot state (10), action (5), reward, done
    for flags, new in [(dict(prev_state=True), [10]), (dict(time_obs=True), [1]),
                       (dict(prev_state=True, time_obs=True), [10, 1]), (dict(pair_obs=True), [100]),
                       (dict(prev_state=True, pair_obs=True, time_obs=True), [10, 100, 1])]:
        warm = RL2("mdp-n25", init_from=str(tmp_path / "n10.pt"), steps_per_update=500, total_steps=500,
                   **flags, **TINY)
        # the new parts enter after the one-hot state: the previous state, the pair, then the time
        wide = torch.cat([x[..., :10], *(torch.rand(12, 3, w, generator=g) for w in new), x[..., 10:]], dim=-1)
        with torch.no_grad():
            before = trained.policy.unroll(x, trained.policy.initial_state(3))
            after = warm.policy.unroll(wide, warm.policy.initial_state(3))
        for a, b in zip(before, after):
            assert torch.allclose(a, b, atol=1e-5), flags
    warm.learn()  # and it learns to read the new inputs
    assert warm.policy.state_dict()["core.weight_ih_l0"][:, 10:121].abs().sum() > 0


def test_the_source_config_names_the_inputs_it_lacks_where_their_widths_cannot(tmp_path):
    # An MDP of one state: the previous state and the time are each one column wide, so only the source's
    # config tells which one it lacks. Here it read the previous state, and the time is the new input.
    one_state = dict(states=1, steps_per_update=1000, total_steps=1000, **TINY)
    trained = RL2("mdp-n10", prev_state=True, **one_state).learn()
    trained.save(tmp_path / "prev.pt")
    warm = RL2("mdp-n25", init_from=str(tmp_path / "prev.pt"), prev_state=True, time_obs=True, **one_state)
    source, grown = trained.policy.state_dict()["core.weight_ih_l0"], warm.policy.state_dict()["core.weight_ih_l0"]
    assert torch.equal(grown[:, :2], source[:, :2]) and torch.equal(grown[:, 3:], source[:, 2:])
    assert not grown[:, 2].any()  # φ: state, previous state, time, ...: the time's column starts at zero


def test_a_wider_gru_starts_from_a_narrower_one_computing_what_it_did(source):
    trained, path = source
    wide = RL2("bandit-n100-k5", init_from=str(path), hidden=24, steps_per_update=1000, total_steps=1000,
               minibatches=2)
    x = torch.rand(30, 5, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = trained.policy.unroll(x, trained.policy.initial_state(5))
        after = wide.policy.unroll(x, wide.policy.initial_state(5))
    for a, b in zip(before, after):
        assert torch.allclose(a, b, atol=1e-6)
    state = wide.policy.state_dict()
    recurrent = state["core.weight_hh_l0"].view(3, 24, 24)  # [gate, unit, unit read]
    assert recurrent[:, 16:].abs().sum() > 0  # the new units read the state ...
    assert recurrent[:, :16, 16:].eq(0).all() and state["policy_head.weight"][:, 16:].eq(0).all()  # ... unread
    wide.learn()  # and the gradient reaches what reads them
    assert wide.policy.state_dict()["policy_head.weight"][:, 16:].abs().sum() > 0
    timed = RL2("bandit-n100-k5", init_from=str(path), hidden=24, time_obs=True, steps_per_update=1000,
                total_steps=1000, minibatches=2)  # wider and with the time: both bridged at once
    x_timed = torch.cat([x[..., :1], torch.rand(30, 5, 1), x[..., 1:]], dim=-1)
    with torch.no_grad():
        after = timed.policy.unroll(x_timed, timed.policy.initial_state(5))
    for a, b in zip(before, after):
        assert torch.allclose(a, b, atol=1e-6)
    with pytest.raises(ConfigError, match=r"core.weight_ih_l0 is \[48, 8\] there, \[72, 13\] here"):  # and 10 arms
        RL2("bandit-n100-k10", init_from=str(path), hidden=24, steps_per_update=1000, total_steps=1000, minibatches=2)
    with pytest.raises(ConfigError, match=r"core.weight_ih_l0 is \[48, 8\] there, \[24, 8\] here"):  # narrower: refused
        RL2("bandit-n100-k5", init_from=str(path), hidden=8, steps_per_update=1000, total_steps=1000, minibatches=2)


def test_a_wider_stacked_gru_starts_from_a_narrower_one_of_as_many_layers(tmp_path):
    small = dict(steps_per_update=200, total_steps=200, minibatches=2)
    trained = RL2("bandit-n10-k5", hidden=8, rnn_layers=2, **small).learn()
    trained.save(tmp_path / "stacked.pt")
    wide = RL2("bandit-n10-k5", init_from=str(tmp_path / "stacked.pt"), hidden=12, rnn_layers=2, **small)
    x = torch.rand(20, 3, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = trained.policy.unroll(x, trained.policy.initial_state(3))
        after = wide.policy.unroll(x, wide.policy.initial_state(3))
    for a, b in zip(before[:2], after[:2]):  # the action scores and values; the states differ in width
        assert torch.allclose(a, b, atol=1e-6)
    upper = wide.policy.state_dict()["core.weight_ih_l1"].view(3, 12, 12)  # [gate, unit, unit of layer 0 read]
    assert upper[:, :8, 8:].eq(0).all() and upper[:, 8:].abs().sum() > 0  # old units read no new unit below
    with pytest.raises(ConfigError, match="core.bias_hh_l2 is not in the one there"):  # two layers to three
        RL2("bandit-n10-k5", init_from=str(tmp_path / "stacked.pt"), hidden=12, rnn_layers=3, **small)


def test_another_network_is_refused_in_one_line(source, rl2_cmd, tmp_path):
    _, path = source
    # 10 arms: the one-hot previous action is 5 wider (3 gates x 16 units read 8 inputs there, 13 here).
    with pytest.raises(ConfigError, match=r"cannot start from .*n10.pt: core.weight_ih_l0 is \[48, 8\] there, "
                                          r"\[48, 13\] here"):
        RL2("bandit-n10-k10", init_from=str(path), steps_per_update=100, total_steps=100, **TINY)
    with pytest.raises(ConfigError, match=r"core.weight_ih_l0 is \[48, 8\] there, \[64, 8\] here \(another core"):
        RL2("bandit-n10-k5", init_from=str(path), rnn="lstm", steps_per_update=100, total_steps=100, **TINY)
    with pytest.raises(ConfigError, match="another network .value_core.* is not in the one there"):
        RL2("bandit-n10-k5", init_from=str(path), critic="separate", steps_per_update=100, total_steps=100, **TINY)
    with pytest.raises(ConfigError, match=r"another network \(core.blocks.* the core \(rnn, rnn_layers, attn_layers, "
                                          r"attn_sink, weight_norm\)"):
        RL2("bandit-n10-k5", init_from=str(path), rnn="transformer", attn_heads=2, steps_per_update=100,
            total_steps=100, **TINY)
    with pytest.raises(ConfigError, match=r"another network \(core.bias_hh_l1 is not in the one there"):
        RL2("bandit-n10-k5", init_from=str(path), rnn_layers=2, steps_per_update=100, total_steps=100, **TINY)
    with pytest.raises(ConfigError, match=r"another network \(core.parametrizations.* is not in the one there"):
        RL2("bandit-n10-k5", init_from=str(path), weight_norm=True, steps_per_update=100, total_steps=100, **TINY)
    r = subprocess.run([*rl2_cmd, "train", "bandit-n10-k5", "--hidden", "8", "--init-from", str(path), "--run-dir",
                        str(tmp_path / "run"), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "hidden" not in r.stderr or "there" in r.stderr
    assert not (tmp_path / "run").exists()  # refused before the run directory was written
    assert "run directory" not in r.stdout, r.stdout  # the refusal is the only thing said
    r = subprocess.run([*rl2_cmd, "train", "--init-from", str(tmp_path / "nowhere"), "--run-dir",
                        str(tmp_path / "run2"), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "does not exist" in r.stderr and not (tmp_path / "run2").exists(), r.stderr


def test_a_warm_started_run_goes_through_the_cli_and_loads_without_its_source(source, rl2_cmd, tmp_path):
    _, path = source
    copy = tmp_path / "n10.pt"
    shutil.copy(path, copy)
    run_dir = tmp_path / "n100"
    r = subprocess.run([*rl2_cmd, "train", "bandit-n100-k5", "--hidden", "16", "--minibatches", "2",
                        "--steps-per-update", "1000", "--total-steps", "2000", "--init-from", str(copy), "--run-dir",
                        str(run_dir), "--no-progress", "--no-baselines", "--eval-trials", "20", "--threads", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"starting from the weights of {copy}" in r.stdout
    copy.unlink()  # the run's own checkpoints hold its weights from now on
    assert RL2.load(run_dir).learner.env_steps == 2000
    r = subprocess.run([*rl2_cmd, "train", "--resume", str(run_dir), "--init-from", str(path), "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "init_from" in r.stderr, r.stderr  # the starting weights are the experiment's
