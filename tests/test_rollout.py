"""Collection of fixed-length trials (bandits, switching bandits, MDPs) reads nothing back from the
device per step, and collects exactly what the checked loop of variable-length trials collects."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Iterator

import pytest
import torch

from rl2.envs import BanditEnv, MazeEnv, MDPEnv, SwitchingBanditEnv, TrialEnv
from rl2.policy import RecurrentActorCritic
from rl2.rollout import Rollout, collect_trials
from rl2.tasks import BernoulliBandit, MazeDistribution, SwitchingBandit, TabularMDP

# Every way a tensor's value reaches Python: on a GPU each waits for the device to catch up.
HOST_READS = ("__bool__", "__float__", "__int__", "item", "tolist")


@contextmanager
def counting_host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts the reads of tensor values into Python inside the block (each read still happens)."""
    reads: list[str] = []
    with monkeypatch.context() as patch:
        for name in HOST_READS:
            def counted(self, *args, _read=getattr(torch.Tensor, name), _name=name):
                reads.append(_name)
                return _read(self, *args)

            patch.setattr(torch.Tensor, name, counted)
        yield reads


def setting(family: str) -> tuple[TrialEnv, Any, int, int]:
    """An env, 16 tasks, the episodes of a trial and its length in steps."""
    g = torch.Generator().manual_seed(1)
    if family == "bandit":
        return BanditEnv(k=5), BernoulliBandit(k=5).sample(16, g), 10, 10
    if family == "switching":
        return SwitchingBanditEnv(k=3), SwitchingBandit(k=3, n=12, hazard=0.2).sample(16, g), 12, 12
    if family == "mdp":
        return MDPEnv(states=4, actions=3, horizon=5), TabularMDP(states=4, actions=3).sample(16, g), 3, 15
    return MazeEnv(5, max_episode_steps=12), MazeDistribution(5).sample(16, g), 2, 24


def rollout(env: TrialEnv, tasks: Any, episodes: int, max_steps: int) -> Rollout:
    """A fresh policy's (seed 0) trials on the tasks, actions and outcomes drawn with seed 2."""
    torch.manual_seed(0)
    policy = RecurrentActorCritic(env.obs_shape, env.num_actions, hidden=16)
    return collect_trials(env, policy, tasks, episodes, max_steps, torch.Generator().manual_seed(2))


@pytest.mark.parametrize("family", ["bandit", "switching", "mdp"])
def test_fixed_length_trials_are_collected_without_a_host_read(family, monkeypatch):
    env, tasks, episodes, length = setting(family)
    assert env.fixed_length
    with counting_host_reads(monkeypatch) as reads:
        r = rollout(env, tasks, episodes, length)
    assert reads == []
    assert r.rewards.shape == (length, 16) and bool(r.valid.all()) and bool(r.trial_end[-1].all())


def test_variable_length_trials_are_checked_every_step(monkeypatch):
    """Mazes end episodes at the target: collection asks after each step whether all trials ended."""
    env, tasks, episodes, cap = setting("maze")
    assert not getattr(env, "fixed_length", False)
    with counting_host_reads(monkeypatch) as reads:
        r = rollout(env, tasks, episodes, cap)
    assert reads.count("__bool__") >= len(r.rewards) - 1  # one question per step but the last


@pytest.mark.parametrize("family", ["bandit", "switching", "mdp"])
def test_fixed_length_rollouts_equal_the_checked_ones(family):
    """The same tensors as the loop that checks every step (the env's fixed_length turned off), also
    when max_steps leaves room past the trial's end."""
    env, tasks, episodes, length = setting(family)
    for max_steps in (length, length + 4):
        fast = rollout(env, tasks, episodes, max_steps)
        env.fixed_length = False  # this instance only: the path of envs whose episodes may end early
        checked = rollout(env, tasks, episodes, max_steps)
        del env.fixed_length
        assert fast.rewards.shape == (length, 16)
        for field in fields(Rollout):
            assert torch.equal(getattr(fast, field.name), getattr(checked, field.name)), field.name


def reward_means(env: TrialEnv, tasks: Any, r: Rollout) -> torch.Tensor:
    """[T, B] the mean of each step's reward, read off the tasks: the pulled arm's probability in force
    (bandits), or the task's mean reward of the state the step's input shows and the action (MDPs)."""
    T, B = r.actions.shape
    if isinstance(env, MDPEnv):
        states = r.inputs[:, :, : env.num_states].argmax(-1)  # φ starts with the one-hot state
        rows = torch.arange(B).expand(T, B)
        return tasks.mean_rewards[rows, states, r.actions]
    probs = tasks.probs if isinstance(env, SwitchingBanditEnv) else tasks.probs[:, None].expand(B, T, -1)
    return probs[:, :T].gather(2, r.actions.T[:, :, None]).squeeze(2).T


@pytest.mark.parametrize("family", ["bandit", "switching", "mdp"])
def test_mean_credit_keeps_the_trials_and_credits_each_rewards_mean(family):
    """The same draws, so the same trials as plain collection; only the credited rewards differ."""
    env, tasks, episodes, length = setting(family)
    sampled = rollout(env, tasks, episodes, length)
    torch.manual_seed(0)
    policy = RecurrentActorCritic(env.obs_shape, env.num_actions, hidden=16)
    credited = collect_trials(env, policy, tasks, episodes, length, torch.Generator().manual_seed(2),
                              credit_mean_rewards=True)
    for field in fields(Rollout):
        if field.name != "rewards":
            assert torch.equal(getattr(sampled, field.name), getattr(credited, field.name)), field.name
    assert torch.allclose(credited.rewards, reward_means(env, tasks, credited))
    assert not torch.equal(credited.rewards, sampled.rewards)


def test_mean_credit_keeps_the_expected_return_and_lowers_its_variance():
    """Over many bandit trials the credited return's mean is the sampled one's (paired differences
    within 4 standard errors of 0), and its variance is smaller: the arms' Bernoulli noise is gone."""
    g = torch.Generator().manual_seed(3)
    env, tasks = BanditEnv(k=5), BernoulliBandit(k=5).sample(4000, g)
    torch.manual_seed(0)
    policy = RecurrentActorCritic(env.obs_shape, env.num_actions, hidden=16)
    runs = [collect_trials(env, policy, tasks, 10, 10, torch.Generator().manual_seed(4), credit_mean_rewards=credit)
            for credit in (False, True)]
    sampled, credited = (r.rewards.sum(0) for r in runs)
    diff = sampled - credited
    assert abs(float(diff.mean())) < 4 * float(diff.std()) / len(diff) ** 0.5
    assert float(credited.var()) < 0.8 * float(sampled.var())


def test_mean_credit_is_refused_where_the_env_knows_no_reward_means():
    env, tasks = MazeEnv(5, max_episode_steps=12), MazeDistribution(5).sample(2, torch.Generator().manual_seed(1))
    policy = RecurrentActorCritic(env.obs_shape, env.num_actions, hidden=8)
    with pytest.raises(ValueError, match="MazeEnv reports no reward means"):
        collect_trials(env, policy, tasks, 1, 12, torch.Generator().manual_seed(2), credit_mean_rewards=True)
