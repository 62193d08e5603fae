"""The cost of belief supervision on MDPs, and what the Gram form of its loss saves.

An MDP's task has 550 parameters (10 states x 5 actions of mean rewards and transitions) against the
core's 256 units, so the belief head's estimates [T, b, 550] cost more than the core's replay's share of
a minibatch. `rl2.ppo.gram_belief_loss` computes the same loss from the core's output and the head's
Gram matrix, without them. Protocol: the `mdp-n10` preset (24,000 steps an update, 8 epochs, 4
minibatches), one collected rollout, then PPO updates on it in turn: without belief supervision, with it
in the direct form, with it in the Gram form (the default where it pays), `--rounds` times each, from
a copy of the same policy and a fresh optimizer each time. Prints seconds per update (median over
rounds) and the ratios.

    python benchmarks/belief_loss.py [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from dataclasses import replace

import torch

import rl2.ppo
from rl2 import preset_config
from rl2.learner import Learner


def time_update(learner: Learner, rollout, belief_coef: float, gram: bool) -> float:
    """Seconds of one PPO update on `rollout`, from a copy of the learner's policy and a fresh Adam."""
    policy = copy.deepcopy(learner.policy)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    # Every epoch runs (no approx-KL stop), so that the arms do the same work.
    cfg = replace(learner.config.ppo, belief_coef=belief_coef, target_kl=0.0)
    pays = rl2.ppo.gram_form_pays
    rl2.ppo.gram_form_pays = pays if gram else (lambda head, task: False)
    try:
        start = time.perf_counter()
        rl2.ppo.ppo_update(policy, optimizer, rollout, cfg, cfg.minibatches, cfg.ent_coef, torch.Generator())
        return time.perf_counter() - start
    finally:
        rl2.ppo.gram_form_pays = pays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    learner = Learner(preset_config("mdp-n10", belief_coef=1.0, seed=0), "cpu")
    rollout = learner.collect()
    arms = {"no belief supervision": (0.0, False), "belief, direct form": (1.0, False),
            "belief, Gram form": (1.0, True)}
    for belief_coef, gram in arms.values():  # warm-up: the fused kernel's load, first-call allocations
        time_update(learner, rollout, belief_coef, gram)
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(args.rounds):  # interleaved, so that a change of load touches every arm alike
        for name, (belief_coef, gram) in arms.items():
            seconds[name].append(time_update(learner, rollout, belief_coef, gram))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"mdp-n10, {learner.config.ppo.steps_per_update:,} steps an update, {args.threads} thread(s), "
          f"torch {torch.__version__}; median of {args.rounds} updates each:")
    for name, value in median.items():
        print(f"  {name:24s} {value:6.2f} s an update")
    base, direct, gram = median.values()
    print(f"  belief's cost: direct form {direct / base:.2f}x, Gram form {gram / base:.2f}x the update without it;"
          f" the Gram form is {direct / gram:.2f}x faster than the direct")


if __name__ == "__main__":
    main()
