"""Figures and the HTML report, from short real runs; the report is rendered in headless Chromium."""

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rl2.plots import (
    DPI,
    FIGSIZE,
    RL2_COLOR,
    RunLogs,
    cumulative_regret,
    figures,
    load_run,
    moving_average,
    seed_band,
    yardstick_curve,
)

TINY = ["--hidden", "16", "--steps-per-update", "200", "--total-steps", "600", "--eval-trials", "100",
        "--checkpoint-every", "3", "--no-progress", "--threads", "1"]
WIDTH, HEIGHT = int(FIGSIZE[0] * DPI), int(FIGSIZE[1] * DPI)


def rl2(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rl2", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds of the default bandit setting, a few updates each, trained through the CLI."""
    root = tmp_path_factory.mktemp("runs")
    dirs = []
    for seed in (0, 1):
        run_dir = root / f"seed{seed}"
        r = rl2("train", "bandit-n10-k5", "--run-dir", run_dir, "--seed", seed, *TINY)
        assert r.returncode == 0, r.stderr
        assert f"report: {run_dir / 'report.html'}" in r.stdout  # the default job ends with its paths
        dirs.append(run_dir)
    return dirs


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_train_writes_figures_baselines_and_report(runs):
    run_dir = runs[0]
    assert {p.name for p in (run_dir / "plots").iterdir()} == {"learning_curve.png", "adaptation_curve.png",
                                                               "regret.png"}
    logs = load_run(run_dir)
    assert "Gittins" in logs.baselines and "Bayes-optimal" in logs.baselines
    assert logs.baselines["Gittins"]["trials"] == 100 == logs.evaluation["trials"]
    assert (run_dir / "report.html").stat().st_size > 30_000  # three embedded PNGs


def test_plot_several_seeds_writes_valid_pngs(runs, tmp_path):
    r = rl2("plot", *runs, "--out", tmp_path / "figs")
    assert r.returncode == 0, r.stderr
    written = sorted((tmp_path / "figs").iterdir())
    assert [p.name for p in written] == ["adaptation_curve.png", "learning_curve.png", "regret.png"]
    for path in written:
        assert png_size(path) == (WIDTH, HEIGHT)
        assert path.stat().st_size > 10_000, f"{path} looks empty"


def test_figures_have_one_line_per_method(runs):
    logs = [load_run(d) for d in runs]
    baselines = len(logs[0].baselines)
    assert baselines == 8  # Random, Greedy, ε-Greedy, UCB1, TS, OTS, Gittins, Bayes-optimal
    figs = figures(logs)
    learning, adaptation, regret = (figs[k].axes[0] for k in ("learning_curve", "adaptation_curve", "regret"))
    assert len(learning.get_lines()) == 1 + baselines  # RL² mean + one horizontal line per baseline
    assert len(learning.collections) == 1  # the band over the two seeds
    assert len(adaptation.get_lines()) == 1 + baselines
    assert len(regret.get_lines()) == 1 + (baselines - 1) + 1  # RL², the others against the reference, y=0
    rl2_line = learning.get_lines()[0]  # 3 updates: drawn as they are, no moving average
    assert rl2_line.get_color() == RL2_COLOR
    steps = rl2_line.get_xdata()
    assert list(steps) == [200, 400, 600]
    assert "Bayes-optimal" in regret.get_title()


def test_yardstick_figure_draws_each_arm_per_episode_and_the_gap_closed():
    arm = lambda returns: {"episode_returns": returns, "episode_returns_ci95": [1.0] * len(returns)}  # noqa: E731
    figures = {"preset": "point-nav", "seed": 0, "trials": 10, "gap_closed": {"mean": [0.5, 0.75]},
               "arms": {"rl2": arm([-10.0, -5.0]), "oracle": arm([-2.0, -2.0]), "blind": arm([-18.0, -14.0])}}
    ax = yardstick_curve(figures).axes[0]
    lines = ax.get_lines()
    rl2 = next(line for line in lines if line.get_color() == RL2_COLOR)
    assert list(rl2.get_xdata()) == [1, 2] and list(rl2.get_ydata()) == [-10.0, -5.0]
    assert sorted(t.get_text() for t in ax.texts) == ["gap closed 0.50", "gap closed 0.75"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["RL²", "oracle (told the task)", "blind (no memory)"]


def test_seed_band_is_mean_and_range_on_the_shortest_runs_steps():
    def fake(steps, values):
        metrics = {"env_steps": np.array(steps, float), "charts/trial_return": np.array(values, float)}
        return RunLogs(Path("x"), None, metrics, None, None)

    short = fake([100, 200], [1.0, 3.0])
    long = fake([50, 150, 250, 350], [0.0, 2.0, 4.0, 6.0])  # at 100 -> 1.0, at 200 -> 3.0 by interpolation
    steps, mean, low, high = seed_band([long, short])
    assert list(steps) == [100, 200]
    np.testing.assert_allclose(mean, [1.0, 3.0])
    np.testing.assert_allclose(low, [1.0, 3.0])
    other = fake([100, 200], [3.0, 1.0])
    _, mean, low, high = seed_band([short, other])
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(low, [1.0, 1.0])
    np.testing.assert_allclose(high, [3.0, 3.0])


def test_cumulative_regret_and_moving_average():
    np.testing.assert_allclose(cumulative_regret([1.0, 1.0, 1.0], [0.5, 1.0, 0.0]), [0.5, 0.5, 1.5])
    np.testing.assert_allclose(moving_average(np.array([0.0, 3.0, 6.0, 9.0]), 3), [1.5, 3.0, 6.0, 7.5])
    np.testing.assert_allclose(moving_average(np.array([1.0, 2.0]), 1), [1.0, 2.0])


def test_plot_refuses_runs_of_different_settings_and_non_runs(runs, tmp_path):
    other = tmp_path / "mdp"
    r = rl2("train", "mdp-n10", "--run-dir", other, "--no-baselines", "--hidden", "16", "--steps-per-update", "400",
            "--total-steps", "400", "--eval-trials", "10", "--minibatches", "2", "--no-progress", "--threads", "1")
    assert r.returncode == 0, r.stderr
    r = rl2("plot", runs[0], other, "--out", tmp_path / "figs")
    assert r.returncode == 2 and "another setting" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = rl2("plot", tmp_path)
    assert r.returncode == 2 and "not an rl2 run directory" in r.stderr
    r = rl2("report", tmp_path / "missing")  # named as the missing run, not as an unwritable report
    assert r.returncode == 2 and "missing is not a run directory" in r.stderr
    (other / "metrics.csv").write_text("garbage\n")
    r = rl2("report", other)
    assert r.returncode == 2 and "metrics.csv" in r.stderr and "Traceback" not in r.stderr


def _rendered_at(screenshot: np.ndarray, figure: np.ndarray) -> tuple[int, int] | None:
    """Where the figure appears pixel for pixel in the screenshot (top-left corner), or None.

    The report shows figures at their natural size, so a rendered figure is an exact sub-image.
    """
    h, w, _ = figure.shape
    middle = figure[h // 2].tobytes()
    for y in range(h // 2, screenshot.shape[0] - h // 2):
        i = screenshot[y].tobytes().find(middle)
        if i >= 0 and i % 3 == 0:
            top, left = y - h // 2, i // 3
            if np.array_equal(screenshot[top:top + h, left:left + w], figure):
                return top, left
    return None


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (the CI installs it: apt-get install chromium)")
def test_report_renders_in_headless_chromium(runs, tmp_path):
    report = runs[0] / "report.html"
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", "--window-size=1000,2600",
                    f"--screenshot={shot}", report.resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    from PIL import Image

    screenshot = np.asarray(Image.open(shot).convert("RGB"))
    for name in ("learning_curve", "adaptation_curve", "regret"):
        figure = np.asarray(Image.open(runs[0] / "plots" / f"{name}.png").convert("RGB"))
        assert _rendered_at(screenshot, figure) is not None, f"{name} did not render in the report"
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile2'}",
                          "--dump-dom", report.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.stdout.count("data:image/png;base64,") == 3
    assert "Evaluation against the classic baselines" in dom.stdout and "Gittins" in dom.stdout


def test_rl2_alone_is_drawn_in_its_colour(runs):
    from matplotlib.colors import to_hex

    figs = figures([load_run(run_dir) for run_dir in runs])
    for name, fig in figs.items():
        labelled = [(line.get_label(), to_hex(line.get_color())) for ax in fig.axes for line in ax.get_lines()
                    if not line.get_label().startswith("_")]
        ours = [colour for label, colour in labelled if label.startswith("RL²")]
        theirs = [colour for label, colour in labelled if not label.startswith("RL²")]
        assert ours and set(ours) == {RL2_COLOR}, (name, labelled)
        assert theirs and RL2_COLOR not in theirs and len(set(theirs)) == len(theirs), (name, labelled)


def test_navigation_figure_has_one_line_per_maze_size_in_each_panel():
    from rl2.presets import preset_config

    nav = {"small (5x5)": {"episode_success_rate": [0.9, 1.0], "episode_success_length_mean": [20.0, 15.0]},
           "large (9x9)": {"episode_success_rate": [0.5, 0.7], "episode_success_length_mean": [80.0, 60.0]}}
    metrics = {"env_steps": np.array([100.0, 200.0]), "charts/trial_return": np.array([-5.0, 0.5])}
    run = RunLogs(Path("maze"), preset_config("maze-5x5"), metrics, {"navigation": nav}, None)
    figs = figures([run])
    assert set(figs) == {"learning_curve", "navigation"}
    success, length = figs["navigation"].axes
    assert [list(line.get_ydata()) for line in success.get_lines()] == [[90.0, 100.0], [50.0, 70.0]]
    assert [list(line.get_ydata()) for line in length.get_lines()] == [[20.0, 15.0], [80.0, 60.0]]
