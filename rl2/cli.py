"""The `rl2` command: train | eval | compare | tune | paper-tables | plot | report | render | presets.

Every config field is a flag (``--hidden 128``, ``--steps-per-update 2400``) whose help is the
field's documentation. Bad input ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from rl2.atomic import write_atomic
from rl2.checkpoint import CheckpointError
from rl2.config import ConfigError, all_fields, check_resumable, describe_bounds, task_fields
from rl2.families import family_of, setting_title
from rl2.memory import check_fits, results_bytes
from rl2.zoo import PREFIX, setting_agents
from rl2.presets import DEFAULT_PRESET, all_presets, preset_config

if TYPE_CHECKING:
    from rl2.distributed import World

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input (reported in one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line instead of usage + message, so they read like the rest."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_flag(parser: argparse.ArgumentParser, name: str, f: Any, help: str) -> None:
    kind = {"int": int, "float": float, "bool": _parse_bool, "str": str}[f.type]
    parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, metavar=f.type.upper(),
                        help=help.replace("%", "%%"))


def _task_flag_help(owners: list[tuple[str, Any]]) -> str:
    """A task field's help: its doc, range and default, said once for the families that share them."""
    from rl2.families import registered
    parts: dict[str, list[str]] = {}
    for family, f in owners:
        parts.setdefault(f"{f.metadata['doc']} [{describe_bounds(f)}; default {f.default}", []).append(family)
    if len(parts) == 1 and len(owners) == len(registered()):
        return next(iter(parts)) + "; task of every family]"
    return "; ".join(f"{text}; task of {', '.join(families)}]" for text, families in parts.items())


def _add_task_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per task field of any family; a flag the chosen family lacks is refused when the config is built."""
    for name, owners in task_fields().items():
        _add_flag(parser, name, owners[0][1], _task_flag_help(owners))


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config field; unset flags stay None so the preset's value is kept."""
    from rl2.families import DEFAULT_FAMILY, registered

    parser.add_argument("--family", dest="family", default=None, metavar="NAME",
                        help=f"the task family, one of {', '.join(f.name for f in registered())} "
                             f"[task; default: the preset's, else {DEFAULT_FAMILY}]")
    _add_task_flags(parser)
    for name, (group, f) in all_fields().items():
        if group != "task":
            _add_flag(parser, name, f, f"{f.metadata['doc']} [{group}; {describe_bounds(f)}; default {f.default}]")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rl2", description="RL²: meta-train recurrent agents that learn to learn.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = sub.add_parser("train", help="meta-train an agent (default preset: %s)" % DEFAULT_PRESET)
    train.add_argument("preset", nargs="?", default=None,
                       help=f"preset name (see `rl2 presets`; default {DEFAULT_PRESET})")
    train.add_argument("--run-dir", type=Path, default=None, help="run directory (default runs/PRESET-TIMESTAMP)")
    train.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                       help="continue a run from its newest checkpoint (machine flags and a longer --total-steps "
                            "may change, nothing else)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--no-baselines", action="store_true",
                       help="skip the comparison with classic baselines at the end")
    _add_config_flags(train)

    ev = sub.add_parser("eval", help="evaluate a trained run on fresh held-out tasks")
    ev.add_argument("run_dir", type=Path, help="run directory, checkpoint file, or zoo:NAME (a shipped agent)")
    ev.add_argument("--trials", type=int, default=1000, help="held-out trials (default 1000)")
    ev.add_argument("--seed", type=int, default=None, help="seed of the held-out tasks (default: the run's eval_seed)")
    ev.add_argument("--greedy", action="store_true", help="take the most likely action instead of sampling")
    ev.add_argument("--output", type=Path, default=None, help="JSON file for the results (default RUN_DIR/eval.json)")
    ev.add_argument("--device", default=None, choices=("auto", "cpu", "cuda"),
                    help="where to evaluate (default: the run's device where it exists here, else auto)")

    cmp = sub.add_parser("compare", help="classic baselines and trained runs on the same held-out tasks")
    cmp.add_argument("family", help="task family (one with classic baselines: see `rl2 presets`)")
    _add_task_flags(cmp)  # the setting: the family's own fields, at their defaults where not given
    cmp.add_argument("--runs", type=Path, nargs="*", default=[], metavar="RUN_DIR",
                     help="trained runs to include: run directories, checkpoints or zoo:NAME")
    cmp.add_argument("--tasks", type=int, default=1000, help="held-out tasks (default 1000)")
    cmp.add_argument("--seed", type=int, default=1_000_003, help="seed of the held-out tasks")

    tune = sub.add_parser("tune", help="tune the baselines' hyperparameters on training tasks and store them")
    tune.add_argument("settings", nargs="*", default=None, metavar="SETTING",
                      help="settings such as bandit-n100-k5 or mdp-n10 (default: every preset)")
    tune.add_argument("--tasks", type=int, default=1000, help="training tasks per grid point (default 1000)")
    tune.add_argument("--seed", type=int, default=7, help="seed of the training tasks (never the test seed)")
    tune.add_argument("--output", type=Path, default=None, help="JSON file (default: the cache directory's)")

    tables = sub.add_parser("paper-tables", help="every cell of the paper's Tables 1 and 2, measured beside published")
    tables.add_argument("--tasks", type=int, default=1000, help="held-out tasks per setting (default 1000)")
    tables.add_argument("--runs", type=Path, nargs="*", default=[], metavar="RUN_DIR",
                        help="trained runs (run directories, checkpoints or zoo:NAME): each fills the RL² cell "
                             "of the setting it was trained on")
    tables.add_argument("--zoo", action="store_true",
                        help="fill the RL² cells with the zoo's agents (runs given with --runs take precedence)")
    tables.add_argument("--seed", type=int, default=1_000_003, help="seed of the held-out tasks")
    tables.add_argument("--output", type=Path, default=Path("paper_tables.md"),
                        help="Markdown file (default paper_tables.md)")

    plot = sub.add_parser("plot", help="PNG figures of runs: learning curve, adaptation curve, regret")
    plot.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                      help="runs of one setting (several seeds are drawn as mean and range)")
    plot.add_argument("--out", type=Path, default=None,
                      help="folder for the PNG files (default RUN_DIR/plots for one run, ./plots for several)")

    report = sub.add_parser("report", help="one self-contained HTML page: config, evaluation vs baselines, figures")
    report.add_argument("run_dir", type=Path, help="run directory")
    report.add_argument("--output", type=Path, default=None, help="HTML file (default RUN_DIR/report.html)")

    render = sub.add_parser("render", help="picture of a maze run's trial: the agent's path in each episode")
    render.add_argument("run_dir", type=Path, help="run directory, checkpoint file or zoo:NAME of a maze run")
    render.add_argument("--out", type=Path, default=None,
                        help="PNG file (default RUN_DIR/trial.png; NAME.png for zoo:NAME)")
    render.add_argument("--trial", type=int, default=0, help="which held-out maze (default 0, the first)")
    render.add_argument("--episodes", type=int, default=None, help="episodes in the trial (default: the run's n)")
    render.add_argument("--large", action="store_true", help="a large held-out maze instead of a small one")
    render.add_argument("--seed", type=int, default=None,
                        help="seed of the held-out mazes (default: the run's eval_seed)")
    render.add_argument("--greedy", action="store_true", help="take the most likely action instead of sampling")

    sub.add_parser("presets", help="list the presets")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields given as flags (``--no-progress`` and ``--no-baselines`` are the machine's
    progress and baselines set false, so that a resumed run keeps them)."""
    names = ["family", *all_fields()]
    out = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    for flag in ("progress", "baselines"):
        if getattr(args, f"no_{flag}", False):
            out[flag] = False
    return out


def cmd_train(args: argparse.Namespace) -> int:
    from rl2.distributed import launched

    # Under torchrun this runs on every rank; the process group is up for the whole command.
    with launched() as world:
        return _train(args, world)


def _train(args: argparse.Namespace, world: World) -> int:
    from rl2.train import figure_pngs, format_eval, load_run_config, train, write_baselines, write_figures, write_report

    overrides = _overrides(args)
    if args.resume is not None:
        if args.preset is not None or args.run_dir is not None:
            raise UsageError("rl2 train: --resume takes the run's own config: give no preset or --run-dir with it")
        run_dir = args.resume
        stored = world.on_main(lambda: load_run_config(run_dir))
        # The machine may change and the budget grow; any other change is refused in one line.
        config = stored.replace(**overrides)
        try:
            check_resumable(stored, config)
        except ConfigError as e:
            raise UsageError(f"rl2 train: cannot resume {run_dir} with a {e}") from None
    else:
        preset = args.preset or DEFAULT_PRESET
        config = preset_config(preset, **overrides)
        # Rank 0's clock names the run: the ranks' clocks may straddle a second.
        run_dir = args.run_dir or world.on_main(lambda: Path("runs") / f"{preset}-{datetime.now():%Y%m%d-%H%M%S}")
    world.check(config)  # refuse a batch that does not split over the ranks, or an unusable device,
    world.device(config.machine.device)  # before anything is written
    say = print if world.is_main else _quiet
    _, result = train(config, run_dir, resume=args.resume is not None, overwrite=args.overwrite, world=world)
    say(f"evaluation on held-out tasks ({run_dir / 'eval.json'}):")
    say(format_eval(result.summary()))
    # No classic baselines navigate mazes from pixels or solve Gymnasium envs: their families have none.
    if config.machine.baselines and world.is_main and family_of(config.task).baselines is not None:
        from rl2.compare import Row, compare_baselines, format_table

        print("computing the classic baselines on the same held-out tasks ...", flush=True)
        _one_thread()
        baselines = compare_baselines(config.task, config.run.eval_trials, config.run.eval_seed)
        write_baselines(run_dir, baselines, config.run.eval_trials, config.run.eval_seed)
        print(format_table([Row("RL² (this run)", result, "agent")] + baselines,
                           f"{setting_title(config.task)}, {config.run.eval_trials} held-out tasks:"))
    if world.is_main:  # rank 0 owns the run directory's files
        pngs = figure_pngs([run_dir])  # rendered once, for the PNG files and the report
        print("figures: " + ", ".join(str(p) for p in write_figures([run_dir], run_dir / "plots", pngs)))
        print(f"report: {write_report(run_dir, run_dir / 'report.html', pngs)}")
    return 0


def _quiet(*args: Any, **kwargs: Any) -> None:
    """print for ranks other than 0: they say nothing."""


def cmd_compare(args: argparse.Namespace) -> int:
    from rl2.api import RL2
    from rl2.compare import Row, baselines_for, compare_baselines, format_table
    from rl2.config import Config, PPOConfig, make_task
    from rl2.families import family_named, registered

    _one_thread()
    family = family_named(args.family)
    if family.baselines is None:
        with_baselines = ", ".join(f.name for f in registered() if f.baselines is not None)
        raise UsageError(f"rl2 compare: the {family.name} family has no classic baselines (families with them: "
                         f"{with_baselines})")
    given = {name: getattr(args, name) for name in task_fields() if getattr(args, name) is not None}
    task = make_task(family.name, **given)
    Config(task=task, ppo=PPOConfig(steps_per_update=task.trial_length, minibatches=1)).validated()  # ranges
    if args.tasks < 2:
        raise UsageError(f"rl2 compare: --tasks must be >= 2, got {args.tasks}")
    methods = len(baselines_for(task)) + len(args.runs)
    check_fits(results_bytes(args.tasks, task.n, methods), f"rl2 compare: --tasks {args.tasks}")
    rows = []
    for run_dir in args.runs:
        _check_source(run_dir, "compare")
        model = RL2.load(run_dir)
        if model.config.task != task:
            raise UsageError(f"rl2 compare: {run_dir} was trained on another setting ({model.config.task})")
        rows.append(Row(f"RL² ({run_dir})", model.evaluate(trials=args.tasks, seed=args.seed), "agent"))
    rows += compare_baselines(task, args.tasks, args.seed)
    print(format_table(rows, f"{setting_title(task)}, {args.tasks} held-out tasks:"))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rl2.api import RL2
    from rl2.train import format_eval

    if args.trials < 1:
        raise UsageError(f"rl2 eval: --trials must be >= 1, got {args.trials}")
    _check_source(args.run_dir, "eval")
    model = RL2.load(str(args.run_dir), device=args.device)
    check_fits(results_bytes(args.trials, model.config.task.n), f"rl2 eval: --trials {args.trials}")
    summary = model.evaluate(trials=args.trials, seed=args.seed, greedy=args.greedy).summary()
    output = args.output or _default_output(args.run_dir, "eval.json", ".eval.json")
    output.write_text(json.dumps(summary, indent=2) + "\n")
    print(format_eval(summary))
    print(f"written to {output}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from rl2.api import RL2
    from rl2.evaluate import held_out_settings, sample_test_tasks
    from rl2.render import record_trial, trial_strip, write_png

    _check_source(args.run_dir, "render")
    out = args.out or _default_output(args.run_dir, "trial.png", ".png")
    if out.suffix.lower() != ".png":
        raise UsageError(f"rl2 render: --out must be a .png file, got {out}")
    if not out.resolve().parent.is_dir():
        raise UsageError(f"rl2 render: cannot write {out}: its folder does not exist")
    if args.trial < 0 or (args.episodes is not None and args.episodes < 1):
        raise UsageError("rl2 render: --trial must be >= 0 and --episodes >= 1")
    model = RL2.load(args.run_dir)
    task = model.config.task
    if not family_of(task).renders:
        raise UsageError(f"rl2 render: {args.run_dir} holds a {task.family!r} run; render draws maze runs")
    settings = list(held_out_settings(task).values())
    if args.large and len(settings) < 2:
        raise UsageError("rl2 render: this run has no large test mazes (large_maze_size 0, or the top-down view)")
    setting = dataclasses.replace(settings[1 if args.large else 0], n=args.episodes or task.n)
    seed = model.config.run.eval_seed if args.seed is None else args.seed
    device = model.policy.policy_head.weight.device
    mazes = sample_test_tasks(setting, args.trial + 1, seed, device)
    maze = type(mazes)(**{name: value[args.trial :] for name, value in vars(mazes).items()})
    trial = record_trial(model.policy, setting, maze, torch.Generator(device).manual_seed(seed + 1), args.greedy)
    write_png(out, trial_strip(trial))
    for i, (path, reached) in enumerate(zip(trial.episodes, trial.reached), 1):
        print(f"episode {i}: {len(path) - 1} steps, {'reached the target' if reached else 'cut before the target'}")
    print(f"written to {out}")
    return 0


def _default_output(source: Path, in_run: str, suffix: str) -> Path:
    """Where `rl2 eval` or `rl2 render` writes by default: `in_run` inside a run directory, the checkpoint's
    name with `suffix` beside it, or NAME`suffix` in the working folder for ``zoo:NAME`` (the zoo stays as
    shipped)."""
    if str(source).startswith(PREFIX):
        return Path(str(source).removeprefix(PREFIX) + suffix)
    return source / in_run if source.is_dir() else source.with_suffix(suffix)


def _check_source(source: Path, command: str) -> None:
    """Refuse, in one line, a run directory or checkpoint that is not there (a ``zoo:NAME`` is looked up
    where it is loaded, which names the agents that exist)."""
    if not str(source).startswith(PREFIX) and not source.exists():
        raise UsageError(f"rl2 {command}: {source} does not exist")


def _one_thread() -> None:
    """Baselines are loops of small tensor ops: one thread is fastest and never oversubscribes."""
    import torch

    torch.set_num_threads(1)


def cmd_tune(args: argparse.Namespace) -> int:
    from rl2.cache import cache_dir
    from rl2.compare import setting_key, tune_setting

    _one_thread()
    tunable = [name for name in all_presets() if family_of(preset_config(name).task).baselines is not None]
    settings = args.settings or tunable
    unknown = [s for s in settings if s not in tunable]
    if unknown:
        raise UsageError(f"rl2 tune: {unknown[0]!r} is no setting with classic baselines (known: {', '.join(tunable)})")
    if args.tasks < 1:
        raise UsageError(f"rl2 tune: --tasks must be >= 1, got {args.tasks}")
    longest = max(preset_config(name).task.n for name in settings)
    check_fits(results_bytes(args.tasks, longest), f"rl2 tune: --tasks {args.tasks}")
    output = args.output or cache_dir() / "tuned_baselines.json"
    results = json.loads(output.read_text()) if output.is_file() else {}
    for name in settings:
        task = preset_config(name).task
        key = setting_key(task)  # where `compare` looks (a switching preset's key names its hazard)
        results[key] = tune_setting(task, args.tasks, args.seed)
        print(f"{key}: {json.dumps(results[key])}", flush=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"written to {output}")
    return 0


def cmd_paper_tables(args: argparse.Namespace) -> int:
    from rl2.api import RL2
    from rl2.compare import paper_tables

    _one_thread()
    if args.tasks < 2:
        raise UsageError(f"rl2 paper-tables: --tasks must be >= 2, got {args.tasks}")
    longest = max(config.task.n for config in map(preset_config, all_presets()))
    check_fits(results_bytes(args.tasks, longest, methods=8), f"rl2 paper-tables: --tasks {args.tasks}")
    if not args.output.resolve().parent.is_dir():
        raise UsageError(f"rl2 paper-tables: cannot write {args.output}: its folder does not exist")
    runs = [(f"zoo:{entry.name}", RL2.load(f"zoo:{entry.name}")) for entry in setting_agents()] if args.zoo else []
    for run_dir in args.runs:
        _check_source(run_dir, "paper-tables")
        runs.append((run_dir, RL2.load(run_dir)))
    text = paper_tables(args.tasks, args.seed, runs,
                        progress=lambda s: print(f"  {s} ...", file=sys.stderr, flush=True))
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")
    return 0


def _ensure_baselines(run_dirs: list[Path]) -> None:
    """Runs trained with --no-baselines get them now, on their own held-out tasks, so figures can show them."""
    from rl2.compare import compare_baselines
    from rl2.train import load_run_config, write_baselines

    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise UsageError(f"rl2: {run_dir} is not a run directory")
        config = load_run_config(run_dir)
        if family_of(config.task).baselines is None:  # mazes, Gymnasium envs
            continue
        if (run_dir / "eval.json").is_file() and not (run_dir / "baselines.json").is_file():
            print(f"computing the classic baselines on the held-out tasks of {run_dir} ...", flush=True)
            _one_thread()
            rows = compare_baselines(config.task, config.run.eval_trials, config.run.eval_seed)
            write_baselines(run_dir, rows, config.run.eval_trials, config.run.eval_seed)


def cmd_plot(args: argparse.Namespace) -> int:
    from rl2.train import write_figures

    _ensure_baselines(args.run_dirs)
    out = args.out or (args.run_dirs[0] / "plots" if len(args.run_dirs) == 1 else Path("plots"))
    for path in write_figures(args.run_dirs, out):
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from rl2.train import write_report

    if not args.run_dir.is_dir():  # before the output's folder, which defaults to inside it
        raise UsageError(f"rl2: {args.run_dir} is not a run directory")
    output = args.output or args.run_dir / "report.html"
    if not output.resolve().parent.is_dir():
        raise UsageError(f"rl2 report: cannot write {output}: its folder does not exist")
    _ensure_baselines([args.run_dir])
    print(write_report(args.run_dir, output))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    for name, fields in all_presets().items():
        marker = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name}{marker}: " + ", ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "compare": cmd_compare, "tune": cmd_tune,
            "paper-tables": cmd_paper_tables, "plot": cmd_plot, "report": cmd_report, "render": cmd_render,
            "presets": cmd_presets}


def _out_of_memory(error: Exception) -> bool:
    """An allocator's refusal (host or GPU), as opposed to any other runtime error."""
    text = str(error)
    return isinstance(error, MemoryError) or "can't allocate memory" in text or "out of memory" in text


def main(argv: Sequence[str] | None = None) -> int:
    from rl2.distributed import env_rank
    from rl2.envs import EnvError
    from rl2.plots import RunLogError
    from rl2.train import Interrupted, RunDirError, TrainingFault

    # Under torchrun every rank meets the same errors (rank 0's file-system errors are handed to the
    # others): rank 0 reports them, the others exit with the same code in silence.
    say = functools.partial(print, file=sys.stderr) if env_rank() == 0 else _quiet
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, EnvError, CheckpointError, RunDirError, RunLogError) as e:
        say(f"rl2: error: {e}" if not str(e).startswith("rl2") else f"{e}")
        return EXIT_BAD_INPUT
    except TrainingFault as e:
        say(f"rl2: training stopped: {e}")
        return 1
    except Interrupted as e:
        say(f"\nrl2: interrupted by {e}")
        return e.exit_code
    except KeyboardInterrupt:
        say("\nrl2: interrupted")
        return 130
    except (MemoryError, RuntimeError) as e:  # an allocation rl2.memory's estimates did not foresee
        if not _out_of_memory(e):
            raise
        say(f"rl2: error: out of memory ({(str(e).splitlines() or [type(e).__name__])[0][:120]}): ask for less "
            "(--hidden, --steps-per-update, --trials, --tasks)")
        return EXIT_BAD_INPUT
    except OSError as e:  # an unreadable input or unwritable output path named by the user
        say(f"rl2: error: {e.strerror or e}: {e.filename}")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
