"""The meta-training loop with its side effects: run directory, logs, checkpoints, signals, progress.

Run directory layout::

    RUN_DIR/config.json        the resolved config
    RUN_DIR/metrics.csv        one row per update
    RUN_DIR/tb/                TensorBoard event files
    RUN_DIR/checkpoints/       ckpt-XXXXXXXX.pt, the newest `keep_checkpoints`
    RUN_DIR/eval.json          held-out evaluation at the end of training
    RUN_DIR/baselines.json     the classic baselines on the same held-out tasks
    RUN_DIR/plots/*.png        figures (``rl2 plot``), RUN_DIR/report.html (``rl2 report``)
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

import torch

from rl2 import fused_gru
from rl2.atomic import write_atomic
from rl2.checkpoint import FORMAT_VERSION, CheckpointError, list_checkpoints, load_latest, save_checkpoint
from rl2.config import Config, ConfigError, check_resumable
from rl2.distributed import SINGLE, World
from rl2.evaluate import EvalResult, NavigationResult, evaluate
from rl2.learner import IterationResult, Learner, fused_gru_unfit, requested_gru_kernel
from rl2.memory import check_training_fits
from rl2.zoo import warm_start_source

MIN_FREE_BYTES = 50 * 2**20  # a run writes a few MB of checkpoints and logs; refuse below this


class RunDirError(ValueError):
    """The run directory cannot be used as asked (exists, missing, unwritable, full)."""


class TrainingFault(RuntimeError):
    """Training produced a non-finite value; the last good checkpoint is kept."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved. ``exit_code`` is 130 or 143."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def prepare_run_dir(run_dir: Path, config: Config, overwrite: bool) -> None:
    """Creates a fresh run directory with its config, after checking it is writable with free space."""
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise RunDirError(f"run directory {run_dir} exists: pass --resume {run_dir} to continue it or --overwrite")
        shutil.rmtree(run_dir)
    make_writable_dir(run_dir)
    write_atomic(run_dir / "config.json", config.to_json() + "\n")


def make_writable_dir(run_dir: Path) -> None:
    """Creates `run_dir` (and its parents) where missing and checks that it can take checkpoints."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"cannot create run directory {run_dir}: {e.strerror}") from None
    check_writable(run_dir)


def check_writable(run_dir: Path) -> None:
    """Fails now, not after an hour of training, when the run directory cannot take checkpoints."""
    probe = run_dir / ".write-probe"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as e:
        raise RunDirError(f"run directory {run_dir} is not writable: {e.strerror}") from None
    free = shutil.disk_usage(run_dir).free
    if free < MIN_FREE_BYTES:
        raise RunDirError(f"only {free // 2**20} MiB free under {run_dir}: need at least {MIN_FREE_BYTES // 2**20} MiB")


def load_run_config(run_dir: Path) -> Config:
    """The config stored in a run directory."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not an rl2 run directory (no config.json)")
    return Config.from_json(path.read_text())


class MetricsLog:
    """The CSV and TensorBoard logs of a run; on resume, rows past the checkpoint are dropped."""

    def __init__(self, run_dir: Path, resume_update: int, resume_env_steps: int, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.csv"
        self.columns: list[str] | None = None
        if self.path.exists():
            self._truncate_after(resume_update)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: slow to import

            # TensorBoard's step is the env-step count: drop events written after the checkpoint.
            self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=resume_env_steps + 1)

    def _truncate_after(self, update: int) -> None:
        with open(self.path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            return
        self.columns = list(rows[0].keys())
        kept = [r for r in rows if int(r["update"]) <= update]
        text = io.StringIO(newline="")
        w = csv.DictWriter(text, fieldnames=self.columns)
        w.writeheader()
        w.writerows(kept)
        write_atomic(self.path, text.getvalue())

    def write(self, row: dict[str, float]) -> None:
        if self.columns is None:
            self.columns = list(row.keys())
            with open(self.path, "w", newline="") as f:
                csv.DictWriter(f, fieldnames=self.columns).writeheader()
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore").writerow(row)
        if self.writer is not None:
            step = int(row["env_steps"])
            for name, value in row.items():
                if "/" in name:
                    self.writer.add_scalar(name, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def metrics_row(result: IterationResult, elapsed: float, steps_per_s: float) -> dict[str, float]:
    """One CSV row / TensorBoard step: counters, the learner's metrics and throughput."""
    row: dict[str, float] = {"update": result.update, "env_steps": result.env_steps, "time_s": round(elapsed, 3)}
    row.update(result.metrics())
    for i in logged_episodes(len(result.episode_returns)):
        row[f"charts/episode_{i}_return"] = result.episode_returns[i - 1]
        if result.episode_success is not None:
            row[f"charts/episode_{i}_success"] = result.episode_success[i - 1]
        if result.episode_lengths is not None:
            row[f"charts/episode_{i}_length"] = result.episode_lengths[i - 1]
    row["perf/env_steps_per_s"] = steps_per_s
    return row


def logged_episodes(n: int, most: int = 10) -> list[int]:
    """Episode indexes (1-based) given a column: all up to `most`, else `most` spread from 1 to n."""
    if n <= most:
        return list(range(1, n + 1))
    return sorted({round(1 + i * (n - 1) / (most - 1)) for i in range(most)})


def check_finite(learner: Learner, result: IterationResult) -> None:
    """Raises TrainingFault naming the update and the first non-finite metric or parameter."""
    for name, value in result.metrics().items():
        if not math.isfinite(value) and name != "charts/explained_variance":
            raise TrainingFault(f"update {result.update}: {name} is {value}; stopped, last good checkpoint kept")
    for name, param in learner.policy.named_parameters():
        if not bool(torch.isfinite(param).all()):
            raise TrainingFault(f"update {result.update}: parameter {name} is not finite; "
                                "stopped, last good checkpoint kept")


class _SignalFlag:
    """Turns SIGINT/SIGTERM into a flag that the loop checks between updates."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> "_SignalFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def checkpoint_state(learner: Learner) -> dict:
    """What a checkpoint holds: its format, the config (current shape) and the learner's state."""
    return {"format": FORMAT_VERSION, "config": learner.config.to_dict(), "learner": learner.state_dict()}


def stored_config(state: dict) -> Config:
    """The config a checkpoint was written with, in the current shape (older formats migrated, fields
    added to rl2 since then at their defaults); CheckpointError where it is unreadable."""
    stored = state.get("config")
    if not isinstance(stored, dict):
        raise CheckpointError("checkpoint has no config")
    try:
        return Config.from_dict(stored)
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"checkpoint's config is unreadable: {e}") from None


def check_checkpoint(config: Config, state: dict) -> None:
    """Refuses (CheckpointError) a checkpoint written for another experiment than `config`'s: the
    machine may differ, and total_steps may have grown."""
    try:
        check_resumable(stored_config(state), config)
    except ConfigError as e:
        raise CheckpointError(f"checkpoint was written by a run with a {e}") from None


def restore_learner(config: Config, state: dict, device: torch.device, world: World = SINGLE) -> Learner:
    """A learner rebuilt from a checkpoint written for the same experiment (``check_checkpoint``)."""
    check_checkpoint(config, state)
    learner = Learner(config, device, world)
    learner.load_state_dict(state["learner"])
    return learner


def _start(config: Config, run_dir: Path, resume: bool, overwrite: bool, device: torch.device,
           out: TextIO, world: World) -> Learner:
    """The learner a run starts from: fresh, or the newest checkpoint's (chosen and read by rank 0,
    handed to every rank, so all start from the same state even without a shared file system)."""
    ckpt_dir = run_dir / "checkpoints"

    def prepare() -> tuple[str, dict] | None:
        if not resume:
            prepare_run_dir(run_dir, config, overwrite)
            return None
        check_writable(run_dir)
        if not list_checkpoints(ckpt_dir):
            # Killed before its first checkpoint: nothing to continue, so the run starts over in place.
            print(f"resuming {run_dir}: no checkpoint yet, starting from update 0", file=out)
            write_atomic(run_dir / "config.json", config.to_json() + "\n")
            return None
        path, state = load_latest(ckpt_dir)
        check_checkpoint(config, state)  # refused here, before config.json changes
        # The run goes on with the machine and budget asked: its config.json says so from now on.
        write_atomic(run_dir / "config.json", config.to_json() + "\n")
        return path.name, state

    warm, source = None, None
    if config.run.init_from and not resume:  # read and checked against this network before anything is written
        warm = Learner(config, device, world)
        source, weights, source_config = world.on_main(lambda: warm_start_source(config.run.init_from))
        warm.warm_start(weights, config.run.init_from, source_config)
    found = world.on_main(prepare)
    if world.is_main:  # told once the run is accepted: a refused warm start or resume prints one line alone
        print(f"run directory: {run_dir}" + (f" ({world.size} processes)" if world.size > 1 else ""), file=out)
    if found is None:
        learner = warm or Learner(config, device, world)
        if warm is not None and world.is_main:
            print(f"starting from the weights of {config.run.init_from} (a fresh optimizer and counters)", file=out)
            # Which file, by checksum: `zoo:NAME` or a run directory may hold other weights by the time the
            # agent is shipped (scripts/zoo_add.py records this as the entry's starts_from).
            write_atomic(run_dir / "warm_start.json", json.dumps(source, indent=2) + "\n")
    else:
        name, state = found
        learner = restore_learner(config, state, device, world)
        if world.is_main:
            print(f"resuming {run_dir} from {name} (update {learner.update}, {learner.env_steps:,} env steps)",
                  file=out)
    # Resolved here rather than at the first update, so a fallback is told before training starts.
    note = learner.policy.resolve_gru_kernel()
    if note and world.is_main:
        print(note, file=out)
    # Every rank builds its weights from the same seed (or receives rank 0's checkpoint): a mismatch
    # here means the machines run different code, which would also draw different tasks.
    if not world.in_step(learner.policy.state_dict().values()):
        raise TrainingFault("the ranks built different weights from the same seed: "
                            "run the same rl2 and torch versions on every machine")
    return learner


def train(config: Config, run_dir: Path, resume: bool = False, overwrite: bool = False,
          progress: bool = True, out: TextIO | None = None,
          on_iteration: Callable[[Learner, IterationResult], None] | None = None,
          world: World = SINGLE) -> tuple[Learner, EvalResult | NavigationResult]:
    """Meta-trains into `run_dir` (fresh, or continued from its newest checkpoint), then evaluates.

    Under torchrun (`world` from ``rl2.distributed.launched``) every rank calls this; only rank 0
    writes the run directory, logs and shows progress. Every rank evaluates the same held-out tasks.
    """
    out = out or sys.stdout  # looked up per call: a default bound at import outlives a replaced stdout
    world.check(config)
    check_training_fits(config)  # before the run directory is written
    device = world.device(config.machine.device)
    if config.machine.threads:
        torch.set_num_threads(config.machine.threads)
    if config.machine.deterministic:
        torch.use_deterministic_algorithms(True)
    ckpt_dir = run_dir / "checkpoints"
    if (world.is_main and requested_gru_kernel(config) != "torch" and fused_gru_unfit(config, device) is None
            and not fused_gru.built()):
        print("building rl2's fused GRU kernel (once per machine, about 20 s) ...", file=out, flush=True)
    learner = _start(config, run_dir, resume, overwrite, device, out, world)
    log = MetricsLog(run_dir, learner.update, learner.env_steps) if world.is_main else None
    bar = _progress_bar(config, learner, progress and config.machine.progress and world.is_main, out)
    start, steps_at_start = time.perf_counter(), learner.env_steps
    try:
        with _SignalFlag() as flag:
            while learner.update < config.num_updates:
                result = learner.iterate()
                check_finite(learner, result)
                elapsed = time.perf_counter() - start
                sps = (learner.env_steps - steps_at_start) / max(elapsed, 1e-9)
                if log is not None:
                    log.write(metrics_row(result, elapsed, sps))
                if learner.update % config.machine.checkpoint_every == 0 or learner.update == config.num_updates:
                    _save(learner, ckpt_dir)
                if bar is not None:
                    bar.update(result.env_steps - bar.n)
                    bar.set_postfix(trial_return=f"{result.trial_return:.2f}", steps_per_s=f"{sps:,.0f}")
                if on_iteration is not None:
                    on_iteration(learner, result)
                # torchrun passes a signal to every rank, but each sees it at its own moment: agree
                # on it, so that all stop after the same update.
                signum = world.max(flag.signum or 0)
                if signum:
                    _stop_on_signal(signum, learner, ckpt_dir, run_dir, out)
    finally:
        if bar is not None:
            bar.close()
        if log is not None:
            log.close()
    result = evaluate(learner.policy, config.task, config.run.eval_trials, config.run.eval_seed)
    if world.is_main:
        write_atomic(run_dir / "eval.json", json.dumps(result.summary(), indent=2) + "\n")
    return learner, result


def _save(learner: Learner, ckpt_dir: Path) -> Path | None:
    """Rank 0 writes the checkpoint of all ranks, after checking that they are indeed in step."""
    world = learner.world
    if not world.in_step(learner.policy.state_dict().values()):
        raise TrainingFault(f"update {learner.update}: the ranks' weights differ; stopped, last good checkpoint kept")
    if not world.is_main:
        return None
    config = learner.config
    return save_checkpoint(ckpt_dir, learner.update, checkpoint_state(learner), config.machine.keep_checkpoints)


def write_baselines(run_dir: Path, rows: list, trials: int, seed: int) -> Path:
    """Stores the baselines' held-out results beside the run's, for the plots and the report."""
    path = run_dir / "baselines.json"
    data = {"trials": trials, "eval_seed": seed, "methods": {row.name: row.result.summary() for row in rows}}
    write_atomic(path, json.dumps(data, indent=2) + "\n")
    return path


def figure_pngs(run_dirs: list[Path]) -> dict[str, bytes]:
    """The PNG bytes of each figure (``rl2.plots``) of runs of one setting, by figure name."""
    from rl2.plots import figures, load_run, png_bytes

    return {name: png_bytes(fig) for name, fig in figures([load_run(d) for d in run_dirs]).items()}


def write_figures(run_dirs: list[Path], out_dir: Path, pngs: dict[str, bytes] | None = None) -> list[Path]:
    """PNG figures of runs of one setting written into `out_dir` (`pngs`: already rendered ones)."""
    pngs = figure_pngs(run_dirs) if pngs is None else pngs
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"cannot create {out_dir}: {e.strerror}") from None
    return [write_atomic(out_dir / f"{name}.png", data) for name, data in pngs.items()]


def write_report(run_dir: Path, path: Path, pngs: dict[str, bytes] | None = None) -> Path:
    """The run's self-contained HTML report (``rl2.report``), figures embedded (`pngs`: already rendered)."""
    from rl2.plots import load_run
    from rl2.report import render_report

    pngs = figure_pngs([run_dir]) if pngs is None else pngs
    write_atomic(path, render_report(load_run(run_dir), pngs))
    return path


def _stop_on_signal(signum: int, learner: Learner, ckpt_dir: Path, run_dir: Path, out: TextIO) -> None:
    path = _save(learner, ckpt_dir)
    name = signal.Signals(signum).name
    launcher = " (launched as this run was, by torchrun)" if learner.world.size > 1 else ""
    raise Interrupted(128 + signum, f"{name}: saved {path} (update {learner.update}); "
                                    f"resume with: rl2 train --resume {run_dir}{launcher}")


def _progress_bar(config: Config, learner: Learner, enabled: bool, out: TextIO):
    if not enabled:
        return None
    from tqdm import tqdm

    total = config.num_updates * config.ppo.steps_per_update
    # Redrawn often on a terminal; rarely into a log file, which would otherwise fill with redraws.
    interactive = hasattr(out, "isatty") and out.isatty()
    return tqdm(total=total, initial=learner.env_steps, unit="step", unit_scale=True, file=out,
                desc="meta-training", dynamic_ncols=True, mininterval=0.5 if interactive else 30.0)


def format_eval(summary: dict, max_episodes: int = 10) -> str:
    """A human-readable evaluation summary (mean total reward ± 95% CI, returns per episode index,
    success rates per episode index where episodes succeed; for mazes the navigation table)."""
    if "navigation" in summary:
        return format_navigation(summary["navigation"])
    lines = [f"mean total reward per trial: {summary['mean_trial_return']:.2f} ± {summary['ci95']:.2f} "
             f"(95% CI, {summary['trials']} held-out trials)"]
    means = summary["episode_return_mean"]
    shown = ", ".join(f"{m:.2f}" for m in means[:max_episodes])
    more = f", ... ({len(means)} episodes)" if len(means) > max_episodes else ""
    lines.append(f"mean return per episode in the trial: {shown}{more}")
    if "episode_success_rate" in summary:
        rates = summary["episode_success_rate"]
        shown = ", ".join(f"{100 * r:.1f}%" for r in rates[:max_episodes])
        more = f", ... ({len(rates)} episodes)" if len(rates) > max_episodes else ""
        lines.append(f"success rate per episode in the trial: {shown}{more}")
    return "\n".join(lines)


def format_navigation(by_maze: dict[str, dict]) -> str:
    """The paper's navigation table: per episode index, the mean length of the successful episodes
    (± 95% CI) and the success rate, one column per held-out maze setting."""
    names = list(by_maze)
    trials = ", ".join(f"{by_maze[n]['trials']} {n}" for n in names)
    lines = [f"held-out mazes ({trials} trials): mean length of successful episodes ± 95% CI / success rate",
             "| episode | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for i in range(len(by_maze[names[0]]["episode_success_rate"])):
        cells = []
        for name in names:
            s = by_maze[name]
            length, ci, rate = (s["episode_success_length_mean"][i], s["episode_success_length_ci95"][i],
                                s["episode_success_rate"][i])
            cells.append(f"{length:.1f} ± {ci:.1f} / {100 * rate:.1f}%")
        lines.append(f"| {i + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


__all__ = ["ConfigError", "Interrupted", "RunDirError", "TrainingFault", "format_eval", "load_run_config", "train",
           "figure_pngs", "write_baselines", "write_figures", "write_report"]
