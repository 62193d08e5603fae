"""Visual navigation: meta-train a CNN + GRU agent on random 5x5 mazes seen from pixels, then check
on held-out mazes (5x5 and 9x9) that its second episode is shorter than its first.

    python examples/maze.py                          # the preset: ~4M env steps, about 35 min on one core
    python examples/maze.py --updates 300            # the target is found reliably; episode 2 barely shorter
    rl2 render maze-example.pt --out trial.png       # then draw one held-out trial: episode 1 and 2 paths

Within a trial the maze and the target stay fixed and the agent respawns at the start after each
episode: what it remembers of episode 1 is all it has to be faster in episode 2.
"""

import argparse

import torch

from rl2 import RL2, preset_config
from rl2.train import format_eval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=None, help="meta-training updates (default: the preset's)")
    parser.add_argument("--trials", type=int, default=1000, help="held-out mazes of each size to evaluate")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (small net, short episodes)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the maze's small ops gain nothing from a second thread on a busy CPU

    small = {"hidden": 16, "max_episode_steps": 15, "large_max_episode_steps": 30, "steps_per_update": 240}
    config = preset_config("maze-5x5", **(small if args.tiny else {}))
    if args.updates is not None:  # a maze update's step budget counts every trial at its longest
        config = config.replace(total_steps=args.updates * config.ppo.steps_per_update)
    model = RL2(config)
    model.learn(callback=lambda it: print(f"update {it.update:4d}: trial return {it.trial_return:6.2f}, "
                                          f"episode lengths {[round(n, 1) for n in it.episode_lengths]}")
                if it.update % 20 == 0 else None)
    # Held-out mazes never seen in training, 5 episodes a trial: success and length per episode.
    print(format_eval(model.evaluate(trials=args.trials).summary()))
    model.save("maze-example.pt")
    print("saved maze-example.pt (rl2 render maze-example.pt --out trial.png draws a trial)")


if __name__ == "__main__":
    main()
