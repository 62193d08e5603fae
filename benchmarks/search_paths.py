"""Where a `point-nav-sparse` agent searches: its paths and the goals each episode of a trial finds.

The frozen agent plays one trial on each of `--goals` goals spread evenly over the upper half circle,
taking its most likely action at each step. Prints the share of goals found in each episode, the path of each episode
of a trial whose first episode found nothing (as (radius, angle in degrees) after each step), and the
goals found in episode 1, only in episode 2, and never.

    python benchmarks/search_paths.py RUN_DIR|CHECKPOINT|zoo:NAME [--goals 60]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from loading import load_agent  # benchmarks/ is on the path of a script run from it

from rl2.envs.point import SparsePointNavigation


def play(agent, steps: int, episodes: int, angle: float) -> list[tuple[np.ndarray, bool]]:
    """One trial on the goal at `angle`: for each episode its positions after each step, and whether it
    reached the goal's reward region."""
    env = SparsePointNavigation((math.cos(angle), math.sin(angle)))
    agent.reset()
    reward, done, trial = None, None, []
    for _ in range(episodes):
        obs, _ = env.reset()
        path, found = [], False
        for t in range(steps):
            action = agent.act(obs) if reward is None else agent.act(obs, reward, done)
            obs, reward, _, _, info = env.step(np.asarray(action, np.float32))
            path.append(obs.copy())
            found |= info["success"]
            done = t == steps - 1
        trial.append((np.array(path), found))
    return trial


def polar(path: np.ndarray) -> str:
    return " ".join(f"({math.hypot(x, y):.2f}, {math.degrees(math.atan2(y, x)):.0f}°)" for x, y in path)


def degrees(angles: list[float]) -> str:
    return ", ".join(f"{math.degrees(a):.0f}" for a in angles) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("agent", help="a point-nav-sparse run, checkpoint or zoo:NAME")
    parser.add_argument("--goals", type=int, default=60, help="goals spread evenly over the arc")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_agent(parser, args.agent)
    task = model.config.task
    if task.family != "point" or not task.sparse:
        parser.error(f"{args.agent} is a {task.family} agent; the search paths need a point-nav-sparse one")
    agent = model.agent(greedy=True)
    angles = [math.pi * (i + 0.5) / args.goals for i in range(args.goals)]
    trials = [play(agent, task.max_episode_steps, task.n, angle) for angle in angles]
    print(f"{args.agent}: {task.n} episodes of {task.max_episode_steps} steps, {args.goals} goals, most likely actions")
    for episode in range(task.n):
        print(f"  episode {episode + 1} reaches the goal in {np.mean([t[episode][1] for t in trials]):.0%} of trials")
    missed = next((t for t in trials if not t[0][1]), None)
    if missed is not None:
        for episode, (path, _) in enumerate(missed):
            print(f"  episode {episode + 1}'s path after an episode 1 that found nothing: {polar(path)}")
    print(f"  goals found in episode 1 (degrees): {degrees([a for a, t in zip(angles, trials) if t[0][1]])}")
    if task.n > 1:
        print("  found only in episode 2: "
              f"{degrees([a for a, t in zip(angles, trials) if t[1][1] and not t[0][1]])}")
    print(f"  never found: {degrees([a for a, t in zip(angles, trials) if not any(found for _, found in t)])}")


if __name__ == "__main__":
    main()
