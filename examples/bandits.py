"""Bernoulli bandits: meta-train RL², then use the frozen agent in your own loop.

    python examples/bandits.py                     # 1M env steps, about 2 minutes on 2 CPU cores
    python examples/bandits.py --total-steps 200000

The agent never sees the arm probabilities: inside one trial it must find the best arm from the
rewards alone, with its weights frozen.
"""

import argparse

import torch

from rl2 import RL2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-steps", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=1000, help="held-out trials to evaluate")
    args = parser.parse_args()

    # Slow RL: PPO over trials of 10 pulls on random 5-armed bandits (the preset), weights change.
    model = RL2("bandit-n10-k5", total_steps=args.total_steps)
    model.learn(callback=lambda it: print(f"update {it.update:4d}  env steps {it.env_steps:>9,}  "
                                          f"trial return {it.trial_return:.2f}") if it.update % 50 == 0 else None)

    # Fast RL: frozen weights on held-out bandits; the return of each pull shows the adaptation.
    summary = model.evaluate(trials=args.trials).summary()
    print(f"held-out: {summary['mean_trial_return']:.2f} ± {summary['ci95']:.2f} per trial of 10 pulls "
          f"(random 5.0, Bayes-optimal about 6.7)")
    print("mean reward of pull 1..10:", " ".join(f"{r:.2f}" for r in summary["episode_return_mean"]))

    # Deployment: one bandit of your own, played step by step by the streaming agent.
    probs = torch.tensor([0.1, 0.2, 0.9, 0.3, 0.4])
    agent = model.agent(seed=0)
    agent.reset()  # a new task: the hidden state starts from zero
    action, total = agent.act(None), 0.0
    for pull in range(10):
        reward = float(torch.rand(()) < probs[action])
        total += reward
        action = agent.act(None, reward, True)  # every bandit pull is an episode of one step
    print(f"on a bandit whose arm 2 pays 0.9: {total:.0f} of 10 pulls paid")


if __name__ == "__main__":
    main()
