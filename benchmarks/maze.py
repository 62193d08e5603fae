"""Throughput of the maze family on a CPU: the batched env alone, and whole meta-training iterations.

Protocol (issue 9): 5x5 mazes, batch 1,024, random actions, egocentric view (3 x 12 x 9 pixels per
step, rendered): env steps per second of ``MazeEnv.step`` (respawns and rendering included; fresh
mazes every 250 steps, their generation included). Target: >= 200,000 steps/s on 2 cores. Then
the maze-5x5 preset's meta-training iterations (collect trials + 4 epochs of PPO through the CNN and
the GRU), in env steps per second.

Machines here are shared: besides wall-clock steps/s the script prints steps per CPU-second of its
own process (all its threads together) and the load average, so a busy machine shows as such.

    python benchmarks/maze.py [--seconds 10] [--threads 2] [--batch 1024] [--updates 3]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from rl2.envs.maze import MazeEnv
from rl2.learner import Learner
from rl2.presets import preset_config
from rl2.tasks.maze import MazeDistribution


def bench_env(view: str, batch: int, seconds: float, size: int = 5, episode_cap: int = 250) -> tuple[float, float]:
    """(wall-clock, per CPU-second) env steps/s of random actions, new mazes every `episode_cap` steps
    (their generation counted)."""
    g = torch.Generator().manual_seed(0)
    env, mazes = MazeEnv(size, episode_cap, view), MazeDistribution(size)
    env.reset(mazes.sample(batch, g))
    for _ in range(10):  # warm-up
        env.step(torch.randint(3, (batch,), generator=g))
    steps, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        env.reset(mazes.sample(batch, g))
        for _ in range(episode_cap):
            env.step(torch.randint(3, (batch,), generator=g))
        steps += episode_cap * batch
    return steps / (time.perf_counter() - start), steps / (time.process_time() - cpu)


def bench_training(updates: int) -> tuple[float, float, int]:
    """(wall-clock, per CPU-second) env steps/s of the maze-5x5 preset's meta-training iterations
    (from untrained weights, so trials are long), and the env steps timed."""
    learner = Learner(preset_config("maze-5x5", device="cpu"), "cpu")
    learner.iterate()  # warm-up
    steps0, start, cpu = learner.env_steps, time.perf_counter(), time.process_time()
    for _ in range(updates):
        learner.iterate()
    steps = learner.env_steps - steps0
    return steps / (time.perf_counter() - start), steps / (time.process_time() - cpu), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per env measurement")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=1024, help="mazes stepped at once")
    parser.add_argument("--updates", type=int, default=3, help="meta-training iterations timed (0 = skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU threads: {args.threads}, batch {args.batch}, 5x5 mazes, random actions; "
          f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for view in ("egocentric", "topdown"):
        wall, cpu = bench_env(view, args.batch, args.seconds)
        print(f"  env alone, {view:10s}: {wall:12,.0f} env steps/s ({cpu:,.0f} per CPU-second)")
    if args.updates:
        wall, cpu, steps = bench_training(args.updates)
        print(f"  meta-training (maze-5x5 preset, {args.updates} updates, {steps:,} env steps): "
              f"{wall:,.0f} env steps/s ({cpu:,.0f} per CPU-second)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
