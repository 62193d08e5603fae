"""Atari: a game's modes and difficulties as its tasks, from pixels (needs ``pip install 'rl2[atari]'``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rl2.config import opt
from rl2.envs.atari import atari_family
from rl2.families.adapter import GymConfig, gym_family, gym_title

# Atari games whose several modes and difficulties make a task distribution (names as the ALE's ROM
# ids, with dashes): any other ALE game with at least two (mode, difficulty) pairs works if added here.
ATARI_GAMES = ("alien", "asteroids", "bank-heist", "boxing", "breakout", "demon-attack", "freeway", "ms-pacman",
               "pong", "seaquest", "space-invaders", "tennis")


@dataclass(frozen=True)
class AtariConfig(GymConfig):
    """An Atari game: n games per trial in one (mode, difficulty), each cut at max_episode_steps."""

    family: ClassVar[str] = "atari"
    game: str = opt("space-invaders", "atari: the game; its (mode, difficulty) pairs are the tasks, every third "
                    "held out for testing", choices=ATARI_GAMES)
    frame_stack: int = opt(1, "atari: 84x84 grayscale frames per observation (the recurrent core remembers "
                           "the earlier ones)", ge=1, le=16)


def preset(game: str) -> dict[str, Any]:
    # A CPU budget: 2 games per trial, each cut at 500 agent steps (2,000 frames, ~33 s of play;
    # random play's Space Invaders games last 270-720 steps, so the cap cuts the longer ones and
    # every good one). 8 trials (8,000 steps) an update in 2 minibatches of 4 trials: replaying one
    # 1,000-step trial at a time through a GRU 256 cost 390 µs a step forward and backward, 4 trials
    # through a GRU 128 ~70 µs, next to the CNN's ~360 µs. λ 0.95 and entropy 0.01 as Atari PPO;
    # the previous-reward input scaled by its RMS, as the games' points are 5-200 a hit. 32 held-out
    # trials in evaluation (one batch of copies).
    return {"family": "atari", "game": game, "n": 2, "max_episode_steps": 500, "steps_per_update": 1000 * 8,
            "minibatches": 2, "epochs": 3, "lr": 1e-3, "lam": 0.95, "ent_coef": 0.01, "hidden": 128,
            "norm_reward": True, "total_steps": 10_000_000, "eval_trials": 32}


PRESETS = {"atari-space-invaders": preset("space-invaders")}


def preset_of(task: AtariConfig) -> str | None:
    name = f"atari-{task.game}"
    return name if name in PRESETS and task.n == 2 and task.max_episode_steps == 500 else None


FAMILY = gym_family("atari", "an Atari game's modes and difficulties, from pixels, rl2[atari]", AtariConfig,
                    lambda task, user: atari_family(task.game, task.frame_stack),
                    title=lambda task: gym_title(task, f"atari {task.game}"), presets=PRESETS, preset_of=preset_of)
