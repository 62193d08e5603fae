"""Switching bandits, the full pipeline into a run directory: train with logs and checkpoints,
then the baselines, the figures and the HTML report, as `rl2 train` does.

    python examples/switching.py                        # 3M env steps, about 6 minutes on 2 CPU cores
    python examples/switching.py --total-steps 240000 --run-dir runs/switching-example

Before every pull, with probability 0.05, all arm probabilities are redrawn: the agent must notice
changes and explore again. Sliding-window UCB and discounted Thompson sampling are its peers.
"""

import argparse
from pathlib import Path

from rl2 import preset_config
from rl2.compare import compare_baselines
from rl2.train import format_eval, train, write_baselines, write_figures, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-steps", type=int, default=3_000_000)
    parser.add_argument("--run-dir", type=Path, default=Path("runs/switching-example"))
    parser.add_argument("--trials", type=int, default=1000, help="held-out trials to evaluate")
    args = parser.parse_args()

    config = preset_config("switching-n100-k5", total_steps=args.total_steps, eval_trials=args.trials)
    _, result = train(config, args.run_dir, overwrite=True)  # config.json, metrics.csv, tb/, checkpoints/
    print(format_eval(result.summary()))

    baselines = compare_baselines(config.task, config.run.eval_trials, config.run.eval_seed)
    write_baselines(args.run_dir, baselines, config.run.eval_trials, config.run.eval_seed)
    for row in baselines:
        mean, ci = row.mean_ci
        print(f"{row.name:>28}: {mean:6.2f} ± {ci:.2f}")
    print("figures:", *write_figures([args.run_dir], args.run_dir / "plots"))
    print("report:", write_report(args.run_dir, args.run_dir / "report.html"))


if __name__ == "__main__":
    main()
