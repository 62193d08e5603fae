"""The Atari family: the standard preprocessing against the raw emulator, tasks that really set the
game's mode and difficulty, the train/test split, one-line errors, and a short run through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from rl2.config import ConfigError
from rl2.families.atari import ATARI_GAMES
from rl2.envs.atari import GameVariations, atari_available, atari_family, make_atari, variations
from rl2.envs.atari_frames import AreaResize, area_weights
from rl2.envs.gym import GymTrialEnv
from rl2.tasks.gym import GymTasks

needs_ale = pytest.mark.skipif(not atari_available(), reason="ale-py is not installed (pip install 'rl2[atari]')")


def test_area_weights_average_whole_blocks_and_split_the_cells_they_straddle():
    assert area_weights(4, 2).tolist() == [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]
    w = area_weights(5, 2)  # 2.5 input cells per output cell: the middle one is shared half and half
    assert np.allclose(w, [[0.4, 0.4, 0.2, 0, 0], [0, 0, 0.2, 0.4, 0.4]])
    big = area_weights(210, 84)
    assert np.allclose(big.sum(1), 1.0) and np.allclose(big.sum(0), 84 / 210)


def test_area_resize_keeps_flat_regions_and_averages_blocks():
    frame = np.zeros((210, 160), np.uint8)
    frame[:106] = 200  # 210 rows -> 84: output row 42 spans input rows 105-107.5, one of them bright
    small = AreaResize((210, 160), (84, 84))(frame)
    assert small.shape == (84, 84) and small.dtype == np.uint8
    assert (small[:42] == 200).all() and (small[42] == 80).all() and (small[43:] == 0).all()


@needs_ale
@pytest.mark.parametrize("stack", [1, 4])
def test_preprocessing_gives_stacked_84x84_bytes(stack):
    env = make_atari("breakout", frame_stack=stack)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == obs.shape == (stack, 84, 84) and obs.dtype == np.uint8
    previous = obs
    for _ in range(3):
        obs, *_ = env.step(1)  # FIRE
        assert np.array_equal(obs[:-1], previous[1:])  # the stack moves by one frame a step
        previous = obs
    assert obs.max() > 0
    env.close()


@needs_ale
def test_an_agent_step_is_four_emulator_frames_max_pooled_and_resized():
    # The wrapper against the raw ALE env with the same seed: the same no-op start (drawn from the
    # env's generator after the seeded reset), then each action repeated 4 frames.
    import ale_py

    env = make_atari("space-invaders")
    obs, _ = env.reset(seed=3)
    raw = ale_py.AtariEnv(game="space_invaders", obs_type="grayscale", frameskip=1, repeat_action_probability=0.25)
    raw.reset(seed=3)
    raw.ale.reset_game()  # as the variation wrapper does after its inner reset
    for _ in range(int(raw.np_random.integers(1, 31))):
        frame, *_ = raw.step(0)
    resize = AreaResize((210, 160), (84, 84))
    assert np.array_equal(obs[0], resize(frame))
    for action in (1, 2, 3, 1, 4):
        obs, reward, *_ = env.step(action)
        frames, total = [], 0.0
        for _ in range(4):
            frame, r, *_ = raw.step(action)
            frames.append(frame)
            total += r
        assert np.array_equal(obs[0], resize(np.maximum(frames[-2], frames[-1]))) and reward == total


def ale_variation(env: GymTrialEnv, copy: int) -> tuple[int, int]:
    """The mode and difficulty the emulator of one copy is playing, read back from the ALE's state."""
    state = env.envs.envs[copy].unwrapped.ale.cloneState()
    return state.getCurrentMode(), state.getDifficulty()


@needs_ale
def test_tasks_set_the_mode_and_difficulty_the_emulator_plays_for_the_whole_trial():
    env = GymTrialEnv(atari_family("space-invaders"), max_episode_steps=2)
    tasks = [(1, 0), (4, 1), (15, 1)]
    env.reset(GymTasks(tasks, torch.arange(3)))
    assert [ale_variation(env, i) for i in range(3)] == tasks
    ends = [bool(env.step(torch.zeros(3, dtype=torch.long)).truncated.all()) for _ in range(3)]
    assert ends == [False, True, False]  # an episode ended and the next began: the autoreset kept the variation
    assert [ale_variation(env, i) for i in range(3)] == tasks
    env.reset(GymTasks([(0, 1), (1, 0), (1, 0)], torch.arange(3)))  # the next trial: new tasks
    assert [ale_variation(env, i) for i in range(3)] == [(0, 1), (1, 0), (1, 0)]
    env.close()


@needs_ale
def test_modes_change_what_the_game_shows():
    # Same seed, same actions: mode 0 and mode 1 (moving shields) of Space Invaders part ways on screen.
    screens = []
    for variation in ((0, 0), (1, 0), (0, 0)):
        env = make_atari("space-invaders", variation=variation)
        env.reset(seed=0)
        screens.append(np.stack([env.step(a % 6)[0] for a in range(40)]))
    assert np.array_equal(screens[0], screens[2]) and not np.array_equal(screens[0], screens[1])


@needs_ale
def test_every_third_variation_is_held_out_and_splits_sample_only_their_own():
    tasks = GameVariations("space-invaders")
    pairs = variations("space-invaders")
    assert len(pairs) == 32 and tasks.splits["test"] == pairs[2::3]
    assert set(tasks.splits["train"]) | set(tasks.splits["test"]) == set(pairs)
    assert not set(tasks.splits["train"]) & set(tasks.splits["test"])
    drawn = tasks.sample(500, torch.Generator().manual_seed(0), "test")
    assert set(drawn) == set(tasks.splits["test"])  # every held-out pair drawn, nothing else


@needs_ale
def test_every_listed_game_has_variations_to_hold_out_and_a_single_one_is_refused():
    for game in ATARI_GAMES:
        assert len(variations(game)) >= 2, game
    with pytest.raises(ConfigError, match="atari game enduro has a single mode and difficulty") as e:
        GameVariations("enduro")
    assert "\n" not in str(e.value)


def run(*args, cwd, code=None):
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "rl2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def test_a_bad_game_is_one_line_listing_the_games(tmp_path):
    r = run("train", "atari-space-invaders", "--game", "pacman-3000", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "game must be one of alien, asteroids" in r.stderr and "space-invaders" in r.stderr


def test_without_ale_py_the_family_is_one_line_naming_the_extra(tmp_path):
    # ale-py made unimportable in the child process: what a user without the extra sees.
    code = "import sys; sys.modules['ale_py'] = None; from rl2.cli import main; sys.exit(main(sys.argv[1:]))"
    r = run("train", "atari-space-invaders", "--run-dir", str(tmp_path / "run"), cwd=tmp_path, code=code)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "pip install 'rl2[atari]'" in r.stderr


@needs_ale
def test_cli_trains_and_evaluates_the_atari_preset_for_a_few_updates(tmp_path):
    run_dir = tmp_path / "run"
    r = run("train", "atari-space-invaders", "--run-dir", str(run_dir), "--max-episode-steps", "25",
            "--steps-per-update", "200", "--minibatches", "2", "--total-steps", "400", "--hidden", "16",
            "--eval-trials", "4", "--no-progress", "--threads", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "A.L.E" not in r.stderr  # the emulator's banner is silenced
    rows = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 and "charts/episode_2_return" in rows[0]
    result = json.loads((run_dir / "eval.json").read_text())
    assert result["trials"] == 4 and len(result["episode_return_mean"]) == 2
    assert all(0 <= x <= 25 * 200 for x in result["episode_return_mean"])  # points of 25 agent steps
    assert json.loads((run_dir / "config.json").read_text())["task"]["game"] == "space-invaders"
    assert list((run_dir / "checkpoints").iterdir())
