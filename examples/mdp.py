"""Random tabular MDPs: a config built from dataclasses, then a table against PSRL, UCRL2, BEB, ...

    python examples/mdp.py                       # 600k env steps, about 5 minutes on 2 CPU cores
    python examples/mdp.py --total-steps 100000

Each task is an MDP with 10 states and 5 actions whose transitions and rewards are unknown to the
agent; a trial is 10 episodes of 10 steps on it.
"""

import argparse

from rl2 import RL2, Config, PolicyConfig, PPOConfig, RunConfig
from rl2.compare import Row, compare_baselines, format_table
from rl2.families.mdp import MDPConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-steps", type=int, default=600_000)
    parser.add_argument("--trials", type=int, default=1000, help="held-out trials to evaluate")
    args = parser.parse_args()

    config = Config(
        task=MDPConfig(n=10, states=10, actions=5, horizon=10),
        policy=PolicyConfig(rnn="gru", hidden=256),
        # 48 trials of 100 steps an update: at this short budget small updates learn first (the
        # mdp-n10 preset's 240-trial updates go further, over millions of steps).
        ppo=PPOConfig(steps_per_update=4_800, minibatches=4, lr=3e-3),
        run=RunConfig(total_steps=args.total_steps, seed=0),
    )
    model = RL2(config).learn()

    # RL² and the classic algorithms on the very same held-out MDPs.
    seed = config.run.eval_seed
    rows = [Row("RL²", model.evaluate(trials=args.trials, seed=seed))]
    rows += compare_baselines(config.task, args.trials, seed)
    print(format_table(rows, f"random MDPs, 10 episodes per trial, {args.trials} held-out tasks:"))
    model.save("mdp-example.pt")
    print("saved mdp-example.pt: RL2.load('mdp-example.pt') restores it")


if __name__ == "__main__":
    main()
