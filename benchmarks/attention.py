"""The transformer core against its GRU peer, 1 torch thread: deployment and training costs as the trial grows.

1. ``Agent.act``: milliseconds per step at trial positions 10, 100, 500 and 1,000 (the mean of `--acts`
   consecutive acts starting there), with what one batched forward over the whole prefix costs (what
   a step would cost were the context recomputed instead of cached), and the GRU's act.
2. One PPO update (ppo_update: replay, backward, Adam; 1 epoch, 1 minibatch) on 8 trials of 100, 500
   and 1,000 bandit pulls: seconds and peak memory. Each configuration runs in a fresh process, whose
   peak resident memory during its first update above its level before it is the figure (CPU torch
   has no allocator statistics; Adam's moments, a few MiB, are in it); the time is the second update's.
   GRU replays use torch.nn.GRU (rl2's fused kernel is ~1.5x faster, benchmarks.md).

Both cores are `--hidden` wide (default 128); the transformer has 2 blocks of 4 heads.

    python benchmarks/attention.py [--hidden 128] [--acts 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from rl2.agent import Agent
from rl2.config import PPOConfig
from rl2.envs.bandit import BanditEnv
from rl2.policy import RecurrentActorCritic
from rl2.ppo import ppo_update
from rl2.rollout import collect_trials
from rl2.tasks import BernoulliBandit

POSITIONS = (10, 100, 500, 1000)
TRIALS = (100, 500, 1000)
BATCH = 8  # trials per PPO update


def policy(rnn: str, hidden: int, context: int) -> RecurrentActorCritic:
    torch.manual_seed(0)
    extra = dict(attn_layers=2, attn_heads=4, attn_context=context) if rnn == "transformer" else {}
    return RecurrentActorCritic(1, 5, rnn, hidden, **extra)


def act_costs(rnn: str, hidden: int, acts: int) -> list[tuple[int, float, float]]:
    """(position, ms per act there, ms of one batched forward over the prefix up to it)."""
    net = policy(rnn, hidden, POSITIONS[-1] + acts)
    agent = Agent(net, greedy=True)
    out, done = [], 0
    for position in POSITIONS:
        while done < position:
            agent.act(None, 0.5)
            done += 1
        start = time.perf_counter()
        for _ in range(acts):
            agent.act(None, 0.5)
        done += acts
        per_act = (time.perf_counter() - start) / acts * 1e3
        x = torch.randn(position, 1, net.input_dim)
        with torch.no_grad():
            start = time.perf_counter()
            net.unroll(x, net.initial_state(1))
            prefix = (time.perf_counter() - start) * 1e3
        out.append((position, per_act, prefix))
    return out


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def update_cost(rnn: str, hidden: int, trial: int) -> dict:
    """Seconds and peak memory (MiB above the level before) of one PPO update on BATCH trials of `trial` pulls."""
    net = policy(rnn, hidden, trial)
    env, tasks = BanditEnv(k=5), BernoulliBandit(k=5).sample(BATCH, torch.Generator().manual_seed(1))
    rollout = collect_trials(env, net, tasks, trial, trial, torch.Generator().manual_seed(2))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    cfg = PPOConfig(epochs=1)
    before = rss_bytes()
    ppo_update(net, optimizer, rollout, cfg, 1, 0.0, torch.Generator().manual_seed(3))  # the memory: the first's
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    start = time.perf_counter()
    ppo_update(net, optimizer, rollout, cfg, 1, 0.0, torch.Generator().manual_seed(3))  # the time: the second's
    return {"seconds": time.perf_counter() - start, "peak_mib": max(0, peak - before) / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--acts", type=int, default=20)
    parser.add_argument("--update", nargs=2, metavar=("RNN", "TRIAL"), help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.update:
        print(json.dumps(update_cost(args.update[0], args.hidden, int(args.update[1]))))
        return
    print(f"Agent.act, hidden {args.hidden}, ms per step (mean of {args.acts} acts from the position)")
    print(f"{'position':>9} {'transformer':>12} {'prefix forward':>15} {'gru':>8} {'transformer/gru':>16}")
    gru = act_costs("gru", args.hidden, args.acts)
    for (position, act, prefix), (_, gru_act, _) in zip(act_costs("transformer", args.hidden, args.acts), gru):
        print(f"{position:>9} {act:>12.3f} {prefix:>15.3f} {gru_act:>8.3f} {act / gru_act:>16.2f}")
    print(f"\nOne PPO update on {BATCH} trials (1 epoch, 1 minibatch), hidden {args.hidden}")
    print(f"{'trial':>6} {'gru s':>7} {'transformer s':>14} {'ratio':>6} {'gru MiB':>8} {'transformer MiB':>16}")
    for trial in TRIALS:
        cost = {}
        for rnn in ("gru", "transformer"):
            r = subprocess.run([sys.executable, __file__, "--hidden", str(args.hidden), "--update", rnn, str(trial)],
                               capture_output=True, text=True, check=True)
            cost[rnn] = json.loads(r.stdout)
        g, t = cost["gru"], cost["transformer"]
        print(f"{trial:>6} {g['seconds']:>7.2f} {t['seconds']:>14.2f} {t['seconds'] / g['seconds']:>6.2f} "
              f"{g['peak_mib']:>8.1f} {t['peak_mib']:>16.1f}")


if __name__ == "__main__":
    main()
