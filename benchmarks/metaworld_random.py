"""Success of uniformly random actions on the held-out tasks of a Meta-World preset, per episode
index: the floor that an RL² run's evaluation (``rl2 eval``) is read against. Same tasks as
``rl2 eval`` with the same seed; prints one line per episode index.

    python benchmarks/metaworld_random.py ml1-reach [--trials 100] [--seed 1000003] [--max-episode-steps 150]
"""

from __future__ import annotations

import argparse

import torch

from rl2.families import make_env
from rl2.evaluate import mean_ci95, sample_test_tasks
from rl2.families.adapter import GYM_CHUNK
from rl2.presets import preset_config
from rl2.tasks import slice_tasks


def random_trials(task, trials: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns [N, n] and success [N, n] bool of uniformly random actions, one trial per held-out task."""
    tasks = sample_test_tasks(task, trials, seed, "cpu")
    env = make_env(task)
    actions = torch.Generator().manual_seed(seed + 1)
    returns, success = [], []
    for start in range(0, trials, GYM_CHUNK):
        part = slice_tasks(tasks, start, start + GYM_CHUNK)
        env.reset(part)
        B, L = len(part.values), task.episode_length  # Meta-World episodes all run to the cap
        ret, ok = torch.zeros(B, task.n), torch.zeros(B, task.n, dtype=torch.bool)
        for t in range(task.trial_length):
            step = env.step(2 * torch.rand(B, env.num_actions, generator=actions) - 1)
            ret[:, t // L] += step.reward
            ok[:, t // L] |= step.success
        returns.append(ret)
        success.append(ok)
    env.close()
    return torch.cat(returns), torch.cat(success)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", choices=["ml1-reach", "ml1-push", "ml10"])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None, help="held-out task seed (default: the preset's eval_seed)")
    parser.add_argument("--max-episode-steps", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = {} if args.max_episode_steps is None else {"max_episode_steps": args.max_episode_steps}
    config = preset_config(args.preset, **overrides)
    seed = config.run.eval_seed if args.seed is None else args.seed
    returns, success = random_trials(config.task, args.trials, seed)
    print(f"{args.preset}: uniformly random actions on {args.trials} held-out trials (seed {seed})")
    for i in range(config.task.n):
        mean, ci = mean_ci95(returns[:, i])
        print(f"episode {i + 1}: success {100 * float(success[:, i].double().mean()):.1f}%, "
              f"return {mean:.1f} ± {ci:.1f}")


if __name__ == "__main__":
    main()
