"""The heads' torsos and the action distributions the policy head parameterizes: categorical (logits)
and diagonal Gaussian (means, with one learned log-std vector), their log-probs, entropies and samples.

Box actions live in the normalized box [-1, 1]^A; the env clips samples there and maps them to its
bounds (see ``rl2.envs.gym``), so the log-prob PPO uses is the Gaussian's own, exactly (a tanh squash
would need its Jacobian and has no closed-form entropy).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rl2.noise import RandomSource, rand, randn


def torso(hidden: int, width: int) -> nn.Module:
    """Linear(hidden, width) + tanh, or the identity (no weights) for width 0."""
    return nn.Sequential(nn.Linear(hidden, width), nn.Tanh()) if width else nn.Identity()


def sample_actions(logits: torch.Tensor, generator: RandomSource) -> torch.Tensor:
    """Categorical sample by the Gumbel-max trick, drawing only from the given generator (or shard)."""
    u = rand(logits.shape, generator)
    gumbel = -torch.log(-torch.log(u.clamp_(min=1e-20)))
    return (logits + gumbel).argmax(-1)


def categorical_sample(logits: torch.Tensor, generator: RandomSource, greedy: bool = False
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Actions [B] (long) from logits [B, A], sampled or the argmax (greedy), and their log-probs [B]."""
    action = logits.argmax(-1) if greedy else sample_actions(logits, generator)
    return action, torch.log_softmax(logits, -1).gather(1, action[:, None]).squeeze(1)


def gaussian_sample(mean: torch.Tensor, log_std: torch.Tensor, generator: RandomSource, greedy: bool = False
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Actions [B, A] from N(mean, exp(log_std)²) in the unbounded space (the env clips them), or the
    mean (greedy), and their log-probs [B]."""
    action = mean if greedy else mean + log_std.exp() * randn(mean.shape, generator)
    return action, gaussian_stats(mean, log_std, action)[0]


def categorical_stats(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability of the actions and the entropy of the distribution, both [...]."""
    logp_all = torch.log_softmax(logits, -1)
    logp = logp_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


def gaussian_stats(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Diagonal Gaussian N(mean, exp(log_std)²): log-probability of actions [..., A] and entropy, both [...].

        log π(a) = Σ_i [-(a_i - μ_i)² / (2σ_i²) - log σ_i - ½ log 2π],   H = Σ_i [½ + ½ log 2π + log σ_i]
    """
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    z = (actions - mean) * torch.exp(-log_std)
    logp = (-0.5 * z.pow(2) - log_std - half_log_2pi).sum(-1)
    entropy = (0.5 + half_log_2pi + log_std).sum(-1).expand(mean.shape[:-1])
    return logp, entropy
