"""The MuJoCo locomotion families of the meta-RL literature (ProMP, VariBAD): halfcheetah-vel,
halfcheetah-dir and ant-dir (needs ``pip install 'rl2[mujoco]'``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rl2.envs.gym import GymFamily
from rl2.envs.mujoco import MUJOCO_FAMILIES
from rl2.families.adapter import GymConfig, gym_family
from rl2.families.registry import Family


@dataclass(frozen=True)
class MujocoConfig(GymConfig):
    """A MuJoCo locomotion family: n episodes of at most max_episode_steps, a task per trial."""

    box_actions: ClassVar[bool] = True


@dataclass(frozen=True)
class HalfCheetahVelConfig(MujocoConfig):
    """HalfCheetah-Vel: run at a target velocity."""

    family: ClassVar[str] = "halfcheetah-vel"


@dataclass(frozen=True)
class HalfCheetahDirConfig(MujocoConfig):
    """HalfCheetah-Dir: run forward or backward."""

    family: ClassVar[str] = "halfcheetah-dir"


@dataclass(frozen=True)
class AntDirConfig(MujocoConfig):
    """Ant-Dir: walk in a direction on the plane."""

    family: ClassVar[str] = "ant-dir"


def preset(family: str) -> dict[str, Any]:
    # The meta-RL literature's setup (ProMP, VariBAD): 2 episodes of 200 steps per trial. 16 trials
    # (6,400 steps) an update, observations normalized (MuJoCo's joint velocities reach tens while
    # positions stay near 1), no entropy bonus (as for point-nav), lr 3e-4 as PPO's MuJoCo setting.
    config = {"family": family, "n": 2, "max_episode_steps": 200, "steps_per_update": 400 * 16, "minibatches": 2,
              "epochs": 4, "lr": 3e-4, "lam": 0.95, "ent_coef": 0.0, "hidden": 128, "norm_obs": True,
              "total_steps": 10_000_000, "eval_trials": 100}
    if family == "halfcheetah-vel":
        # Running at a chosen speed needs precise actions: under the default noise (σ = 1 in a box of
        # half-width 1) neither RL² nor an oracle learnt it in 10M steps; from σ = e⁻¹ both did
        # (docs/results.md, HalfCheetah-Vel).
        config["init_log_std"] = -1.0
    return config


def _family(config: type[MujocoConfig], doc: str) -> Family:
    name = config.family
    make, tasks = MUJOCO_FAMILIES[name]
    return gym_family(name, doc, config, lambda task, user: GymFamily(name, make, tasks()),
                      presets={name: preset(name)},
                      preset_of=lambda task: name if task.n == 2 and task.max_episode_steps == 200 else None)


FAMILIES = (
    _family(HalfCheetahVelConfig, "MuJoCo HalfCheetah at a target velocity, rl2[mujoco]"),
    _family(HalfCheetahDirConfig, "MuJoCo HalfCheetah forward or backward, rl2[mujoco]"),
    _family(AntDirConfig, "MuJoCo Ant in a direction on the plane, rl2[mujoco]"),
)
