"""A uniformly random policy on a run's held-out tasks: the floor its evaluation is measured against.

    python benchmarks/random_policy.py RUN_DIR [--trials 32]

Evaluates a policy whose action logits are all zero (every action equally likely; Box actions: a
standard normal in the normalized box, clipped to it, whatever the state) with the run's config
and eval_seed, so on the same held-out tasks and env seeds as the evaluation at the end of
``rl2 train``, and prints the mean return of each episode index beside the run's ``eval.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rl2.evaluate import evaluate
from rl2.learner import build_policy
from rl2.train import load_run_config


def per_episode(summary: dict) -> str:
    means, cis = summary["episode_return_mean"], summary["episode_return_ci95"]
    return ", ".join(f"{m:.1f} ± {c:.1f}" for m, c in zip(means, cis))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--trials", type=int, default=None, help="held-out trials (default: the run's eval_trials)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_run_config(args.run_dir)
    trials = args.trials or config.run.eval_trials
    policy = build_policy(config)
    with torch.no_grad():  # zero logits: the uniform policy, whatever the state
        policy.policy_head.weight.zero_()
        policy.policy_head.bias.zero_()
        if policy.continuous:  # Box actions: N(0, 1) in the normalized box, clipped to it (the untrained noise)
            policy.log_std.zero_()
    start = time.perf_counter()
    result = evaluate(policy, config.task, trials, config.run.eval_seed).summary()
    print(f"random policy, {trials} held-out trials ({time.perf_counter() - start:.0f} s): {per_episode(result)}")
    trained = args.run_dir / "eval.json"
    if trained.is_file():
        run = json.loads(trained.read_text())
        print(f"the run, {run['trials']} held-out trials: {per_episode(run)}")


if __name__ == "__main__":
    main()
