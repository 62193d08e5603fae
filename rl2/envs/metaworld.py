"""Meta-World's meta-RL benchmarks ML1 and ML10, Sawyer-arm manipulation (needs ``pip install 'rl2[metaworld]'``).

- ML1 (``metaworld-ml1``): one env (``metaworld_env``, e.g. reach-v3); a task is one of its goal
  (and object) positions, hidden from the observation: 50 training and 50 held-out test goals.
- ML10 (``metaworld-ml10``): 10 training envs (reach, push, pick-place, door-open, ...) and 5
  held-out test envs (drawer-open, door-close, shelf-place, sweep-into, lever-pull), 50 goals each:
  tasks differ by env, not only by goal.

The tasks are Meta-World's own lists (``metaworld.ML1(env).train_tasks`` and ``.test_tasks``, or
ML10's), built with ``BENCHMARK_SEED`` so that every run trains and is tested on the same goals.
Each split is read from those lists by name, never through Meta-World's Gymnasium ids: in metaworld
3.1.1 the id ``Meta-World/ML1-train`` builds the test goals (its entry point reads the loop
variable ``split`` after the loop has ended, so both ML1 ids get "test").

Success (the metric Meta-World reports): an episode succeeds if ``info["success"]`` was up at any of
its steps, as Meta-World's own evaluation counts it. Episodes always run to ``max_episode_steps``
(at most 500, a Sawyer env's own limit); success does not end them.
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rl2.envs.extras import available, require
from rl2.envs.gym import GymFamily
from rl2.tasks.gym import CallMethod

BENCHMARK_SEED = 0  # the seed of Meta-World's goal lists: the same tasks in every run
OBS_DIM = 39  # hand (xyz, gripper), two objects (xyz, quaternion), the previous step's 18, goal (zeros: hidden)
ACTION_DIM = 4  # hand displacement (xyz) and gripper torque, each in [-1, 1]


def import_metaworld(family: str = "metaworld-ml1") -> Any:
    """The metaworld package; a missing one is a one-line ConfigError naming the extra."""
    return require("metaworld", family, "Meta-World", "metaworld")


@functools.lru_cache(maxsize=None)
def benchmark_tasks(benchmark: str) -> dict[str, dict[str, tuple]]:
    """Meta-World's tasks of a benchmark ("ML10", or an env name for ML1): split -> env name -> its tasks.

    Cached per process, because building them is slow (each env is reset 50 times per split: ~1 s
    for ML1, ~9 s for ML10) and a run needs both splits (training, then its held-out evaluation).
    """
    metaworld = import_metaworld()
    if benchmark == "ML10":
        built = metaworld.ML10(seed=BENCHMARK_SEED)
    else:
        built = metaworld.ML1(benchmark, seed=BENCHMARK_SEED)
    out: dict[str, dict[str, tuple]] = {}
    for split, tasks in (("train", built.train_tasks), ("test", built.test_tasks)):
        names = dict.fromkeys(task.env_name for task in tasks)  # Meta-World's order of the envs
        out[split] = {name: tuple(t for t in tasks if t.env_name == name) for name in names}
    return out


class MetaWorldTasks:
    """The tasks of a Meta-World benchmark, one split or the other.

    Trial i of a batch gets an env by turns (env i mod E of the split's E envs) and one of that env's
    goals uniformly: every env is trained and tested equally often (as Meta-World's own vector envs
    do), and a copy of the env keeps its env class from batch to batch, so it is not rebuilt.
    """

    apply = CallMethod("set_task")

    def __init__(self, benchmark: str) -> None:
        self.benchmark = benchmark  # "ML10", or the env of ML1

    def envs(self, split: str = "train") -> list[str]:
        """The env names of a split, in the order trials take them."""
        return list(benchmark_tasks(self.benchmark)[split])

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[Any]:
        by_env = benchmark_tasks(self.benchmark)[split]
        envs = list(by_env.values())
        u = torch.rand(batch, generator=generator, device=generator.device, dtype=torch.float64).tolist()
        return [envs[i % len(envs)][int(x * len(envs[i % len(envs)]))] for i, x in enumerate(u)]


class MetaWorldTaskEnv(gym.Env):
    """One Meta-World env that takes any task of a benchmark (``set_task``).

    It holds the Sawyer env of the current task's env class, built when a task of another class
    arrives (one env per copy: each is ~25 MB and 0.15 s to build).
    """

    metadata: dict = {"render_modes": []}

    def __init__(self) -> None:
        # The same for every Sawyer env; fixed here so the spaces are known before the first task.
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        self.env: gym.Env | None = None
        self.env_name: str | None = None

    def set_task(self, task: Any) -> None:
        """Puts a Meta-World task (its env and goal) in; the next reset starts an episode on it."""
        if task.env_name != self.env_name:
            self.close()
            self.env = import_metaworld().env_dict.ALL_V3_ENVIRONMENTS[task.env_name]()
            self.env_name = task.env_name
        self.env.set_task(task)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)  # a Sawyer env's reset is deterministic given its task: the seed is unused
        if self.env is None:
            raise RuntimeError("set a task (set_task) before resetting a Meta-World env")
        return self.env.reset()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self.env.step(action)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env, self.env_name = None, None


def metaworld_family(name: str, benchmark: str) -> GymFamily:
    """The Gymnasium family `name` of a benchmark: "ML10", or ML1's env name (ConfigError without the extra)."""
    import_metaworld(name)
    return GymFamily(name, MetaWorldTaskEnv, MetaWorldTasks(benchmark), success_key="success")


def metaworld_available() -> bool:
    """Meta-World can be imported."""
    return available("metaworld")
