"""Wall time of every classic baseline on all 14 settings of the paper's Tables 1 and 2.

Target (issue 3): 1,000 held-out tasks per setting, all baselines, in minutes on 2 CPU cores.
Gittins index tables are computed once and cached on disk; the first run pays for them (the
n = 500 table takes about half a minute), so both the cold and the warm figure are printed when
the cache starts empty.

    python benchmarks/baselines.py [--tasks 1000] [--cold]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from rl2.compare import compare_baselines
from rl2.families.bandit import BanditConfig
from rl2.families.mdp import MDPConfig
from rl2.paper import TABLE1, TABLE2


def run_all(tasks: int) -> float:
    start = time.perf_counter()
    for task in [BanditConfig(n=n, k=k) for n, k in TABLE1] + [MDPConfig(n=n) for n in TABLE2]:
        t0 = time.perf_counter()
        rows = compare_baselines(task, tasks, seed=1_000_003)
        label = f"bandit n={task.n} k={task.k}" if task.family == "bandit" else f"mdp n={task.n}"
        print(f"  {label:<20} {len(rows)} baselines  {time.perf_counter() - t0:6.1f} s", flush=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--cold", action="store_true", help="start from an empty Gittins cache")
    args = parser.parse_args()
    torch.set_num_threads(1)  # loops of small ops: one thread is fastest and leaves the other core free
    if args.cold:
        os.environ["RL2_CACHE_DIR"] = tempfile.mkdtemp(prefix="rl2-cache-")
        print("cold cache:")
        cold = run_all(args.tasks)
        print(f"all 14 settings, {args.tasks} tasks each, cold cache: {cold:.0f} s")
    print("warm cache:")
    warm = run_all(args.tasks)
    print(f"all 14 settings, {args.tasks} tasks each, warm cache: {warm:.0f} s ({warm / 60:.1f} min)")


if __name__ == "__main__":
    main()
