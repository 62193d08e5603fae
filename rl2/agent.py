"""Deployment: the frozen policy as a step-by-step agent for the user's own loop.

    agent = model.agent()
    agent.reset()                        # a new task: forget everything
    action = agent.act(obs)              # first step of the trial
    obs, reward, done = my_env(action)
    action = agent.act(obs, reward, done)  # reward and done of the previous action

Discrete-action policies return an action index. Box-action policies return the action vector in
the env's bounds, mapped from the policy's normalized box exactly as in training
(``rl2.envs.gym.env_actions``); their previous-action input is the policy's own sample, as in training.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from rl2.envs.gym import Spaces, env_actions
from rl2.policy import RecurrentActorCritic, rl2_inputs


class Agent:
    """Adapts to one task at a time through its recurrent state only (weights stay frozen).

    A transformer's state is the trial's key/value cache: each act computes its own step and attends
    over the cached ones (its cost grows with the position, nothing is recomputed); a trial longer
    than the policy's context (attn_context) is refused in one line, ``reset`` starts the next.
    """

    def __init__(self, policy: RecurrentActorCritic, greedy: bool = False, seed: int = 0,
                 spaces: Spaces | None = None, states: int | None = None) -> None:
        if policy.continuous and spaces is None:
            raise ValueError("a Box-action policy needs the env's spaces (its action bounds): "
                             "take the agent from RL2.agent(), or pass spaces=GymTrialEnv.spaces")
        self.policy = policy.eval()
        self.greedy = greedy
        self.spaces = spaces
        self.states = states  # a tabular env's state count: where the observation is more, an index is not enough
        self.device = policy.policy_head.weight.device
        self.generator = torch.Generator(self.device).manual_seed(seed)
        self.reset()

    def reset(self) -> None:
        """Starts a new trial (a new task): zero state, no previous action, reward or done."""
        self.state = self.policy.initial_state(1, self.device)
        if self.policy.continuous:  # zeros: the input of a trial's first step, as in training
            self.prev_action = torch.zeros(1, self.policy.num_actions, device=self.device)
        else:
            self.prev_action = torch.full((1,), -1, dtype=torch.long, device=self.device)

    @torch.no_grad()
    def act(self, obs: int | float | Sequence[float] | np.ndarray | torch.Tensor | None = None,
            prev_reward: float = 0.0, done: bool = False) -> int | np.ndarray:
        """The next action, given the observation and the reward and done flag of the previous action.

        obs: a vector of the env's observation size, a state index for one-hot observations
        (tabular MDPs), None where the env has no observation (bandits), or an image as the policy
        sees it, C x H x W (uint8 pixels are scaled to [0, 1] as in training).
        """
        x = rl2_inputs(self._observation(obs), self.prev_action,
                       torch.tensor([float(prev_reward)], device=self.device),
                       torch.tensor([float(done)], device=self.device), self.policy.num_actions)
        out, _, self.state = self.policy.step(x, self.state)
        action, _ = self.policy.sample(out, self.generator, greedy=self.greedy)
        self.prev_action = action
        if self.policy.continuous:
            return env_actions(action[0].cpu().numpy(), self.spaces)
        return int(action.item())

    def _observation(self, obs) -> torch.Tensor:
        dim = self.policy.obs_dim
        if obs is None:  # a bandit's constant observation; one trained with --time-obs needs its [1, pulls left share]
            if dim != 1:
                raise ValueError(f"the policy observes {dim} values: pass the observation")
            return torch.ones(1, dim, device=self.device)
        if isinstance(obs, int) and dim > 1:
            if self.states is not None and self.states != dim:
                raise ValueError(f"the policy observes {dim} values (the one-hot state and more: --prev-state, "
                                 "--time-obs): pass the observation, not a state index")
            if not 0 <= obs < dim:
                raise ValueError(f"state index {obs} out of range [0, {dim})")
            return torch.eye(dim, device=self.device)[obs : obs + 1]
        t = torch.as_tensor(obs, device=self.device).reshape(1, -1)
        t = t if t.dtype == torch.uint8 else t.float()  # uint8: pixels, scaled by rl2_inputs
        if t.shape[1] != dim:
            raise ValueError(f"observation has {t.shape[1]} values, the policy expects {dim}")
        return t
