"""Meta-World's ML1 (one manipulation env, its goal positions as tasks) and ML10 (ten envs to train
on, five held out), on the Sawyer arm (needs ``pip install 'rl2[metaworld]'``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rl2.config import ConfigError, opt
from rl2.envs.metaworld import metaworld_family
from rl2.families.adapter import GymConfig, gym_family, gym_title

# Meta-World's v3 envs (metaworld 3.1, ``metaworld.env_dict.ALL_V3_ENVIRONMENTS``; a test checks the
# two agree): listed here so that a wrong name is refused before anything is built or written.
METAWORLD_ENVS = (
    "assembly-v3", "basketball-v3", "bin-picking-v3", "box-close-v3", "button-press-topdown-v3",
    "button-press-topdown-wall-v3", "button-press-v3", "button-press-wall-v3", "coffee-button-v3", "coffee-pull-v3",
    "coffee-push-v3", "dial-turn-v3", "disassemble-v3", "door-close-v3", "door-lock-v3", "door-open-v3",
    "door-unlock-v3", "hand-insert-v3", "drawer-close-v3", "drawer-open-v3", "faucet-open-v3", "faucet-close-v3",
    "hammer-v3", "handle-press-side-v3", "handle-press-v3", "handle-pull-side-v3", "handle-pull-v3", "lever-pull-v3",
    "pick-place-wall-v3", "pick-out-of-hole-v3", "pick-place-v3", "plate-slide-v3", "plate-slide-side-v3",
    "plate-slide-back-v3", "plate-slide-back-side-v3", "peg-insert-side-v3", "peg-unplug-side-v3", "soccer-v3",
    "stick-push-v3", "stick-pull-v3", "push-v3", "push-wall-v3", "push-back-v3", "reach-v3", "reach-wall-v3",
    "shelf-place-v3", "sweep-into-v3", "sweep-v3", "window-open-v3", "window-close-v3",
)
MAX_EPISODE_STEPS = 500  # a Sawyer env's own max_path_length: it refuses to step further


@dataclass(frozen=True)
class MetaWorldConfig(GymConfig):
    """A Meta-World benchmark: n episodes of at most max_episode_steps (<= 500) on one task."""

    box_actions: ClassVar[bool] = True  # the Sawyer arm: xyz move and gripper

    def check(self) -> None:
        if self.max_episode_steps > MAX_EPISODE_STEPS:
            raise ConfigError(f"max_episode_steps of a Meta-World family must be <= {MAX_EPISODE_STEPS} "
                              f"(its envs' own episode length), got {self.max_episode_steps}")


@dataclass(frozen=True)
class ML1Config(MetaWorldConfig):
    """ML1: one env's goal positions are the tasks."""

    family: ClassVar[str] = "metaworld-ml1"
    metaworld_env: str = opt("reach-v3", "metaworld-ml1: the Meta-World env whose goal positions are the tasks",
                             choices=METAWORLD_ENVS)


@dataclass(frozen=True)
class ML10Config(MetaWorldConfig):
    """ML10: ten envs' tasks to train on, five other envs' to test on."""

    family: ClassVar[str] = "metaworld-ml10"


def preset(family: str, trials: int, total_steps: int, env: str | None = None) -> dict[str, Any]:
    # A CPU budget: 3 episodes of 150 steps a trial (Meta-World v1's episode length; the v3 envs allow
    # 500), so a trial is 450 steps and an update a few seconds. `trials` an update: a multiple of the
    # envs, which trials take by turns. As the MuJoCo presets otherwise, with the previous-reward input
    # normalized too (rewards run up to 10 a step), and lr 1e-3 with 4 minibatches: the setting of
    # the first measured run. The budgets (36 minutes for ml1-reach at ~2,300 env steps/s on one
    # thread; ml10's about 5 h at ~1,000) are CPU-sized, not measured to convergence; what ml1-reach's
    # runs measured: docs/results.md#meta-world-ml1-reach-v3.
    task = {"family": family, **({"metaworld_env": env} if env else {})}
    return {**task, "n": 3, "max_episode_steps": 150, "steps_per_update": 450 * trials, "minibatches": 4,
            "epochs": 4, "lr": 1e-3, "lam": 0.95, "ent_coef": 0.0, "hidden": 128, "norm_obs": True,
            "norm_reward": True, "total_steps": total_steps, "eval_trials": 100}


ML1_PRESETS = {"ml1-reach": preset("metaworld-ml1", 16, 5_000_000, env="reach-v3"),
               "ml1-push": preset("metaworld-ml1", 16, 10_000_000, env="push-v3")}


def ml1_preset_of(task: ML1Config) -> str | None:
    name = f"ml1-{task.metaworld_env.removesuffix('-v3')}"
    return name if name in ML1_PRESETS and task.n == 3 and task.max_episode_steps == 150 else None


FAMILIES = (
    gym_family("metaworld-ml1", "Meta-World ML1: one env's goal positions, rl2[metaworld]", ML1Config,
               lambda task, user: metaworld_family("metaworld-ml1", task.metaworld_env),
               title=lambda task: gym_title(task, f"metaworld-ml1 {task.metaworld_env}"), presets=ML1_PRESETS,
               preset_of=ml1_preset_of),
    gym_family("metaworld-ml10", "Meta-World ML10: ten envs to train on, five held out, rl2[metaworld]", ML10Config,
               lambda task, user: metaworld_family("metaworld-ml10", "ML10"),
               presets={"ml10": preset("metaworld-ml10", 20, 20_000_000)},
               preset_of=lambda task: "ml10" if task.n == 3 and task.max_episode_steps == 150 else None),
)
