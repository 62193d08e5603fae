"""GAE and the PPO loss against cases computed by hand."""

import torch

from rl2.ppo import center_by_step, explained_variance, gae, ppo_loss


def test_gae_hand_computed_two_steps():
    # T = 2, one trial: r = [1, 2], V = [0.5, 1.0], trial ends at t = 1.
    # δ1 = 2 - 1 = 1,  A1 = 1
    # δ0 = 1 + γ·1.0 - 0.5,  A0 = δ0 + γλ·A1
    g, lam = 0.9, 0.5
    rewards = torch.tensor([[1.0], [2.0]])
    values = torch.tensor([[0.5], [1.0]])
    end = torch.tensor([[False], [True]])
    adv, ret = gae(rewards, values, end, g, lam)
    d0 = 1 + g * 1.0 - 0.5
    assert torch.allclose(adv[:, 0], torch.tensor([d0 + g * lam * 1.0, 1.0]))
    assert torch.allclose(ret, adv + values)


def test_lambda_one_gives_discounted_trial_return_across_episodes():
    # With λ = 1 and V = 0 the advantage is the discounted return to the end of the trial,
    # whatever the episode boundaries inside it (RL²'s objective is the whole trial).
    g = 0.5
    rewards = torch.tensor([1.0, 0.0, 2.0, 4.0]).unsqueeze(1)
    end = torch.tensor([False, False, False, True]).unsqueeze(1)
    adv, _ = gae(rewards, torch.zeros_like(rewards), end, g, 1.0)
    expected = [1 + 0 + g**2 * 2 + g**3 * 4, 0 + g * 2 + g**2 * 4, 2 + g * 4, 4.0]
    assert torch.allclose(adv[:, 0], torch.tensor(expected))


def test_center_by_step_subtracts_the_other_trials_mean_at_each_step():
    # Three trials, two steps: each advantage less the mean of the other two at its step.
    adv = torch.tensor([[1.0, 2.0, 6.0], [0.0, -3.0, 3.0]])
    out = center_by_step(adv)
    assert torch.allclose(out, torch.tensor([[1 - 4.0, 2 - 3.5, 6 - 1.5], [0 - 0.0, -3 - 1.5, 3 + 1.5]]))
    # A shift common to every trial at a step (the value function's error there) is removed whole,
    # and the leave-one-out centering is the plain one scaled by B / (B - 1).
    shift = torch.tensor([[5.0], [-7.0]])
    assert torch.allclose(center_by_step(adv + shift), out)
    assert torch.allclose(out, (adv - adv.mean(1, keepdim=True)) * 3 / 2)


def test_center_by_step_counts_only_valid_steps():
    # Padding (False) neither enters a mean nor changes; a row with one valid trial keeps its value.
    adv = torch.tensor([[1.0, 3.0], [2.0, 0.0]])
    mask = torch.tensor([[True, True], [True, False]])
    assert center_by_step(adv, mask).tolist() == [[-2.0, 2.0], [2.0, 0.0]]


def test_returns_are_cut_at_trial_ends_only():
    # Two trials back to back in one column: nothing of the second leaks into the first.
    rewards = torch.tensor([1.0, 1.0, 10.0, 10.0]).unsqueeze(1)
    end = torch.tensor([False, True, False, True]).unsqueeze(1)
    adv, _ = gae(rewards, torch.zeros_like(rewards), end, 1.0, 1.0)
    assert adv[:, 0].tolist() == [2.0, 1.0, 20.0, 10.0]


def test_lambda_zero_is_one_step_td_and_bootstrap_applies_at_the_last_row():
    rewards = torch.tensor([[1.0], [1.0]])
    values = torch.tensor([[2.0], [3.0]])
    end = torch.zeros(2, 1, dtype=torch.bool)
    adv, _ = gae(rewards, values, end, 0.5, 0.0, bootstrap=torch.tensor([4.0]))
    assert adv[:, 0].tolist() == [1 + 0.5 * 3 - 2, 1 + 0.5 * 4 - 3]


def test_ppo_loss_clips_the_ratio_and_reports_kl():
    logp = torch.log(torch.tensor([0.6, 0.2]))
    old = torch.log(torch.tensor([0.3, 0.4]))  # ratios 2.0 and 0.5
    adv = torch.tensor([1.0, -1.0])
    terms = ppo_loss(logp, old, adv, torch.zeros(2), torch.zeros(2), clip=0.2, vf_coef=0.5, ent_coef=0.0)
    # min(2·1, 1.2·1) = 1.2 and min(0.5·-1, 0.8·-1) = -0.8 -> surrogate mean 0.2
    assert abs(float(terms.policy) - (-0.2)) < 1e-6
    assert float(terms.clipfrac) == 1.0
    assert float(terms.approx_kl) > 0


def test_explained_variance():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target) == 1.0
    assert abs(explained_variance(torch.full((4,), 2.5), target)) < 1e-6
