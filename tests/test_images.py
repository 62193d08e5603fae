"""Image observations through the Gymnasium adapter: channel layouts, uint8 pixels scaled to [0, 1]
and kept as bytes in rollouts, sync/async equivalence, and a CNN policy that learns from pixels."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rl2 import RL2
from rl2.agent import Agent
from rl2.envs import GymFamily, GymTrialEnv
from rl2.envs.gym import image_layout
from rl2.policy import FrameEncoder, RecurrentActorCritic, rl2_inputs
from rl2.rollout import collect_trials
from rl2.tasks.gym import GymTasks, SetAttribute

RED, GREEN = np.array([255, 0, 0], np.uint8), np.array([0, 255, 0], np.uint8)


class ColourCue(gym.Env):
    """Each step shows a 6 x 6 picture, all red or all green (drawn at random); the rewarded action
    (reward 1, else 0) is the colour's index (red 0, green 1), or the other one where the task
    ``swapped`` is 1. Episodes of 3 steps.

    With swaps at chance 1/4 (``Swaps``): a policy blind to the picture earns 1/2 a step; reading it
    earns 3/4 (the colour's own index); reading it and remembering the first reward, which tells the
    task, earns the known optimum of a trial of n episodes, 3n - 1/4.
    """

    metadata: dict = {"render_modes": []}

    def __init__(self, layout: str = "hwc") -> None:
        self.layout = layout
        shape = {"hwc": (6, 6, 3), "chw": (3, 6, 6)}[layout]
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(2)
        self.swapped = 0

    def _picture(self) -> np.ndarray:
        self.colour = int(self.np_random.integers(2))
        image = np.broadcast_to(GREEN if self.colour else RED, (6, 6, 3)).copy()
        return image if self.layout == "hwc" else image.transpose(2, 0, 1).copy()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._picture(), {}

    def step(self, action):
        reward = float(int(action) == self.colour ^ self.swapped)
        return self._picture(), reward, False, False, {}


class Swaps:
    """The colour-to-action mapping is swapped with chance `chance` (both splits).

    At chance 1/2 neither the picture nor memory is worth anything alone, and PPO found nothing to
    climb in 150 updates; at 1/4 the picture pays first and memory then adds the rest.
    """

    apply = SetAttribute("swapped")

    def __init__(self, chance: float = 0.25) -> None:
        self.chance = chance

    def sample(self, batch, generator, split="train"):
        draws = torch.rand(batch, generator=generator, device=generator.device, dtype=torch.float64)
        return (draws < self.chance).long().tolist()


class Picture(gym.Env):
    """Always the same picture, in the space given (to check how the adapter reads layouts)."""

    def __init__(self, picture: np.ndarray) -> None:
        self.picture = picture
        high = 255 if picture.dtype == np.uint8 else 1.0
        self.observation_space = gym.spaces.Box(0, high, picture.shape, picture.dtype)
        self.action_space = gym.spaces.Discrete(2)
        self.swapped = 0

    def reset(self, *, seed=None, options=None):
        return self.picture, {}

    def step(self, action):
        return self.picture, 0.0, False, False, {}


def tasks(values: list) -> GymTasks:
    return GymTasks(values, torch.arange(len(values)))


@pytest.mark.parametrize("shape, expected", [((210, 160), (1, 210, 160)), ((84, 84, 3), (3, 84, 84)),
                                             ((4, 84, 84), (4, 84, 84)), ((3, 3, 3), (3, 3, 3)),
                                             ((5, 7, 2), (2, 5, 7))])
def test_image_layout_takes_the_smaller_end_axis_as_channels(shape, expected):
    assert image_layout(shape)[0] == expected


@pytest.mark.parametrize("layout", ["hwc", "chw", "hw"])
def test_uint8_pictures_reach_the_policy_channels_first_as_bytes_and_scaled_to_unit_range(layout):
    rng = np.random.default_rng(0)
    chw = rng.integers(0, 256, (1 if layout == "hw" else 3, 5, 7), dtype=np.uint8)
    stored = {"hwc": chw.transpose(1, 2, 0), "chw": chw, "hw": chw[0]}[layout].copy()
    env = GymTrialEnv(GymFamily("picture", lambda: Picture(stored), Swaps()), max_episode_steps=3)
    obs = env.reset(tasks([0, 1]))
    assert env.obs_shape == chw.shape and obs.dtype == torch.uint8 and obs.shape == (2, chw.size)
    assert torch.equal(obs[1], torch.from_numpy(chw).reshape(-1))  # C x H x W order
    phi = rl2_inputs(obs, torch.tensor([-1, -1]), torch.zeros(2), torch.zeros(2), 2)
    assert torch.equal(phi[0, : chw.size], torch.from_numpy(chw).reshape(-1).float() / 255)
    assert torch.equal(env.step(torch.tensor([0, 1])).obs, obs)
    env.close()


def test_float_pictures_go_to_the_policy_as_they_are():
    hwc = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    env = GymTrialEnv(GymFamily("picture", lambda: Picture(hwc), Swaps()), max_episode_steps=3)
    obs = env.reset(tasks([0]))
    assert env.obs_shape == (3, 5, 7) and obs.dtype == torch.float32
    assert torch.equal(obs[0], torch.from_numpy(hwc.transpose(2, 0, 1).copy()).reshape(-1))
    env.close()


def colour_rollout(vector: str = "sync", layout: str = "hwc", seed: int = 0):
    family = GymFamily("colour-cue", lambda: ColourCue(layout), Swaps())
    env = GymTrialEnv(family, max_episode_steps=3, vector=vector)
    torch.manual_seed(0)
    policy = RecurrentActorCritic(env.obs_shape, 2, hidden=16)
    try:
        rollout = collect_trials(env, policy, tasks([0, 1, 1, 0]), 2, 6, torch.Generator().manual_seed(seed))
    finally:
        env.close()
    return policy, rollout


def test_pixel_rollouts_keep_bytes_and_replay_the_inputs_of_collection():
    policy, r = colour_rollout()
    assert r.pixels.dtype == torch.uint8 and r.pixels.shape == (6, 4, 3 * 6 * 6)
    assert r.inputs.shape == (6, 4, 2 + 2)  # φ's previous action (one-hot), reward and done stay floats
    colours = r.pixels.reshape(6, 4, 3, 36)[..., 1, 0]  # the green channel of one pixel: 255 where green
    assert set(colours.unique().tolist()) == {0, 255}
    phi = r.policy_inputs()
    assert phi.shape == (6, 4, 108 + 4) and phi[..., :108].max() == 1.0
    logits, values = policy.unroll(phi, policy.initial_state(4))  # the CNN path on what was stored
    logp = torch.log_softmax(logits, -1).gather(-1, r.actions[..., None]).squeeze(-1)
    assert torch.allclose(logp, r.logprobs, atol=1e-6) and torch.allclose(values, r.values, atol=1e-5)
    assert torch.equal(r.policy_inputs(torch.tensor([2, 0])), phi[:, [2, 0]])


def test_sync_and_async_pixel_rollouts_are_the_same():
    (_, sync), (_, asynchronous) = colour_rollout("sync"), colour_rollout("async")
    for name in ("pixels", "inputs", "actions", "rewards", "terminated", "truncated"):
        assert torch.equal(getattr(sync, name), getattr(asynchronous, name)), name
    # Each copy plays its own task: the reward is 1 exactly where the action is the colour shown, swapped or not.
    green = sync.pixels.reshape(6, 4, 3, 36)[:, :, 1, 0] == 255  # [T, B]: the picture each action answered
    swapped = torch.tensor([0, 1, 1, 0], dtype=torch.bool)
    assert torch.equal(sync.rewards, (sync.actions.bool() == (green ^ swapped)).float())


def test_channels_first_and_last_pictures_give_the_same_rollout():
    (_, hwc), (_, chw) = colour_rollout(layout="hwc"), colour_rollout(layout="chw")
    assert torch.equal(hwc.pixels, chw.pixels) and torch.equal(hwc.actions, chw.actions)


def test_screens_get_the_dqn_style_encoder():
    policy = RecurrentActorCritic((4, 84, 84), 6, hidden=8)
    assert isinstance(policy.encoder, FrameEncoder)
    logits, _, _ = policy.step(torch.rand(3, 4 * 84 * 84 + 6 + 2), policy.initial_state(3))
    assert logits.shape == (3, 6)


def colour_cue_agent(seed: int, updates: int) -> RL2:
    """A CNN policy meta-trained on ColourCue: trials of 2 episodes of 3 steps, 32 trials an update."""
    model = RL2.gym(ColourCue, Swaps(), name="colour-cue", n=2, max_episode_steps=3, steps_per_update=6 * 32,
                    minibatches=2, epochs=4, lr=1e-2, hidden=32, total_steps=6 * 32 * updates, seed=seed)
    return model.learn()


@pytest.mark.learning
def test_a_cnn_policy_learns_from_pixels(learning_seed, record_figure):
    # Trials of 2 episodes of 3 steps: 3.0 blind, 4.5 reading the picture only, the optimum 5.75 with
    # memory too (see ColourCue). After 100 updates some trajectories have learnt the memory too
    # (~5.1), others sit on the picture's plateau (4.53): this test asks for the picture, the slow one
    # below for the memory.
    # Sweep (8 seeds x fused, torch kernels x 1, 2 threads; scripts/sweep_learning_tests.py):
    # min 4.53 / median 5.145 / max 5.158 over 32 runs.
    summary = colour_cue_agent(learning_seed, updates=100).evaluate(trials=400, seed=5).summary()
    record_figure("mean_trial_return", summary["mean_trial_return"])
    assert 4.2 < summary["mean_trial_return"] <= 5.75 + 0.05, summary


@pytest.mark.slow
@pytest.mark.learning
def test_a_cnn_policy_learns_from_the_first_reward_of_its_trial_too(learning_seed, record_figure):
    # Past the picture's plateau (4.5): what the first reward told (which way round the cue goes) is used,
    # and the second episode earns more than the first.
    # Sweep (seeds 0-3 x fused, torch x 1 thread; in the default test's sweep 2 threads gave the same figures):
    # mean_trial_return min 5.150 / median 5.159 / max 5.162; episode 2 - episode 1 min 0.068 / median
    # 0.070 / max 0.168 (the optimum's is 0.25: only episode 1's first step cannot know the swap yet).
    summary = colour_cue_agent(learning_seed, updates=300).evaluate(trials=400, seed=5).summary()
    first, second = summary["episode_return_mean"]
    record_figure("mean_trial_return", summary["mean_trial_return"])
    record_figure("episode_2_minus_1", second - first)
    assert 4.8 < summary["mean_trial_return"] <= 5.75 + 0.05, summary
    assert second > first, summary


def test_the_deployed_agent_reads_uint8_pictures_as_training_did():
    torch.manual_seed(0)
    policy = RecurrentActorCritic((3, 6, 6), 2, hidden=8)
    picture = np.random.default_rng(2).integers(0, 256, (3, 6, 6), dtype=np.uint8)
    as_bytes, as_floats = Agent(policy), Agent(policy)
    as_bytes.act(picture)
    as_floats.act(picture.astype(np.float32) / 255)
    assert torch.equal(as_bytes.state, as_floats.state)
