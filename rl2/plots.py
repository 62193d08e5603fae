"""Figures of meta-training runs, drawn from their logs only (config.json, metrics.csv, eval.json,
baselines.json): nothing here trains, evaluates or touches a clock.

- learning curve: mean trial return vs env steps, mean and range over seeds, baselines as lines;
- adaptation curve: mean return at each episode index inside the trial ("learning to learn");
- bandits (families with ``regret``): cumulative regret over the pulls of a trial against the best Bayesian policy;
- mazes: success rate and length of the successful episodes at each episode index;
- other families whose episodes succeed or fail (Meta-World): success rate at each episode index.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot): no global state, no display.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rl2.config import Config, ConfigError
from rl2.families import family_of, setting_title

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn: the CLI starts without it
    from matplotlib.figure import Figure

RL2_COLOR = "#d62728"  # RL² is drawn in this red everywhere (the report test looks for it)
BASELINE_COLORS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                   "#17becf", "#393b79", "#637939"]
FIGSIZE = (8.0, 5.0)  # inches; at DPI this is 800 x 500 pixels
DPI = 100
# The reference of the regret curve, best first: the Bayes-optimal policy where it is computable,
# the Gittins index otherwise; for switching bandits the oracle that reads the current probabilities.
REGRET_REFERENCES = ("Bayes-optimal", "Gittins", "Oracle (reads the true p)")


class RunLogError(ValueError):
    """A run directory lacks the logs a figure needs, or they are unreadable (one line for the user)."""


@dataclass(frozen=True)
class RunLogs:
    """What a run directory recorded."""

    path: Path
    config: Config
    metrics: dict[str, np.ndarray]  # metrics.csv columns, one value per update
    evaluation: dict | None  # eval.json: the held-out evaluation summary
    baselines: dict[str, dict] | None  # baselines.json "methods": name -> the same summary

    @property
    def label(self) -> str:
        return self.path.name or str(self.path)


def load_run(path: Path) -> RunLogs:
    """Reads a run directory's logs; raises RunLogError naming what is missing or corrupt."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise RunLogError(f"{path} is not an rl2 run directory (no config.json)")
    try:
        config = Config.from_json((path / "config.json").read_text())
    except ConfigError as e:
        raise RunLogError(f"{path / 'config.json'}: {e}") from None
    return RunLogs(path, config, _read_metrics(path / "metrics.csv"), _read_json(path / "eval.json"),
                   (_read_json(path / "baselines.json") or {}).get("methods"))


def _read_metrics(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise RunLogError(f"{path} is missing: the run has not finished an update yet")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        columns = {name: np.array([float(r[name]) for r in rows]) for name in (rows[0] if rows else {})}
    except (ValueError, TypeError, csv.Error) as e:
        raise RunLogError(f"{path} is corrupt: {e}") from None
    if not rows or "env_steps" not in columns or "charts/trial_return" not in columns:
        raise RunLogError(f"{path} has no updates logged")
    return columns


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunLogError(f"{path} is corrupt: {e}") from None
    if not isinstance(data, dict):
        raise RunLogError(f"{path} is corrupt: expected a JSON object")
    return data


def check_same_setting(runs: list[RunLogs]) -> None:
    """Curves are only averaged over runs of one task setting."""
    first = runs[0].config.task
    for run in runs[1:]:
        if run.config.task != first:
            raise RunLogError(f"{run.path} was trained on another setting than {runs[0].path}: "
                              f"plot runs of one setting together")


def _new_figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, object]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _baseline_items(runs: list[RunLogs]) -> list[tuple[str, dict]]:
    """The first run's baselines (every run of a setting is evaluated on the same held-out tasks), best first."""
    methods = next((r.baselines for r in runs if r.baselines), None) or {}
    return sorted(methods.items(), key=lambda item: -item[1]["mean_trial_return"])


def seed_band(runs: list[RunLogs], column: str = "charts/trial_return"
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, low, high) of a metric over runs, on the steps of the shortest run.

    Runs log at their own env-step counts; the others are interpolated onto the shortest run's.
    """
    shortest = min(runs, key=lambda r: r.metrics["env_steps"][-1])
    steps = shortest.metrics["env_steps"]
    curves = np.stack([np.interp(steps, r.metrics["env_steps"], r.metrics[column]) for r in runs])
    return steps, curves.mean(0), curves.min(0), curves.max(0)


def learning_curve(runs: list[RunLogs]) -> Figure:
    """Mean trial return of the training batches vs env steps; held-out baseline returns as lines."""
    check_same_setting(runs)
    task = runs[0].config.task
    fig, ax = _new_figure(f"Meta-training: {setting_title(task)}", "env steps",
                          f"mean total reward per trial ({task.n} episodes)")
    steps, mean, low, high = seed_band(runs)
    label = ("RL² (training trials)" if len(runs) == 1
             else f"RL² (training trials,\n  mean and range of {len(runs)} seeds)")
    window = len(steps) // 40  # one batch's mean is noisy: long runs are drawn smoothed over a few updates
    if window > 1:
        ax.plot(steps, mean, color=RL2_COLOR, linewidth=0.8, alpha=0.3)
        label += f"\n  moving average over {window} updates"
    ax.plot(steps, moving_average(mean, window), color=RL2_COLOR, linewidth=2.2, label=label)
    if len(runs) > 1:
        ax.fill_between(steps, moving_average(low, window), moving_average(high, window), color=RL2_COLOR, alpha=0.2,
                        linewidth=0)
    for color, (name, summary) in zip(BASELINE_COLORS, _baseline_items(runs)):
        ax.axhline(summary["mean_trial_return"], color=color, linestyle="--", linewidth=1.2, label=f"{name} (held-out)")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over a centered window (shrunk at the ends, so the length is unchanged)."""
    if window <= 1:
        return np.asarray(x, dtype=float)
    kernel = np.ones(window)
    return np.convolve(x, kernel, "same") / np.convolve(np.ones(len(x)), kernel, "same")


def adaptation_curve(runs: list[RunLogs]) -> Figure:
    """Mean return at each episode index of held-out trials: RL² and the baselines."""
    check_same_setting(runs)
    evaluated = [r for r in runs if r.evaluation]
    if not evaluated:
        raise RunLogError(f"{runs[0].path} has no eval.json: run `rl2 eval {runs[0].path}` first")
    task = runs[0].config.task
    window = max(1, task.n // 20)  # 100 one-pull episodes are noisy one by one; 10 MDP episodes are not
    smoothed = f" (moving average over {window} episodes)" if window > 1 else ""
    fig, ax = _new_figure(f"Adaptation within a trial: {setting_title(task)}", "episode in the trial",
                          f"mean return of the episode{smoothed}")
    episodes = np.arange(1, task.n + 1)
    rl2_mean = np.mean([r.evaluation["episode_return_mean"] for r in evaluated], 0)
    seeds = "" if len(evaluated) == 1 else f", mean of {len(evaluated)} seeds"
    ax.plot(episodes, moving_average(rl2_mean, window), color=RL2_COLOR, linewidth=2.2,
            label=f"RL² (held-out{seeds})", marker="o" if task.n <= 20 else None)
    for color, (name, summary) in zip(BASELINE_COLORS, _baseline_items(runs)):
        ax.plot(episodes, moving_average(np.array(summary["episode_return_mean"]), window), color=color,
                linewidth=1.2, label=name, marker="." if task.n <= 20 else None)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def yardstick_curve(figures: dict) -> Figure:
    """RL² beside its yardsticks (benchmarks/adaptation.py's PRESET-sSEED.json): the mean return of each
    episode index for RL², the oracle told the task and the blind policy, with 95% CIs, and the share
    of the blind-to-oracle gap that RL² closes in each episode."""
    arms = figures["arms"]
    gap = figures["gap_closed"]["mean"]
    fig, ax = _new_figure(f"{figures['preset']}, training seed {figures['seed']}: {figures['trials']} held-out tasks",
                          "episode in the trial", "mean return of the episode (95% CI)")
    episodes = np.arange(1, len(gap) + 1)
    styles = {"rl2": ("RL²", RL2_COLOR, 2.2), "oracle": ("oracle (told the task)", BASELINE_COLORS[0], 1.2),
              "blind": ("blind (no memory)", BASELINE_COLORS[1], 1.2)}
    for arm, (label, color, width) in styles.items():
        ax.errorbar(episodes, arms[arm]["episode_returns"], yerr=arms[arm]["episode_returns_ci95"], color=color,
                    linewidth=width, marker="o", capsize=4, label=label)
    for k, share in zip(episodes, gap):
        ax.annotate(f"gap closed {share:.2f}", (k, arms["rl2"]["episode_returns"][k - 1]), textcoords="offset points",
                    xytext=(8, -14), fontsize=8, color=RL2_COLOR)
    ax.set_xticks(episodes)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def regret_reference(runs: list[RunLogs]) -> str | None:
    """The baseline that regret is measured against, or None where no run has it."""
    names = {name for name, _ in _baseline_items(runs)}
    return next((name for name in REGRET_REFERENCES if name in names), None)


def cumulative_regret(reference: np.ndarray, method: np.ndarray) -> np.ndarray:
    """Σ_{s ≤ t} (reference_s − method_s): expected reward lost by pull t against the reference policy."""
    return np.cumsum(np.asarray(reference, dtype=float) - np.asarray(method, dtype=float))


def regret_curve(runs: list[RunLogs]) -> Figure | None:
    """Bandits: cumulative regret over the pulls of a trial against Bayes-optimal/Gittins (None elsewhere)."""
    check_same_setting(runs)
    task = runs[0].config.task
    reference = regret_reference(runs)
    evaluated = [r for r in runs if r.evaluation]
    if not family_of(task).regret or reference is None or not evaluated:
        return None
    items = dict(_baseline_items(runs))
    ref = np.array(items[reference]["episode_return_mean"])
    short = reference.split(" (")[0]  # "Oracle (reads the true p)" -> "Oracle"
    fig, ax = _new_figure(f"Cumulative regret against {short}: {setting_title(task)}", "pull in the trial",
                          f"reward lost to {short} so far")
    pulls = np.arange(1, task.n + 1)
    rl2_mean = np.mean([r.evaluation["episode_return_mean"] for r in evaluated], 0)
    ax.plot(pulls, cumulative_regret(ref, rl2_mean), color=RL2_COLOR, linewidth=2.2, label="RL²")
    for color, (name, summary) in zip(BASELINE_COLORS, items.items()):
        if name != reference:
            ax.plot(pulls, cumulative_regret(ref, summary["episode_return_mean"]), color=color, linewidth=1.2,
                    label=name)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def navigation_curve(runs: list[RunLogs]) -> Figure:
    """Mazes: success rate and mean length of the successful episodes at each episode index of a
    held-out trial, one line per test maze size (the layout of the paper's navigation table)."""
    check_same_setting(runs)
    evaluated = [r.evaluation["navigation"] for r in runs if r.evaluation and "navigation" in r.evaluation]
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    success_ax, length_ax = fig.subplots(1, 2)
    seeds = "" if len(evaluated) == 1 else f", mean of {len(evaluated)} seeds"
    fig.suptitle(f"Navigation in held-out mazes: {setting_title(runs[0].config.task)}{seeds}", fontsize=11)
    for (name, first), color in zip(evaluated[0].items(), [RL2_COLOR, *BASELINE_COLORS]):
        episodes = np.arange(1, len(first["episode_success_rate"]) + 1)
        rate = np.mean([e[name]["episode_success_rate"] for e in evaluated], 0)
        length = np.nanmean([e[name]["episode_success_length_mean"] for e in evaluated], 0)
        success_ax.plot(episodes, 100 * rate, color=color, marker="o", linewidth=2, label=f"{name} mazes")
        length_ax.plot(episodes, length, color=color, marker="o", linewidth=2, label=f"{name} mazes")
    for ax, ylabel in ((success_ax, "episodes reaching the target (%)"),
                       (length_ax, "steps to the target (successful episodes)")):
        ax.set_xlabel("episode in the trial")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    success_ax.set_ylim(0, 105)
    length_ax.legend(fontsize=8, frameon=False)
    return fig


def success_curve(runs: list[RunLogs]) -> Figure:
    """Success rate at each episode index of held-out trials (families with a success flag, mazes apart)."""
    check_same_setting(runs)
    evaluated = [r.evaluation for r in runs if r.evaluation and "episode_success_rate" in r.evaluation]
    task = runs[0].config.task
    fig, ax = _new_figure(f"Success within a trial: {setting_title(task)}", "episode in the trial",
                          "held-out episodes that succeeded (%)")
    rate = np.mean([e["episode_success_rate"] for e in evaluated], 0)
    seeds = "" if len(evaluated) == 1 else f", mean of {len(evaluated)} seeds"
    ax.plot(np.arange(1, len(rate) + 1), 100 * rate, color=RL2_COLOR, linewidth=2.2, marker="o",
            label=f"RL² (held-out{seeds})")
    ax.set_ylim(0, 105)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def figures(runs: list[RunLogs]) -> dict[str, Figure]:
    """Every figure that applies to the runs, by file stem."""
    out = {"learning_curve": learning_curve(runs)}
    if any(r.evaluation and "navigation" in r.evaluation for r in runs):
        out["navigation"] = navigation_curve(runs)
    elif any(r.evaluation for r in runs):
        out["adaptation_curve"] = adaptation_curve(runs)
        if any(r.evaluation and "episode_success_rate" in r.evaluation for r in runs):
            out["success_curve"] = success_curve(runs)
    regret = regret_curve(runs)
    if regret is not None:
        out["regret"] = regret
    return out


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG (FIGSIZE x DPI pixels)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
