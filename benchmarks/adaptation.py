"""Adaptation against its yardsticks: RL², an oracle and a blind policy, per episode index of a trial.

For a preset and each training seed, three agents are meta-trained with the same network, budget and
hyperparameters (the preset's, with any --set overrides):
- RL²: as the preset says;
- oracle: the task (goal, velocity, direction) appended to every observation (``reveal_task``);
- blind: no memory and no previous action, reward or done input (``memoryless``).
All three are evaluated on the same held-out tasks (the preset's eval seed), and the gap closed per
episode index, (RL² − blind) / (oracle − blind), is printed with a paired-bootstrap 95% interval
(``rl2.yardsticks``). Each agent is saved under --out (default runs/adaptation) and reused by later
calls with --reuse; the figures go to PRESET-sSEED.json there.

    python benchmarks/adaptation.py point-nav --seeds 0 1
    python benchmarks/adaptation.py point-nav-sparse --set lr=1e-3 gamma=0.995
    python benchmarks/adaptation.py halfcheetah-dir --minutes 60 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from overrides import parse_overrides  # benchmarks/ is on the path of a script run from it

from rl2 import RL2
from rl2.yardsticks import gap_closed_ci95

ARMS = {"rl2": {}, "oracle": {"reveal_task": True}, "blind": {"memoryless": True}}


def train_arm(preset: str, arm: str, seed: int, overrides: dict, minutes: float | None, path: Path,
              reuse: bool) -> tuple[RL2, float]:
    """One agent trained for the preset's budget (or `minutes` of training), saved to `path`; with `reuse`,
    loaded from there if it is there. Returns it and its training minutes."""
    info = path.with_suffix(".json")
    if reuse and path.is_file() and info.is_file():
        return RL2.load(path), json.loads(info.read_text())["train_minutes"]
    model = RL2(preset, seed=seed, **ARMS[arm], **overrides)
    start = time.perf_counter()
    while model.learner.update < model.config.num_updates:
        model.learner.iterate()
        if minutes is not None and time.perf_counter() - start > minutes * 60:
            break
    train_minutes = (time.perf_counter() - start) / 60
    model.save(path)
    info.write_text(json.dumps({"train_minutes": train_minutes, "env_steps": model.learner.env_steps}))
    return model, train_minutes


def measure(preset: str, seed: int, overrides: dict, minutes: float | None, out: Path, reuse: bool,
            trials: int | None) -> dict:
    results, figures = {}, {"preset": preset, "seed": seed, "overrides": overrides, "arms": {}}
    for arm in ARMS:
        model, train_minutes = train_arm(preset, arm, seed, overrides, minutes, out / f"{preset}-{arm}-s{seed}.pt",
                                         reuse)
        result = model.evaluate(trials=trials or model.config.run.eval_trials)
        results[arm] = result
        summary = result.summary()
        figures["arms"][arm] = {"train_minutes": train_minutes, "env_steps": model.learner.env_steps,
                                "episode_returns": summary["episode_return_mean"],
                                "episode_returns_ci95": summary["episode_return_ci95"],
                                **({"episode_success_rate": summary["episode_success_rate"]}
                                   if "episode_success_rate" in summary else {})}
        print(f"  {arm:6s} {train_minutes:5.1f} min, {model.learner.env_steps:,} env steps", flush=True)
    point, low, high = gap_closed_ci95(*(results[arm].episode_returns for arm in ("rl2", "oracle", "blind")))
    figures["gap_closed"] = {"mean": point.tolist(), "low": low.tolist(), "high": high.tolist()}
    figures["trials"] = int(results["rl2"].episode_returns.shape[0])
    return figures


def print_table(figures: dict) -> None:
    arms = figures["arms"]
    print(f"\n{figures['preset']}, training seed {figures['seed']}, {figures['trials']} held-out tasks")
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
    parser.add_argument("--minutes", type=float, default=None, help="cap each agent's training at this many minutes")
    parser.add_argument("--trials", type=int, default=None, help="held-out tasks (default: the preset's eval_trials)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/adaptation"))
    parser.add_argument("--reuse", action="store_true", help="load agents saved by an earlier call")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = parse_overrides(args.set)
    for seed in args.seeds:
        print(f"{args.preset}, seed {seed} ({args.threads} threads, torch {torch.__version__})", flush=True)
        figures = measure(args.preset, seed, overrides, args.minutes, args.out, args.reuse, args.trials)
        (args.out / f"{args.preset}-s{seed}.json").write_text(json.dumps(figures, indent=1))
        print_table(figures)


if __name__ == "__main__":
    main()
