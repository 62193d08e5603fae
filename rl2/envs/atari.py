"""Atari games as task distributions over their modes and difficulties (needs ``pip install 'rl2[atari]'``:
ale-py, whose wheels ship the ROMs).

A task is one (mode, difficulty) pair of a game: the game's own variations, which change its rules
and dynamics (Space Invaders' modes move the shields, zigzag or speed up the bombs, hide the
invaders; Freeway's change the traffic). An episode is a whole game (to game over, or cut at
``max_episode_steps`` agent steps); a trial is n games in one mode and difficulty, so the agent can
carry what it found out about the variation from one game to the next.

Split: the game's pairs in mode-major order, every third one (the 3rd, 6th, ...) held out for
testing and the others trained on; a game with a single pair has nothing to hold out and is refused.

Observations are the standard preprocessing (``rl2.envs.atari_frames``) with one frame per
observation by default: RL²'s recurrent core already carries the past (as in DRQN, Hausknecht &
Stone 2015, and CleanRL's ppo_atari_lstm, which stack one frame), and each stacked frame is another
7 KB per stored step and another input channel for the CNN on every PPO epoch. ``frame_stack 4``
gives the DQN input.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import torch

from rl2.config import ConfigError
from rl2.envs.atari_frames import AtariFrames
from rl2.envs.extras import available, require
from rl2.envs.gym import GymFamily
from rl2.tasks.gym import SetAttribute

Variation = tuple[int, int]  # (mode, difficulty)


def atari_available() -> bool:
    """ale-py (the Arcade Learning Environment, with its ROMs) can be imported."""
    return available("ale_py")


def _ale_py():
    """The ale_py module, with the ALE's messages below errors silenced (its banner would otherwise
    go to stderr, where rl2's errors are one line); a missing ale-py is a one-line ConfigError."""
    ale_py = require("ale_py", "atari", "the Arcade Learning Environment", "atari")
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)
    return ale_py


def rom_id(game: str) -> str:
    """The ALE's ROM id of a game named as in the config ("space-invaders" -> "space_invaders")."""
    return game.replace("-", "_")


def variations(game: str) -> list[Variation]:
    """Every (mode, difficulty) pair of a game, in mode-major order, as its ROM declares them."""
    ale_py = _ale_py()
    ale = ale_py.ALEInterface()
    ale.loadROM(ale_py.roms.get_rom_path(rom_id(game)))
    return [(int(m), int(d)) for m in ale.getAvailableModes() for d in ale.getAvailableDifficulties()]


class GameVariation(gym.Wrapper):
    """An ALE env playing the (mode, difficulty) set in ``variation``, from every reset on.

    The ALE's public ``setMode``/``setDifficulty`` take effect at the next game reset, and a seeded
    ``reset`` of the ale-py env reloads the ROM (back to the constructor's mode), so the variation
    is set after the inner reset and the game reset once more (~5 ms, once per episode).
    """

    def __init__(self, env: gym.Env, variation: Variation) -> None:
        super().__init__(env)
        self.variation = variation

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        _, info = self.env.reset(seed=seed, options=options)
        ale = self.env.unwrapped.ale
        ale.setMode(self.variation[0])
        ale.setDifficulty(self.variation[1])
        ale.reset_game()
        return ale.getScreenGrayscale(), info


def make_atari(game: str, frame_stack: int = 1, variation: Variation | None = None) -> gym.Env:
    """One copy of a game: v5's settings (sticky actions 0.25, the minimal action set, at most
    108,000 frames a game) with single frames, the standard preprocessing, in `variation` (default:
    the game's first mode and difficulty)."""
    ale_py = _ale_py()
    env = ale_py.AtariEnv(game=rom_id(game), obs_type="grayscale", frameskip=1, repeat_action_probability=0.25,
                          full_action_space=False, max_num_frames_per_episode=108_000)
    first = (env.ale.getAvailableModes()[0], env.ale.getAvailableDifficulties()[0])
    return AtariFrames(GameVariation(env, variation or first), stack=frame_stack)


class GameVariations:
    """The (mode, difficulty) pairs of a game as tasks: each split drawn uniformly from its own pairs."""

    apply = SetAttribute("variation")

    def __init__(self, game: str) -> None:
        pairs = variations(game)
        if len(pairs) < 2:
            raise ConfigError(f"atari game {game} has a single mode and difficulty: no tasks to hold out for "
                              "testing; pick a game with several")
        self.game = game
        self.splits = {"train": [p for i, p in enumerate(pairs) if i % 3 != 2],
                       "test": [p for i, p in enumerate(pairs) if i % 3 == 2]}

    def sample(self, batch: int, generator: torch.Generator, split: str = "train") -> list[Variation]:
        pairs = self.splits[split]
        index = torch.randint(len(pairs), (batch,), generator=generator, device=generator.device)
        return [pairs[i] for i in index.tolist()]


def atari_family(game: str, frame_stack: int = 1) -> GymFamily:
    """The Atari family of a game: its copies and its task distribution over modes and difficulties."""
    return GymFamily(f"atari-{game}", functools.partial(make_atari, game, frame_stack), GameVariations(game))
