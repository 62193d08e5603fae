"""Meta-training learns: a trained agent clearly beats a random policy on held-out tasks (on switching
bandits, Thompson sampling).

The default suite runs a short version; the `slow` versions train the paper's settings for real.
"""

import pytest

from rl2 import RL2
from rl2.compare import compare_baselines
from rl2.evaluate import mean_ci95

RANDOM_BANDIT_N10 = 5.0  # a random policy earns n/2 on U[0, 1] arms


# Per core: (its fields, mean - CI must beat random by, last pull - first pull must exceed).
# GRU sweep (8 seeds x fused, torch kernels x 1, 2 threads; scripts/sweep_learning_tests.py), 32 runs:
#   mean - CI min 5.85 / median 6.10 / max 6.29; last - first pull min 0.122 / median 0.167 / max 0.222.
# Transformer sweep (seeds 0-7, 1 thread): mean - CI min 6.25 / median 6.36 / max 6.49; last - first
#   pull min 0.184 / median 0.205 / max 0.225. (A pull's standard error is ~0.015.)
# The same sweeps on an Intel Xeon (AVX-512), 32 runs each: GRU mean - CI min 5.72 / median 6.05 / max 6.26,
#   last - first pull min 0.094 / median 0.156 / max 0.219; transformer 6.25 / 6.37 / 6.49 and 0.177 / 0.200 / 0.229.
SHORT_BANDIT_CORES = {
    "gru": ({}, 0.5, 0.05),
    "transformer": ({"rnn": "transformer", "attn_layers": 2, "attn_heads": 4}, 1.0, 0.1),
}


@pytest.mark.learning
@pytest.mark.parametrize("core", SHORT_BANDIT_CORES)
def test_short_meta_training_beats_random_on_bandits(core, learning_seed, record_figure):
    fields, margin, rise = SHORT_BANDIT_CORES[core]
    model = RL2("bandit-n10-k5", hidden=64, steps_per_update=2_400, minibatches=2, total_steps=240_000,
                seed=learning_seed, **fields)
    model.learn()
    summary = model.evaluate(trials=1_000).summary()
    record_figure("mean_minus_ci95", summary["mean_trial_return"] - summary["ci95"])
    record_figure("last_minus_first_pull", summary["episode_return_mean"][-1] - summary["episode_return_mean"][0])
    # Random 5.0, Bayes-optimal 6.66; the sweeps' figures are above SHORT_BANDIT_CORES.
    assert summary["mean_trial_return"] - summary["ci95"] > RANDOM_BANDIT_N10 + margin, summary
    # Learning to learn shows inside the trial: later pulls pay more than the first.
    per_pull = summary["episode_return_mean"]
    assert per_pull[-1] > per_pull[0] + rise, per_pull


# Switching bandits (k = 2, n = 30, all arms redrawn with chance 0.1 before every pull): Thompson sampling's
# lifetime counts never forget, so it keeps pulling an arm that went bad; the agent must learn to
# re-explore. Sweep (8 seeds x fused, torch kernels x 1, 2 threads; scripts/sweep_learning_tests.py) on an
# AMD EPYC (AVX2), 32 runs: paired lead over TS minus its CI min 0.11 / median 0.55 / max 0.76 (a paired CI
# is ~0.27). On an Intel Xeon with AVX-512, the same 32 runs: min -0.77 (seed 5, torch kernel, 2 threads)
# / median 0.49 / max 0.74, the next lowest -0.37 (seed 0, fused, 1 thread). So the test asks for an agent
# close to TS or ahead, not ahead outside the CI on every trajectory: lead minus CI above -1.0, where
# random pulls trail TS by 1.7 a trial on these tasks (TS 16.54, random 14.86, `rl2 compare switching
# --n 30 --k 2 --hazard 0.1`).
SWITCHING_LEAD_OVER_TS = -1.0


@pytest.mark.learning
def test_short_meta_training_stays_close_to_thompson_sampling_on_switching_bandits(learning_seed, record_figure):
    model = RL2("switching-n100-k5", n=30, k=2, hazard=0.1, hidden=64, steps_per_update=2_400, minibatches=2,
                total_steps=300_000, seed=learning_seed)
    model.learn()
    agent = model.evaluate(trials=1_000).trial_returns
    (thompson,) = compare_baselines(model.config.task, 1_000, model.config.run.eval_seed, ["thompson"])
    lead, ci95 = mean_ci95(agent - thompson.result.trial_returns)  # paired: the same 1,000 tasks
    record_figure("lead_over_ts_minus_ci95", lead - ci95)
    assert lead - ci95 > SWITCHING_LEAD_OVER_TS, (lead, ci95)


@pytest.mark.slow
def test_bandit_n10_k5_reaches_the_papers_figure():
    model = RL2("bandit-n10-k5")
    model.learn()
    summary = model.evaluate(trials=1_000).summary()
    assert summary["mean_trial_return"] + summary["ci95"] >= 6.5, summary  # paper: RL² 6.7, Gittins 6.6


@pytest.mark.slow
def test_bandit_n100_k5_approaches_gittins():
    model = RL2("bandit-n100-k5")
    model.learn()
    summary = model.evaluate(trials=1_000).summary()
    # Measured 77.20 ± 1.12 with the preset as shipped (λ = 0.9, lr 2e-3, 6M steps in 6.6 min on 2
    # cores); before the preset's λ = 0.9, 76.2. Paper: RL² 78.7, Gittins 78.3.
    assert summary["mean_trial_return"] >= 75.0, summary


@pytest.mark.slow
def test_mdp_n10_beats_random_clearly():
    model = RL2("mdp-n10", total_steps=2_400_000)
    model.learn()
    summary = model.evaluate(trials=1_000).summary()
    # The preset (24,000-step updates, tanh head layers, lr 5e-3, epochs stopped at approx KL 0.015)
    # measured 120.1 ± 1.8 at 3.7M steps and 150.3 at 38.3M (random 100.1; the paper's RL² 156.2). This
    # run anneals over its 2.4M steps: 118.4 ± 1.8 on sampled rewards; with the preset's mean credit,
    # 122.8 ± 1.8 (1 thread, Intel Xeon, 4.3 min), episodes 1 -> 10 earning 10.8 -> 12.7.
    assert summary["mean_trial_return"] - summary["ci95"] >= 105.0, summary
    per_episode = summary["episode_return_mean"]
    assert per_episode[-1] > per_episode[0] + 0.5, per_episode  # later episodes earn more


@pytest.mark.slow
def test_maze_agent_finds_the_target_faster_in_episode_two():
    model = RL2("maze-5x5")
    model.learn()
    small = model.evaluate(trials=1_000).by_maze["small (5x5)"].summary()
    success, length = small["episode_success_rate"], small["episode_success_length_mean"]
    # Measured: 100% success, 20.2 steps in episode 1 and 16.0 in episode 2 (a uniform random
    # policy: 34% success in 90 steps, in every episode).
    assert success[0] >= 0.95 and success[1] >= 0.95, small
    assert length[1] < 0.9 * length[0], small  # it remembers where the target is
