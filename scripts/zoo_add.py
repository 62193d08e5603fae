"""Adds a finished run to the zoo: its weights-only checkpoint under zoo/ and its manifest entry.

    python scripts/zoo_add.py runs/zoo-train/bandit-n10-k5-s0 --name bandit-n10-k5 --paper 6.7 \\
        --command "rl2 train bandit-n10-k5 --seed 0 --threads 1 --run-dir runs/zoo-train/bandit-n10-k5-s0"

The held-out figure is the run's own end-of-training evaluation (eval.json: its eval_trials tasks of its
eval_seed, the tasks the baselines of `rl2 compare` and `rl2 paper-tables` use); the training time is
the run's logged wall time (metrics.csv, summed over its resumes). A run warm-started from another
local run (``--init-from RUN_DIR``) is one stage of the agent's training: the steps and minutes of every
earlier stage are added, and ``--command`` should give all the stages. A chain that starts from another
zoo agent counts only its own stages (that agent's entry counts its own); one that starts from the
very agent it replaces (``--init-from zoo:NAME`` added as NAME) carries that entry's steps and minutes
over, since the entry it would be counted in is gone. An entry of the same name is replaced.

A chain from a zoo agent records that agent's name and the SHA-256 of the file it started from
(``starts_from``, from the first stage's warm_start.json; a run older than that record takes the file
under that name now, so add it before that agent is replaced). Give a --command whose first stage names it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rl2.atomic import write_atomic
from rl2.checkpoint import list_checkpoints, load_checkpoint, write_checkpoint
from rl2.config import Config
from rl2.presets import PRESETS
from rl2.zoo import (INDEX, ZooEntry, load_index, logged_training, manifest_json, sha256_of, weights_only, zoo_dir,
                     zoo_origin)


def refuse(message: str) -> None:
    """Bad input: one line on stderr, named for the script that runs (this one or zoo_source.py), and exit
    code 2, as the CLI does; nothing is written."""
    print(f"{Path(sys.argv[0]).stem}: {message}", file=sys.stderr)
    sys.exit(2)


def earlier_stages(config: Config) -> tuple[list[Path], str]:
    """The local runs this one warm-started from, nearest first, and the zoo agent the chain started
    from ("zoo:NAME", or "" for a chain from scratch): a zoo agent is shipped and counted on its own,
    so a chain stops there."""
    stages, source = [], config.run.init_from
    while source and not source.startswith("zoo:"):
        run_dir = Path(source)
        if run_dir.is_file():  # a checkpoint file: RUN_DIR/checkpoints/ckpt-*.pt
            run_dir = run_dir.parent.parent
        if not (run_dir / "metrics.csv").is_file():
            refuse(f"the warm start's source {source} is not a run directory here; its cost is unknown")
        stages.append(run_dir)
        source = Config.from_dict(json.loads((run_dir / "config.json").read_text())).run.init_from
    return stages, source


def source_checksum(first_stage: Path, origin: str, entries: list[ZooEntry]) -> str:
    """The SHA-256 of the zoo file the chain's first stage started from: as that run recorded it when it
    started (warm_start.json), or, for a run of an rl2 that did not record it, the file under that name now."""
    record = first_stage / "warm_start.json"
    if record.is_file():
        try:
            recorded = json.loads(record.read_text())
            if recorded["init_from"] == origin:
                return str(recorded["sha256"])
        except (ValueError, KeyError, TypeError):
            refuse(f"{record} is unreadable: not what rl2 train writes")
    source = next((e for e in entries if e.name == origin.removeprefix("zoo:")), None)
    if source is None:
        refuse(f"the chain starts from {origin}, which is not in the zoo at {zoo_dir()}")
    return source.sha256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True, help="the agent's name in the zoo (zoo:NAME)")
    parser.add_argument("--command", required=True, help="the exact command that trained it")
    parser.add_argument("--preset", default=None,
                        help="its preset (default: --name without a training seed's -sN suffix)")
    parser.add_argument("--paper", type=float, default=None, help="the paper's RL² figure for this setting")
    parser.add_argument("--notes", default="")
    parser.add_argument("--yardsticks", type=Path, default=None,
                        help="the figures of benchmarks/adaptation.py whose RL² arm is this run (PRESET-sSEED.json)")
    args = parser.parse_args()

    preset = args.preset or re.sub(r"-s\d+$", "", args.name)  # mdp-n10-s1 is another seed of mdp-n10
    if preset not in PRESETS:
        refuse(f"no preset named {preset}: give --preset")
    state = load_checkpoint(list_checkpoints(args.run_dir / "checkpoints")[-1])
    config = Config.from_dict(state["config"])
    if state["learner"]["update"] < config.num_updates:
        refuse(f"{args.run_dir} stopped at update {state['learner']['update']} of {config.num_updates}")
    evaluation = json.loads((args.run_dir / "eval.json").read_text())
    stages, origin = earlier_stages(config)
    env_steps, train_seconds = 0, 0.0
    for run_dir in [args.run_dir, *stages]:
        steps, seconds = logged_training(run_dir)
        env_steps, train_seconds = env_steps + steps, train_seconds + seconds
    directory = zoo_dir()
    entries = load_index(directory)
    replaced = next((e for e in entries if e.name == args.name), None)
    starts_from = None
    if origin:
        name = origin.removeprefix("zoo:")
        if zoo_origin(args.command) != name:
            refuse(f"the chain starts from {origin}, but --command's first stage does not say --init-from {origin}")
        starts_from = {"name": name, "sha256": source_checksum((stages or [args.run_dir])[-1], origin, entries)}
    if origin == f"zoo:{args.name}" and replaced is not None:  # a further stage of the agent it replaces
        env_steps, train_seconds = env_steps + replaced.env_steps, train_seconds + 60 * replaced.train_minutes
    yardsticks = None
    if args.yardsticks is not None:
        figures = json.loads(args.yardsticks.read_text())
        if Path(figures["arms"]["rl2"]["run_dir"]).resolve() != args.run_dir.resolve():
            refuse(f"{args.yardsticks} measured {figures['arms']['rl2']['run_dir']}, not {args.run_dir}")
        yardsticks = {"trials": figures["trials"], "gap_closed": figures["gap_closed"],
                      **{arm: {key: figures["arms"][arm][key] for key in figures["arms"][arm]
                               if key.startswith("episode_") or key in ("train_minutes", "env_steps")}
                         for arm in ("oracle", "blind")}}
    success = ({"episode_success_rate": evaluation["episode_success_rate"]}
               if "episode_success_rate" in evaluation else {})
    directory.mkdir(parents=True, exist_ok=True)
    path = write_checkpoint(directory / f"{args.name}.pt", weights_only(state))
    entry = ZooEntry(
        name=args.name, preset=preset, path=path.name, sha256=sha256_of(path), command=args.command,
        env_steps=env_steps, train_minutes=round(train_seconds / 60, 2),
        threads=config.machine.threads, seed=config.run.seed,
        eval={"mean": evaluation["mean_trial_return"], "ci95": evaluation["ci95"], "trials": evaluation["trials"],
              "seed": config.run.eval_seed, "episode_returns": evaluation["episode_return_mean"], **success},
        paper=args.paper, notes=args.notes, yardsticks=yardsticks, starts_from=starts_from)
    entries = [e for e in entries if e.name != args.name] + [entry]
    write_atomic(directory / INDEX, manifest_json(sorted(entries, key=lambda e: e.name)))
    print(f"zoo:{args.name}: {entry.eval['mean']:.3f} ± {entry.eval['ci95']:.3f} on {entry.eval['trials']} held-out "
          f"tasks, {entry.env_steps:,} env steps in {entry.train_minutes} min ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
