"""Suite-wide switches: the GRU kernel, torch's thread count and the learning tests' training seed.

A learning test (marked ``learning``) trains, then asserts a figure. Its threshold must hold for any
floating-point trajectory, so it is set from a sweep over training seeds x GRU kernels x thread
counts (``scripts/sweep_learning_tests.py`` runs the sweep through the options below and prints the
distribution of every figure the tests record with ``record_figure``).
"""

import json
import os
import sys

import pytest
import torch


def pytest_addoption(parser):
    group = parser.getgroup("rl2")
    group.addoption("--gru-kernel", choices=("auto", "fused", "torch"), default=None,
                    help="force the GRU kernel of every run whose config says auto (sets RL2_GRU_KERNEL, which the "
                         "CLI runs of the tests inherit too)")
    group.addoption("--torch-threads", type=int, default=1,
                    help="torch's CPU threads in the test process (default 1: tests run many small tensor ops)")
    group.addoption("--learning-seed", type=int, default=0, help="training seed of the learning tests (default 0)")
    group.addoption("--figures", default=None, metavar="FILE",
                    help="append the figures learning tests measure, and their outcomes, to FILE as JSON lines")


def pytest_configure(config):
    kernel = config.getoption("--gru-kernel")
    if kernel is not None:
        os.environ["RL2_GRU_KERNEL"] = kernel
    threads = config.getoption("--torch-threads")
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


def _append_figure_line(config, record: dict) -> None:
    path = config.getoption("--figures")
    if path is not None:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


def _trajectory(config) -> dict:
    return {"seed": config.getoption("--learning-seed"), "threads": config.getoption("--torch-threads"),
            "kernel": os.environ.get("RL2_GRU_KERNEL", "auto")}


@pytest.fixture
def learning_seed(request) -> int:
    """The training seed of a learning test (``--learning-seed``; 0 by default)."""
    return request.config.getoption("--learning-seed")


@pytest.fixture
def record_figure(request):
    """``record_figure(name, value)``: note a figure a learning test measured, before it asserts on it."""

    def record(name: str, value: float) -> float:
        _append_figure_line(request.config, {"test": request.node.nodeid, "figure": name, "value": float(value),
                                             **_trajectory(request.config)})
        return value

    return record


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and item.get_closest_marker("learning") is not None:
        _append_figure_line(item.config, {"test": item.nodeid, "outcome": report.outcome, **_trajectory(item.config)})


@pytest.fixture
def rl2_cmd():
    """The CLI as a subprocess command (the installed entry point runs the same main)."""
    return [sys.executable, "-m", "rl2"]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RL2_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
