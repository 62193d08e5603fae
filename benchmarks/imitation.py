"""Imitation: can the agent's network play as a classic MDP planner does?

The hand-over (`handover.py`) asks whether an agent falls short in what it explores or in what it makes
of it. This asks whether the network could hold a better policy at all: it trains a tabular-MDP agent's
policy to take the actions a planner of Table 2 (BEB by default, with its tuned β) would take after the
same history, then measures the imitating agent on the held-out tasks as `rl2 eval` does.

Training is DAgger (Ross et al. 2011): trials on training tasks are played by the planner with
probability 1 - i / --dagger-iters at iteration i, else by the agent, and every step is labelled with
the planner's action given what that trial has shown so far, so the agent also learns what to do in
the histories its own mistakes lead to. The loss is the cross-entropy of the policy's logits with the
planner's action over whole trials replayed from their start (the value head is not trained). The
imitating agent is saved as a checkpoint that `rl2 train --init-from` takes.

    python benchmarks/imitation.py zoo:mdp-n25 --iters 400 --epochs 4 --out /tmp/imitate-n25.pt
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from handover import FrozenAgent  # benchmarks/ is on the path of a script run from it
from loading import load_agent

from rl2 import RL2
from rl2.baselines.mdp import DEFAULT_MDP_HPARAMS, MDP_BASELINES, MDPStats, greedy_actions, plan_q_values
from rl2.compare import tuned_hparams
from rl2.families import make_env, make_task_distribution


@torch.no_grad()
def labelled_trials(model: RL2, planner: str, hparams: dict[str, float], tasks, p_planner: float,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One trial on each task, each step played by the planner with probability `p_planner`, else by
    the agent. Returns the policy inputs [T, B, D], the planner's action at every step [T, B] and the
    trials' returns [B]."""
    task, env = model.config.task, make_env(model.config.task)
    obs = env.reset(tasks)
    B, S, A, H = obs.shape[0], task.states, task.actions, task.horizon
    rows, stats, agent = torch.arange(B), MDPStats.zeros(B, S, A), FrozenAgent(model, B, A)
    inputs, labels, returns = [], [], torch.zeros(B)
    for t in range(task.n * H):
        if t % H == 0:  # the planners plan once an episode, as in their own runs
            q = plan_q_values(planner, stats, hparams, H, generator)
        s = obs[:, :S].argmax(-1)  # the one-hot state leads the observation
        label = greedy_actions(q[t % H, rows, s], generator)
        own = agent.act(obs, generator, argmax=False)
        action = torch.where(torch.rand(B, generator=generator) < p_planner, label, own)
        result = env.step(action, generator)
        agent.observe(action, result)
        # The env resets to state 0 at an episode's end: the last step has no next state to count.
        next_state = result.obs[:, :S].argmax(-1) if (t + 1) % H else None
        stats.update(s, action, result.reward.double(), next_state)
        inputs.append(agent.last_input), labels.append(label)
        returns += result.reward
        obs = result.obs
    return torch.stack(inputs), torch.stack(labels), returns


def imitation_loss(model: RL2, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Cross-entropy of the policy's logits over whole trials with the planner's actions, and the share
    of steps where the policy's most likely action is the planner's."""
    policy = model.policy.train()
    logits, _ = policy.unroll(inputs, policy.initial_state(inputs.shape[1], "cpu"))
    loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
    return loss, (logits.argmax(-1) == labels).float().mean().item()


def held_out(model: RL2) -> str:
    """The agent on the held-out tasks of every figure in Table 2: trial return and a few episodes."""
    summary = model.evaluate(trials=1000).summary()  # the figures `rl2 eval` prints
    shown = ", ".join(f"{summary['episode_return_mean'][i]:.2f}" for i in (0, 1, 2, -1))
    return f"held-out {summary['mean_trial_return']:.2f} ± {summary['ci95']:.2f} (episodes 1, 2, 3 and last: {shown})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("agent", help="a tabular-MDP agent to start from: zoo:NAME, a run directory or a checkpoint")
    parser.add_argument("--planner", choices=[m for m in MDP_BASELINES if m != "random"], default="beb")
    parser.add_argument("--iters", type=int, default=400, help="batches of trials")
    parser.add_argument("--batch", type=int, default=96, help="trials a batch")
    parser.add_argument("--epochs", type=int, default=4, help="passes over each batch, in 4 minibatches of trials")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--dagger-iters", type=int, default=100,
                        help="the planner plays with probability 1 - i / this at iteration i")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="checkpoint of the imitating agent, written at each evaluation")
    args = parser.parse_args()
    if min(args.iters, args.epochs, args.dagger_iters, args.eval_every, args.threads) < 1 or args.batch < 4:
        parser.error("--iters, --epochs, --dagger-iters, --eval-every and --threads must be >= 1, --batch >= 4")
    if not 0 < args.lr < 1:
        parser.error(f"--lr must lie in (0, 1), got {args.lr}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = load_agent(parser, args.agent)
    task = model.config.task
    if task.family != "mdp":
        parser.error(f"{args.agent} is a {task.family} agent; imitation needs a tabular-MDP one")
    hparams = {**DEFAULT_MDP_HPARAMS[args.planner], **tuned_hparams(task).get(args.planner, {})}
    distribution = make_task_distribution(task, split="train")
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.Adam(model.policy.parameters(), lr=args.lr)
    print(f"{args.agent} imitating {args.planner} {hparams} on trials of {task.n} episodes "
          f"(torch {torch.__version__}, {args.threads} threads)")
    print(f"start: {held_out(model)}", flush=True)
    start = time.time()
    for i in range(1, args.iters + 1):
        p_planner = max(0.0, 1.0 - i / args.dagger_iters)
        inputs, labels, returns = labelled_trials(model, args.planner, hparams,
                                                  distribution.sample(args.batch, generator), p_planner, generator)
        for _ in range(args.epochs):
            for cols in torch.randperm(args.batch).chunk(4):
                loss, agreement = imitation_loss(model, inputs[:, cols], labels[:, cols])
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.policy.parameters(), 0.5)
                optimizer.step()
        if i % 20 == 0:
            print(f"iteration {i} ({time.time() - start:.0f} s): loss {loss.item():.3f}, agreement {agreement:.3f}, "
                  f"planner plays {p_planner:.2f}, training trials {returns.mean():.1f}", flush=True)
        if i % args.eval_every == 0 or i == args.iters:
            print(f"iteration {i}: {held_out(model)}", flush=True)
            if args.out:
                model.save(args.out)


if __name__ == "__main__":
    main()
