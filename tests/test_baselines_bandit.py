"""Bandit baselines: Gittins indices, the Bayes-optimal DP, each policy's behaviour and score.

conftest.py runs torch single-threaded and points RL2_CACHE_DIR at a temp dir, so Gittins tables
never land in ~/.cache from here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pytest
import torch

from rl2.baselines import bandits, gittins
from rl2.baselines.bandits import (
    BANDIT_BASELINES,
    BANDIT_HPARAMS,
    play_bandit_baseline,
    run_bandit_baseline,
    tune_bandit_baseline,
)
from rl2.baselines.bayes_optimal import (
    BAYES_OPTIMAL_MAX_STATES,
    _enumerate,
    bayes_optimal_state_count,
    solve_bayes_optimal,
)


def uniform_tasks(batch: int, k: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, k, generator=torch.Generator().manual_seed(seed))


def mean_and_halfwidth(rewards: torch.Tensor) -> tuple[float, float]:
    """Mean total reward per trial and the half-width of its normal 95% CI."""
    totals = rewards.sum(dim=1).double()
    return totals.mean().item(), 1.96 * totals.std().item() / math.sqrt(totals.numel())


def score(name: str, n: int, k: int, task_seed: int, play_seed: int, tasks: int = 1000) -> tuple[float, float]:
    """(mean, 95% half-width) of a baseline's total reward on freshly sampled uniform tasks."""
    rewards = run_bandit_baseline(name, uniform_tasks(tasks, k, task_seed), n, torch.Generator().manual_seed(play_seed))
    return mean_and_halfwidth(rewards)


# ----------------------------------------------------------------------------------------------
# Gittins index
# ----------------------------------------------------------------------------------------------


def brute_force_fhgi(s: int, f: int, m: int) -> float:
    """Independent reference: per-state bisection on λ, each step a memoised recursion."""

    def continuation(lam: float) -> float:
        @lru_cache(maxsize=None)
        def advantage(s: int, f: int, m: int) -> float:
            if m == 0:
                return 0.0
            p = (s + 1) / (s + f + 2)
            return max(0.0, p - lam + p * advantage(s + 1, f, m - 1) + (1 - p) * advantage(s, f + 1, m - 1))

        p = (s + 1) / (s + f + 2)
        return p - lam + p * advantage(s + 1, f, m - 1) + (1 - p) * advantage(s, f + 1, m - 1)

    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if continuation(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def test_gittins_one_pull_left_is_posterior_mean():
    table = gittins.gittins_table(12)
    for s in range(12):
        for f in range(12 - s):
            assert table.index_of(s, f, 1) == pytest.approx((s + 1) / (s + f + 2), abs=1e-6)


def test_gittins_two_pulls_left_hand_computed():
    # Fresh arm, 2 pulls left: C(λ) = 1/2 − λ + ½·max(0, 2/3 − λ) + ½·max(0, 1/3 − λ) = 5/6 − 3λ/2
    # on [1/3, 2/3], so the index is 5/9 (above the mean 1/2: the value of information).
    table = gittins.gittins_table(12)
    assert table.index_of(0, 0, 2) == pytest.approx(5 / 9, abs=1e-6)
    # After one failure: children have means 1/2 and 1/4; root on [1/4, 1/2] solves
    # 1/3 − λ + (1/3)(1/2 − λ) = 0 → λ = 3/8.
    assert table.index_of(0, 1, 2) == pytest.approx(3 / 8, abs=1e-6)


def test_gittins_matches_brute_force_and_is_monotone():
    n = 9
    table = gittins.gittins_table(n)
    assert table.max_error < 1e-3
    for m in range(1, n + 1):
        for s in range(n - m + 1):
            for f in range(n - m + 1 - s):
                value = table.index_of(s, f, m)
                assert abs(value - brute_force_fhgi(s, f, m)) <= table.max_error + 1e-6
                assert value >= (s + 1) / (s + f + 2) - 1e-6  # never below the posterior mean
                if s + f + 1 <= n - m:
                    assert table.index_of(s + 1, f, m) > value  # more successes: higher index
                    assert table.index_of(s, f + 1, m) < value  # more failures: lower index
                if m >= 2:
                    assert table.index_of(s, f, m - 1) <= value + 1e-6  # more time left: higher


def test_gittins_table_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("RL2_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(gittins, "_MEMORY_CACHE", {})
    first = gittins.gittins_table(15)
    path = gittins.gittins_cache_path(15)
    assert path.parent == tmp_path / "gittins" and path.is_file()
    assert not list(path.parent.glob("*.tmp"))  # the atomic write left no temp file behind

    # A second call in a fresh process state must read the file, not recompute.
    gittins._MEMORY_CACHE.clear()
    with monkeypatch.context() as patch:
        patch.setattr(gittins, "compute_gittins_table", lambda *a, **k: pytest.fail("recomputed"))
        second = gittins.gittins_table(15)
    np.testing.assert_array_equal(second.values, first.values)
    assert second.max_error == first.max_error

    # A corrupt file is recomputed and replaced, not fatal.
    path.write_bytes(b"not an npz file")
    gittins._MEMORY_CACHE.clear()
    third = gittins.gittins_table(15)
    np.testing.assert_array_equal(third.values, first.values)
    with np.load(path) as data:
        np.testing.assert_array_equal(data["values"], first.values)


def test_gittins_policy_scores_near_paper_at_n100_k5():
    mean, _ = score("gittins", n=100, k=5, task_seed=11, play_seed=12)
    assert mean >= 77.0  # paper: 78.3


# ----------------------------------------------------------------------------------------------
# Bayes-optimal DP
# ----------------------------------------------------------------------------------------------


def brute_force_bayes_value(n: int, k: int) -> float:
    """Independent reference: recursion over *ordered* per-arm counts, no symmetry reduction."""

    @lru_cache(maxsize=None)
    def value(counts: tuple[tuple[int, int], ...], left: int) -> float:
        if left == 0:
            return 0.0
        best = -math.inf
        for i, (s, f) in enumerate(counts):
            p = (s + 1) / (s + f + 2)
            win = counts[:i] + ((s + 1, f),) + counts[i + 1 :]
            lose = counts[:i] + ((s, f + 1),) + counts[i + 1 :]
            best = max(best, p * (1 + value(win, left - 1)) + (1 - p) * value(lose, left - 1))
        return best

    return value(((0, 0),) * k, n)


@pytest.mark.parametrize("n,k", [(1, 2), (2, 2), (3, 2), (4, 3), (5, 2)])
def test_bayes_optimal_value_matches_brute_force(n, k):
    assert solve_bayes_optimal(n, k).value == pytest.approx(brute_force_bayes_value(n, k), abs=1e-12)


def test_bayes_optimal_hand_value_and_state_count():
    # n = 2, k = 2: pull any arm (1/2); after a success pull it again (2/3), after a failure
    # switch to the fresh arm (1/2): 1/2 + 1/2·2/3 + 1/2·1/2 = 13/12.
    assert solve_bayes_optimal(2, 2).value == pytest.approx(13 / 12, abs=1e-12)
    for n, k in [(3, 2), (6, 3), (10, 5)]:
        states, _ = _enumerate(n, k)
        assert bayes_optimal_state_count(n, k) == len(states)


def test_bayes_optimal_refuses_large_problems():
    assert bayes_optimal_state_count(100, 5) > BAYES_OPTIMAL_MAX_STATES
    with pytest.raises(ValueError, match="BAYES_OPTIMAL_MAX_STATES"):
        solve_bayes_optimal(100, 5)
    with pytest.raises(ValueError, match="BAYES_OPTIMAL_MAX_STATES"):
        run_bandit_baseline("bayes_optimal", uniform_tasks(4, 5, 0), 100, torch.Generator().manual_seed(0))


def test_bayes_optimal_beats_every_baseline_at_n3_k2():
    """The DP value is the best achievable mean; Monte-Carlo means of all policies respect it."""
    n, k, batch = 3, 2, 100_000
    optimum = brute_force_bayes_value(n, k)
    probs = uniform_tasks(batch, k, 5)
    for name in BANDIT_BASELINES:
        mean, halfwidth = mean_and_halfwidth(run_bandit_baseline(name, probs, n, torch.Generator().manual_seed(6)))
        assert mean <= optimum + 1.5 * halfwidth, name  # 1.5 × 95% half-width ≈ 3 standard errors
        if name == "bayes_optimal":
            assert abs(mean - optimum) <= 1.5 * halfwidth  # the played policy achieves the DP value
    # ...and strictly beats a clearly suboptimal one.
    random_mean, _ = mean_and_halfwidth(run_bandit_baseline("random", probs, n, torch.Generator().manual_seed(6)))
    assert optimum - random_mean > 0.1


# ----------------------------------------------------------------------------------------------
# Policies and scores
# ----------------------------------------------------------------------------------------------


def test_ucb1_pulls_every_arm_once_first():
    k = 6
    arms, _ = play_bandit_baseline("ucb1", uniform_tasks(200, k, 1), 20, torch.Generator().manual_seed(2), c=0.2)
    first = arms[:, :k].sort(dim=1).values
    assert torch.equal(first, torch.arange(k).expand(200, k))
    # The order of the first round is random (ties broken at random), not always arm 0 first.
    assert arms[:, 0].unique().numel() == k


def test_ucb1_with_prior_counts_needs_no_forced_round():
    """prior = 1 scores arms by the Beta(1, 1) posterior mean plus the bonus: with c = 0 that is
    exactly greedy, draw for draw (same scores, same tie-breaking uniforms)."""
    probs = uniform_tasks(300, 5, 15)
    ucb = run_bandit_baseline("ucb1", probs, 30, torch.Generator().manual_seed(16), c=0.0, prior=1.0)
    greedy = run_bandit_baseline("greedy", probs, 30, torch.Generator().manual_seed(16))
    assert torch.equal(ucb, greedy)


def test_random_scores_half_of_n():
    mean, halfwidth = score("random", n=100, k=5, task_seed=3, play_seed=4)
    assert abs(mean - 50.0) <= halfwidth * 1.5  # E = n/2 exactly


def test_thompson_matches_paper_at_n100_k5():
    mean, halfwidth = score("thompson", n=100, k=5, task_seed=7, play_seed=8)
    assert abs(mean - 74.7) <= halfwidth + 0.5  # paper: 74.7


@pytest.mark.parametrize("name", BANDIT_BASELINES)
def test_runs_are_reproducible_with_the_same_seed(name):
    probs = uniform_tasks(64, 5, 9)
    first = run_bandit_baseline(name, probs, 10, torch.Generator().manual_seed(10))
    second = run_bandit_baseline(name, probs, 10, torch.Generator().manual_seed(10))
    other = run_bandit_baseline(name, probs, 10, torch.Generator().manual_seed(11))
    assert first.shape == (64, 10) and first.dtype == probs.dtype
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


def test_ots_is_at_least_as_greedy_as_thompson():
    """OTS never scores an arm below its posterior mean, so it explores less than TS."""
    probs = uniform_tasks(2000, 5, 13)
    switches = {}
    for name in ("thompson", "ots"):
        arms, _ = play_bandit_baseline(name, probs, 50, torch.Generator().manual_seed(14))
        switches[name] = (arms[:, 1:] != arms[:, :-1]).double().mean().item()
    assert switches["ots"] < switches["thompson"]


def test_tuning_picks_a_grid_point_deterministically():
    best = tune_bandit_baseline("ucb1", n=20, k=5, tasks=200, seed=0)
    assert set(best) == {"c", "prior"} and best["c"] in BANDIT_HPARAMS["ucb1"]["c"]
    assert best["prior"] in BANDIT_HPARAMS["ucb1"]["prior"]
    assert tune_bandit_baseline("ucb1", n=20, k=5, tasks=200, seed=0) == best
    eps = tune_bandit_baseline("epsilon_greedy", n=20, k=5, tasks=200, seed=0)
    assert set(eps) == {"epsilon"} and eps["epsilon"] in BANDIT_HPARAMS["epsilon_greedy"]["epsilon"]
    assert tune_bandit_baseline("thompson", n=20, k=5, tasks=200, seed=0) == {}


def test_bad_names_and_hparams_are_rejected():
    probs = uniform_tasks(4, 3, 0)
    with pytest.raises(ValueError, match="unknown bandit baseline"):
        run_bandit_baseline("nope", probs, 5, torch.Generator())
    with pytest.raises(ValueError, match="takes no hyperparameter"):
        run_bandit_baseline("ucb1", probs, 5, torch.Generator(), epsilon=0.1)
    with pytest.raises(ValueError, match="epsilon"):
        run_bandit_baseline("epsilon_greedy", probs, 5, torch.Generator(), epsilon=1.5)
    assert set(bandits.DEFAULT_BANDIT_HPARAMS) == set(BANDIT_BASELINES) == set(BANDIT_HPARAMS)
