"""Adaptation against its yardsticks: RL², an oracle and a blind policy, per episode index of a trial.

For a preset and each training seed, three agents are meta-trained with the same network, budget and
hyperparameters (the preset's, with any --set overrides):
- RL²: as the preset says;
- oracle: the task (goal, velocity, direction) appended to every observation (``reveal_task``);
- blind: no memory and no previous action, reward or done input (``memoryless``).
All three are evaluated on the same held-out tasks (the preset's eval seed), and the gap closed per
episode index, (RL² − blind) / (oracle − blind), is printed with a paired-bootstrap 95% interval
(``rl2.yardsticks``). Each agent is an ordinary `rl2 train` run under --out (default runs/adaptation),
PRESET-ARM-sSEED, trained by the command printed before it: a finished run is reused, an unfinished
one resumed (a long campaign outlives a session). The figures go to PRESET-sSEED.json there, the
form `scripts/zoo_add.py --yardsticks` reads, and the plot of the three arms per episode index to
PRESET-sSEED.png (`--plot-only` redraws it from the JSON). `--greedy` evaluates the same arms taking
their most likely action at every step in place of sampling it (PRESET-sSEED-greedy.json and .png).

    python benchmarks/adaptation.py point-nav --seeds 0 1
    python benchmarks/adaptation.py point-nav-sparse --set lr=1e-3 gamma=0.995
    python benchmarks/adaptation.py halfcheetah-dir --set total_steps=3000000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import torch
from overrides import parse_overrides  # benchmarks/ is on the path of a script run from it

from rl2 import RL2
from rl2.plots import png_bytes, yardstick_curve
from rl2.yardsticks import gap_closed_ci95
from rl2.zoo import logged_training

ARMS = {"rl2": {}, "oracle": {"reveal_task": True}, "blind": {"memoryless": True}}


def train_command(preset: str, arm: str, seed: int, overrides: dict, threads: int, run_dir: Path) -> list[str]:
    """The `rl2 train` command of one arm (resuming its run where it exists)."""
    if run_dir.exists():
        return ["rl2", "train", "--resume", str(run_dir), "--threads", str(threads), "--no-progress"]
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in {**ARMS[arm], **overrides}.items()]
    return ["rl2", "train", preset, "--seed", str(seed), *flags, "--threads", str(threads), "--run-dir", str(run_dir),
            "--no-progress", "--no-baselines"]


def train_arm(preset: str, arm: str, seed: int, overrides: dict, threads: int, out: Path) -> dict:
    """Trains one arm to the end of its budget unless it is there already; returns its run's figures."""
    run_dir = out / f"{preset}-{arm}-s{seed}"
    if not (run_dir / "eval.json").is_file():
        command = train_command(preset, arm, seed, overrides, threads, run_dir)
        print("  $ " + shlex.join(command), flush=True)
        subprocess.run([sys.executable, "-m", "rl2", *command[1:]], check=True)
    _, seconds = logged_training(run_dir)
    model = RL2.load(run_dir)
    return {"run_dir": str(run_dir), "model": model, "train_minutes": seconds / 60,
            "env_steps": model.learner.env_steps}


def measure(preset: str, seed: int, overrides: dict, threads: int, out: Path, trials: int | None,
            greedy: bool = False) -> dict:
    results, figures = {}, {"preset": preset, "seed": seed, "overrides": overrides, "greedy": greedy, "arms": {}}
    for arm in ARMS:
        run = train_arm(preset, arm, seed, overrides, threads, out)
        model = run.pop("model")
        result = model.evaluate(trials=trials or model.config.run.eval_trials, greedy=greedy)
        results[arm] = result
        summary = result.summary()
        figures["arms"][arm] = {**run, "episode_returns": summary["episode_return_mean"],
                                "episode_returns_ci95": summary["episode_return_ci95"],
                                **({"episode_success_rate": summary["episode_success_rate"]}
                                   if "episode_success_rate" in summary else {})}
        print(f"  {arm:6s} {run['train_minutes']:5.1f} min, {run['env_steps']:,} env steps", flush=True)
    point, low, high = gap_closed_ci95(*(results[arm].episode_returns for arm in ("rl2", "oracle", "blind")))
    figures["gap_closed"] = {"mean": point.tolist(), "low": low.tolist(), "high": high.tolist()}
    figures["trials"] = int(results["rl2"].episode_returns.shape[0])
    return figures


def print_table(figures: dict) -> None:
    arms = figures["arms"]
    acting = ", the most likely action at each step" if figures.get("greedy") else ""
    print(f"\n{figures['preset']}, training seed {figures['seed']}, {figures['trials']} held-out tasks{acting}")
    print("| episode | RL² | oracle | blind | gap closed (95% CI) |" +
          (" success RL² / oracle / blind |" if "episode_success_rate" in arms["rl2"] else ""))
    for k, gap in enumerate(figures["gap_closed"]["mean"]):
        cells = [f"{arms[a]['episode_returns'][k]:.2f} ± {arms[a]['episode_returns_ci95'][k]:.2f}" for a in ARMS]
        line = (f"| {k + 1} | " + " | ".join(cells) +
                f" | {gap:.2f} [{figures['gap_closed']['low'][k]:.2f}, {figures['gap_closed']['high'][k]:.2f}] |")
        if "episode_success_rate" in arms["rl2"]:
            line += " " + " / ".join(f"{arms[a]['episode_success_rate'][k]:.0%}" for a in ARMS) + " |"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (default 0)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="config overrides, all arms")
    parser.add_argument("--trials", type=int, default=None, help="held-out tasks (default: the preset's eval_trials)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/adaptation"))
    parser.add_argument("--plot-only", action="store_true", help="redraw the figures of measured seeds, no training")
    parser.add_argument("--greedy", action="store_true",
                        help="evaluate every arm on its most likely actions instead of sampled ones "
                             "(PRESET-sSEED-greedy.json and .png)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = parse_overrides(args.set)
    for seed in args.seeds:
        print(f"{args.preset}, seed {seed} ({args.threads} threads, torch {torch.__version__})", flush=True)
        path = args.out / f"{args.preset}-s{seed}{'-greedy' if args.greedy else ''}.json"
        if args.plot_only:
            if not path.is_file():
                parser.error(f"--plot-only: {path} does not exist (seed {seed} is not measured under {args.out})")
            figures = json.loads(path.read_text())
        else:
            figures = measure(args.preset, seed, overrides, args.threads, args.out, args.trials, args.greedy)
            path.write_text(json.dumps(figures, indent=1))
        print_table(figures)
        path.with_suffix(".png").write_bytes(png_bytes(yardstick_curve(figures)))
        print(f"figure: {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
