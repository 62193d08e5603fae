"""Hand-over: does an agent of the paper's tables fall short in what it explores, or in what it makes of it?

The frozen RL² agent plays the first K episodes of each held-out trial (a bandit's episode is one
pull). From episode K + 1 on, one of three players finishes the trial:
- agent: the agent itself, sampling its actions (what `rl2 eval` measures; the peer);
- argmax: the agent, taking its most probable action;
- planner: a classic method of the tables, given everything the agent saw in its K episodes and
  updating it as it plays: on MDPs rl2's Greedy baseline (value iteration on the posterior-mean MDP),
  on bandits the finite-horizon Gittins index (its success and failure counts per arm), or with
  `--bandit-planner greedy` the arm of highest posterior mean, which explores no further: if even
  that beats the agent, the agent does not act on what it has seen.
The first K episodes are the same for all three (same tasks, same random draws). If the planner's
later episodes beat the agent's, the agent gathered the information and does not act on it: its
shortfall lies in memory or in turning memory into a policy, not in exploration.

    python benchmarks/handover.py zoo:mdp-n10 --handover 3 5
    python benchmarks/handover.py zoo:mdp-n25 --handover 5 10
    python benchmarks/handover.py zoo:bandit-n100-k10 --handover 10 30
    python benchmarks/handover.py zoo:mdp-n10 --n 25 --handover 10   # the agent on longer trials
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from loading import load_agent  # benchmarks/ is on the path of a script run from it

from rl2 import RL2
from rl2.baselines.bandits import make_bandit_policy
from rl2.baselines.mdp import DEFAULT_MDP_HPARAMS, MDPStats, greedy_actions, plan_q_values
from rl2.evaluate import mean_ci95, sample_test_tasks
from rl2.families import make_env
from rl2.policy import rl2_inputs

PLAYERS = ("agent", "argmax", "planner")


class FrozenAgent:
    """The agent inside B trials: its recurrent state and its last action, reward and done flag.

    It steps on every step of the trial, whoever acts, so that its random draws (and so the first K
    episodes) are the same for every player; after the hand-over only its action is overridden."""

    def __init__(self, model: RL2, trials: int, actions: int) -> None:
        self.policy, self.actions = model.policy.eval(), actions
        self.state = self.policy.initial_state(trials, "cpu")
        self.prev_action = torch.full((trials,), -1, dtype=torch.long)
        self.prev_reward, self.prev_done = torch.zeros(trials), torch.zeros(trials)

    def act(self, obs: torch.Tensor, generator: torch.Generator, argmax: bool) -> torch.Tensor:
        self.last_input = rl2_inputs(obs, self.prev_action, self.prev_reward, self.prev_done, self.actions)
        out, _, self.state = self.policy.step(self.last_input, self.state)  # imitation.py records last_input
        return self.policy.sample(out, generator, greedy=argmax)[0]

    def observe(self, action: torch.Tensor, result) -> None:
        """What the trial showed after `action`, whoever chose it: the next step's input."""
        self.prev_action, self.prev_reward, self.prev_done = action, result.reward, result.episode_done.float()


@torch.no_grad()
def play_bandit(model: RL2, task, tasks, handover: int, player: str, seed: int, planner: str) -> torch.Tensor:
    """One trial on each task: the agent for `handover` pulls, then `player`. Returns the reward of
    every pull, [trials, n]."""
    generator = torch.Generator().manual_seed(seed)
    env = make_env(task)
    obs = env.reset(tasks)
    trials, arms = obs.shape[0], task.k
    agent, rows = FrozenAgent(model, trials, arms), torch.arange(trials)
    classic = make_bandit_policy(planner, task.n, arms) if player == "planner" else None
    successes, failures = torch.zeros(trials, arms), torch.zeros(trials, arms)
    returns = torch.zeros(trials, task.n)
    for t in range(task.n):
        handed = t >= handover
        action = agent.act(obs, generator, argmax=handed and player == "argmax")
        if handed and classic is not None:
            action = classic.act(successes, failures, t, generator)
        result = env.step(action, generator)
        agent.observe(action, result)
        successes[rows, action] += result.reward
        failures[rows, action] += 1.0 - result.reward
        returns[:, t], obs = result.reward, result.obs
    return returns


@torch.no_grad()
def play_mdp(model: RL2, task, tasks, handover: int, player: str, seed: int, planner: str) -> torch.Tensor:
    """One trial on each task: the agent for `handover` episodes, then `player` (`planner` is the
    bandits' choice: MDPs always hand over to Greedy). Returns the return of every episode, [trials, n]."""
    generator = torch.Generator().manual_seed(seed)
    env = make_env(task)
    obs = env.reset(tasks)
    trials = obs.shape[0]
    agent, rows = FrozenAgent(model, trials, task.actions), torch.arange(trials)
    stats = MDPStats.zeros(trials, task.states, task.actions)
    returns = torch.zeros(trials, task.n)
    for episode in range(task.n):
        handed = episode >= handover
        q = (plan_q_values("greedy", stats, DEFAULT_MDP_HPARAMS["greedy"], task.horizon, generator)
             if handed and player == "planner" else None)
        for t in range(task.horizon):
            s = obs[:, :task.states].argmax(-1)  # the one-hot state leads (--prev-state, --time-obs follow)
            action = agent.act(obs, generator, argmax=handed and player == "argmax")
            if q is not None:
                action = greedy_actions(q[t, rows, s], generator)
            result = env.step(action, generator)
            agent.observe(action, result)
            # The env resets to state 0 at an episode's end: the last step has no next state to count.
            next_state = result.obs[:, :task.states].argmax(-1) if t + 1 < task.horizon else None
            stats.update(s, action, result.reward.double(), next_state)
            returns[:, episode] += result.reward
            obs = result.obs
    return returns


PLAY = {"bandit": play_bandit, "mdp": play_mdp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("agent", help="a bandit or tabular-MDP agent: zoo:NAME, a run directory or a checkpoint")
    parser.add_argument("--handover", type=int, nargs="+", default=[5], help="episodes the agent plays first")
    parser.add_argument("--n", type=int, default=None, help="episodes per trial (default: the agent's own)")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5, help="the draws of the trials (outcomes and actions)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bandit-planner", choices=("gittins", "greedy"), default="gittins",
                        help="what finishes a bandit trial (MDPs: always Greedy)")
    args = parser.parse_args()
    if args.trials < 2 or args.threads < 1 or (args.n is not None and args.n < 1):
        parser.error("--trials must be at least 2 (a CI needs two), --threads and --n at least 1")
    torch.set_num_threads(args.threads)
    model = load_agent(parser, args.agent)
    task = model.config.task
    if task.family not in PLAY:
        parser.error(f"{args.agent} is a {task.family} agent; the hand-over needs a bandit or tabular-MDP one")
    if args.n is not None:
        task = dataclasses.replace(task, n=args.n)
    if any(not 0 <= k <= task.n for k in args.handover):
        parser.error(f"--handover must lie in [0, {task.n}] (the trial's episodes)")
    # The held-out tasks of `rl2 eval`: those of every figure in Tables 1 and 2.
    tasks = sample_test_tasks(task, args.trials, model.config.run.eval_seed, "cpu")
    print(f"{args.agent} on {args.trials} held-out trials of {task.n} episodes (torch {torch.__version__}, "
          f"{args.threads} threads)")
    for k in args.handover:
        runs = {player: PLAY[task.family](model, task, tasks, k, player, args.seed, args.bandit_planner)
                for player in PLAYERS}
        peer = runs["agent"]
        for player, returns in runs.items():
            mean, ci = mean_ci95(returns.sum(1))
            line = f"  agent for {k:3d} episodes, then {player:7s}: trial {mean:8.2f} ± {ci:5.2f}"
            if k < task.n:
                late, late_ci = mean_ci95(returns[:, k:].mean(1))
                line += f"; episodes {k + 1}-{task.n}: {late:6.2f} ± {late_ci:4.2f} each"
                if player != "agent":
                    gain, gain_ci = mean_ci95(returns[:, k:].sum(1) - peer[:, k:].sum(1))
                    ratio = returns[:, k:].sum() / peer[:, k:].sum()
                    line += f", {gain:+.2f} ± {gain_ci:.2f} over the agent's (paired; ratio {ratio:.3f})"
            print(line, flush=True)
        stride = -(-task.n // 20)  # at most 20 episodes shown
        shown = range(0, task.n, stride)
        agent, planner = peer.mean(0), runs["planner"].mean(0)
        print(f"  per episode, every {stride}{'st' if stride == 1 else 'th'} (episode: agent / planner): "
              + " ".join(f"{e + 1}: {agent[e]:.2f}/{planner[e]:.2f}" for e in shown))


if __name__ == "__main__":
    main()
