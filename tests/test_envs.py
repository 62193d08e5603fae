"""Task distributions and batched envs match the distributions the paper defines."""

import torch

from rl2.envs import BanditEnv, MDPEnv
from rl2.families import make_env, make_task_distribution
from rl2.families.bandit import BanditConfig
from rl2.families.mdp import MDPConfig
from rl2.evaluate import sample_test_tasks
from rl2.tasks import BernoulliBandit, TabularMDP


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_bandit_arm_probabilities_are_uniform():
    probs = BernoulliBandit(k=5).sample(20_000, gen()).probs
    assert probs.shape == (20_000, 5)
    assert 0 <= probs.min() and probs.max() < 1
    assert abs(probs.mean() - 0.5) < 0.01
    assert abs(probs.var() - 1 / 12) < 0.003


def test_bandit_rewards_are_bernoulli_with_the_arm_probability():
    tasks = BernoulliBandit(k=3).sample(4, gen(1))
    env = BanditEnv(k=3)
    obs = env.reset(tasks)
    assert obs.tolist() == [[1.0]] * 4  # bandits have no state: a constant observation
    g = gen(2)
    actions = torch.tensor([0, 1, 2, 0])
    total = torch.zeros(4)
    for _ in range(20_000):
        step = env.step(actions, g)
        total += step.reward
        assert step.terminated.all() and not step.truncated.any()  # every pull is an episode
    expected = tasks.probs[torch.arange(4), actions]
    assert torch.allclose(total / 20_000, expected, atol=0.015)


def test_the_time_observation_counts_down_the_share_of_pulls_left_and_pays_as_without_it():
    tasks = BernoulliBandit(k=3).sample(6, gen(3))
    plain, timed = BanditEnv(k=3), make_env(BanditConfig(n=4, k=3, time_obs=True))
    assert (plain.obs_dim, timed.obs_dim) == (1, 2)
    plain.reset(tasks)
    assert timed.reset(tasks).tolist() == [[1.0, 1.0]] * 6
    g_plain, g_timed = gen(4), gen(4)
    for pull, left in enumerate([0.75, 0.5, 0.25, 0.0]):
        actions = torch.tensor([pull % 3] * 6)
        a, b = plain.step(actions, g_plain), timed.step(actions, g_timed)
        assert torch.equal(a.reward, b.reward)
        assert b.obs[:, 0].eq(1).all() and torch.allclose(b.obs[:, 1], torch.full((6,), left))
    assert timed.reset(tasks)[:, 1].eq(1).all()  # a new trial starts the count again


def test_mdp_transitions_are_flat_dirichlet_and_rewards_normal():
    tasks = TabularMDP(states=10, actions=5).sample(2_000, gen())
    P, R = tasks.transitions, tasks.mean_rewards
    assert P.shape == (2_000, 10, 5, 10) and R.shape == (2_000, 10, 5)
    assert torch.allclose(P.sum(-1), torch.ones(2_000, 10, 5), atol=1e-5)
    S = 10  # a Dirichlet(1,...,1) marginal has mean 1/S and variance (S-1)/(S^2 (S+1))
    assert abs(P.mean() - 1 / S) < 1e-3
    assert abs(P.var() - (S - 1) / (S**2 * (S + 1))) < 3e-4
    assert abs(R.mean() - 1.0) < 0.02 and abs(R.std() - 1.0) < 0.02


def test_mdp_env_samples_next_states_and_noisy_rewards_from_the_task():
    mdp = TabularMDP(states=3, actions=2)
    tasks = mdp.sample(1, gen(3))
    tasks = type(tasks)(tasks.transitions.expand(5_000, -1, -1, -1), tasks.mean_rewards.expand(5_000, -1, -1))
    env = MDPEnv(states=3, actions=2, horizon=2)
    obs = env.reset(tasks)
    assert (obs.argmax(1) == 0).all()  # every episode starts in state 0
    step = env.step(torch.ones(5_000, dtype=torch.long), gen(4))
    next_state = step.obs.argmax(1)
    freq = torch.bincount(next_state, minlength=3).float() / 5_000
    assert torch.allclose(freq, tasks.transitions[0, 0, 1], atol=0.025)
    noise = step.reward - tasks.mean_rewards[0, 0, 1]
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1.0) < 0.05
    assert not step.terminated.any()
    step = env.step(torch.zeros(5_000, dtype=torch.long), gen(5))
    assert step.terminated.all()  # the horizon ends the episode ...
    assert (step.obs.argmax(1) == 0).all()  # ... and the next one starts again in state 0


def test_the_mdp_time_observation_counts_down_the_trials_steps_across_episodes():
    tasks = TabularMDP(states=3, actions=2).sample(4, gen(6))
    plain, timed = MDPEnv(states=3, actions=2, horizon=2), make_env(MDPConfig(n=2, states=3, actions=2, horizon=2,
                                                                              time_obs=True))
    assert (plain.obs_dim, timed.obs_dim) == (3, 4)
    first = timed.reset(tasks)
    assert torch.equal(first[:, :3], plain.reset(tasks)) and first[:, 3].eq(1).all()
    g_plain, g_timed = gen(7), gen(7)
    for step, left in enumerate([0.75, 0.5, 0.25, 0.0]):  # two episodes of two steps: the count runs on
        actions = torch.tensor([step % 2] * 4)
        a, b = plain.step(actions, g_plain), timed.step(actions, g_timed)
        assert torch.equal(a.reward, b.reward) and torch.equal(a.terminated, b.terminated)
        assert torch.equal(b.obs[:, :3], a.obs) and torch.allclose(b.obs[:, 3], torch.full((4,), left))
    assert timed.reset(tasks)[:, 3].eq(1).all()  # a new trial starts the count again


def test_the_previous_state_observation_is_where_the_previous_action_was_taken_across_episodes():
    tasks = TabularMDP(states=3, actions=2).sample(4, gen(8))
    plain = MDPEnv(states=3, actions=2, horizon=2)
    paired = make_env(MDPConfig(n=2, states=3, actions=2, horizon=2, prev_state=True, time_obs=True))
    assert (paired.obs_dim, paired.optional_inputs) == (7, {"prev_state": range(3, 6), "time_obs": range(6, 7)})
    first = paired.reset(tasks)
    assert torch.equal(first[:, :3], plain.reset(tasks)) and first[:, 3:6].eq(0).all()  # none at a trial's start
    g_plain, g_paired = gen(9), gen(9)
    for step in range(4):  # two episodes of two steps: the pairing runs across the episode's end
        before = plain.state.clone()
        actions = torch.tensor([step % 2] * 4)
        a, b = plain.step(actions, g_plain), paired.step(actions, g_paired)
        assert torch.equal(a.reward, b.reward) and torch.equal(a.terminated, b.terminated)
        assert torch.equal(b.obs[:, :3], a.obs) and torch.equal(b.obs[:, 3:6].argmax(1), before)
        assert b.obs[:, 3:6].sum(1).eq(1).all()
    assert paired.reset(tasks)[:, 3:6].eq(0).all()  # a new trial has no previous state


def test_the_pair_observation_holds_the_previous_state_action_pair_and_what_it_earned():
    tasks = TabularMDP(states=3, actions=2).sample(4, gen(8))
    plain = MDPEnv(states=3, actions=2, horizon=2)
    counted = make_env(MDPConfig(n=2, states=3, actions=2, horizon=2, prev_state=True, pair_obs=True, time_obs=True))
    assert counted.obs_dim == 3 + 3 + 2 * 6 + 1
    assert counted.optional_inputs == {"prev_state": range(3, 6), "pair_obs": range(6, 18), "time_obs": range(18, 19)}
    first = counted.reset(tasks)
    assert torch.equal(first[:, :3], plain.reset(tasks)) and first[:, 6:18].eq(0).all()  # none at a trial's start
    g_plain, g_counted = gen(9), gen(9)
    visits, earned, total = torch.zeros(4, 6), torch.zeros(4, 6), torch.zeros(4)
    for step in range(4):  # two episodes of two steps: the pair runs across the episode's end, as the state does
        before = plain.state.clone()
        actions = torch.tensor([step % 2, 1, 0, 1])
        a, b = plain.step(actions, g_plain), counted.step(actions, g_counted)
        assert torch.equal(a.reward, b.reward) and torch.equal(b.obs[:, :3], a.obs)
        pair = torch.nn.functional.one_hot(before * 2 + actions, 6).float()
        assert torch.equal(b.obs[:, 6:12], pair) and torch.equal(b.obs[:, 12:18], pair * a.reward[:, None])
        visits, earned, total = visits + b.obs[:, 6:12], earned + b.obs[:, 12:18], total + a.reward
    # Summed over the trial, the inputs are each pair's visits and reward total.
    assert visits.sum(1).eq(4).all() and torch.allclose(earned.sum(1), total)
    assert counted.reset(tasks)[:, 6:18].eq(0).all()  # a new trial has no previous pair


def test_generators_make_tasks_reproducible_and_seeds_separate_train_from_test():
    task = MDPConfig(n=2)
    a = make_task_distribution(task).sample(8, gen(7)).mean_rewards
    b = make_task_distribution(task).sample(8, gen(7)).mean_rewards
    assert torch.equal(a, b)
    train = make_task_distribution(BanditConfig()).sample(100, gen(0)).probs
    test = sample_test_tasks(BanditConfig(), 100, seed=1_000_003, device="cpu").probs
    assert not torch.isclose(train, test).any()


def test_make_env_matches_family():
    assert make_env(BanditConfig(k=7)).num_actions == 7
    env = make_env(MDPConfig(states=4, actions=3, horizon=6))
    assert (env.obs_dim, env.num_actions, env.episode_length) == (4, 3, 6)
