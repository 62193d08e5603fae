"""Time to quality: wall-clock minutes of meta-training until the held-out evaluation reaches a target.

Protocol (issue 6): a shipped preset, trained from scratch; every `--eval-every` seconds of training
the frozen agent is evaluated on the 1,000 held-out tasks of the preset's eval seed (the same tasks
as `rl2 eval`). The clock counts training only (collection + updates); evaluation time is reported
apart. Targets: bandits n = 100, k = 5: 77.0 (98% of the paper's Gittins figure) within 15 minutes;
MDPs n = 10: 150 within 30 minutes, on 2 CPU cores.

    python benchmarks/time_to_quality.py                      # both settings
    python benchmarks/time_to_quality.py bandit-n100-k5 --set gamma=1.0 --budget-minutes 10
    python benchmarks/time_to_quality.py bandit-n100-k5 --init-from zoo:bandit-n10-k5   # warm against scratch

With `--init-from`, each preset is trained twice in this process, from scratch (the peer) and from
the given weights (a warm start: fresh optimizer, generators and counters), and the ratio of their
minutes to the target is printed. `--save-dir DIR` writes each arm's final agent there
(`PRESET-scratch.pt`, `PRESET-warm.pt`: checkpoints that `RL2.load` and `rl2 eval` read), so that two
arms run in separate processes can be compared task by task afterwards.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch
from overrides import parse_overrides  # benchmarks/ is on the path of a script run from it

from rl2 import preset_config
from rl2.evaluate import EvalResult, NavigationResult, evaluate, mean_ci95
from rl2.checkpoint import write_checkpoint
from rl2.learner import Learner
from rl2.train import RunDirError, checkpoint_state, make_writable_dir
from rl2.zoo import warm_start_weights

TARGETS = {"bandit-n100-k5": (77.0, 15.0), "mdp-n10": (150.0, 30.0)}


def own_setting(result: EvalResult | NavigationResult) -> EvalResult:
    """The evaluation on the training setting: a maze run is also tested on large mazes, listed after
    its own size."""
    return next(iter(result.by_maze.values())) if isinstance(result, NavigationResult) else result


def time_to_quality(preset: str, target: float, budget_min: float, eval_every_s: float, trials: int,
                    overrides: dict, init_from: str = "", save_to: Path | None = None) -> dict:
    config = preset_config(preset, **overrides, init_from=init_from)
    learner = Learner(config, "cpu")
    if init_from:
        _, weights, source_config = warm_start_weights(init_from)
        learner.warm_start(weights, init_from, source_config)
    train_s, eval_s, best, reached = 0.0, 0.0, float("-inf"), None
    next_eval = eval_every_s
    while train_s < budget_min * 60 and learner.update < config.num_updates:
        start = time.perf_counter()
        learner.iterate()
        train_s += time.perf_counter() - start
        if train_s >= next_eval or learner.update == config.num_updates:
            next_eval += eval_every_s
            start = time.perf_counter()
            mean, ci = mean_ci95(own_setting(evaluate(learner.policy, config.task, trials,
                                                      config.run.eval_seed)).trial_returns)
            eval_s += time.perf_counter() - start
            best = max(best, mean)
            print(f"  {train_s / 60:5.1f} min  {learner.env_steps:>10,} env steps  held-out {mean:7.2f} ± {ci:.2f}",
                  flush=True)
            if mean >= target:
                reached = train_s / 60
                break
    if save_to is not None:
        write_checkpoint(save_to, checkpoint_state(learner))
    return {"preset": preset, "target": target, "minutes": reached, "best": best, "env_steps": learner.env_steps,
            "train_minutes": train_s / 60, "eval_minutes": eval_s / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", default=list(TARGETS), help="presets (default: both targets)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="stop training after this (default: 2x target)")
    parser.add_argument("--eval-every", type=float, default=30.0, help="seconds of training between evaluations")
    parser.add_argument("--trials", type=int, default=1000, help="held-out tasks per evaluation")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="config overrides")
    parser.add_argument("--target", type=float, default=None, help="held-out figure to reach (default: the preset's)")
    parser.add_argument("--init-from", default="", metavar="RUN_DIR|CHECKPOINT|zoo:NAME",
                        help="also train from these weights and compare with training from scratch")
    parser.add_argument("--save-dir", type=Path, default=None, metavar="DIR",
                        help="write each arm's final agent to DIR/PRESET-scratch.pt (and PRESET-warm.pt)")
    args = parser.parse_args()
    if args.save_dir:  # before the training, not after it: a folder that cannot be written would waste it
        try:
            make_writable_dir(args.save_dir)  # the run directory's own check: writable, with room for checkpoints
        except RunDirError as e:
            parser.error(f"--save-dir: {e}")
    torch.set_num_threads(args.threads)
    for preset in args.presets:
        target, limit = TARGETS.get(preset, (float("inf"), 15.0))
        target = args.target if args.target is not None else target
        budget = args.budget_minutes or 2 * limit
        limit_note = f" (the issue's limit: {limit:g} min)" if preset in TARGETS else ""
        print(f"{preset}: target {target}, training budget {budget:g} min{limit_note} "
              f"({args.threads} threads, torch {torch.__version__})")
        minutes = {}
        for start in ["", args.init_from] if args.init_from else [""]:
            label = f"from {start}" if start else "from scratch"
            print(f"{preset} {label}:", flush=True)
            save_to = args.save_dir / f"{preset}-{'warm' if start else 'scratch'}.pt" if args.save_dir else None
            r = time_to_quality(preset, target, budget, args.eval_every, args.trials, parse_overrides(args.set), start,
                                save_to)
            verdict = (f"reached {target} after {r['minutes']:.1f} min of training" if r["minutes"] is not None
                       else f"did not reach {target} in {r['train_minutes']:.1f} min (best {r['best']:.2f})")
            print(f"{preset} {label}: {verdict}; {r['env_steps']:,} env steps; evaluations took "
                  f"{r['eval_minutes']:.1f} min more", flush=True)
            minutes[label] = r["minutes"] if r["minutes"] is not None else float("inf")
        if args.init_from:
            scratch, warm = minutes["from scratch"], minutes[f"from {args.init_from}"]
            print(f"{preset}: warm start / scratch, minutes to {target}: {warm:.1f} / {scratch:.1f} = "
                  f"{warm / scratch:.2f}" if scratch < float("inf") else f"{preset}: scratch did not reach {target}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
