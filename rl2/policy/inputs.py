"""The recurrent core's input φ(s_t, a_{t-1}, r_{t-1}, d_{t-1}): observation, previous action (one-hot
when discrete), previous reward and previous episode-done flag; zeros for the last three at a trial's start.

Image observations may arrive as bytes (uint8 pixels, 0-255): ``rl2_inputs`` scales them to [0, 1], so a
rollout can keep them as bytes and rebuild the same φ bit for bit (``scale_pixels``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def scale_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (0-255) -> float32 in [0, 1]; the one definition, so stored bytes replay exactly."""
    return pixels.float().div_(255.0)


def rl2_inputs(obs: torch.Tensor, prev_action: torch.Tensor, prev_reward: torch.Tensor,
               prev_done: torch.Tensor, num_actions: int) -> torch.Tensor:
    """φ(s_t, a_{t-1}, r_{t-1}, d_{t-1}) for any leading dims: [..., obs_dim + num_actions + 2].

    obs: floats, or uint8 pixels (scaled to [0, 1] here). prev_action is -1 where there is no
    previous action (a trial's first step): its one-hot is zeros. A floating prev_action
    [..., num_actions] (Box actions) goes in as it is (zeros at a trial's start).
    """
    if obs.dtype == torch.uint8:
        obs = scale_pixels(obs)
    if prev_action.is_floating_point():
        return torch.cat([obs, prev_action.to(obs.dtype), prev_reward.unsqueeze(-1).to(obs.dtype),
                          prev_done.unsqueeze(-1).to(obs.dtype)], dim=-1)
    one_hot = F.one_hot(prev_action.clamp(min=0), num_actions).to(obs.dtype)
    one_hot = one_hot * (prev_action >= 0).unsqueeze(-1).to(obs.dtype)
    return torch.cat([obs, one_hot, prev_reward.unsqueeze(-1).to(obs.dtype),
                      prev_done.unsqueeze(-1).to(obs.dtype)], dim=-1)
