"""Deployment: the frozen policy as a step-by-step agent for the user's own loop.

    agent = model.agent()
    agent.reset()                        # a new task: forget everything
    action = agent.act(obs)              # first step of the trial
    obs, reward, done = my_env(action)
    action = agent.act(obs, reward, done)  # reward and done of the previous action
"""

from __future__ import annotations

from typing import Sequence

import torch

from rl2.policy import RecurrentActorCritic, rl2_inputs, sample_actions


class Agent:
    """Adapts to one task at a time through its recurrent state only (weights stay frozen)."""

    def __init__(self, policy: RecurrentActorCritic, greedy: bool = False, seed: int = 0) -> None:
        if policy.continuous:
            raise ValueError("Agent steps discrete-action policies; run Box-action policies through "
                             "rl2.envs.gym.GymTrialEnv (it maps actions to the env's bounds)")
        self.policy = policy.eval()
        self.greedy = greedy
        self.device = policy.policy_head.weight.device
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.reset()

    def reset(self) -> None:
        """Starts a new trial (a new task): zero state, no previous action, reward or done."""
        self.state = self.policy.initial_state(1, self.device)
        self.prev_action = torch.full((1,), -1, dtype=torch.long, device=self.device)

    @torch.no_grad()
    def act(self, obs: int | float | Sequence[float] | torch.Tensor | None = None,
            prev_reward: float = 0.0, done: bool = False) -> int:
        """The next action, given the observation and the reward and done flag of the previous action.

        obs: a vector of the env's observation size, a state index for one-hot observations
        (tabular MDPs), None where the env has no observation (bandits), or an image as the policy
        sees it, C x H x W (uint8 pixels are scaled to [0, 1] as in training).
        """
        x = rl2_inputs(self._observation(obs), self.prev_action,
                       torch.tensor([float(prev_reward)], device=self.device),
                       torch.tensor([float(done)], device=self.device), self.policy.num_actions)
        logits, _, self.state = self.policy.step(x, self.state)
        action = logits.argmax(-1) if self.greedy else sample_actions(logits, self.generator)
        self.prev_action = action
        return int(action.item())

    def _observation(self, obs) -> torch.Tensor:
        dim = self.policy.obs_dim
        if obs is None:
            return torch.ones(1, dim, device=self.device)
        if isinstance(obs, int) and dim > 1:
            if not 0 <= obs < dim:
                raise ValueError(f"state index {obs} out of range [0, {dim})")
            return torch.eye(dim, device=self.device)[obs : obs + 1]
        t = torch.as_tensor(obs, device=self.device).reshape(1, -1)
        t = t if t.dtype == torch.uint8 else t.float()  # uint8: pixels, scaled by rl2_inputs
        if t.shape[1] != dim:
            raise ValueError(f"observation has {t.shape[1]} values, the policy expects {dim}")
        return t
