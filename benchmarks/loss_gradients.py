"""Which term of PPO's loss moves the recurrent core? Gradient norms of each term, for a trained agent.

The core (GRU, LSTM or transformer) is shared: the policy loss, the value loss (weighted by ``vf_coef``), the entropy
bonus and, with belief supervision, the belief loss all reach its weights. This script collects one
update's worth of trials with a frozen agent on fresh training tasks, forms the advantages and returns
as training does (its own γ, λ, reward credit and step baseline), and for each minibatch of one epoch
takes the gradient of each weighted term with respect to the core's weights alone. It prints their
norms (means over the minibatches), the cosine between the policy's and the value's, and the whole
loss's gradient norm over all weights against ``max_grad_norm``. At ratio 1 (the first PPO epoch) the
policy term is the plain policy gradient.

    python benchmarks/loss_gradients.py zoo:mdp-n25
    python benchmarks/loss_gradients.py zoo:bandit-n100-k10 --trials 240

Why it exists: the value loss is in normalized units (``ValueNormalizer``), so its weight against the
policy's is not visible from the config; this puts a number on it.
"""

from __future__ import annotations

import argparse

import torch
from loading import load_agent  # benchmarks/ is on the path of a script run from it

from rl2.evaluate import sample_test_tasks
from rl2.ppo import advantages_and_returns, belief_loss, minibatch_parts, minibatch_terms
from rl2.rollout import collect_trials


def flat_grad(loss: torch.Tensor, params: list[torch.Tensor]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("agent", help="run directory, checkpoint file or zoo:NAME")
    parser.add_argument("--trials", type=int, default=0, help="trials collected (default: one update's)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the training tasks and draws")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.trials < 0 or args.threads < 1:
        parser.error("--trials must be at least 0 (0: one update's), --threads at least 1")
    torch.set_num_threads(args.threads)
    model = load_agent(parser, args.agent)
    config, policy = model.config, model.policy
    cfg, task = config.ppo, config.task
    trials = args.trials or config.trials_per_update
    minibatches = cfg.minibatches if trials % cfg.minibatches == 0 else 1
    tasks = sample_test_tasks(task, trials, args.seed, "cpu")
    generator = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        rollout = collect_trials(model.learner.env, policy, tasks, task.n, task.trial_length, generator,
                                 credit_mean_rewards=cfg.reward_credit == "mean", record_task=cfg.belief_coef > 0)
    advantages, returns, mask = advantages_and_returns(policy, rollout, cfg)

    core = list(policy.core.parameters())
    every = [p for p in policy.parameters() if p.requires_grad]
    sums: dict[str, float] = {}
    count = 0
    labels = {"policy": "policy", "value": f"value x {cfg.vf_coef:g}", "entropy": f"entropy x {cfg.ent_coef:g}",
              "belief": f"belief x {cfg.belief_coef:g}"}
    for mb in minibatch_parts(advantages, mask, minibatches, cfg.norm_adv, generator):
        terms, features = minibatch_terms(policy, rollout, returns, mb, cfg, cfg.ent_coef)
        parts = {"policy": terms.policy, "value": cfg.vf_coef * terms.value, "entropy": -cfg.ent_coef * terms.entropy}
        if cfg.belief_coef > 0:
            parts["belief"] = cfg.belief_coef * belief_loss(policy.belief(features), rollout.task[:, mb.cols], mb.mask)
        grads = {name: flat_grad(term, core) for name, term in parts.items()}
        row = {labels[name]: float(g.norm()) for name, g in grads.items()}
        row["cos(policy, value)"] = float(torch.nn.functional.cosine_similarity(grads["policy"], grads["value"], 0))
        row["whole loss, all weights"] = float(flat_grad(sum(parts.values()), every).norm())
        for name, value in row.items():
            sums[name] = sums.get(name, 0.0) + value
        count += 1

    print(f"{args.agent}: {trials} trials of {task.trial_length} steps, {count} minibatches; "
          f"value targets' std {float(policy.value_norm.std):.2f}")
    print("gradient norm on the core's weights, mean over the minibatches:")
    for name, total in sums.items():
        sign = "+" if name.startswith("cos") else ""
        clip = f"  (clipped at max_grad_norm {cfg.max_grad_norm:g})" if name.startswith("whole") else ""
        print(f"  {name:24s} {total / count:{sign}.4f}{clip}")


if __name__ == "__main__":
    main()
