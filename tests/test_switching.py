"""Switching Bernoulli bandits: the task distribution, the env, the baselines made for change, the wiring."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch

from rl2 import RL2
from rl2.baselines.switching import (
    SWITCHING_BASELINES,
    SWITCHING_HPARAMS,
    ChangePointUCBPolicy,
    DiscountedThompsonPolicy,
    play_switching_baseline,
    run_switching_baseline,
)
from rl2.checkpoint import CheckpointError
from rl2.cli import main
from rl2.compare import compare_baselines, setting_key, tune_setting
from rl2.envs import BanditEnv, SwitchingBanditEnv
from rl2.families import make_env, make_task_distribution
from rl2.families.switching import SwitchingConfig
from rl2.presets import preset_config, preset_of
from rl2.tasks import BernoulliBandit, SwitchingBandit, SwitchingBanditTasks
from rl2.train import checkpoint_state, restore_learner


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# The task distribution
# ---------------------------------------------------------------------------------------------


def test_change_points_occur_at_the_hazard_rate_independently_of_the_last_one():
    tasks = SwitchingBandit(k=5, n=100, hazard=0.05).sample(4_000, gen())
    assert tasks.probs.shape == (4_000, 100, 5)
    changes = tasks.change_points()
    assert not changes[:, 0].any()  # the first pull is the trial start, never a change point
    later = changes[:, 1:].double()
    rate, sd = later.mean().item(), math.sqrt(0.05 * 0.95 / later.numel())
    assert abs(rate - 0.05) < 4 * sd, rate
    # Memoryless: a change right after a change is no more (or less) likely than any other.
    after_change = later[:, 1:][later[:, :-1].bool()]
    assert abs(after_change.mean().item() - 0.05) < 4 * math.sqrt(0.05 * 0.95 / after_change.numel())


def test_a_change_point_redraws_every_arm_uniformly_and_nothing_changes_in_between():
    probs = SwitchingBandit(k=4, n=50, hazard=0.2).sample(2_000, gen(1)).probs
    differs = probs[:, 1:] != probs[:, :-1]  # [B, n-1, k]
    # At a change point all k arms move together; elsewhere none does (no per-arm drift).
    assert torch.equal(differs.any(-1), differs.all(-1))
    new = probs[:, 1:][differs.all(-1)]  # [changes, k] the redrawn probabilities
    old = probs[:, :-1][differs.all(-1)]
    assert new.shape[0] > 15_000
    assert abs(new.mean().item() - 0.5) < 0.01 and abs(new.var().item() - 1 / 12) < 0.003
    corr = torch.corrcoef(torch.stack([new.flatten(), old.flatten()]))[0, 1]
    assert abs(corr.item()) < 0.02  # fresh draws, independent of the arms they replace


def test_hazard_zero_is_the_stationary_bandit_of_the_same_seed_and_hazard_one_redraws_every_pull():
    stationary = BernoulliBandit(k=3).sample(64, gen(2)).probs
    frozen = SwitchingBandit(k=3, n=20, hazard=0.0).sample(64, gen(2))
    assert torch.equal(frozen.probs, stationary[:, None].expand(-1, 20, -1))
    assert not frozen.change_points().any()
    always = SwitchingBandit(k=3, n=20, hazard=1.0).sample(64, gen(2)).change_points()
    assert always[:, 1:].all()


def test_the_distribution_refuses_a_hazard_outside_zero_one():
    with pytest.raises(ValueError, match="hazard"):
        SwitchingBandit(k=2, n=5, hazard=1.5)


# ---------------------------------------------------------------------------------------------
# The env
# ---------------------------------------------------------------------------------------------


def test_env_rewards_follow_the_probabilities_in_force_at_each_pull():
    per_pull = torch.tensor([[0.9, 0.1], [0.2, 0.7], [0.5, 0.3]])  # [n=3, k=2], a change before each pull
    tasks = SwitchingBanditTasks(probs=per_pull.expand(20_000, -1, -1))
    env = SwitchingBanditEnv(k=2)
    assert env.reset(tasks).tolist() == [[1.0]] * 20_000  # no state: a constant observation
    g = gen(3)
    for t, arm in enumerate([0, 1, 1]):
        step = env.step(torch.full((20_000,), arm), g)
        assert step.terminated.all() and not step.truncated.any()  # every pull is an episode
        assert abs(step.reward.mean().item() - per_pull[t, arm].item()) < 0.012, t
    with pytest.raises(RuntimeError, match="trial of 3 pulls is over"):
        env.step(torch.zeros(20_000, dtype=torch.long), g)
    env.reset(tasks)  # a new trial starts again at pull 0
    assert abs(env.step(torch.zeros(20_000, dtype=torch.long), g).reward.mean().item() - 0.9) < 0.012


def test_with_hazard_zero_the_env_pays_exactly_as_the_stationary_bandit_env():
    stationary = BernoulliBandit(k=4).sample(500, gen(4))
    switching = SwitchingBandit(k=4, n=10, hazard=0.0).sample(500, gen(4))
    envs = (BanditEnv(k=4), SwitchingBanditEnv(k=4))
    envs[0].reset(stationary), envs[1].reset(switching)
    outcome_generators = gen(5), gen(5)
    for _ in range(10):
        actions = torch.randint(4, (500,), generator=gen(6))
        a, b = (env.step(actions, g) for env, g in zip(envs, outcome_generators))
        assert torch.equal(a.reward, b.reward)


def test_the_config_wires_family_switching_to_its_distribution_env_and_sizes():
    task = SwitchingConfig(n=30, k=4, hazard=0.1)
    assert (task.episode_length, task.trial_length) == (1, 30)
    assert make_task_distribution(task) == SwitchingBandit(k=4, n=30, hazard=0.1)
    env = make_env(task)
    assert isinstance(env, SwitchingBanditEnv) and (env.obs_dim, env.num_actions, env.episode_length) == (1, 4, 1)
    config = preset_config("switching-n100-k5")
    assert (config.task.hazard, config.ppo.lr, config.run.total_steps) == (0.05, 3e-3, 3_000_000)
    assert preset_of(config) == "switching-n100-k5" and preset_of(config.replace(hazard=0.1)) is None
    assert setting_key(config.task) == "switching-n100-k5-h0.05"


# ---------------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------------


def _one_switch(batch: int = 200, before: int = 100, after: int = 100) -> torch.Tensor:
    """Two arms that swap roles once: p = (0.9, 0.1) for `before` pulls, then (0.1, 0.9). [B, n, 2]"""
    probs = torch.empty(batch, before + after, 2)
    probs[:, :before] = torch.tensor([0.9, 0.1])
    probs[:, before:] = torch.tensor([0.1, 0.9])
    return probs


def test_sliding_window_ucb_forgets_and_moves_to_the_new_best_arm_within_about_a_window():
    probs, window = _one_switch(), 20
    arms, _ = play_switching_baseline("sw_ucb", probs, gen(7), window=window, c=0.5)
    on_new_best = (arms == 1).double().mean(0)  # [n] share of tasks pulling arm 1
    assert on_new_best[80:100].mean() < 0.1  # it had found the best arm before the change ...
    assert on_new_best[100 + window:140 + window].mean() > 0.85  # ... and the new one a window after it
    # Thompson sampling never forgets: 100 good pulls of arm 0 keep it there long after the change.
    arms, _ = play_switching_baseline("thompson", probs, gen(7))
    assert (arms[:, 100 + window:140 + window] == 1).double().mean() < 0.3


def test_discounted_thompson_with_gamma_one_is_thompson_sampling_draw_for_draw():
    probs = SwitchingBandit(k=3, n=40, hazard=0.1).sample(300, gen(8)).probs
    ts_arms, ts_rewards = play_switching_baseline("thompson", probs, gen(9))
    dts_arms, dts_rewards = play_switching_baseline("discounted_ts", probs, gen(9), gamma=1.0)
    assert torch.equal(ts_arms, dts_arms) and torch.equal(ts_rewards, dts_rewards)


def test_discounted_thompson_decays_every_arms_counts_by_gamma_per_pull():
    policy = DiscountedThompsonPolicy(n=3, k=2, gamma=0.5)
    policy.reset(1, torch.device("cpu"))
    policy.observe(torch.tensor([0]), torch.tensor([1.0]))  # S = (1, 0), F = (0, 0)
    policy.observe(torch.tensor([1]), torch.tensor([0.0]))  # S = (0.5, 0), F = (0, 1)
    policy.observe(torch.tensor([1]), torch.tensor([1.0]))  # S = (0.25, 1), F = (0, 0.5)
    assert policy.successes.tolist() == [[0.25, 1.0]] and policy.failures.tolist() == [[0.0, 0.5]]


def brute_force_posterior_mean(arms: list[int], wins: list[int], k: int, hazard: float) -> list[float]:
    """Each arm's posterior mean at the next pull, by summing over every pattern of change points.

    A pattern says before which pulls (1..t, t the next one) all arms were redrawn; its prior is
    hazard^changes (1 − hazard)^(t − changes), its likelihood the product over segments and arms of
    Beta(1 + w, 1 + l) / Beta(1, 1) (arms uniform on [0, 1]), and given it the next pull's arm has
    mean (1 + w) / (2 + w + l) over the next pull's own segment.
    """
    t = len(arms)

    def counts(lo: int, hi: int, arm: int) -> tuple[int, int]:  # wins and losses of an arm in pulls lo..hi−1
        pulls = [wins[i] for i in range(lo, min(hi, t)) if arms[i] == arm]
        return sum(pulls), len(pulls) - sum(pulls)

    total, weighted = 0.0, [0.0] * k
    for pattern in itertools.product([False, True], repeat=t):  # a change before pull 1..t
        starts = [0] + [i + 1 for i, change in enumerate(pattern) if change]
        prior = math.prod(hazard if change else 1 - hazard for change in pattern)
        likelihood = 1.0
        bounds = starts + [t + 1]
        for lo, hi in zip(bounds, bounds[1:]):
            for arm in range(k):
                w, l_ = counts(lo, hi, arm)
                likelihood *= math.gamma(1 + w) * math.gamma(1 + l_) / math.gamma(2 + w + l_)
        for arm in range(k):
            w, l_ = counts(starts[-1], t, arm)
            weighted[arm] += prior * likelihood * (1 + w) / (2 + w + l_)
        total += prior * likelihood
    return [value / total for value in weighted]


@pytest.mark.parametrize("hazard", [0.0, 0.1, 0.4])
def test_change_point_posterior_is_the_exact_bayes_posterior_of_the_switching_model(hazard):
    arms, wins = [0, 0, 1, 0, 1, 1, 0], [1, 1, 0, 0, 0, 1, 0]
    policy = ChangePointUCBPolicy(n=10, k=2, hazard=hazard, c=1.0)
    policy.reset(1, torch.device("cpu"))
    for arm, win in zip(arms, wins):
        policy.observe(torch.tensor([arm]), torch.tensor([float(win)]))
    mean, spread = policy.posterior()
    assert mean[0].tolist() == pytest.approx(brute_force_posterior_mean(arms, wins, k=2, hazard=hazard), abs=1e-12)
    if hazard == 0.0:  # one segment: the Beta(1 + wins, 1 + losses) of each arm's whole record
        a, b = torch.tensor([3.0, 2.0]), torch.tensor([3.0, 3.0])
        assert spread[0].tolist() == pytest.approx((a * b / ((a + b) ** 2 * (a + b + 1))).sqrt().tolist())


def test_change_point_ucb_follows_a_change_sooner_than_a_policy_that_never_forgets():
    # Arm 0 pays always for 30 pulls, then never; arm 1 pays always after the change. Knowing that
    # changes happen, the policy leaves arm 0 within a few pulls of the change.
    probs = torch.zeros(1, 60, 2, dtype=torch.float64)
    probs[0, :30, 0], probs[0, 30:, 1] = 1.0, 1.0
    arms, _ = play_switching_baseline("changepoint_ucb", probs, gen(), hazard=0.05, c=0.5)
    assert arms[0, 5:30].eq(0).all() and arms[0, 36:].eq(1).all()
    stuck, _ = play_switching_baseline("changepoint_ucb", probs, gen(), hazard=0.0, c=0.5)
    assert stuck[0, 30:40].eq(0).all()  # without change points, ten failures do not outweigh thirty wins


@pytest.mark.parametrize("name", SWITCHING_BASELINES)
def test_baselines_are_reproducible_by_seed(name):
    probs = SwitchingBandit(k=3, n=30, hazard=0.05).sample(100, gen(10)).probs
    a = run_switching_baseline(name, probs, gen(11))
    assert a.shape == (100, 30)
    assert torch.equal(a, run_switching_baseline(name, probs, gen(11)))
    assert not torch.equal(a, run_switching_baseline(name, probs, gen(12)))


def test_the_oracle_is_at_least_every_baseline_on_every_task():
    probs = SwitchingBandit(k=5, n=100, hazard=0.05).sample(500, gen(13)).probs
    oracle = run_switching_baseline("oracle", probs, gen(14)).sum(1)
    for name in SWITCHING_BASELINES:
        totals = run_switching_baseline(name, probs, gen(14)).sum(1)
        # Same uniforms for every policy (common random numbers): u < p_best wins whenever u < p_arm does.
        assert (oracle >= totals).all(), name
        if name != "oracle":
            assert oracle.mean() > totals.mean() + 5, name


def test_unknown_names_and_hyperparameters_are_refused():
    probs = torch.rand(2, 5, 3)
    with pytest.raises(ValueError, match="unknown switching bandit baseline"):
        run_switching_baseline("nope", probs, gen())
    with pytest.raises(ValueError, match="no hyperparameter"):
        run_switching_baseline("sw_ucb", probs, gen(), gamma=0.9)
    with pytest.raises(ValueError, match="window"):
        run_switching_baseline("sw_ucb", probs, gen(), window=2.5)


# ---------------------------------------------------------------------------------------------
# Comparison, tuning, CLI, training
# ---------------------------------------------------------------------------------------------


def test_compare_ranks_the_oracle_first_and_the_forgetting_baselines_above_random():
    task = SwitchingConfig(n=100, k=5, hazard=0.05)
    rows = {r.name: r.mean_ci[0] for r in compare_baselines(task, trials=300, seed=5)}
    assert set(rows) == {"Random", "UCB1", "TS", "SW-UCB", "Discounted TS", "Change-point UCB",
                         "Oracle (reads the true p)"}
    assert abs(rows["Random"] - 50) < 3
    oracle = rows.pop("Oracle (reads the true p)")
    assert oracle > max(rows.values()) + 10
    assert rows["SW-UCB"] > rows["Random"] + 8 and rows["Discounted TS"] > rows["Random"] + 8
    assert rows["Change-point UCB"] > rows["TS"] + 4  # the exact posterior of the switching model forgets


def test_tuning_picks_points_of_each_grid():
    tuned = tune_setting(SwitchingConfig(n=20, k=3, hazard=0.1), tasks=30, seed=7)
    assert set(tuned) == {"ucb1", "sw_ucb", "discounted_ts", "changepoint_ucb"}
    for name, values in tuned.items():
        assert all(values[key] in grid for key, grid in SWITCHING_HPARAMS[name].items()), name


def test_cli_tune_stores_under_the_setting_key_that_compare_reads(tmp_path, capsys, monkeypatch):
    import rl2.baselines.switching as switching

    monkeypatch.setitem(switching.SWITCHING_HPARAMS, "sw_ucb", {"window": [10.0, 30.0], "c": [0.2]})
    monkeypatch.setitem(switching.SWITCHING_HPARAMS, "ucb1", {})
    monkeypatch.setitem(switching.SWITCHING_HPARAMS, "discounted_ts", {"gamma": [0.9]})
    monkeypatch.setenv("RL2_CACHE_DIR", str(tmp_path))
    assert main(["tune", "switching-n100-k5", "--tasks", "20"]) == 0
    stored = json.loads((tmp_path / "tuned_baselines.json").read_text())
    assert stored["switching-n100-k5-h0.05"]["discounted_ts"] == {"gamma": 0.9}
    assert main(["compare", "switching", "--tasks", "20", "--k", "3", "--n", "20", "--hazard", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "hazard 0.2 per pull" in out
    for name in ("SW-UCB", "Discounted TS", "UCB1", "TS", "Random", "Oracle"):
        assert f"| {name}" in out, name
    assert main(["compare", "bandit", "--hazard", "0.1"]) == 2
    assert "the bandit family has no field hazard (its fields: n, k, time_obs)" in capsys.readouterr().err


def test_rl2_trains_and_evaluates_on_switching_bandits():
    model = RL2("switching-n100-k5", hidden=8, steps_per_update=200, minibatches=2, total_steps=200)
    model.learn()
    assert model.evaluate(trials=10, seed=3).episode_returns.shape == (10, 100)


def test_checkpoints_written_before_the_hazard_field_still_resume():
    model = RL2("bandit-n10-k5", hidden=8, steps_per_update=100, minibatches=2, total_steps=100).learn()
    state = checkpoint_state(model.learner)
    v2 = state["config"]
    # As rl2 wrote it before switching bandits: format 1 (one flat task group with every family's
    # fields, TRPO's in ppo, the machine's in run), and no hazard field yet
    state["config"] = {"task": {**v2["task"], "states": 10, "actions": 5, "horizon": 10}, "policy": v2["policy"],
                       "ppo": {**v2["ppo"], **v2["trpo"]},
                       "run": {**v2["run"], **{k: v for k, v in v2["machine"].items()
                                               if k not in ("progress", "baselines")}}}
    assert restore_learner(model.config, state, torch.device("cpu")).env_steps == 100
    state["config"]["task"]["k"] = 7  # a different setting is still refused
    with pytest.raises(CheckpointError, match="different config"):
        restore_learner(model.config, state, torch.device("cpu"))


def test_compare_refuses_tuned_hyperparameters_a_baseline_cannot_take_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL2_CACHE_DIR", str(tmp_path))
    (tmp_path / "tuned_baselines.json").write_text(json.dumps(
        {"switching-n100-k5-h0.05": {"changepoint_ucb": {"hazard": 1.0, "c": 1.0}}}))
    assert main(["compare", "switching", "--n", "100", "--k", "5", "--tasks", "10"]) == 2
    err = capsys.readouterr().err
    assert "baseline changepoint_ucb of switching-n100-k5-h0.05: hazard must be in [0, 1), got 1.0" in err
    assert "re-tune with `rl2 tune`" in err and "Traceback" not in err
