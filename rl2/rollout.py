"""Collecting trials with the recurrent policy (no gradients): one whole trial per task column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rl2.envs.base import TrialEnv
from rl2.noise import RandomSource
from rl2.policy import RecurrentActorCritic, rl2_inputs, sample_actions


@dataclass(frozen=True)
class Rollout:
    """One trial on each of B tasks, aligned: step 0 is every column's trial start.

    Because every column starts at a trial start, replaying a column from the initial state
    reproduces the recurrent states of collection: nothing per-step needs storing, nothing padding.
    """

    inputs: torch.Tensor  # [T, B, D] φ(s_t, a_{t-1}, r_{t-1}, d_{t-1})
    actions: torch.Tensor  # [T, B] long
    logprobs: torch.Tensor  # [T, B] log π(a_t | history) at collection
    values: torch.Tensor  # [T, B] V(history) at collection
    rewards: torch.Tensor  # [T, B]
    terminated: torch.Tensor  # [T, B] bool: episode ended by the task
    truncated: torch.Tensor  # [T, B] bool: episode cut by a time limit
    trial_end: torch.Tensor  # [T, B] bool: the last step of a trial (the return is cut here)

    @property
    def steps(self) -> int:
        return self.rewards.numel()

    def episode_returns(self, episodes: int) -> torch.Tensor:
        """Undiscounted return of each episode in the trial, [B, episodes] (fixed-length episodes)."""
        T, B = self.rewards.shape
        return self.rewards.reshape(episodes, T // episodes, B).sum(1).T


@torch.no_grad()
def collect_trials(env: TrialEnv, policy: RecurrentActorCritic, tasks: Any, trial_length: int,
                   generator: RandomSource, greedy: bool = False) -> Rollout:
    """Runs one trial of `trial_length` steps on each task, starting from the initial state."""
    obs = env.reset(tasks)
    B, device = obs.shape[0], obs.device
    T, A = trial_length, env.num_actions
    state = policy.initial_state(B, device)
    prev_action = torch.full((B,), -1, dtype=torch.long, device=device)
    prev_reward = torch.zeros(B, device=device)
    prev_done = torch.zeros(B, device=device)
    inputs = torch.empty(T, B, obs.shape[1] + A + 2, device=device)
    actions = torch.empty(T, B, dtype=torch.long, device=device)
    logprobs, values, rewards = (torch.empty(T, B, device=device) for _ in range(3))
    terminated, truncated = (torch.empty(T, B, dtype=torch.bool, device=device) for _ in range(2))
    for t in range(T):
        x = rl2_inputs(obs, prev_action, prev_reward, prev_done, A)
        logits, value, state = policy.step(x, state)
        action = logits.argmax(-1) if greedy else sample_actions(logits, generator)
        result = env.step(action, generator)
        inputs[t], actions[t], values[t], rewards[t] = x, action, value, result.reward
        logprobs[t] = torch.log_softmax(logits, -1).gather(1, action[:, None]).squeeze(1)
        terminated[t], truncated[t] = result.terminated, result.truncated
        obs, prev_action, prev_reward = result.obs, action, result.reward
        prev_done = result.episode_done.to(prev_reward.dtype)
    trial_end = torch.zeros(T, B, dtype=torch.bool, device=device)
    trial_end[-1] = True
    return Rollout(inputs, actions, logprobs, values, rewards, terminated, truncated, trial_end)
