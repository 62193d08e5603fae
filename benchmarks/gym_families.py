"""Env steps per second of the whole meta-training loop (collect + PPO update) on each Gymnasium
family, with its preset's batch, sync and async vector envs and one or more torch thread counts;
prints one line per family.

    python benchmarks/gym_families.py [--updates 3] [--families point-nav halfcheetah-vel ml1-reach ...]
    python benchmarks/gym_families.py --families halfcheetah-dir --modes sync async --threads 1 2

MuJoCo, Meta-World and Atari families are skipped (with the reason) where their extra is not
installed. The first update is a warm-up (envs built, processes started, Meta-World's task lists
drawn) and is not timed.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from rl2.envs.atari import atari_available
from rl2.envs.metaworld import metaworld_available
from rl2.envs.mujoco import mujoco_available
from rl2.learner import Learner
from rl2.presets import preset_config

FAMILIES = ("point-nav", "halfcheetah-vel", "halfcheetah-dir", "ant-dir", "ml1-reach", "ml10", "atari-space-invaders")


def steps_per_second(preset: str, vector: str, updates: int, threads: int) -> float:
    torch.set_num_threads(threads)
    learner = Learner(preset_config(preset, vector=vector))
    learner.iterate()  # warm-up: builds the copies (and starts their processes under async)
    start, steps = time.perf_counter(), learner.env_steps
    for _ in range(updates):
        learner.iterate()
    rate = (learner.env_steps - steps) / (time.perf_counter() - start)
    learner.env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3, help="timed updates per family and mode")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--modes", nargs="+", default=["sync", "async"], choices=["sync", "async"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1],
                        help="torch thread counts to compare (each with every mode)")
    args = parser.parse_args()
    if min(args.threads) < 1:
        parser.error("--threads: thread counts are at least 1")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for preset in args.families:
        if preset.startswith("ml") and not metaworld_available():
            print(f"{preset}: skipped (Meta-World is not installed: pip install 'rl2[metaworld]')")
            continue
        if preset.startswith("atari") and not atari_available():
            print(f"{preset}: skipped (ale-py is not installed: pip install 'rl2[atari]')")
            continue
        if preset != "point-nav" and not preset.startswith(("atari", "ml")) and not mujoco_available():
            print(f"{preset}: skipped (MuJoCo is not installed: pip install 'rl2[mujoco]')")
            continue
        config = preset_config(preset)
        rates = {f"{mode} {threads}T": steps_per_second(preset, mode, args.updates, threads)
                 for threads in args.threads for mode in args.modes}
        best = max(rates, key=rates.get)
        figures = ", ".join(f"{arm} {rate:,.0f} ({rate / rates[best]:.2f}x)" for arm, rate in rates.items())
        print(f"{preset}: {config.trials_per_update} trials of {config.task.trial_length} steps an update; "
              f"env steps/s {figures}; best: {best}")


if __name__ == "__main__":
    main()
