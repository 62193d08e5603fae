"""Scaling: env steps/s of the whole meta-training loop with 1 and 2 processes (and 1 GPU where present).

Protocol: Bernoulli bandits k = 5, n = 100, GRU 256, 8 PPO epochs, a fixed global batch of 24,000
env steps per update (240 trials, 4 minibatches). Configurations, each in fresh processes:
  1. one process, CPU, 2 torch threads (the baseline: the same two cores as configuration 2);
  2. two processes under torchrun (gloo), CPU, 1 torch thread each: each collects and trains half
     of every batch, gradients averaged every minibatch;
  3. one process, CPU, 1 thread (what one core does alone);
  4. one process on the GPU, if CUDA is available.
Prints env steps/s of each (global steps: all ranks), the speed-up over configuration 1, and the
load average, since other work on the machine changes every figure.

    python benchmarks/scaling.py [--updates 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import torch

from rl2 import preset_config
from rl2.distributed import launched
from rl2.learner import Learner


def worker(updates: int, threads: int, device: str) -> None:
    """Times `updates` meta-training iterations after one warm-up; rank 0 prints a JSON line."""
    torch.set_num_threads(threads)
    config = preset_config("bandit-n100-k5", epochs=8, steps_per_update=24_000, minibatches=4, hidden=256,
                           rnn="gru", device=device)
    with launched() as world:
        learner = Learner(config, world.device(device), world)
        learner.iterate()  # warm-up: first-call allocations
        if learner.device.type == "cuda":
            torch.cuda.synchronize()
        start, steps0 = time.perf_counter(), learner.env_steps
        for _ in range(updates):
            learner.iterate()  # reads its figures back to the host: the GPU has finished the update
        elapsed = time.perf_counter() - start
        if world.is_main:
            print(json.dumps({"env_steps_per_s": (learner.env_steps - steps0) / elapsed, "ranks": world.size}))


def run(command: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.exit(f"benchmark run failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])["env_steps_per_s"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3, help="timed updates per configuration (after a warm-up)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.updates, args.threads, args.device)
        return
    me = [os.path.abspath(__file__), "--worker", "--updates", str(args.updates)]
    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"bandits k=5 n=100, GRU 256, 8 PPO epochs, 24,000 env steps per update (global), "
          f"{args.updates} timed updates, {os.cpu_count()} CPU cores, torch {torch.__version__}")
    one = run([sys.executable, *me, "--threads", "2"])
    print(f"1 process,   2 threads:      {one:8,.0f} env steps/s")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
                "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{free_port()}"]
    two = run([*torchrun, *me, "--threads", "1"])
    print(f"2 processes, 1 thread each:  {two:8,.0f} env steps/s  -> speed-up {two / one:.2f}x")
    single = run([sys.executable, *me, "--threads", "1"])
    print(f"1 process,   1 thread:       {single:8,.0f} env steps/s  -> 2 processes are {two / single:.2f}x of it")
    if torch.cuda.is_available():
        gpu = run([sys.executable, *me, "--threads", "1", "--device", "cuda"])
        print(f"1 GPU ({torch.cuda.get_device_name(0)}): {gpu:8,.0f} env steps/s  -> speed-up {gpu / one:.2f}x")
    else:
        print("1 GPU: skipped (no CUDA GPU here)")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
