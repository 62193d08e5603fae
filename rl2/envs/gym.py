"""The Gymnasium adapter: B copies of any Gymnasium env, as one batched trial env.

``GymTrialEnv`` drives a ``gymnasium.vector`` env (sync: all copies in this process; async: one
process per copy) and speaks the ``TrialEnv`` interface of the tensor families: ``reset(tasks)``
puts each column's task into its copy and resets it; ``step(actions)`` returns torch tensors.

Autoreset: the vector env runs in Gymnasium's SAME_STEP mode, where a copy whose episode ended is
reset inside the same ``step`` and returns the next episode's first observation — exactly the
``StepResult`` convention (the final observation is not needed: RL² returns run across episodes
inside a trial and are cut only at the trial's end). Gymnasium's default NEXT_STEP mode would spend
one extra step per episode end on a reset that ignores its action. Autoreset passes no options, so
the task is put into the env itself (see ``rl2.tasks.gym``) and stays there for the whole trial.

Spaces: observations Discrete (one-hot), Box vectors, or Box images: H x W x C or C x H x W (the
channels are the smaller end axis), and H x W when uint8. Images reach the policy as C x H x W;
uint8 ones stay bytes (``obs`` is uint8, scaled to [0, 1] where φ is built: a rollout that stores
them takes a quarter of the memory floats would), float ones go as they are. Actions Discrete, or a
Box vector. Box actions come from the policy in the normalized box [-1, 1]^A: they are clipped to
it and mapped affinely onto the env's bounds (axes with an infinite bound get the unclipped value).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from rl2.envs.base import EnvError, StepResult
from rl2.noise import RandomSource
from rl2.tasks.gym import GymTasks, TaskDistribution

VECTOR_MODES = ("sync", "async")


@dataclass(frozen=True)
class GymFamily:
    """A Gymnasium env and its task distribution: everything needed to meta-train on it."""

    name: str  # names the env in messages
    make: Callable[[], gym.Env]  # builds one copy (picklable for async: a module-level function or partial)
    tasks: TaskDistribution
    success_key: str | None = None  # the step info's success flag, if the env reports one (Meta-World: "success")


class TaskWrapper(gym.Wrapper):
    """One copy of the env that takes a task: setting ``task`` applies it (in the copy's own process under async)."""

    def __init__(self, env: gym.Env, apply: Callable[[gym.Env, Any], gym.Env]) -> None:
        super().__init__(env)
        self._apply = apply
        self._task: Any = None

    @property
    def task(self) -> Any:
        return self._task

    @task.setter
    def task(self, value: Any) -> None:
        self.env = self._apply(self.env, value)
        self._task = value


class RevealTask(gym.ObservationWrapper):
    """Appends the task's features to every observation (the oracle yardstick): ``features(task)`` is
    a fixed-length vector, read from the task wrapper inside."""

    def __init__(self, env: gym.Env, features: Callable[[Any], Any], size: int) -> None:
        super().__init__(env)
        space = env.observation_space
        if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
            raise EnvError(f"{env}: reveal_task needs vector observations, this env has {space}")
        self.features = features
        self.size = size
        bound = np.full(size, np.inf, np.float32)
        self.observation_space = gym.spaces.Box(np.concatenate([space.low.astype(np.float32), -bound]),
                                                np.concatenate([space.high.astype(np.float32), bound]),
                                                dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        task = self.env.get_wrapper_attr("task")
        values = np.zeros(self.size) if task is None else np.asarray(self.features(task), np.float64)
        return np.concatenate([np.asarray(observation, np.float64), values]).astype(np.float32)


def task_features(family: GymFamily) -> tuple[Callable[[Any], Any], int]:
    """The task distribution's ``features`` and their number; EnvError where it has none to reveal."""
    features = getattr(family.tasks, "features", None)
    if features is None:
        raise EnvError(f"{family.name}: its tasks have no features to reveal (reveal_task needs a "
                       f"{type(family.tasks).__name__}.features(task) method)")
    example = family.tasks.sample(1, torch.Generator().manual_seed(0))[0]
    return features, len(np.atleast_1d(features(example)))


def _make_copy(make: Callable[[], gym.Env], apply: Callable[[gym.Env, Any], gym.Env],
               max_episode_steps: int | None, reveal: tuple[Callable[[Any], Any], int] | None = None) -> gym.Env:
    env = TaskWrapper(make(), apply)
    if reveal is not None:
        env = RevealTask(env, *reveal)
    # Outside the task wrapper, so a rebuilt env keeps the time limit.
    return gym.wrappers.TimeLimit(env, max_episode_steps) if max_episode_steps else env


@dataclass(frozen=True)
class Spaces:
    """How the adapter reads an env's spaces."""

    obs_shape: tuple[int, ...]  # (D,) vectors or (C, H, W) images, as the policy sees them
    num_actions: int  # Discrete: number of actions; Box: size of the action vector
    continuous: bool
    one_hot: int  # Discrete observations: their number (0 otherwise)
    channels_last: bool  # images stored H x W x C (or H x W)
    pixels: bool  # uint8 images: returned as bytes, scaled to [0, 1] where φ is built
    low: np.ndarray | None  # Box actions: bounds
    high: np.ndarray | None


def image_layout(shape: tuple[int, ...]) -> tuple[tuple[int, int, int], bool]:
    """(C, H, W) of an image of shape (H, W), (H, W, C) or (C, H, W), and whether its channels come last.

    The channels are the smaller of the two end axes: rendered frames are H x W x C (3 colours), a
    stack of frames is C x H x W (a few frames); a tie reads as H x W x C, Gymnasium's convention.
    """
    if len(shape) == 2:
        return (1, shape[0], shape[1]), True
    first, middle, last = shape
    if last <= first:
        return (last, first, middle), True
    return (first, middle, last), False


def read_spaces(name: str, observation_space: gym.Space, action_space: gym.Space) -> Spaces:
    """The adapter's reading of an env's spaces; unsupported spaces raise EnvError (one line)."""
    one_hot, channels_last, pixels = 0, False, False
    box = isinstance(observation_space, gym.spaces.Box)
    if isinstance(observation_space, gym.spaces.Discrete):
        one_hot = int(observation_space.n)
        obs_shape: tuple[int, ...] = (one_hot,)
    elif box and (len(observation_space.shape) == 3 or
                  (len(observation_space.shape) == 2 and observation_space.dtype == np.uint8)):
        obs_shape, channels_last = image_layout(observation_space.shape)
        pixels = observation_space.dtype == np.uint8
    elif box:
        obs_shape = (math.prod(observation_space.shape),)
    else:
        raise EnvError(f"{name}: observation space {observation_space} is not supported (Discrete or Box)")
    if isinstance(action_space, gym.spaces.Discrete):
        return Spaces(obs_shape, int(action_space.n), False, one_hot, channels_last, pixels, None, None)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return Spaces(obs_shape, action_space.shape[0], True, one_hot, channels_last, pixels,
                      action_space.low.astype(np.float64), action_space.high.astype(np.float64))
    raise EnvError(f"{name}: action space {action_space} is not supported (Discrete, or a Box vector)")


def env_actions(actions: np.ndarray, spaces: Spaces) -> np.ndarray:
    """The policy's actions as the env takes them: Discrete indices, or Box vectors moved from the
    normalized box [-1, 1]^A onto the bounds (clipped there; axes with an infinite bound unchanged)."""
    if not spaces.continuous:
        return actions.astype(np.int64)
    low, high = spaces.low, spaces.high
    finite = np.isfinite(low) & np.isfinite(high)
    # [-1, 1] -> [low, high] on bounded axes: low + (a + 1) / 2 · (high - low)
    scaled = low + (np.clip(actions, -1.0, 1.0) + 1.0) / 2.0 * (high - low)
    return np.where(finite, scaled, actions).astype(np.float32)


def step_flags(infos: dict[str, Any], key: str, batch: int) -> np.ndarray:
    """[B] bool: each copy's ``info[key]`` of the step just taken (False where a copy did not report it).

    Under SAME_STEP autoreset a copy whose episode ended was reset inside the step: its step's info
    is under ``final_info`` and the top level holds its reset's info instead.
    """
    def read(level: dict[str, Any]) -> np.ndarray:
        if key not in level:
            return np.zeros(batch, dtype=bool)
        return np.asarray(level[key]).astype(bool) & np.asarray(level[f"_{key}"], dtype=bool)

    ended = np.asarray(infos.get("_final_info", np.zeros(batch, dtype=bool)), dtype=bool)
    return np.where(ended, read(infos.get("final_info", {})), read(infos))


class GymTrialEnv:
    """B copies of a Gymnasium env stepped as one batched trial env (tasks are given to ``reset``).

    The vector env is built on the first ``reset`` and rebuilt when the batch size changes.
    ``max_episode_steps`` cuts episodes (truncated); it is also the episode length the trial
    length is counted in.
    """

    def __init__(self, family: GymFamily, max_episode_steps: int, vector: str = "sync",
                 reveal_task: bool = False) -> None:
        if vector not in VECTOR_MODES:
            raise ValueError(f"vector must be one of {VECTOR_MODES}, got {vector!r}")
        self.family = family
        self.name = family.name
        self.vector = vector
        self.episode_length = max_episode_steps
        self.reveal = task_features(family) if reveal_task else None  # the oracle sees the task
        probe = _make_copy(family.make, family.tasks.apply, None, self.reveal)  # a copy as the vector env builds it
        self.spaces = read_spaces(self.name, probe.observation_space, probe.action_space)
        probe.close()
        self.obs_shape = self.spaces.obs_shape
        self.obs_dim = math.prod(self.obs_shape)
        self.num_actions = self.spaces.num_actions
        self.continuous = self.spaces.continuous
        self.reports_success = family.success_key is not None
        self.envs: gym.vector.VectorEnv | None = None
        self.device = torch.device("cpu")
        self.t = 0

    def _build(self, batch: int) -> gym.vector.VectorEnv:
        if self.envs is not None and self.envs.num_envs == batch:
            return self.envs
        self.close()
        copy = functools.partial(_make_copy, self.family.make, self.family.tasks.apply, self.episode_length,
                                 self.reveal)
        cls = SyncVectorEnv if self.vector == "sync" else AsyncVectorEnv
        self.envs = cls([copy] * batch, autoreset_mode=AutoresetMode.SAME_STEP)
        return self.envs

    def close(self) -> None:
        """Closes the copies (and ends their processes under async)."""
        if self.envs is not None:
            self.envs.close()
            self.envs = None

    def reset(self, tasks: GymTasks) -> torch.Tensor:
        """Puts task i into copy i and resets it with the trial's seed; returns observations [B, obs_dim]
        (float32, or uint8 for pixels)."""
        envs = self._build(len(tasks.values))
        self.device = tasks.seeds.device
        envs.set_attr("task", list(tasks.values))
        obs, _ = envs.reset(seed=[int(s) for s in tasks.seeds.tolist()])
        self.t = 0
        return self._observe(obs)

    def step(self, actions: torch.Tensor, generator: RandomSource | None = None) -> StepResult:
        """Applies actions ([B] long, or [B, A] in the normalized box); the envs' own RNGs draw their noise."""
        assert self.envs is not None, "reset the env with tasks first"
        obs, reward, terminated, truncated, infos = self.envs.step(self._env_actions(actions))
        self.t += 1
        reward = np.asarray(reward, dtype=np.float64)
        bad = ~np.isfinite(reward)
        if bad.any():
            raise EnvError(f"{self.name}: copy {int(np.argmax(bad))} returned a non-finite reward at step {self.t}")
        as_tensor = lambda x, dtype: torch.as_tensor(np.asarray(x), dtype=dtype).to(self.device)  # noqa: E731
        key = self.family.success_key
        success = None if key is None else as_tensor(step_flags(infos, key, len(reward)), torch.bool)
        return StepResult(obs=self._observe(obs), reward=as_tensor(reward, torch.float32),
                          terminated=as_tensor(terminated, torch.bool), truncated=as_tensor(truncated, torch.bool),
                          success=success)

    def _env_actions(self, actions: torch.Tensor) -> np.ndarray:
        return env_actions(actions.detach().cpu().numpy(), self.spaces)

    def _observe(self, obs: Any) -> torch.Tensor:
        """The vector env's observations -> [B, obs_dim] on the tasks' device: float32, or uint8 pixels
        in C x H x W order."""
        x = np.asarray(obs)
        B = x.shape[0]
        if self.spaces.one_hot:
            out = torch.nn.functional.one_hot(torch.as_tensor(x, dtype=torch.long), self.spaces.one_hot).float()
        else:
            out = torch.as_tensor(x) if self.spaces.pixels else torch.as_tensor(x, dtype=torch.float32)
            if self.spaces.channels_last and out.ndim == 4:
                out = out.permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
        out = out.reshape(B, -1)
        if self.spaces.pixels:  # bytes: nothing to check; a copy, so the vector env may reuse its buffer
            return out.to(self.device, copy=True)
        bad = ~torch.isfinite(out).all(1)
        if bool(bad.any()):
            copy = int(bad.nonzero()[0])
            raise EnvError(f"{self.name}: copy {copy} returned a non-finite observation at step {self.t}")
        return out.to(self.device)
