"""Classic (non-learned) baselines that RL² is compared with.

Bernoulli bandits (Table 1 of Duan et al. 2016): :func:`run_bandit_baseline` plays one trial of
any of :data:`BANDIT_BASELINES` batched over tasks, and :func:`tune_bandit_baseline` grid-searches
:data:`BANDIT_HPARAMS` on training tasks.  The finite-horizon Gittins index tables and the exact
Bayes-optimal DP behind two of them live in :mod:`rl2.baselines.gittins` and
:mod:`rl2.baselines.bayes_optimal`.  Switching (non-stationary) bandits: sliding-window UCB,
discounted Thompson sampling, a UCB on the exact change-point posterior and an oracle in
:mod:`rl2.baselines.switching`.
"""

from rl2.baselines.bandits import (
    BANDIT_BASELINES,
    BANDIT_HPARAMS,
    DEFAULT_BANDIT_HPARAMS,
    play_bandit_baseline,
    run_bandit_baseline,
    tune_bandit_baseline,
)
from rl2.baselines.bayes_optimal import BAYES_OPTIMAL_MAX_STATES, bayes_optimal_state_count, solve_bayes_optimal
from rl2.baselines.gittins import GittinsTable, gittins_table

__all__ = [
    "BANDIT_BASELINES",
    "BANDIT_HPARAMS",
    "BAYES_OPTIMAL_MAX_STATES",
    "DEFAULT_BANDIT_HPARAMS",
    "GittinsTable",
    "bayes_optimal_state_count",
    "gittins_table",
    "play_bandit_baseline",
    "run_bandit_baseline",
    "solve_bayes_optimal",
    "tune_bandit_baseline",
]
