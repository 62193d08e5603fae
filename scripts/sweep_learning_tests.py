"""Sweeps the learning tests over training seeds x GRU kernels x thread counts and prints the
distribution of every figure they assert on (min / median / max), with how many runs failed.

A learning test's threshold must hold for any floating-point trajectory, not the one of the machine it
was written on: set it from this table, clearly below the worst value, and write the table's row
beside the assert.

    python scripts/sweep_learning_tests.py                      # 8 seeds x fused, torch x 1, 2 threads
    python scripts/sweep_learning_tests.py -k cue --seeds 0-3 --kernels torch --threads 1
    python scripts/sweep_learning_tests.py --jobs 2 --output sweep.md

Each combination is one pytest process (``-m "learning and not slow"`` by default), run with the
suite's own options ``--learning-seed``, ``--gru-kernel``, ``--torch-threads`` and ``--figures``
(tests/conftest.py). Runs go ``--jobs`` at a time; a run of t threads counts as t jobs, so a machine is
never oversubscribed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_seeds(text: str) -> list[int]:
    """'0-7' or '0,3,5' -> seeds."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def pytest_command(seed: int, kernel: str, threads: int, figures: Path, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", args.marker,
               f"--learning-seed={seed}", f"--gru-kernel={kernel}", f"--torch-threads={threads}",
               f"--figures={figures}"]
    return command + (["-k", args.k] if args.k else []) + args.tests


def run_all(combinations: list[tuple[int, str, int]], args: argparse.Namespace, folder: Path) -> list[dict]:
    """Runs every combination's pytest process, at most --jobs threads busy at once; returns the records."""
    pending, running, records = list(combinations), [], []
    while pending or running:
        busy = sum(threads for (_, _, threads), _ in running)
        while pending and (not running or busy + pending[0][2] <= args.jobs):
            combination = pending.pop(0)
            figures = folder / ("%d-%s-%d.jsonl" % combination)
            process = subprocess.Popen(pytest_command(*combination, figures, args), cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running.append((combination, process))
            busy += combination[2]
        time.sleep(0.5)
        for item in [item for item in running if item[1].poll() is not None]:
            running.remove(item)
            (seed, kernel, threads), _ = item
            figures = folder / f"{seed}-{kernel}-{threads}.jsonl"
            lines = figures.read_text().splitlines() if figures.exists() else []
            records += [json.loads(line) for line in lines]
            print(f"  seed {seed}, kernel {kernel}, {threads} thread(s): {len(lines)} records", file=sys.stderr,
                  flush=True)
    return records


def table(records: list[dict]) -> str:
    """Markdown: one row per (test, figure) with n, min, median, max, and failed runs of the test."""
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    outcomes: dict[str, list[str]] = defaultdict(list)
    for record in records:
        if "figure" in record:
            values[record["test"], record["figure"]].append(record["value"])
        else:
            outcomes[record["test"]].append(record["outcome"])
    lines = ["| test | figure | runs | min | median | max | failed runs |", "|---|---|---|---|---|---|---|"]
    for (test, figure), xs in sorted(values.items()):
        failed = sum(outcome != "passed" for outcome in outcomes[test])
        lines.append(f"| {test.split('::')[-1]} | {figure} | {len(xs)} | {min(xs):.4g} | {statistics.median(xs):.4g} "
                     f"| {max(xs):.4g} | {failed}/{len(outcomes[test])} |")
    for test in sorted(set(outcomes) - {test for test, _ in values}):
        failed = sum(outcome != "passed" for outcome in outcomes[test])
        lines.append(f"| {test.split('::')[-1]} | (no figure recorded) | | | | | {failed}/{len(outcomes[test])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", nargs="*", default=[], help="test files or node ids (default: the whole suite)")
    parser.add_argument("-k", default=None, help="pytest -k expression")
    parser.add_argument("--marker", default="learning and not slow", help="pytest -m expression")
    parser.add_argument("--seeds", default="0-7", help="training seeds, '0-7' or '0,3,5' (default 0-7)")
    parser.add_argument("--kernels", nargs="+", default=["fused", "torch"], choices=("fused", "torch"))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="CPU threads busy at once (default 2)")
    parser.add_argument("--output", type=Path, default=None,
                        help="also write the table (Markdown) and records (.jsonl)")
    args = parser.parse_args()
    combinations = list(itertools.product(parse_seeds(args.seeds), args.kernels, args.threads))
    print(f"{len(combinations)} runs: seeds {args.seeds} x kernels {args.kernels} x threads {args.threads}",
          file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        records = run_all(combinations, args, Path(folder))
    text = table(records)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")
        args.output.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
