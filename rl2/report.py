"""One self-contained HTML page for a run: setting, evaluation table against the baselines,
the figures (embedded as PNG data URIs, so the page travels as one file) and the full config.

Pure: it takes the run's logs and the figures' PNG bytes and returns the page's text.
"""

from __future__ import annotations

import base64
import html
import math

from rl2.config import GROUPS
from rl2.families import setting_title
from rl2.plots import RunLogs

CAPTIONS = {
    "learning_curve": "Meta-training (slow RL): mean total reward of the training trials as the weights learn.",
    "adaptation_curve": "Adaptation (fast RL, frozen weights): mean return at each episode of a held-out trial.",
    "regret": "Reward lost over the pulls of a trial, against the best Bayesian policy computed here.",
    "navigation": "Adaptation in held-out mazes: a shorter path in later episodes means the agent remembered the way.",
    "success_curve": "Adaptation (frozen weights): the share of held-out episodes of each index that succeeded.",
}

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
th { background: #f3f3f3; } tr.rl2 td { font-weight: bold; color: #b01e1e; }
figure { margin: 1.2em 0; } figure img { width: 800px; max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
code { background: #f5f5f5; padding: 0 0.2em; }
"""


def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _row(cells: list[str], css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def navigation_table(by_maze: dict[str, dict]) -> str:
    """Mazes: per episode index, success rate and mean length of the successful episodes, per maze size."""
    names = list(by_maze)
    head = "<tr><th>episode</th>" + "".join(f"<th>{html.escape(n)}: success / steps</th>" for n in names) + "</tr>"
    body = []
    for i in range(len(by_maze[names[0]]["episode_success_rate"])):
        cells = [f"{100 * by_maze[n]['episode_success_rate'][i]:.1f}% / "
                 f"{_fmt(by_maze[n]['episode_success_length_mean'][i], 1)}" for n in names]
        body.append(_row([str(i + 1), *cells]))
    trials = by_maze[names[0]]["trials"]
    return (f"<p>{trials} held-out mazes of each size (never seen in training); steps are the mean length of the "
            f"episodes that reached the target.</p><table>{head}{''.join(body)}</table>")


def success_table(summary: dict) -> str:
    """Families whose episodes succeed or fail (Meta-World): per episode index, success rate and mean return."""
    rows = [_row([str(i + 1), f"{100 * rate:.1f}%", _fmt(ret)])
            for i, (rate, ret) in enumerate(zip(summary["episode_success_rate"], summary["episode_return_mean"]))]
    head = "<tr><th>episode</th><th>success rate</th><th>mean return</th></tr>"
    return (f"<p>Per episode of the {summary['trials']} held-out trials: an episode succeeded if the task's "
            f"success flag was up at any of its steps.</p><table>{head}{''.join(rows)}</table>")


def evaluation_table(run: RunLogs) -> str:
    """RL² and each baseline on the same held-out tasks, best first."""
    if run.evaluation and "navigation" in run.evaluation:
        return navigation_table(run.evaluation["navigation"])
    rows: list[tuple[str, dict]] = []
    if run.evaluation:
        rows.append(("RL² (this run)", run.evaluation))
    rows += list((run.baselines or {}).items())
    if not rows:
        return "<p>No held-out evaluation yet: run <code>rl2 eval RUN_DIR</code>.</p>"
    rows.sort(key=lambda item: -item[1]["mean_trial_return"])
    head = ("<tr><th>method</th><th>mean total reward per trial ± 95% CI</th>"
            "<th>episode 1</th><th>last episode</th></tr>")
    body = [_row([name, f"{_fmt(s['mean_trial_return'])} ± {_fmt(s['ci95'])}",
                  _fmt(s["episode_return_mean"][0]), _fmt(s["episode_return_mean"][-1])],
                 "rl2" if name.startswith("RL²") else "")
            for name, s in rows]
    trials = rows[0][1]["trials"]
    table = f"<p>{trials} held-out tasks (never seen in training), the same for every method.</p>" \
            f"<table>{head}{''.join(body)}</table>"
    if run.evaluation and "episode_success_rate" in run.evaluation:
        table += success_table(run.evaluation)
    return table


def training_summary(run: RunLogs) -> str:
    m = run.metrics
    steps, seconds = int(m["env_steps"][-1]), float(m["time_s"][-1]) if "time_s" in m else float("nan")
    last = float(m["charts/trial_return"][-1])
    rate = f", {steps / seconds:,.0f} env steps/s" if seconds > 0 else ""
    return (f"<p>{len(m['env_steps'])} updates, {steps:,} env steps in {seconds / 60:.1f} min{rate} "
            f"(of the last session). Last training batch: mean trial return {last:.2f}.</p>")


def config_table(run: RunLogs) -> str:
    parts = []
    data = run.config.to_dict()
    for group in GROUPS:  # the task group starts with its family's name
        cells = "".join(_row([name, str(value)]) for name, value in data[group].items())
        parts.append(f"<h3>{group}</h3><table>{cells}</table>")
    return "".join(parts)


def render_report(run: RunLogs, figures: dict[str, bytes]) -> str:
    """The HTML page of one run; `figures` maps a figure's name to its PNG bytes."""
    title = f"RL² run {run.label}: {setting_title(run.config.task)}"
    imgs = []
    for name, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        caption = html.escape(CAPTIONS.get(name, name))
        imgs.append(f'<figure><img id="fig-{name}" alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{caption}</figcaption></figure>")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run directory: <code>{html.escape(str(run.path))}</code></p>",
        "<h2>Evaluation against the classic baselines</h2>", evaluation_table(run),
        "<h2>Figures</h2>", *imgs,
        "<h2>Training</h2>", training_summary(run),
        "<h2>Config</h2>", config_table(run),
        "</body></html>", "",
    ])
