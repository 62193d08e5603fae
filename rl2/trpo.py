"""TRPO over whole trials, the paper's optimizer (Schulman et al. 2015): a natural-gradient step on
the surrogate, scaled to a mean-KL limit and checked by a backtracking line search; then the value
function is fitted by Adam on the parameters that do not move the policy.

With a shared core only the value head is fitted; use ``critic="separate"`` to give the value
function a recurrent core of its own, as the paper's recurrent baseline had.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from rl2.config import PPOConfig
from rl2.distributed import SINGLE, World
from rl2.policy import RecurrentActorCritic, categorical_stats
from rl2.ppo import (UpdateStats, advantages_and_returns, explained_variance, masked_mean, masked_std,
                     shuffled_minibatches)
from rl2.rollout import Rollout


def conjugate_gradient(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, iters: int,
                       tol: float = 1e-10) -> torch.Tensor:
    """Approximately solves A x = b for symmetric positive-definite A given only x -> A x."""
    x = torch.zeros_like(b)
    r = b.clone()  # residual b - A x
    p = b.clone()  # search direction
    rr = r @ r
    for _ in range(iters):
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        rr_new = r @ r
        if rr_new < tol:
            break
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def categorical_kl(old_logits: torch.Tensor, new_logits: torch.Tensor) -> torch.Tensor:
    """KL(old || new) of categorical distributions along the last dim, [...]."""
    old_logp = torch.log_softmax(old_logits, -1)
    new_logp = torch.log_softmax(new_logits, -1)
    return (old_logp.exp() * (old_logp - new_logp)).sum(-1)


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _set_flat(params: list[nn.Parameter], flat: torch.Tensor) -> None:
    offset = 0
    for p in params:
        n = p.numel()
        p.data.copy_(flat[offset : offset + n].view_as(p))
        offset += n


def trpo_update(policy: RecurrentActorCritic, value_optimizer: torch.optim.Optimizer, rollout: Rollout,
                cfg: PPOConfig, minibatches: int, ent_coef: float, generator: torch.Generator,
                world: World = SINGLE) -> UpdateStats:
    """One TRPO policy step on the whole batch of trials, then value fitting on minibatches.

    Under torchrun the rollout is the global one and each rank evaluates its share of the trials:
    the gradient, every Fisher-vector product and the line search's figures are averaged over the
    ranks, so all take the same step. (Padded, variable-length trials run in one process only.)
    """
    advantages, returns, mask = advantages_and_returns(policy, rollout, cfg)
    if cfg.norm_adv:
        advantages = (advantages - masked_mean(advantages, mask)) / (masked_std(advantages, mask) + 1e-8)
    params = policy.policy_parameters()
    B = rollout.rewards.shape[1]
    mine = world.shard(B)
    inputs = rollout.policy_inputs(mine)
    actions, old_logp, adv = (x[:, mine] for x in (rollout.actions, rollout.logprobs, advantages))
    my_mask = None if mask is None else mask[:, mine]
    state0 = policy.initial_state(mine.stop - mine.start, rollout.inputs.device)

    def surrogate_and_kl(logits: torch.Tensor,
                         old_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Means over this rank's trials (equal shares: their mean over the ranks is the global one)."""
        logp, entropy = categorical_stats(logits, actions)
        ratio = (logp - old_logp).exp()
        surrogate = masked_mean(ratio * adv, my_mask) + ent_coef * masked_mean(entropy, my_mask)
        return surrogate, masked_mean(categorical_kl(old_logits, logits), my_mask), masked_mean(entropy, my_mask)

    logits, _ = policy.unroll(inputs, state0)
    old_logits = logits.detach()
    surrogate, _, entropy = surrogate_and_kl(logits, old_logits)
    g = world.mean(_flat(torch.autograd.grad(surrogate, params)))
    surrogate, entropy = (float(x) for x in world.mean(torch.stack([surrogate.detach(), entropy.detach()])))
    # The Fisher matrix is an average over trials: a random subset estimates it well at a fraction
    # of the cost of the double backward passes through the recurrent core (CG needs ~10 of them).
    n_sub = max(1, round(cfg.fisher_fraction * B))
    sub = torch.randperm(B, generator=generator, device=generator.device)[:n_sub]
    sub = sub[world.shard(n_sub)].to(rollout.inputs.device)  # this rank's part (maybe uneven, maybe empty)
    share = len(sub) / n_sub  # its weight in the subset's average
    if len(sub):
        # The Fisher products differentiate this replay twice. The fused attention kernels (CPU's flash
        # kernel, CUDA's) have no second derivative, so a transformer replays it on the math kernel
        # (T² scores in memory, for this subset only); recurrent cores are untouched by this.
        with sdpa_kernel(SDPBackend.MATH):
            sub_logits, _ = policy.unroll(rollout.policy_inputs(sub),
                                          policy.initial_state(len(sub), rollout.inputs.device))
        sub_kl = masked_mean(categorical_kl(sub_logits.detach(), sub_logits), None if mask is None else mask[:, sub])
        grad_kl = _flat(torch.autograd.grad(sub_kl, params, create_graph=True))

    def fisher_vector(v: torch.Tensor) -> torch.Tensor:
        # F v = ∇(∇KL · v) at the old policy (KL's Hessian is the Fisher matrix there)
        local = _flat(torch.autograd.grad(grad_kl @ v, params, retain_graph=True)) if len(sub) else torch.zeros_like(v)
        return world.sum(share * local) + cfg.cg_damping * v

    direction = conjugate_gradient(fisher_vector, g, cfg.cg_iters)
    quad = 0.5 * direction @ fisher_vector(direction)  # ½ sᵀ F s
    full_step = direction * torch.sqrt(cfg.max_kl / quad.clamp(min=1e-12))
    old_params = _flat(p.detach() for p in params).clone()
    final_kl, accepted = 0.0, False
    with torch.no_grad():
        for i in range(cfg.backtrack_steps):
            _set_flat(params, old_params + 0.5**i * full_step)
            new_logits, _ = policy.unroll(inputs, state0)
            new_surrogate, new_kl = world.mean(torch.stack(surrogate_and_kl(new_logits, old_logits)[:2])).tolist()
            if new_kl <= cfg.max_kl and new_surrogate > surrogate:
                final_kl, accepted = new_kl, True
                break
        if not accepted:  # no step improved within the trust region: keep the old policy
            _set_flat(params, old_params)
    value_loss = fit_value(policy, value_optimizer, rollout, returns, cfg, minibatches, generator, world, mask)
    return UpdateStats(policy_loss=-surrogate, value_loss=value_loss, entropy=entropy,
                       approx_kl=final_kl, clipfrac=0.0,
                       explained_variance=explained_variance(rollout.values, returns, mask),
                       epochs=cfg.epochs)


def fit_value(policy: RecurrentActorCritic, optimizer: torch.optim.Optimizer, rollout: Rollout, returns: torch.Tensor,
              cfg: PPOConfig, minibatches: int, generator: torch.Generator, world: World = SINGLE,
              mask: torch.Tensor | None = None) -> float:
    """Regresses the value function on the λ-returns (normalized units) over the masked steps;
    returns the mean loss. Under torchrun each rank fits its part of every minibatch, with
    gradients averaged."""
    device = rollout.inputs.device
    total = torch.zeros((), device=device)
    for _ in range(cfg.epochs):
        for cols in shuffled_minibatches(rollout.rewards.shape[1], minibatches, generator, device):
            cols = world.part(cols)
            _, values = policy.unroll(rollout.policy_inputs(cols), policy.initial_state(len(cols), device))
            error = ((values - returns[:, cols]) / policy.value_norm.std).pow(2)
            loss = 0.5 * masked_mean(error, None if mask is None else mask[:, cols])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            world.average_gradients(policy.value_only_parameters())
            nn.utils.clip_grad_norm_(policy.value_only_parameters(), cfg.max_grad_norm)
            optimizer.step()
            total += loss.detach()
    return float(world.mean(total)) / (cfg.epochs * minibatches)
