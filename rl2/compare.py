"""RL² runs and the classic baselines on the same held-out tasks, as one table.

Baseline hyperparameters come from the tuning results (tuned on training tasks, see
``rl2 tune``): the user's own file in the cache directory first, then the ones shipped with rl2,
then each baseline's defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import torch

from rl2.cache import cache_dir
from rl2.config import ConfigError, TaskConfig
from rl2.evaluate import EvalResult, mean_ci95, sample_test_tasks
from rl2.families import Baselines, family_of
from rl2.families.bandit import BanditConfig
from rl2.families.mdp import MDPConfig

DISPLAY_NAMES = {
    "random": "Random", "greedy": "Greedy", "epsilon_greedy": "ε-Greedy", "ucb1": "UCB1", "thompson": "TS",
    "ots": "OTS", "gittins": "Gittins", "bayes_optimal": "Bayes-optimal", "psrl": "PSRL", "opsrl": "OPSRL",
    "ucrl2": "UCRL2", "beb": "BEB", "sw_ucb": "SW-UCB", "discounted_ts": "Discounted TS",
    "changepoint_ucb": "Change-point UCB",
    "oracle": "Oracle (reads the true p)",
}
# Methods that read the task itself: a ceiling to measure against, not a competitor of RL².
CEILINGS = {"oracle"}


@dataclass(frozen=True)
class Row:
    """One method's result on the held-out tasks: an RL² agent, a classic baseline or a ceiling."""

    name: str
    result: EvalResult
    kind: str = "baseline"  # "agent" (RL²), "baseline" (a classic method) or "ceiling" (reads the task)

    @property
    def mean_ci(self) -> tuple[float, float]:
        return mean_ci95(self.result.trial_returns)


def setting_key(task: TaskConfig) -> str:
    """The key of a setting in the tuning results, e.g. 'bandit-n100-k5', 'mdp-n10' or 'switching-n100-k5-h0.05'."""
    return family_of(task).key(task)


def family_baselines(task: TaskConfig) -> Baselines:
    """The classic baselines of a setting's family; ConfigError where it has none."""
    baselines = family_of(task).baselines
    if baselines is None:
        raise ConfigError(f"the {task.family} family has no classic baselines")
    return baselines


def tuned_hparams(task: TaskConfig) -> dict[str, dict[str, float]]:
    """Tuned hyperparameters of every baseline for a setting ({} where none are stored)."""
    key = setting_key(task)
    user = cache_dir() / "tuned_baselines.json"
    for source in (user, resources.files("rl2.baselines") / "tuned_baselines.json"):
        try:
            data = json.loads(source.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if key in data:
            return data[key]
    return {}


def baselines_for(task: TaskConfig) -> list[str]:
    """The baselines that apply to a setting (e.g. Bayes-optimal only where its state space is small)."""
    return family_baselines(task).names(task)


def run_baseline(name: str, task: TaskConfig, tasks, seed: int, hparams: dict[str, float]) -> EvalResult:
    """One baseline on the given held-out tasks -> returns per episode [N, n]."""
    generator = torch.Generator().manual_seed(seed + 2)
    rewards = family_baselines(task).run(name, task, tasks, generator, hparams)
    return EvalResult(episode_returns=rewards.float())


def compare_baselines(task: TaskConfig, trials: int, seed: int, names: list[str] | None = None) -> list[Row]:
    """Every applicable baseline on the held-out tasks of `seed`."""
    tasks = sample_test_tasks(task, trials, seed, "cpu")
    tuned = tuned_hparams(task)
    rows = []
    for name in names or baselines_for(task):
        try:
            result = run_baseline(name, task, tasks, seed, tuned.get(name, {}))
        except ValueError as e:  # a baseline refuses its hyperparameters: they came from a tuning file
            raise ConfigError(f"baseline {name} of {setting_key(task)}: {e}, from the tuned hyperparameters "
                              f"{tuned.get(name, {})} ({cache_dir() / 'tuned_baselines.json'} first, then rl2's "
                              f"own); re-tune with `rl2 tune` or delete that file") from None
        rows.append(Row(DISPLAY_NAMES.get(name, name), result, "ceiling" if name in CEILINGS else "baseline"))
    return rows


def tune_setting(task: TaskConfig, tasks: int, seed: int) -> dict[str, dict[str, float]]:
    """Grid-searches every tunable baseline of a setting on training tasks drawn from `seed`."""
    baselines = family_baselines(task)
    tuned = {name: baselines.tune(name, task, tasks, seed) for name in baselines.names(task)}
    return {name: hparams for name, hparams in tuned.items() if hparams is not None}


PAPER_TO_OURS = {"Random": "random", "Gittins": "gittins", "TS": "thompson", "OTS": "ots", "UCB1": "ucb1",
                 "ε-Greedy": "epsilon_greedy", "Greedy": "greedy", "PSRL": "psrl", "OPSRL": "opsrl", "UCRL2": "ucrl2",
                 "BEB": "beb"}


def paper_tables(tasks: int, seed: int, runs: list, progress=None) -> str:
    """Markdown of the paper's Tables 1 and 2: each cell 'measured ± CI (published)'.

    `runs` are (label, RL2 model) pairs; each fills the RL² cell of the setting it was trained on
    (the last one given wins), the others are marked missing.
    """
    from rl2.paper import BANDIT_COLUMNS, MDP_COLUMNS, TABLE1, TABLE2

    by_setting = {setting_key(model.config.task): (label, model) for label, model in runs}
    out = []
    sources = []  # which agent filled each RL² cell, printed under its table
    # Each table: its settings, with the paper's figures and the row label of each
    for title, columns, settings in (
        ("Table 1: Bernoulli bandits", BANDIT_COLUMNS,
         [(BanditConfig(n=n, k=k), published, f"n={n}, k={k}") for (n, k), published in TABLE1.items()]),
        ("Table 2: random tabular MDPs (10 states, 5 actions, horizon 10)", MDP_COLUMNS,
         [(MDPConfig(n=n), published, f"n={n}") for n, published in TABLE2.items()]),
    ):
        out += [f"### {title} — mean total reward per trial, measured ± 95% CI ({tasks} held-out tasks) "
                "and the paper's figure in brackets", "",
                "| setting | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for task, published, label in settings:
            if progress:
                progress(setting_key(task))
            names = [PAPER_TO_OURS[c] for c in columns if c != "RL²"]
            rows = {row.name: row for row in compare_baselines(task, tasks, seed, names)}
            cells = []
            for column, paper in zip(columns, published):
                if column == "RL²":
                    label_model = by_setting.get(setting_key(task))
                    if label_model is None:
                        cells.append(f"missing ({paper})")
                        continue
                    mean, ci = mean_ci95(label_model[1].evaluate(trials=tasks, seed=seed).trial_returns)
                    sources.append(f"{label}: {label_model[0]}")
                else:
                    mean, ci = rows[DISPLAY_NAMES[PAPER_TO_OURS[column]]].mean_ci
                cells.append(f"{mean:.1f} ± {ci:.1f} ({paper})")
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out += ["", "RL² agents: " + ("; ".join(sources) if sources else "none given") + ".", ""]
        sources = []
    return "\n".join(out)


def format_table(rows: list[Row], title: str) -> str:
    """A Markdown table of mean total reward per trial ± 95% CI, best first."""
    lines = [f"{title}", "", "| method | mean total reward per trial | first episode | last episode |",
             "|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: -r.mean_ci[0]):
        mean, ci = row.mean_ci
        ep = row.result.episode_returns
        lines.append(f"| {row.name} | {mean:.2f} ± {ci:.2f} | {float(ep[:, 0].mean()):.2f} | "
                     f"{float(ep[:, -1].mean()):.2f} |")
    competitors = [row for row in rows if row.kind == "baseline"]
    agents = [row for row in rows if row.kind == "agent"]
    if competitors and agents:
        best = max(competitors, key=lambda r: r.mean_ci[0])
        lines += [""] + [versus(agent, best) for agent in agents]
    return "\n".join(lines)


def versus(agent: Row, rival: Row) -> str:
    """The agent's lead over a rival, paired task by task over the same held-out tasks.

    Both ran on the same tasks in the same order, so the difference per task cancels what the tasks
    share (an easy task is easy for both): its interval is narrower than the two unpaired ones side by side.
    """
    gain, ci = mean_ci95(agent.result.trial_returns - rival.result.trial_returns)
    verdict = "ahead" if gain - ci > 0 else "behind" if gain + ci < 0 else "level (the interval holds 0)"
    return (f"{agent.name} against {rival.name}, the best classic method here, paired over the same "
            f"{agent.result.trial_returns.numel():,} tasks: {gain:+.2f} ± {ci:.2f} a trial, {verdict}.")
