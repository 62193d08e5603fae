"""Run configuration: frozen dataclasses, one per concern, with validation and JSON round-trips.

Every field carries its one-line documentation and its allowed range in its metadata, so the CLI's
``--help``, the validation messages and the docs come from one place.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent (shown to the user as one line)."""


def opt(default: Any, doc: str, **bounds: Any) -> Any:
    """A dataclass field with its documentation and bounds.

    bounds: ``choices`` (allowed values), ``ge``/``gt`` (lower bound, inclusive/exclusive),
    ``le``/``lt`` (upper bound, inclusive/exclusive).
    """
    return field(default=default, metadata={"doc": doc, **bounds})


# Families that run through the Gymnasium adapter (rl2.envs.gym), with their action vectors' sizes:
# "point" ships with rl2, the MuJoCo ones need rl2[mujoco], the Meta-World ones rl2[metaworld];
# "atari" (discrete actions) needs rl2[atari]; "gym" is the user's own env, given in Python (``RL2.gym``).
METAWORLD_FAMILIES = ("metaworld-ml1", "metaworld-ml10")
CONTINUOUS_FAMILIES = {"point": 2, "halfcheetah-vel": 6, "halfcheetah-dir": 6, "ant-dir": 8,
                       **{family: 4 for family in METAWORLD_FAMILIES}}  # Sawyer arm: xyz move and gripper
GYM_FAMILIES = (*CONTINUOUS_FAMILIES, "atari", "gym")
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
METAWORLD_MAX_EPISODE_STEPS = 500  # a Sawyer env's own max_path_length: it refuses to step further
# Atari games whose several modes and difficulties make a task distribution (names as the ALE's ROM
# ids, with dashes): any other ALE game with at least two (mode, difficulty) pairs works if added here.
ATARI_GAMES = ("alien", "asteroids", "bank-heist", "boxing", "breakout", "demon-attack", "freeway", "ms-pacman",
               "pong", "seaquest", "space-invaders", "tennis")


@dataclass(frozen=True)
class TaskConfig:
    """Which task distribution the agent is meta-trained on."""

    family: str = opt("bandit", "task family (point: 2D point-robot navigation; halfcheetah-vel, halfcheetah-dir, "
                      "ant-dir: MuJoCo, rl2[mujoco]; metaworld-ml1, metaworld-ml10: Meta-World, rl2[metaworld]; "
                      "atari: a game's modes and difficulties, rl2[atari]; gym: your own Gymnasium env, given in Python)",
                      choices=("bandit", "mdp", "switching", "maze", *GYM_FAMILIES))
    n: int = opt(10, "episodes per trial (pulls per trial for bandits)", ge=1)
    k: int = opt(5, "bandit: number of arms", ge=2)
    hazard: float = opt(0.05, "switching bandits: chance per pull that all arm probabilities are redrawn",
                        ge=0.0, le=1.0)
    states: int = opt(10, "mdp: number of states", ge=1)
    actions: int = opt(5, "mdp: number of actions", ge=2)
    horizon: int = opt(10, "mdp: steps per episode", ge=1)
    maze_size: int = opt(5, "maze: cells per side of the training (and small test) mazes", ge=3)
    max_episode_steps: int = opt(250, "maze and Gymnasium families: steps after which an episode (on a training-size "
                                 "maze) is cut", ge=1)
    view: str = opt("egocentric", "maze: observation, the cells in sight ahead (egocentric) or the whole maze "
                    "with the target (topdown, for debugging)", choices=("egocentric", "topdown"))
    view_depth: int = opt(4, "maze: cells the egocentric view reaches ahead, the agent's own included", ge=1)
    eval_episodes: int = opt(5, "maze: episodes per trial in evaluation", ge=1)
    large_maze_size: int = opt(9, "maze: cells per side of the large test mazes (0 = no large test)", ge=0)
    large_max_episode_steps: int = opt(1000, "maze: steps after which an episode on a large test maze is cut", ge=1)
    metaworld_env: str = opt("reach-v3", "metaworld-ml1: the Meta-World env whose goal positions are the tasks",
                             choices=METAWORLD_ENVS)
    vector: str = opt("sync", "Gymnasium families: env copies stepped in this process (sync) or one process "
                      "each (async)", choices=("sync", "async"))
    game: str = opt("space-invaders", "atari: the game; its (mode, difficulty) pairs are the tasks, every third "
                    "held out for testing", choices=ATARI_GAMES)
    frame_stack: int = opt(1, "atari: 84x84 grayscale frames per observation (the recurrent core remembers "
                           "the earlier ones)", ge=1, le=16)

    @property
    def is_bandit(self) -> bool:
        """Stationary or switching bandits: k arms, every pull an episode of one step."""
        return self.family in ("bandit", "switching")

    @property
    def is_gym(self) -> bool:
        """A family run through the Gymnasium adapter: episodes of at most max_episode_steps."""
        return self.family in GYM_FAMILIES

    @property
    def gym_title(self) -> str:
        """A Gymnasium family's setting in a few words (for tables and figure titles)."""
        family = {"metaworld-ml1": f"{self.family} {self.metaworld_env}", "atari": f"atari {self.game}"}.get(
            self.family, self.family)
        return f"{family}, n={self.n} episodes of up to {self.max_episode_steps} steps"

    @property
    def has_baselines(self) -> bool:
        """The classic baselines (Gittins, UCB1, PSRL, ...) solve this family."""
        return self.family in ("bandit", "mdp", "switching")

    @property
    def num_actions(self) -> int:
        """Discrete actions of a tensor family (Box-action families: the action vector's size; gym: read
        from the env)."""
        if self.family in CONTINUOUS_FAMILIES:
            return CONTINUOUS_FAMILIES[self.family]
        if self.family in ("gym", "atari"):
            raise ConfigError(f"the actions of the {self.family} family are read from the env itself")
        if self.family == "maze":
            return 3  # forward, turn left, turn right
        return self.k if self.is_bandit else self.actions

    @property
    def episode_length(self) -> int:
        """Steps per episode; for mazes and Gymnasium envs the cap (an episode may end earlier)."""
        if self.family == "maze" or self.is_gym:
            return self.max_episode_steps
        return 1 if self.is_bandit else self.horizon

    @property
    def trial_length(self) -> int:
        """Env steps in one trial: n episodes of fixed length; for mazes the most a trial can take."""
        return self.n * self.episode_length


@dataclass(frozen=True)
class PolicyConfig:
    """The recurrent actor-critic."""

    rnn: str = opt("gru", "recurrent core", choices=("gru", "lstm"))
    hidden: int = opt(256, "recurrent state size", ge=1)
    critic: str = opt("shared", "value function: on the policy's core, or a separate recurrent core",
                      choices=("shared", "separate"))
    norm_obs: bool = opt(False, "normalize observations by their running mean and std (kept in checkpoints)")
    norm_reward: bool = opt(False, "scale the previous-reward input by its running root mean square")
    head_hidden: int = opt(0, "width of a tanh layer between the recurrent state and each head, policy and value "
                           "(0 = linear heads on the state, as in the paper)", ge=0)


@dataclass(frozen=True)
class PPOConfig:
    """The meta-training optimizer (the slow, outer RL): PPO, or TRPO as in the paper."""

    algo: str = opt("ppo", "policy optimizer: ppo (clipped surrogate, Adam) or trpo (natural step, KL limit)",
                    choices=("ppo", "trpo"))
    steps_per_update: int = opt(24_000, "env steps collected per update (a multiple of the trial length; for mazes "
                                "counted at the longest trial, n x max_episode_steps, so fewer are collected)", ge=1)
    minibatches: int = opt(4, "minibatches per epoch (each a set of whole trials)", ge=1)
    epochs: int = opt(8, "passes over each batch", ge=1)
    lr: float = opt(1e-3, "Adam learning rate", gt=0.0, le=1.0)
    anneal_lr: bool = opt(True, "decay the learning rate linearly to 10% over the run")
    gamma: float = opt(0.99, "discount factor of the trial return", gt=0.0, le=1.0)
    lam: float = opt(0.3, "GAE lambda", ge=0.0, le=1.0)
    clip: float = opt(0.2, "PPO ratio clip range", gt=0.0, lt=1.0)
    ent_coef: float = opt(0.01, "entropy bonus at the start of training", ge=0.0)
    ent_coef_final: float = opt(0.0, "entropy bonus at the end of training (linear schedule)", ge=0.0)
    vf_coef: float = opt(0.5, "value loss weight", ge=0.0)
    max_grad_norm: float = opt(0.5, "gradient norm clip", gt=0.0)
    norm_adv: bool = opt(True, "normalize advantages per minibatch")
    target_kl: float = opt(0.0, "stop an update's epochs early past this approx KL (0 = never)", ge=0.0)
    max_kl: float = opt(0.01, "trpo: limit on the mean KL between old and new policy per update", gt=0.0)
    cg_iters: int = opt(10, "trpo: conjugate-gradient iterations for the natural step", ge=1)
    cg_damping: float = opt(0.1, "trpo: damping added to the Fisher-vector product", ge=0.0)
    fisher_fraction: float = opt(0.25, "trpo: fraction of the batch's trials the Fisher-vector products use",
                                 gt=0.0, le=1.0)
    backtrack_steps: int = opt(10, "trpo: halvings of the step tried by the line search", ge=1)


@dataclass(frozen=True)
class RunConfig:
    """Where and how long a run goes."""

    total_steps: int = opt(2_000_000, "env steps of meta-training", ge=1)
    seed: int = opt(0, "seed of the training tasks, rollouts and weights", ge=0)
    eval_seed: int = opt(1_000_003, "seed of the held-out evaluation tasks", ge=0)
    eval_trials: int = opt(1000, "held-out trials evaluated at the end of training", ge=1)
    device: str = opt("auto", "torch device", choices=("auto", "cpu", "cuda"))
    threads: int = opt(0, "CPU threads for torch (0 = torch's default)", ge=0)
    deterministic: bool = opt(False, "use only deterministic torch kernels (bit-exact reruns and resumes)")
    gru_kernel: str = opt("auto", "GRU replays of PPO on CPU: fused (rl2's C++ kernel, built on first use, ~1.5x "
                          "faster), torch (torch.nn.GRU), auto (fused where it builds)",
                          choices=("auto", "fused", "torch"))
    checkpoint_every: int = opt(10, "updates between checkpoints", ge=1)
    keep_checkpoints: int = opt(3, "checkpoints kept on disk", ge=1)


GROUPS: dict[str, type] = {"task": TaskConfig, "policy": PolicyConfig, "ppo": PPOConfig, "run": RunConfig}


@dataclass(frozen=True)
class Config:
    """A whole run: task distribution, policy, optimizer and run settings."""

    task: TaskConfig = field(default_factory=TaskConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @property
    def trials_per_update(self) -> int:
        return self.ppo.steps_per_update // self.task.trial_length

    @property
    def trials_per_minibatch(self) -> int:
        return self.trials_per_update // self.ppo.minibatches

    @property
    def num_updates(self) -> int:
        return max(1, math.ceil(self.run.total_steps / self.ppo.steps_per_update))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        unknown = set(data) - set(GROUPS)
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        groups = {}
        for name, group_cls in GROUPS.items():
            values = data.get(name, {})
            names = {f.name for f in dataclasses.fields(group_cls)}
            bad = set(values) - names
            if bad:
                raise ConfigError(f"unknown field(s) in '{name}': {', '.join(sorted(bad))}")
            groups[name] = group_cls(**values)
        return cls(**groups).validated()

    @classmethod
    def from_json(cls, text: str) -> "Config":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"config is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError("config JSON must be an object")
        return cls.from_dict(data)

    def replace(self, **overrides: Any) -> "Config":
        """A copy with fields overridden by their (unique) names, e.g. ``replace(hidden=64, n=100)``."""
        by_group: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            group = field_group(key)
            by_group.setdefault(group, {})[key] = value
        return Config(**{
            name: dataclasses.replace(getattr(self, name), **by_group.get(name, {})) for name in GROUPS
        }).validated()

    def validated(self) -> "Config":
        """Checks every field against its bounds and the fields against each other; returns self."""
        for group_name in GROUPS:
            group = getattr(self, group_name)
            for f in dataclasses.fields(group):
                _check_field(f, getattr(group, f.name))
        trial = self.task.trial_length
        if self.ppo.steps_per_update % trial:
            raise ConfigError(
                f"steps_per_update must be a multiple of the trial length {trial} "
                f"(n={self.task.n} episodes x {self.task.episode_length} steps), got {self.ppo.steps_per_update}"
            )
        if self.task.family in METAWORLD_FAMILIES and self.task.max_episode_steps > METAWORLD_MAX_EPISODE_STEPS:
            raise ConfigError(f"max_episode_steps of a Meta-World family must be <= {METAWORLD_MAX_EPISODE_STEPS} "
                              f"(its envs' own episode length), got {self.task.max_episode_steps}")
        if self.ppo.algo == "trpo" and self.task.family in CONTINUOUS_FAMILIES:
            raise ConfigError(f"trpo steps discrete actions only; the {self.task.family} family has Box actions: "
                              "use ppo")
        if self.run.gru_kernel == "fused" and (self.policy.rnn, self.ppo.algo) != ("gru", "ppo"):
            raise ConfigError(f"gru_kernel fused replays GRU cores under PPO; this run has {self.policy.rnn} under "
                              f"{self.ppo.algo} (use auto or torch)")
        if self.trials_per_update % self.ppo.minibatches:
            raise ConfigError(
                f"minibatches must divide the {self.trials_per_update} trials per update, got {self.ppo.minibatches}"
            )
        return self


def all_fields() -> dict[str, tuple[str, dataclasses.Field]]:
    """Every config field by name -> (group name, field); names are unique across groups."""
    out: dict[str, tuple[str, dataclasses.Field]] = {}
    for group_name, group_cls in GROUPS.items():
        for f in dataclasses.fields(group_cls):
            assert f.name not in out, f"duplicate config field name {f.name}"
            out[f.name] = (group_name, f)
    return out


def field_group(name: str) -> str:
    fields = all_fields()
    if name not in fields:
        raise ConfigError(f"unknown config field '{name}'")
    return fields[name][0]


def describe_bounds(f: dataclasses.Field) -> str:
    """The allowed range of a field in words, e.g. 'in (0, 1]' or 'one of gru, lstm'."""
    m = f.metadata
    if "choices" in m:
        return "one of " + ", ".join(m["choices"])
    if f.type in ("bool", bool):
        return "true or false"
    lo = "(" + str(m["gt"]) if "gt" in m else "[" + str(m["ge"]) if "ge" in m else "(-inf"
    hi = str(m["lt"]) + ")" if "lt" in m else str(m["le"]) + "]" if "le" in m else "inf)"
    if hi == "inf)" and lo.startswith("["):
        return f">= {m['ge']}"
    if hi == "inf)" and lo.startswith("("):
        return f"> {m['gt']}" if "gt" in m else "any number"
    return f"in {lo}, {hi}"


def _check_field(f: dataclasses.Field, value: Any) -> None:
    m = f.metadata
    expected = {"int": int, "float": float, "bool": bool, "str": str}[f.type if isinstance(f.type, str) else f.type.__name__]
    ok_type = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok_type = True
    if not ok_type:
        raise ConfigError(f"{f.name} must be {expected.__name__} ({describe_bounds(f)}), got {value!r}")
    if expected is float and not math.isfinite(value):
        raise ConfigError(f"{f.name} must be a finite number {describe_bounds(f)}, got {value!r}")
    bad = (
        ("choices" in m and value not in m["choices"])
        or ("ge" in m and value < m["ge"])
        or ("gt" in m and value <= m["gt"])
        or ("le" in m and value > m["le"])
        or ("lt" in m and value >= m["lt"])
    )
    if bad:
        raise ConfigError(f"{f.name} must be {describe_bounds(f)}, got {value!r}")


def config_reference() -> str:
    """docs/config-reference.md: every field with its CLI flag, default, range and documentation.

    Generated from the dataclasses (``python scripts/make_config_reference.py``); a test fails when the
    checked-in page and the code drift apart.
    """
    lines = ["# Config reference", "",
             "Every field of a run's config, grouped as in `config.json`. Each is also a flag of `rl2 train`",
             "(`--steps-per-update 2400`), a keyword of the Python API (`RL2(\"bandit-n10-k5\", hidden=128)`)",
             "and is checked against its range before anything runs. Presets (`rl2 presets`) set some of them.",
             "This page is generated from `rl2/config.py`: edit the code, then run",
             "`python scripts/make_config_reference.py`.", ""]
    for group_name, group_cls in GROUPS.items():
        lines += [f"## `{group_name}`: {(group_cls.__doc__ or '').strip()}", "",
                  "| field | flag | default | allowed | meaning |", "|---|---|---|---|---|"]
        for f in dataclasses.fields(group_cls):
            default = f.default if not isinstance(f.default, bool) else str(f.default).lower()
            lines.append(f"| `{f.name}` | `--{f.name.replace('_', '-')}` | `{default}` | {describe_bounds(f)} "
                         f"| {f.metadata['doc']} |")
        lines.append("")
    return "\n".join(lines)
