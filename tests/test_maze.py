"""Mazes: valid perfect mazes, disjoint splits, the paper's reward rules, trial semantics, pictures,
padding kept out of the loss, the CNN path, and a short meta-training run."""

import copy
import dataclasses
import json
import struct

import pytest
import torch

from rl2.config import PPOConfig
from rl2.envs.maze import FLOOR, PALETTE, TARGET, UNSEEN, WALL, MazeEnv
from rl2.learner import Learner
from rl2.policy import RecurrentActorCritic
from rl2.ppo import ppo_update
from rl2.presets import preset_config
from rl2.rollout import Rollout, collect_trials
from rl2.tasks.maze import MazeDistribution, MazeTasks, carve_mazes, maze_split, neighbours

FORWARD, LEFT, RIGHT = 0, 1, 2


def corridor_maze(start: int = 0, start_dir: int = 1, target: int = 2) -> MazeTasks:
    """A 3 x 3 maze: the top row is a corridor 0-1-2 (west to east); from cell 2 it snakes down
    2-5-4-3-6-7-8. Heading 1 is east."""
    passages = torch.zeros(1, 9, 4, dtype=torch.bool)

    def connect(a: int, b: int, d: int) -> None:
        passages[0, a, d] = passages[0, b, (d + 2) % 4] = True

    for a, b, d in [(0, 1, 1), (1, 2, 1), (2, 5, 2), (5, 4, 3), (4, 3, 3), (3, 6, 2), (6, 7, 1), (7, 8, 1)]:
        connect(a, b, d)
    return MazeTasks(passages, torch.tensor([start]), torch.tensor([start_dir]), torch.tensor([target]))


def reachable(passages: torch.Tensor) -> torch.Tensor:
    """[B, N] bool: cells reachable from cell 0 by breadth-first flooding along open passages."""
    B, N, _ = passages.shape
    nbr = neighbours(int(N**0.5))
    seen = torch.zeros(B, N + 1, dtype=torch.bool)
    seen[:, 0] = True
    for _ in range(N):
        spread = (seen[:, :N, None] & passages).reshape(B, -1)  # [B, N*4]: open edges out of seen cells
        seen.scatter_(1, torch.where(spread, nbr.reshape(1, -1), N), True)
        seen[:, N] = False
    return seen[:, :N]


@pytest.mark.parametrize("size", [3, 5, 9])
def test_mazes_are_perfect_every_cell_reachable_by_one_tree(size):
    passages = carve_mazes(size, 300, torch.Generator().manual_seed(size))
    N = size * size
    assert (passages.sum((1, 2)) == 2 * (N - 1)).all()  # a spanning tree: N - 1 passages, both directions
    nbr = neighbours(size)
    assert not (passages & (nbr == N)).any()  # no passage leads off the grid
    back = passages[:, nbr.clamp(max=N - 1), torch.tensor([2, 3, 0, 1])]  # the same passage seen from the other side
    assert torch.equal(passages, back & (nbr < N))
    assert reachable(passages).all()  # connected: with N - 1 edges, a tree


def test_train_and_test_mazes_never_overlap():
    g = torch.Generator().manual_seed(0)
    train = MazeDistribution(5, "train").sample(500, g)
    test = MazeDistribution(5, "test").sample(500, g)
    assert (maze_split(train.passages) == 0).all() and (maze_split(test.passages) == 1).all()
    def as_rows(t: MazeTasks) -> set:
        return {tuple(row) for row in t.passages.reshape(len(t.passages), -1).int().tolist()}

    assert not as_rows(train) & as_rows(test)
    assert len(as_rows(train)) > 490  # and a split is not a handful of mazes repeated
    assert (train.start != train.target).all()


def test_reward_rules_and_respawn_at_the_start_with_the_maze_unchanged():
    env = MazeEnv(3, max_episode_steps=100)
    first = env.reset(corridor_maze(start=0, start_dir=1, target=2))
    r = env.step(torch.tensor([LEFT]))  # turn: -0.04, now facing north (a wall)
    assert r.reward.item() == pytest.approx(-0.04) and env.heading.item() == 0
    r = env.step(torch.tensor([FORWARD]))  # into the wall: -0.04 - 0.001, stays put
    assert r.reward.item() == pytest.approx(-0.041) and env.cell.item() == 0
    env.step(torch.tensor([RIGHT]))
    r = env.step(torch.tensor([FORWARD]))  # east along the corridor
    assert r.reward.item() == pytest.approx(-0.04) and env.cell.item() == 1 and not r.terminated.item()
    r = env.step(torch.tensor([FORWARD]))  # onto the target: +1 - 0.04, the episode ends
    assert r.reward.item() == pytest.approx(0.96) and r.terminated.item() and not r.truncated.item()
    assert env.cell.item() == 0 and env.heading.item() == 1  # respawned at the start, start heading
    assert torch.equal(r.obs, first)  # same maze, same view as the trial's first step
    assert env.t.item() == 0


def test_an_episode_is_cut_at_the_cap():
    env = MazeEnv(3, max_episode_steps=3)
    env.reset(corridor_maze())
    results = [env.step(torch.tensor([LEFT])) for _ in range(3)]
    assert [bool(r.truncated) for r in results] == [False, False, True]
    assert not any(bool(r.terminated) for r in results)
    assert env.heading.item() == 1 and env.t.item() == 0  # respawned


def test_egocentric_view_shows_the_corridor_ahead_and_hides_what_is_out_of_sight():
    env = MazeEnv(3, max_episode_steps=100, view_depth=4)
    obs = env.reset(corridor_maze(start=0, start_dir=1, target=2))  # at the west end, looking east
    assert obs.shape == (1, 3 * 12 * 9) and env.obs_shape == (3, 12, 9)
    labels = env.egocentric_labels()[0]  # [12, 9], farthest row on top
    colours = obs.reshape(3, 12, 9).permute(1, 2, 0).reshape(-1, 3)
    assert torch.equal(colours, PALETTE[labels.reshape(-1).long()])  # the image is the labels' colours
    # Three corridor cells in sight (rows of tiles 3, 2, 1 from the top); the target is the farthest,
    # its centre red; the fourth row (beyond the corridor's end wall) is unseen.
    assert labels[1 + 0 * 3, 4] == UNSEEN
    assert labels[1 + 1 * 3, 4] == TARGET and labels[1 + 2 * 3, 4] == FLOOR and labels[1 + 3 * 3, 4] == FLOOR
    assert labels[3, 4] == WALL  # the corridor's end wall: the east wall of cell 2, in front of the target
    # From cell 2 the passage south opens to the agent's right: that side cell is seen, the rest of
    # the side columns are not (walls on both sides of cells 0 and 1).
    assert labels[1 + 1 * 3, 7] == FLOOR and labels[1 + 2 * 3, 7] == UNSEEN and labels[1 + 1 * 3, 1] == UNSEEN
    env.step(torch.tensor([LEFT]))  # facing the north wall: only the agent's own cell is in sight
    labels = env.egocentric_labels()[0]
    assert labels[9, 4] == WALL and (labels[:9] == UNSEEN).all()


def test_topdown_view_draws_the_whole_maze_with_target_and_agent():
    env = MazeEnv(3, max_episode_steps=100, view="topdown")
    obs = env.reset(corridor_maze(start=0, start_dir=1, target=8))
    assert obs.shape == (1, 3 * 9 * 9)
    labels = env.topdown_labels()[0]
    assert labels[1, 1] == 4 and labels[1, 2] == 4  # the agent at cell 0, facing east
    assert labels[7, 7] == TARGET
    walls = int((labels == WALL).sum())
    # 16 corner posts... counted per tile: 9 tiles x 4 corners, plus one edge pixel per closed side
    closed_sides = 9 * 4 - 2 * 8
    assert walls == 9 * 4 + closed_sides


def maze_rollout(batch: int, cap: int, hidden: int) -> tuple[RecurrentActorCritic, Rollout]:
    """A fresh CNN policy's trials of 2 episodes (at most `cap` steps each) on `batch` 5x5 mazes."""
    torch.manual_seed(0)
    env = MazeEnv(5, max_episode_steps=cap)
    policy = RecurrentActorCritic(env.obs_shape, 3, hidden=hidden)
    tasks = MazeDistribution(5).sample(batch, torch.Generator().manual_seed(1))
    return policy, collect_trials(env, policy, tasks, 2, 2 * cap, torch.Generator().manual_seed(2))


def test_rollout_runs_until_every_trial_has_ended_and_masks_the_rest():
    _, r = maze_rollout(64, 30, 16)
    done = r.terminated | r.truncated
    assert (done.sum(0) == 2).all()  # every column holds exactly its trial of 2 episodes
    assert torch.equal(r.trial_end, done & (done.long().cumsum(0) == 2))  # the trial ends at its 2nd episode end
    assert bool(r.trial_end[-1].any())  # collection stopped at the longest trial
    lengths = r.valid.sum(0)
    assert torch.equal(r.valid, torch.arange(len(r.valid))[:, None] < lengths)  # valid is a prefix of each column
    assert (r.rewards[~r.valid] == 0).all() and (r.values[~r.valid] == 0).all()
    assert r.steps == int(lengths.sum())
    assert torch.equal(r.episode_lengths(2).sum(1), lengths.float())
    assert torch.allclose(r.episode_returns(2).sum(1), r.rewards.sum(0))
    # return = -0.04 per step - 0.001 per wall hit + 1 if the target was reached
    rest = r.episode_returns(2) + 0.04 * r.episode_lengths(2) - r.episode_success(2).float()
    assert bool(((rest <= 1e-4) & (rest >= -0.001 * r.episode_lengths(2) - 1e-4)).all())
    assert r.episode_success(2).any() and not r.episode_success(2).all()


def test_cnn_policy_replays_its_collection_exactly_and_the_state_survives_episode_ends():
    policy, r = maze_rollout(16, 20, 32)
    assert policy.encoder is not None
    # Step-by-step collection (state carried over the episode boundary) equals one unroll from the
    # trial start without resets: the state is reset at trial starts only.
    logits, values = policy.unroll(r.inputs, policy.initial_state(16))
    logp = torch.log_softmax(logits, -1).gather(-1, r.actions[..., None]).squeeze(-1)
    assert torch.allclose(logp[r.valid], r.logprobs[r.valid], atol=1e-5)
    assert torch.allclose(values[r.valid], r.values[r.valid], atol=1e-5)
    assert bool((r.terminated | r.truncated)[:-1][r.valid[1:]].any())  # some episode ended mid-trial
    grads = torch.autograd.grad(logits.sum(), list(policy.encoder.parameters()))
    assert all(g.abs().sum() > 0 for g in grads)  # the CNN is trained through the unroll


def _column(r: Rollout, j: int, steps: int | None = None) -> Rollout:
    """Column j of a rollout, its first `steps` rows."""
    return Rollout(**{f.name: getattr(r, f.name)[:steps, j : j + 1] for f in dataclasses.fields(r)})


def test_padding_changes_nothing_in_an_update():
    policy, r = maze_rollout(32, 25, 16)
    j = int(r.valid.sum(0).argmin())  # the shortest trial: the most padding
    length = int(r.valid[:, j].sum())
    assert length < len(r.valid)
    padded = _column(r, j)
    # Garbage in the padding rows: none of it may reach the update.
    junk = ~padded.valid
    padded = dataclasses.replace(padded, rewards=padded.rewards.masked_fill(junk, 1e3),
                                 values=padded.values.masked_fill(junk, -1e3),
                                 inputs=padded.inputs.masked_fill(junk[..., None], 7.0))
    cfg = PPOConfig(epochs=2, lam=0.95)
    results = []
    for rollout in (padded, _column(r, j, length)):
        p = copy.deepcopy(policy)
        opt = torch.optim.Adam(p.parameters(), lr=1e-3)
        stats = ppo_update(p, opt, rollout, cfg, 1, 0.01, torch.Generator().manual_seed(3))
        results.append((p, stats))
    (p1, s1), (p2, s2) = results
    for a, b in zip(p1.parameters(), p2.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert s1.policy_loss == pytest.approx(s2.policy_loss, abs=1e-7)  # a mean of normalized advantages: near 0
    assert s1.value_loss == pytest.approx(s2.value_loss, rel=1e-5)
    assert s1.explained_variance == pytest.approx(s2.explained_variance, rel=1e-5)


def test_a_few_updates_of_meta_training_on_mazes():
    config = preset_config("maze-5x5", hidden=16, max_episode_steps=20, steps_per_update=16 * 40, total_steps=3 * 640,
                           epochs=1, eval_trials=8)
    learner = Learner(config)
    for _ in range(3):
        result = learner.iterate()
    assert len(result.episode_success) == 2 and len(result.episode_lengths) == 2
    assert all(0 < n <= 20 for n in result.episode_lengths)
    assert 3 * 16 * 2 <= learner.env_steps <= 3 * 640  # real steps: at least one per episode, at most the caps
    assert all(torch.isfinite(p).all() for p in learner.policy.parameters())


def test_cli_train_eval_and_render_a_maze_run(tmp_path, capsys):
    from rl2.cli import main

    run_dir = tmp_path / "maze"
    assert main(["train", "maze-5x5", "--run-dir", str(run_dir), "--eval-trials", "20", "--no-progress",
                 "--hidden", "16", "--max-episode-steps", "15", "--large-maze-size", "6",
                 "--large-max-episode-steps", "30", "--eval-episodes", "3", "--steps-per-update", "240",
                 "--total-steps", "480"]) == 0
    out = capsys.readouterr().out
    assert "| episode | small (5x5) | large (6x6) |" in out and "| 3 |" in out
    summary = json.loads((run_dir / "eval.json").read_text())["navigation"]
    assert set(summary) == {"small (5x5)", "large (6x6)"}
    assert len(summary["large (6x6)"]["episode_success_rate"]) == 3
    assert main(["eval", str(run_dir), "--trials", "10"]) == 0
    assert "| 1 |" in capsys.readouterr().out
    assert main(["render", str(run_dir), "--out", str(tmp_path / "t.png")]) == 0
    assert capsys.readouterr().out.count("episode ") == 2
    png = (tmp_path / "t.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (2 * (5 * 24 + 3) + 8, 5 * 24 + 3)  # two 5x5 panels side by side
    assert main(["render", str(run_dir), "--out", str(tmp_path / "no" / "t.png")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["render", "zoo:mdp-n10"]) == 2  # a shipped agent is found, and refused as no maze run
    assert "holds a 'mdp' run; render draws maze runs" in capsys.readouterr().err


def test_trial_picture_draws_walls_start_target_and_the_path(tmp_path):
    import zlib

    import numpy as np

    from rl2.render import CELL, COLOURS, draw_episode, write_png

    orange = (255, 128, 0)
    img = draw_episode(corridor_maze(start=0, target=2), [0, 1, 2], orange)
    mid = CELL // 2 + 1  # the centre pixel of a cell
    assert tuple(img[mid, CELL + mid]) == orange  # the path runs through cell 1
    assert tuple(img[CELL + 1, CELL + mid]) == COLOURS["wall"]  # cell 1's south side is closed
    assert tuple(img[5, 2 * CELL + 1]) == COLOURS["floor"]  # no wall between cells 1 and 2 (off the path line)
    assert tuple(img[2 * CELL + 8, 8]) == COLOURS["floor"]  # cell 6, not visited: floor
    assert tuple(img[6, 6]) == COLOURS["start"] and tuple(img[6, 2 * CELL + 6]) == COLOURS["target"]
    write_png(tmp_path / "e.png", img)
    data = (tmp_path / "e.png").read_bytes()
    idat = data.index(b"IDAT")
    length = int.from_bytes(data[idat - 4 : idat], "big")
    raw = np.frombuffer(zlib.decompress(data[idat + 4 : idat + 4 + length]), dtype=np.uint8)
    decoded = raw.reshape(img.shape[0], 1 + img.shape[1] * 3)[:, 1:].reshape(img.shape)
    assert np.array_equal(decoded, img)  # the PNG holds exactly the pixels drawn
