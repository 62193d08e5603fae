"""Throughput of the whole meta-training loop (rollout + PPO update), with peers measured in the same run.

Protocol (issue 2 / issue 6): Bernoulli bandits k = 5, n = 100, GRU 256, 8 PPO epochs, 24,000 env
steps per update, CPU. Prints:
  1. rl2: env steps/s of full meta-training iterations (collect trials + GAE + 8 epochs of PPO), with
     its fused GRU kernel (the default, rl2/fused_gru.py) and with torch.nn.GRU (--gru-kernel torch);
  2. the bound: a bare forward+backward of the recurrent core on the update's minibatch shapes, as env
     steps/s of a loop that did nothing else (8 epochs of it per batch), for torch.nn.GRU and for the
     fused kernel, and each loop's fraction of its own core's bound;
  3. sb3-contrib RecurrentPPO on the same task through a Gymnasium wrapper that gives it the RL²
     inputs, if sb3-contrib is installed (pip install sb3-contrib), and the ratio rl2 / peer;
  4. the FLOP ceiling: the arithmetic one env step costs (collection forward + 8 x forward and
     backward of the GRU and heads) at the rate this machine multiplies the recurrent matmul's
     shapes: no loop doing that arithmetic can run faster, whatever its overheads.

    python benchmarks/throughput.py [--seconds 60] [--threads 2] [--no-peer]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

from rl2 import fused_gru, preset_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rl2.learner import Learner


def bench_rl2(seconds: float, epochs: int, kernel: str) -> tuple[float, int]:
    config = preset_config("bandit-n100-k5", epochs=epochs, steps_per_update=24_000, hidden=256, rnn="gru",
                           device="cpu", gru_kernel=kernel)
    learner = Learner(config, "cpu")
    learner.iterate()  # warm-up: first-call allocations
    start, steps0, updates = time.perf_counter(), learner.env_steps, 0
    while time.perf_counter() - start < seconds or updates < 2:
        learner.iterate()
        updates += 1
    return (learner.env_steps - steps0) / (time.perf_counter() - start), updates


def bench_bound(seconds: float, epochs: int, kernel: str) -> float:
    """Env steps/s of a loop that only ran forward+backward of a bare GRU (torch.nn.GRU, or the same
    weights through rl2's fused kernel), `epochs` times per batch."""
    config = preset_config("bandit-n100-k5")
    T, mb, minibatches = config.task.trial_length, config.trials_per_minibatch, config.ppo.minibatches
    gru = torch.nn.GRU(1 + config.task.k + 2, 256)
    head = torch.nn.Linear(256, config.task.k + 1)
    x, h0 = torch.randn(T, mb, gru.input_size), torch.zeros(1, mb, 256)
    core = (lambda: fused_gru.gru_sequence(gru, x, h0)) if kernel == "fused" else (lambda: gru(x, h0))
    head(core()[0]).sum().backward()
    start, passes = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        head(core()[0]).sum().backward()
        passes += 1
    per_pass = (time.perf_counter() - start) / passes
    # One batch (T x mb x minibatches env steps) costs epochs x minibatches passes.
    return T * mb * minibatches / (per_pass * epochs * minibatches)


def flops_per_env_step(hidden: int, input_dim: int, actions: int, epochs: int) -> float:
    """Floating-point operations of the recurrent core and heads per env step of meta-training.

    A GRU step is two matmuls, [D] x [D, 3H] and [H] x [H, 3H]: 2·3H(D + H) flops. Backpropagation
    through a matmul costs two more of the same size (the gradients of its input and its weight),
    except the first layer's input, whose gradient is not needed.
    """
    H, D, A = hidden, input_dim, actions
    heads = 2 * H * (A + 1)  # policy logits and value
    forward = 2 * 3 * H * (D + H) + heads
    backward = 2 * (2 * 3 * H * H) + 2 * 3 * H * D + 2 * heads
    return forward + epochs * (forward + backward)  # collection, then every epoch


def gemm_rate(rows: int, hidden: int, seconds: float) -> float:
    """Flop/s of this machine on the recurrent matmul of the update, [rows, H] x [H, 3H]."""
    a, b = torch.randn(rows, hidden), torch.randn(hidden, 3 * hidden)
    a @ b
    start, reps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            a @ b
        reps += 100
    return 2 * rows * hidden * 3 * hidden * reps / (time.perf_counter() - start)


def bench_sb3(seconds: float) -> float | None:
    try:
        from sb3_contrib import RecurrentPPO
        from sb3_bandit_env import RL2BanditEnv  # beside this script
    except ImportError as e:
        print(f"  peer skipped: {e} (pip install sb3-contrib gymnasium)")
        return None
    from stable_baselines3.common.vec_env import DummyVecEnv

    n_envs = 8
    env = DummyVecEnv([lambda i=i: RL2BanditEnv(k=5, n=100, seed=i) for i in range(n_envs)])
    model = RecurrentPPO("MlpLstmPolicy", env, n_steps=1_000, batch_size=1_000, n_epochs=8, gamma=0.99,
                         gae_lambda=0.3, policy_kwargs={"lstm_hidden_size": 256, "net_arch": []}, verbose=0,
                         seed=0, device="cpu")
    steps = n_envs * 1_000  # one update of 8,000 steps (its cost is per step, not per batch)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="time spent on each measurement")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--no-peer", action="store_true", help="skip sb3-contrib")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"bandits k=5 n=100, GRU 256, {args.epochs} PPO epochs, 24,000 env steps/update, "
          f"{args.threads} threads, torch {torch.__version__}")
    error = fused_gru.load()
    if error is not None:
        sys.exit(f"{error}: this benchmark measures rl2's default kernel, so it stops here")
    rl2_sps, updates = bench_rl2(args.seconds, args.epochs, "fused")
    print(f"rl2 meta-training loop (fused GRU kernel, the default): {rl2_sps:,.0f} env steps/s ({updates} updates)")
    torch_sps, updates = bench_rl2(args.seconds, args.epochs, "torch")
    print(f"rl2 meta-training loop with torch.nn.GRU:  {torch_sps:,.0f} env steps/s ({updates} updates) -> "
          f"the fused kernel {rl2_sps / torch_sps:.2f}x")
    for kernel, label, sps in (("torch", "torch.nn.GRU", torch_sps), ("fused", "fused kernel", rl2_sps)):
        bound = bench_bound(min(args.seconds, 20.0), args.epochs, kernel)
        print(f"bare {label} fwd+bwd bound: {bound:,.0f} env steps/s -> its loop at {sps / bound:.2f} of it"
              + (f"; the default loop at {rl2_sps / bound:.2f} of it" if kernel == "torch" else ""))
    config = preset_config("bandit-n100-k5")
    flops = flops_per_env_step(256, 1 + config.task.k + 2, config.task.k, args.epochs)
    rate = gemm_rate(config.trials_per_minibatch, 256, min(args.seconds, 10.0))
    ceiling = rate / flops
    print(f"FLOP ceiling: {flops / 1e6:.1f} MFLOP per env step at {rate / 1e9:.1f} GFLOP/s (this machine's "
          f"[{config.trials_per_minibatch}, 256] x [256, 768] matmul) -> {ceiling:,.0f} env steps/s; "
          f"rl2 at {rl2_sps / ceiling:.2f} of it")
    if not args.no_peer:
        peer = bench_sb3(args.seconds)
        if peer is not None:
            print(f"sb3-contrib RecurrentPPO (LSTM 256): {peer:,.0f} env steps/s -> ratio rl2/peer "
                  f"{rl2_sps / peer:.1f} (with torch.nn.GRU {torch_sps / peer:.1f}; a loop at the FLOP ceiling "
                  f"would reach {ceiling / peer:.1f})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
