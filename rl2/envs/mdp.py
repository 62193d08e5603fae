"""Batched tabular MDP env: fixed-horizon episodes from state 0, one-hot state observations (and, if
asked, the previous state's one-hot, the previous state-action pair's, and the share of the trial's steps
still to come)."""

from __future__ import annotations

import torch

from rl2.baselines.mdp import finite_horizon_q, model_backup
from rl2.envs.base import StepResult, with_time_left
from rl2.noise import RandomSource, rand, randn
from rl2.tasks.mdp import MDPTasks


class MDPEnv:
    """Steps B random MDPs at once.

    The horizon is part of the task (the finite-horizon MDP of the paper, known to every
    baseline), so an episode's end is reported as ``terminated``, not ``truncated``.

    With ``trial_steps`` > 0 the observation also carries the share of the trial's steps still to
    come (1 at the trial's first step, 1/trial_steps at its last), after the one-hot state: the
    value of a step depends on how many remain, which the recurrent core must otherwise count
    itself over hundreds of steps.

    With ``prev_state`` the observation also carries the one-hot of the state the previous action was
    taken in (zeros at a trial's first step), after the current one: with the previous action and
    reward beside it, one step's input holds a whole transition (s, a, r, s'), which the core would
    otherwise have to pair with a state it carried over from the step before. At an episode's first
    step it is the last state of the episode before, as the previous action and reward are its own.
    With ``pair_obs`` it also carries the one-hot of the previous step's (state, action) pair and that
    one-hot times the reward the pair earned (zeros at a trial's first step): the increments of each
    pair's visit count and reward total, which a core then only has to add up, where from φ it must pair
    a state it carried over with the action and reward that came after it.
    Layout: one-hot state, [previous state], [previous pair, what it earned], [time left]. ``reset`` starts
    a trial.

    ``belief_target`` picks what ``task_parameters()`` reports to belief supervision: the task's
    ``"parameters"`` (mean rewards and transition rows), or the ``"values"`` of the current state: the
    task's optimal action values over the episode's remaining steps, divided by their number, so that
    they read as a reward per step. The least-squares estimate of those, given the trial so far, is
    their posterior mean: what acting on the trial's evidence is worth, where the parameters say
    what the evidence is.
    """

    fixed_length = True  # every episode is exactly `horizon` steps

    def __init__(self, states: int, actions: int, horizon: int, trial_steps: int = 0,
                 prev_state: bool = False, belief_target: str = "parameters", pair_obs: bool = False) -> None:
        self.num_states = states
        self.num_actions = actions
        self.belief_target = belief_target
        self.task_parameter_dim = self.parameter_dim(states, actions, belief_target)
        self.episode_length = horizon
        self.trial_steps = trial_steps
        self.prev_state = prev_state
        self.pair_obs = pair_obs
        pairs, state_columns = states * actions, states * (2 if prev_state else 1)
        self.obs_dim = state_columns + (2 * pairs if pair_obs else 0) + (1 if trial_steps else 0)
        self.obs_shape = (self.obs_dim,)
        # The observation's optional parts and their columns (a warm start bridges a source without them).
        self.optional_inputs = {}
        if prev_state:
            self.optional_inputs["prev_state"] = range(states, 2 * states)
        if pair_obs:
            self.optional_inputs["pair_obs"] = range(state_columns, state_columns + 2 * pairs)
        if trial_steps:
            self.optional_inputs["time_obs"] = range(self.obs_dim - 1, self.obs_dim)
        self.tasks: MDPTasks | None = None

    @staticmethod
    def parameter_dim(states: int, actions: int, belief_target: str = "parameters") -> int:
        """F of ``task_parameters()``: S*A mean rewards, then S*A transition rows of S probabilities
        (``"parameters"``); or the A action values of the current state (``"values"``)."""
        return states * actions * (1 + states) if belief_target == "parameters" else actions

    def reset(self, tasks: MDPTasks) -> torch.Tensor:
        self.tasks = tasks
        device = tasks.transitions.device
        self._rows = torch.arange(tasks.batch, device=device)
        # One-hot rows; the extra last row (zeros) encodes "no previous state" at a trial's start.
        self._eye = torch.eye(self.num_states + 1, self.num_states, device=device)
        self.state = torch.zeros(tasks.batch, dtype=torch.long, device=device)
        self.previous = torch.full_like(self.state, self.num_states)
        # The previous pair's index (the extra last row of _pair_eye, zeros: none yet) and its reward.
        pairs = self.num_states * self.num_actions
        self._pair_eye = torch.eye(pairs + 1, pairs, device=device)
        self.pair = torch.full_like(self.state, pairs)
        self.pair_reward = torch.zeros(tasks.batch, device=device)
        self.t = 0  # step inside the episode; the same for every task since episodes have one length
        self.trial_t = 0  # steps since reset, for the time observation
        self._parameters = torch.cat([tasks.mean_rewards.flatten(1), tasks.transitions.flatten(1)], 1)
        if self.belief_target == "values":
            q = finite_horizon_q(model_backup(tasks.transitions.double(), tasks.mean_rewards.double()),
                                 tasks.batch, self.num_states, self.episode_length, device)
            steps_to_go = torch.arange(self.episode_length, 0, -1, device=device, dtype=q.dtype)
            self._values = (q / steps_to_go[:, None, None, None]).to(tasks.mean_rewards.dtype)  # [H, B, S, A]
        return self._observation()

    def _observation(self) -> torch.Tensor:
        one_hot = self._eye[self.state]
        if self.prev_state:
            one_hot = torch.cat([one_hot, self._eye[self.previous]], dim=1)
        if self.pair_obs:
            pair = self._pair_eye[self.pair]
            one_hot = torch.cat([one_hot, pair, pair * self.pair_reward[:, None]], dim=1)
        return with_time_left(one_hot, self.trial_t, self.trial_steps) if self.trial_steps else one_hot

    def task_parameters(self) -> torch.Tensor:
        """The belief target for the next step, [B, F]: the mean reward of each (state, action), then its
        transition row; or the current state's optimal action values per remaining step."""
        if self.belief_target == "parameters":
            return self._parameters
        return self._values[self.t, self._rows, self.state]  # [B, A]

    def step(self, actions: torch.Tensor, generator: RandomSource) -> StepResult:
        assert self.tasks is not None, "reset the env with tasks first"
        rows, s = self._rows, self.state
        mean = self.tasks.mean_rewards[rows, s, actions]  # [B]
        reward = mean + randn(mean.shape, generator)
        # Sample s' by inverse CDF: the number of cumulative probabilities below a uniform draw.
        cdf = self.tasks.transitions[rows, s, actions].cumsum(-1)  # [B, S]
        u = rand((mean.shape[0], 1), generator)
        next_state = (cdf < u).sum(-1).clamp_(max=self.num_states - 1)
        self.t += 1
        self.trial_t += 1
        done = self.t == self.episode_length
        if done:
            self.t = 0
            next_state = torch.zeros_like(next_state)
        self.previous = s
        self.pair, self.pair_reward = s * self.num_actions + actions, reward
        self.state = next_state
        terminated = torch.full_like(s, done, dtype=torch.bool)
        return StepResult(obs=self._observation(), reward=reward, terminated=terminated,
                          truncated=torch.zeros_like(terminated), mean_reward=mean)
