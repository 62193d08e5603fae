"""PPO over whole trials: pure GAE and loss functions, and one update over a rollout."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from rl2.config import PPOConfig
from rl2.distributed import SINGLE, World
from rl2.policy import RecurrentActorCritic
from rl2.rollout import Rollout


def gae(rewards: torch.Tensor, values: torch.Tensor, trial_end: torch.Tensor, gamma: float, lam: float,
        bootstrap: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates and λ-returns over [T, B].

    Returns run across episode boundaries inside a trial (RL²'s objective is the whole trial's
    return) and are cut only where ``trial_end`` is set: there the next value is 0. At the last
    row, if it is not a trial end, ``bootstrap`` [B] (default 0) is the next state's value.

        δ_t = r_t + γ V_{t+1} (1 - end_t) - V_t
        A_t = δ_t + γ λ (1 - end_t) A_{t+1}
    """
    T = rewards.shape[0]
    advantages = torch.empty_like(rewards)
    next_value = torch.zeros_like(rewards[0]) if bootstrap is None else bootstrap
    next_adv = torch.zeros_like(rewards[0])
    for t in range(T - 1, -1, -1):
        carry = (~trial_end[t]).to(rewards.dtype)
        delta = rewards[t] + gamma * next_value * carry - values[t]
        next_adv = delta + gamma * lam * carry * next_adv
        advantages[t] = next_adv
        next_value = values[t]
    return advantages, advantages + values


def center_by_step(advantages: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Advantages [T, B] less a baseline of the time in the trial: at each row t (the same number of
    steps since every column's trial start) the mean of the other trials' advantages at t, over the
    valid ones; a row with fewer than two valid trials is left as it is.

    Why: on long trials the value function cannot count the steps to the trial's end, and its error
    there has the same sign in every trial (the last episode valued as if more followed). Every action
    near the end then gets a negative advantage; that is no bias in expectation, but PPO's clipping
    stops the push on the rare actions sooner than on the likely one, so the policy's entropy grows
    there and it plays worse at the end of each trial. The time since the trial's start is part of the
    history, so a function of it is a valid baseline; leaving each trial out of its own mean keeps it
    unbiased (it equals the plain centered value times B / (B - 1)).
    """
    valid = torch.ones_like(advantages, dtype=torch.bool) if mask is None else mask
    count = valid.sum(1, keepdim=True)
    total = torch.where(valid, advantages, 0).sum(1, keepdim=True)
    others = (total - advantages) / (count - 1).clamp(min=1)
    return torch.where(valid & (count > 1), advantages - others, advantages)


@dataclass(frozen=True)
class LossTerms:
    """The pieces of the PPO objective for one minibatch (each a scalar tensor)."""

    loss: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clipfrac: torch.Tensor


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of x over the elements where mask is True (all of them where mask is None)."""
    if mask is None:
        return x.mean()
    return torch.where(mask, x, 0).sum() / mask.sum().clamp(min=1)


def masked_std(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Biased std of x over the masked elements (defined for a single element too)."""
    if mask is None:
        return x.std(unbiased=False)
    return masked_mean((x - masked_mean(x, mask)).pow(2), mask).sqrt()


def ppo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, value_error: torch.Tensor,
             entropy: torch.Tensor, clip: float, vf_coef: float, ent_coef: float,
             mask: torch.Tensor | None = None) -> LossTerms:
    """Clipped surrogate + value loss - entropy bonus (all inputs elementwise, any shape).

    value_error is the prediction error already in normalized units (see ``ValueNormalizer``).
    mask (bool, same shape) keeps only the steps of trials: padding contributes nothing.
    """
    log_ratio = logp - old_logp
    ratio = log_ratio.exp()
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    policy_loss = -masked_mean(surrogate, mask)
    value_loss = 0.5 * masked_mean(value_error.pow(2), mask)
    ent = masked_mean(entropy, mask)
    with torch.no_grad():
        approx_kl = masked_mean((ratio - 1) - log_ratio, mask)  # the low-variance k3 estimator of KL(old || new)
        clipfrac = masked_mean(((ratio - 1).abs() > clip).float(), mask)
    loss = policy_loss + vf_coef * value_loss - ent_coef * ent
    return LossTerms(loss, policy_loss, value_loss, ent, approx_kl, clipfrac)


def belief_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error of the belief head's estimates [T, B, F] against the task's parameters [T, B, F],
    averaged over the parameters and the masked steps. Its minimizer, among estimates that depend only on
    the trial so far, is the parameters' posterior mean given that history: the belief."""
    return masked_mean((prediction - target).pow(2).mean(-1), mask)


def gram_belief_loss(features: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, task: torch.Tensor,
                     mask: torch.Tensor | None = None) -> torch.Tensor:
    """``belief_loss`` of a linear head's estimates W f + c [T, b, F] against a task fixed over each trial
    (task [b, F]), from the core's output f [T, b, H] without forming the estimates:
    |W f + c - y|^2 = f^T (W^T W) f + 2 f^T W^T (c - y) + |c - y|^2. A step then costs H^2 (the Gram
    matrix's product) in place of H F, which pays where the task has more parameters than the core has
    units (an MDP's 550 against 256). The three terms are each about |y|^2 and the loss can be far
    smaller, so it carries a few digits fewer than the direct form: enough for a gradient step."""
    offset = bias - task  # [b, F]
    squared = ((features @ (weight.t() @ weight)) * features).sum(-1) + 2 * (features * (offset @ weight)).sum(-1) \
        + offset.pow(2).sum(-1)
    return masked_mean(squared / weight.shape[0], mask)


def gram_form_pays(head: nn.Linear, task: torch.Tensor) -> bool:
    """Whether ``gram_belief_loss`` serves a belief head on a rollout's recorded task [T, B, F]: each
    trial's task stays fixed (bandits, MDPs; not switching bandits), and it has more parameters than the
    core has units (an MDP's 550 against 256: the update then takes about a quarter less time)."""
    return head.out_features > head.in_features and bool((task == task[:1]).all())


def explained_variance(predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """1 - Var[target - predicted] / Var[target] over the masked steps: 1 is perfect, 0 no better than a constant."""
    if mask is not None:
        predicted, target = predicted[mask], target[mask]
    var = target.var(unbiased=False)
    return float("nan") if var == 0 else float(1 - (target - predicted).var(unbiased=False) / var)


def step_mask(rollout: Rollout) -> torch.Tensor | None:
    """The rollout's valid-step mask, or None where every step is valid (the plain means then)."""
    return rollout.valid if rollout.padded else None


def advantages_and_returns(policy: RecurrentActorCritic, rollout: Rollout, cfg: PPOConfig
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """GAE over the rollout's trials, the value normalizer moved to the valid returns, and the mask;
    with ``step_baseline`` the advantages centered at each step of the trial (``center_by_step``), the
    value function's targets unchanged.

    Padding has zero reward and value and lies after a trial end, so its advantages are zero and
    nothing flows back from it into the trial.
    """
    advantages, returns = gae(rollout.rewards, rollout.values, rollout.trial_end, cfg.gamma, cfg.lam)
    mask = step_mask(rollout)
    if cfg.step_baseline:
        advantages = center_by_step(advantages, mask)
    policy.value_norm.update(returns if mask is None else returns[mask], policy.value_head)
    return advantages, returns, mask


@dataclass(frozen=True)
class UpdateStats:
    """Averages over the minibatches of one update."""

    policy_loss: float
    value_loss: float
    entropy: float
    approx_kl: float
    clipfrac: float
    explained_variance: float
    epochs: int
    belief_loss: float | None = None  # with belief supervision (belief_coef > 0)


STAT_NAMES = ("policy", "value", "entropy", "approx_kl", "clipfrac")


@dataclass(frozen=True)
class Minibatch:
    """This rank's part of one minibatch of whole trial columns (the whole minibatch in one process)."""

    cols: torch.Tensor  # [b] long: the columns of the (global) rollout it trains on
    advantages: torch.Tensor  # [T, b] normalized, where asked, with the statistics of the whole global minibatch
    mask: torch.Tensor | None  # [T, b] bool: valid steps (None where every step is)


def shuffled_minibatches(batch: int, count: int, generator: torch.Generator, device: torch.device
                         ) -> Iterator[torch.Tensor]:
    """One epoch: a fresh random split of `batch` trial columns into `count` equal minibatches,
    [batch // count] each."""
    order = torch.randperm(batch, generator=generator, device=generator.device).to(device)
    size = batch // count
    for i in range(count):
        yield order[i * size : (i + 1) * size]


def minibatch_parts(advantages: torch.Tensor, mask: torch.Tensor | None, count: int, norm_adv: bool,
                    generator: torch.Generator, world: World = SINGLE) -> Iterator[Minibatch]:
    """One epoch's minibatches as this rank trains on them: its equal part of each one's trial columns,
    their advantages and valid steps. (Under torchrun every rank holds the global rollout and draws the
    same split from the same generator.)"""
    for cols in shuffled_minibatches(advantages.shape[1], count, generator, advantages.device):
        adv = advantages[:, cols]  # [T, mb]
        mb_mask = None if mask is None else mask[:, cols]
        # Normalized before the split: every rank's part sees the global minibatch's statistics
        # (the biased std: defined for one step too).
        if norm_adv:
            adv = (adv - masked_mean(adv, mb_mask)) / (masked_std(adv, mb_mask) + 1e-8)
        yield Minibatch(world.part(cols), world.part(adv, 1), None if mb_mask is None else world.part(mb_mask, 1))


def minibatch_terms(policy: RecurrentActorCritic, rollout: Rollout, returns: torch.Tensor, mb: Minibatch,
                    cfg: PPOConfig, ent_coef: float) -> tuple[LossTerms, torch.Tensor]:
    """PPO's loss terms on one minibatch's trials, and the policy core's output [T, b, H] (what the
    belief head reads)."""
    # Whole trials replayed from the initial state reproduce collection's recurrent states.
    state0 = policy.initial_state(len(mb.cols), rollout.inputs.device)
    out, values, features = policy.replay(rollout.policy_inputs(mb.cols), state0)  # [T, b, A], [T, b], [T, b, H]
    logp, entropy = policy.action_stats(out, rollout.actions[:, mb.cols])
    value_error = (values - returns[:, mb.cols]) / policy.value_norm.std
    terms = ppo_loss(logp, rollout.logprobs[:, mb.cols], mb.advantages, value_error, entropy, cfg.clip, cfg.vf_coef,
                     ent_coef, mb.mask)
    return terms, features


def ppo_update(policy: RecurrentActorCritic, optimizer: torch.optim.Optimizer, rollout: Rollout,
               cfg: PPOConfig, minibatches: int, ent_coef: float, generator: torch.Generator,
               world: World = SINGLE) -> UpdateStats:
    """Several epochs of minibatch PPO on one rollout; minibatches are sets of whole trial columns.

    Under torchrun the rollout is the global one (the same on every rank) and each rank trains on
    its equal part of every minibatch; gradients and statistics are averaged over the ranks.
    """
    advantages, returns, mask = advantages_and_returns(policy, rollout, cfg)
    device = rollout.inputs.device
    supervise_belief = cfg.belief_coef > 0
    head = policy.belief_head
    gram_form = supervise_belief and gram_form_pays(head, rollout.task)
    epoch_sums = []  # per epoch: STAT_NAMES summed over its minibatches, on the device (no host sync per minibatch)
    belief_sum = torch.zeros((), device=device)
    for _ in range(cfg.epochs):
        sums = torch.zeros(len(STAT_NAMES), device=device)
        for mb in minibatch_parts(advantages, mask, minibatches, cfg.norm_adv, generator, world):
            terms, features = minibatch_terms(policy, rollout, returns, mb, cfg, ent_coef)
            loss = terms.loss
            if supervise_belief:  # the core learns to hold what the trial so far says of the task
                belief = (gram_belief_loss(features, head.weight, head.bias, rollout.task[0, mb.cols], mb.mask)
                          if gram_form else belief_loss(policy.belief(features), rollout.task[:, mb.cols], mb.mask))
                loss = loss + cfg.belief_coef * belief
                belief_sum += belief.detach()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # The mean of equal parts' mean gradients is the gradient of the global minibatch's mean loss.
            world.average_gradients(policy.parameters())
            nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
            optimizer.step()
            sums += torch.stack([getattr(terms, name).detach() for name in STAT_NAMES])
        epoch_sums.append(world.mean(sums))
        if cfg.target_kl > 0 and float(epoch_sums[-1][STAT_NAMES.index("approx_kl")]) / minibatches > cfg.target_kl:
            break
    means = (sum(epoch_sums) / (len(epoch_sums) * minibatches)).tolist()
    belief_mean = float(world.mean(belief_sum)) / (len(epoch_sums) * minibatches) if supervise_belief else None
    return UpdateStats(
        policy_loss=means[0],
        value_loss=means[1],
        entropy=means[2],
        approx_kl=means[3],
        clipfrac=means[4],
        explained_variance=explained_variance(rollout.values, returns, mask),
        epochs=len(epoch_sums),
        belief_loss=belief_mean,
    )
