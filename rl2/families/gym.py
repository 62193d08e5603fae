"""The user's own Gymnasium env and task distribution, given in Python (``RL2.gym(make, tasks)``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rl2.config import ConfigError
from rl2.envs.gym import GymFamily
from rl2.families.adapter import GymConfig, gym_family, gym_title


@dataclass(frozen=True)
class UserGymConfig(GymConfig):
    """Your own Gymnasium env: n episodes of at most max_episode_steps; its env and tasks come from Python."""

    family: ClassVar[str] = "gym"


def users_env(task: UserGymConfig, user: GymFamily | None) -> GymFamily:
    """The env and tasks the user gave (a config alone cannot name them)."""
    if user is None:
        raise ConfigError("the gym family is the user's own Gymnasium env: build it in Python with RL2.gym(...)")
    return user


FAMILY = gym_family("gym", "your own Gymnasium env, given in Python (RL2.gym)", UserGymConfig, users_env,
                    title=lambda task: gym_title(task, "gym"))
