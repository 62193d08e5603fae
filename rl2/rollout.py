"""Collecting trials with the recurrent policy (no gradients): one whole trial per task column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rl2.envs.base import TrialEnv
from rl2.noise import RandomSource
from rl2.policy import RecurrentActorCritic, rl2_inputs, scale_pixels


@dataclass(frozen=True)
class Rollout:
    """One trial on each of B tasks, aligned: step 0 is every column's trial start.

    Because every column starts at a trial start, replaying a column from the initial state
    reproduces the recurrent states of collection: nothing per-step needs storing.

    A trial is n episodes. Where episodes have a fixed length (bandits, MDPs) every trial ends at
    the last row and every step is valid. Where they end early (mazes) a column's trial ends at its
    n-th episode end; the rows after it are padding: ``valid`` is False there, rewards and values are
    zero, and every loss, advantage, statistic and metric leaves them out.
    """

    inputs: torch.Tensor  # [T, B, D] φ(s_t, a_{t-1}, r_{t-1}, d_{t-1}) ([T, B, 0] where not recorded),
    #                      without s_t where `pixels` holds it: read φ through ``policy_inputs``
    actions: torch.Tensor  # [T, B] long; Box actions [T, B, A] float (the Gaussian samples, before clipping)
    logprobs: torch.Tensor  # [T, B] log π(a_t | history) at collection
    values: torch.Tensor  # [T, B] V(history) at collection (0 on padding)
    rewards: torch.Tensor  # [T, B] (0 on padding); with ``credit_mean_rewards``, each reward's mean
    terminated: torch.Tensor  # [T, B] bool: episode ended by the task
    truncated: torch.Tensor  # [T, B] bool: episode cut by a time limit
    trial_end: torch.Tensor  # [T, B] bool: the last step of a trial (the return is cut here)
    valid: torch.Tensor  # [T, B] bool: a step of the trial, not padding after its end
    success: torch.Tensor  # [T, B] bool: the task's success flag at the step (StepResult.success, else terminated)
    pixels: torch.Tensor  # [T, B, obs_dim] uint8: image observations kept as bytes ([T, B, 0] for others)
    task: torch.Tensor  # [T, B, F] the task's parameters in force at each step, belief supervision's target
    #                    ([T, B, 0] where not recorded); 0 on padding

    def policy_inputs(self, cols: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """φ [T, b, D] of the columns `cols`, as the policy read it at collection (pixels scaled, in front)."""
        if self.pixels.shape[-1] == 0:
            return self.inputs[:, cols]
        return torch.cat([scale_pixels(self.pixels[:, cols]), self.inputs[:, cols]], -1)

    def column_chunks(self, floats: int = 2**26) -> list[slice]:
        """The columns in slices whose φ holds at most about `floats` numbers (pixel rollouts rebuild
        φ in floats, 4 bytes a pixel), or all of them in one slice."""
        T, B = self.valid.shape
        size = max(1, floats // max(1, T * (self.pixels.shape[-1] + self.inputs.shape[-1])))
        return [slice(i, i + size) for i in range(0, B, size)] if self.pixels.shape[-1] else [slice(None)]

    @property
    def steps(self) -> int:
        """Env steps of the trials (padding not counted)."""
        return int(self.valid.sum())

    @property
    def padded(self) -> bool:
        return not bool(self.valid.all())

    def episode_returns(self, episodes: int) -> torch.Tensor:
        """Undiscounted return of each episode in the trial, [B, episodes]."""
        T, B = self.rewards.shape
        if not self.padded and T % episodes == 0 and torch.equal(self.episode_index(), _fixed_index(T, B, episodes)):
            # Episodes of one fixed length: a reshape (exactly the sums of earlier versions)
            return self.rewards.reshape(episodes, T // episodes, B).sum(1).T
        return self._per_episode(self.rewards, episodes)

    def episode_lengths(self, episodes: int) -> torch.Tensor:
        """Steps of each episode in the trial, [B, episodes]."""
        return self._per_episode(self.valid.to(self.rewards.dtype), episodes)

    def episode_success(self, episodes: int) -> torch.Tensor:
        """[B, episodes] bool: the task's success flag was up at some step of the episode (a maze's
        target reached; a Meta-World episode that succeeded at any step, as Meta-World counts it)."""
        return self._per_episode((self.success & self.valid).to(self.rewards.dtype), episodes) > 0

    def episode_index(self) -> torch.Tensor:
        """[T, B] long: which episode of its trial each step belongs to (0-based)."""
        return episode_index(self.terminated, self.truncated)

    def _per_episode(self, x: torch.Tensor, episodes: int) -> torch.Tensor:
        """Sums x [T, B] over the valid steps of each episode index -> [B, episodes]."""
        index = self.episode_index().clamp(max=episodes - 1).T  # [B, T]
        out = torch.zeros(x.shape[1], episodes, dtype=x.dtype, device=x.device)
        return out.scatter_add_(1, index, (x * self.valid).T)


def _fixed_index(T: int, B: int, episodes: int) -> torch.Tensor:
    return torch.arange(T).div(T // episodes, rounding_mode="floor")[:, None].expand(T, B)


@torch.no_grad()
def collect_trials(env: TrialEnv, policy: RecurrentActorCritic, tasks: Any, episodes: int, max_steps: int,
                   generator: RandomSource, greedy: bool = False, record_inputs: bool = True,
                   after_step: Callable[[], None] | None = None, credit_mean_rewards: bool = False,
                   record_task: bool = False) -> Rollout:
    """Runs one trial of `episodes` episodes on each task, starting from the initial state.

    Collection stops once every column's trial has ended, or after `max_steps` steps (where a
    trial still running is cut). ``after_step`` (if given) is called after every env step, e.g.
    to record where the agents are.

    ``credit_mean_rewards``: the rollout's rewards are each step's reward mean given the task,
    state and action (``StepResult.mean_reward``) in place of the sampled reward. The policy still
    reads the sampled reward, and the draws are the same, so the trials are those of plain
    collection. Since E[r_t | task, history, a_t] is that mean, every return keeps its expectation
    and the policy gradient its bias (none), while the reward noise (a Bernoulli arm's, an MDP's unit
    Gaussian) leaves the returns that training credits.

    ``record_task``: the rollout keeps the env's ``task_parameters()`` at every step (the target of
    belief supervision); it needs an env that reports them.
    """
    obs = env.reset(tasks)
    B, device = obs.shape[0], obs.device
    A = env.num_actions
    # Episodes that never end early (the env's ``fixed_length``) end every trial at one known step:
    # run exactly that many, without asking the device each step whether all trials have ended.
    fixed = getattr(env, "fixed_length", False)
    T = min(max_steps, episodes * env.episode_length) if fixed else max_steps
    state = policy.initial_state(B, device)
    if policy.continuous:  # no previous action at a trial's start: zeros (discrete: -1, a zero one-hot)
        prev_action = torch.zeros(B, A, device=device)
        actions = torch.empty(T, B, A, device=device)
    else:
        prev_action = torch.full((B,), -1, dtype=torch.long, device=device)
        actions = torch.empty(T, B, dtype=torch.long, device=device)
    prev_reward = torch.zeros(B, device=device)
    prev_done = torch.zeros(B, device=device)
    # Pixels are stored as the bytes they came in (a quarter of the memory of floats); φ's other parts as floats.
    pixels = torch.empty(T, B, obs.shape[1] if record_inputs and obs.dtype == torch.uint8 else 0,
                         dtype=torch.uint8, device=device)
    skip = pixels.shape[-1]  # φ's leading columns that `pixels` holds
    inputs = torch.empty(T, B, obs.shape[1] + A + 2 - skip if record_inputs else 0, device=device)
    logprobs, values, rewards = (torch.empty(T, B, device=device) for _ in range(3))
    terminated, truncated, valid, success = (torch.empty(T, B, dtype=torch.bool, device=device) for _ in range(4))
    if record_task and not hasattr(env, "task_parameters"):
        raise ValueError(f"{type(env).__name__} reports no task parameters to record")
    task = torch.empty(T, B, env.task_parameter_dim if record_task else 0, device=device)
    episodes_done = torch.zeros(B, dtype=torch.long, device=device)
    steps = T
    for t in range(T):
        x = rl2_inputs(obs, prev_action, prev_reward, prev_done, A)
        if record_inputs:
            inputs[t] = x[:, skip:]
            if skip:
                pixels[t] = obs
        out, value, state = policy.step(x, state)
        action, logprob = policy.sample(out, generator, greedy)
        if record_task:  # the task in force for this step (a switching bandit's changes between pulls)
            task[t] = env.task_parameters()
        result = env.step(action, generator)
        if after_step is not None:
            after_step()
        valid[t] = episodes_done < episodes
        if credit_mean_rewards and result.mean_reward is None:
            raise ValueError(f"{type(env).__name__} reports no reward means to credit")
        actions[t], values[t] = action, value
        rewards[t] = result.mean_reward if credit_mean_rewards else result.reward
        logprobs[t] = logprob
        terminated[t], truncated[t] = result.terminated, result.truncated
        success[t] = result.terminated if result.success is None else result.success
        obs, prev_action, prev_reward = result.obs, action, result.reward
        prev_done = result.episode_done.to(prev_reward.dtype)
        episodes_done += result.episode_done.long()
        # A host read (it waits for the device): only where trials may end at different steps.
        if not fixed and t + 1 < T and bool((episodes_done >= episodes).all()):
            steps = t + 1  # every trial has ended: the remaining rows would be padding only
            break
    v = valid[:steps]
    ended = v & (episodes_done_at(terminated[:steps], truncated[:steps]) == episodes)
    trial_end = ended.clone()
    trial_end[-1] |= v[-1]  # a trial cut at max_steps ends there too
    zero = torch.zeros((), device=device)
    task = task[:steps].masked_fill_(~v[..., None], 0)  # in place: an MDP's task is the rollout's widest tensor
    return Rollout(inputs[:steps], actions[:steps], logprobs[:steps], torch.where(v, values[:steps], zero),
                   torch.where(v, rewards[:steps], zero), terminated[:steps] & v, truncated[:steps] & v,
                   trial_end, v, success[:steps] & v, pixels[:steps], task)


def episodes_done_at(terminated: torch.Tensor, truncated: torch.Tensor) -> torch.Tensor:
    """[T, B] long: episodes ended up to and including each step."""
    return (terminated | truncated).long().cumsum(0)


def episode_index(terminated: torch.Tensor, truncated: torch.Tensor) -> torch.Tensor:
    """[T, B] long: the index in its trial (from 0) of each step's episode: the episodes ended before it."""
    return episodes_done_at(terminated, truncated) - (terminated | truncated).long()
