"""Run configuration: frozen dataclasses, one per concern, with validation and JSON round-trips.

A config is an experiment (``task``: the family's own dataclass, tagged by its name; ``policy``;
``ppo`` and TRPO's own ``trpo``; ``run``: budget and seeds) and the ``machine`` it runs on (device,
threads, GRU kernel, checkpoints, progress): resuming a run may change the machine and lengthen the
budget, never the experiment (``check_resumable``).

Every field carries its one-line documentation and its allowed range in its metadata, so the CLI's
``--help``, the validation messages and the docs come from one place.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent (shown to the user as one line)."""


def opt(default: Any, doc: str, **bounds: Any) -> Any:
    """A dataclass field with its documentation and bounds.

    bounds: ``choices`` (allowed values), ``ge``/``gt`` (lower bound, inclusive/exclusive),
    ``le``/``lt`` (upper bound, inclusive/exclusive).
    """
    return field(default=default, metadata={"doc": doc, **bounds})


@dataclass(frozen=True)
class TaskConfig:
    """The task distribution: the base of each family's own task config (``rl2.families``), tagged
    by its ``family`` name in JSON (``{"family": "bandit", "n": 10, "k": 5}``)."""

    family: ClassVar[str] = ""  # the family's registered name, set by each subclass
    box_actions: ClassVar[bool] = False  # Box (continuous) actions: TRPO does not apply
    mean_rewards: ClassVar[bool] = False  # the env reports each reward's mean (StepResult.mean_reward)
    n: int = opt(10, "episodes per trial (bandits: pulls, each an episode of one step)", ge=1)

    @property
    def counted_states(self) -> int:
        """States whose one-hot leads the env's observation, which the count bonus counts visits of (a
        bandit: its one state); 0 where the observations are not tabular and the bonus does not apply."""
        return 0

    @property
    def task_parameter_dim(self) -> int:
        """F, the width of the env's ``task_parameters()`` (the target of belief supervision); 0 where the
        env reports none."""
        return 0

    @property
    def episode_length(self) -> int:
        """Steps per episode; for families whose episodes end early, the cap."""
        raise NotImplementedError(f"{type(self).__name__} must define episode_length")

    @property
    def trial_length(self) -> int:
        """Env steps in one trial: n episodes of fixed length; where episodes end early the most a trial can take."""
        return self.n * self.episode_length

    @property
    def longest_trial(self) -> int:
        """The most steps of any trial a run of this setting meets, its held-out tests included (where
        a family tests on longer trials than it trains on, it says so here)."""
        return self.trial_length

    def check(self) -> None:
        """The family's checks across its fields (ConfigError); each field's range is checked apart."""

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class PolicyConfig:
    """The recurrent actor-critic."""

    rnn: str = opt("gru", "core: recurrent (gru, lstm) or a causal transformer over the trial (transformer)",
                   choices=("gru", "lstm", "transformer"))
    hidden: int = opt(256, "recurrent state size (transformer: its width)", ge=1)
    rnn_layers: int = opt(1, "gru, lstm: stacked recurrent layers, each reading the one below; the heads read the "
                          "top one (1, as in the paper; the transformer's depth is attn_layers)", ge=1)
    critic: str = opt("shared", "value function: on the policy's core, or a separate recurrent core",
                      choices=("shared", "separate"))
    norm_obs: bool = opt(False, "normalize observations by their running mean and std (kept in checkpoints)")
    norm_reward: bool = opt(False, "scale the previous-reward input by its running root mean square")
    head_hidden: int = opt(0, "width of a tanh layer between the recurrent state and each head, policy and value "
                           "(0 = linear heads on the state, as in the paper)", ge=0)
    init_log_std: float = opt(0.0, "Box actions: the Gaussian policy's log-std at the start of training (in the "
                              "normalized action box [-1, 1]; 0 = std 1)", ge=-5.0, le=2.0)
    memoryless: bool = opt(False, "the blind yardstick: no memory (the core starts from zeros at every step) and no "
                           "previous action, reward or done input, so the policy acts on the current observation "
                           "alone and can learn only the average behaviour over tasks")
    attn_layers: int = opt(2, "transformer: pre-LayerNorm blocks (self-attention, then an MLP 4 x hidden wide)", ge=1)
    attn_heads: int = opt(4, "transformer: attention heads (must divide hidden)", ge=1)
    attn_context: int = opt(0, "transformer: steps its attention and key/value cache hold, the longest trial it can "
                            "run (0 = the trial length, n x episode steps)", ge=0)
    attn_sink: bool = opt(False, "transformer: a learned token before every trial's first step that each step can "
                          "attend to (an attention sink), so that a head can attend to nothing and its weights count")
    weight_norm: bool = opt(False, "weight normalization, as in the paper: each row of the recurrent core's weights "
                            "and of the heads' is a learned length times a unit direction (gru, lstm)")
    reward_by_action: bool = opt(False, "discrete actions: the core also reads the previous action's one-hot times the "
                                 "previous reward, so that what each action earned enters the state linearly (the "
                                 "paper's input holds the two side by side, whose product a core must compose itself)")

    def context(self, trial_length: int) -> int:
        """The transformer's context for trials of `trial_length` steps."""
        return self.attn_context or trial_length


@dataclass(frozen=True)
class PPOConfig:
    """The meta-training optimizer (the slow, outer RL): PPO, or TRPO as in the paper (its own fields: ``trpo``)."""

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
    step_baseline: bool = opt(False, "subtract from each step's advantages the other trials' mean at the same "
                              "step of the trial: corrects a value function that cannot count to the end of a "
                              "long trial")
    target_kl: float = opt(0.0, "stop an update's epochs early past this approx KL (0 = never)", ge=0.0)
    reward_credit: str = opt("sampled", "reward the trial return is made of in training: the sampled one, or its "
                             "mean given the task, state and action (bandits, MDPs: the same expected return with "
                             "less noise; the policy still reads the sampled reward)", choices=("sampled", "mean"))
    belief_coef: float = opt(0.0, "weight of belief supervision: a linear head on the policy's core regresses the "
                             "task's parameters (bandits: arm probabilities; MDPs: mean rewards and transitions), "
                             "whose best prediction is their posterior mean given the trial so far; training only "
                             "(0 = off)", ge=0.0)
    count_bonus: float = opt(0.0, "exploration bonus beta / (1 + n(s, a)) added to the rewards training credits "
                             "(bandits, MDPs; the policy still reads the true reward), n the trial's visits to the "
                             "state and action before; beta falls linearly to 0 over the run (0 = off)", ge=0.0)
    explore_episodes: int = opt(0, "episodes at the start of each trial whose rewards training does not credit "
                                "(E-RL2): they are worth only what they teach the agent for the later episodes; the "
                                "policy still reads their rewards, and evaluation counts them (0 = off)", ge=0)


@dataclass(frozen=True)
class TRPOConfig:
    """TRPO's own settings (read where ppo.algo is trpo; its value function trains with the ppo fields)."""

    max_kl: float = opt(0.01, "trpo: limit on the mean KL between old and new policy per update", gt=0.0)
    cg_iters: int = opt(10, "trpo: conjugate-gradient iterations for the natural step", ge=1)
    cg_damping: float = opt(0.1, "trpo: damping added to the Fisher-vector product", ge=0.0)
    fisher_fraction: float = opt(0.25, "trpo: fraction of the batch's trials the Fisher-vector products use",
                                 gt=0.0, le=1.0)
    backtrack_steps: int = opt(10, "trpo: halvings of the step tried by the line search", ge=1)


@dataclass(frozen=True)
class RunConfig:
    """The experiment's budget and seeds."""

    total_steps: int = opt(2_000_000, "env steps of meta-training", ge=1)
    seed: int = opt(0, "seed of the training tasks, rollouts and weights", ge=0)
    eval_seed: int = opt(1_000_003, "seed of the held-out evaluation tasks", ge=0)
    eval_trials: int = opt(1000, "held-out trials evaluated at the end of training", ge=1)
    init_from: str = opt("", "start from the trained weights of a run directory or checkpoint file (a fresh "
                         "optimizer and counters; the network must have the same shapes, or gain the inputs of "
                         "time_obs and prev_state, or GRU units); empty: the seed's")


@dataclass(frozen=True)
class MachineConfig:
    """Where and how the run executes, apart from what it learns: a resumed run may change these."""

    device: str = opt("auto", "torch device", choices=("auto", "cpu", "cuda"))
    threads: int = opt(0, "CPU threads for torch (0 = torch's default)", ge=0)
    deterministic: bool = opt(False, "use only deterministic torch kernels (bit-exact reruns and resumes)")
    gru_kernel: str = opt("auto", "GRU replays of PPO on CPU: fused (rl2's C++ kernel, built on first use, ~1.5x "
                          "faster), torch (torch.nn.GRU), auto (fused where it builds)",
                          choices=("auto", "fused", "torch"))
    checkpoint_every: int = opt(10, "updates between checkpoints", ge=1)
    keep_checkpoints: int = opt(3, "checkpoints kept on disk", ge=1)
    progress: bool = opt(True, "show a progress bar while training (rl2 train --no-progress sets false)")
    baselines: bool = opt(True, "rl2 train ends with the classic baselines on the held-out tasks, where the family "
                          "has them (rl2 train --no-baselines sets false; a resumed run keeps it)")


CONFIG_VERSION = 2  # 1: the flat task and the one run group of rl2 before the family registry (rl2.migrate)
GROUPS: dict[str, type] = {"task": TaskConfig, "policy": PolicyConfig, "ppo": PPOConfig, "trpo": TRPOConfig,
                           "run": RunConfig, "machine": MachineConfig}
EXPERIMENT = ("task", "policy", "ppo", "trpo", "run")  # what a run learns; "machine" is only where it runs


def _default_task() -> TaskConfig:
    from rl2.families import DEFAULT_FAMILY, family_named  # registered below config: imported when first needed

    return family_named(DEFAULT_FAMILY).config()


@dataclass(frozen=True)
class Config:
    """A whole run: the experiment (task, policy, optimizer, budget and seeds) and the machine it runs on."""

    task: TaskConfig = field(default_factory=_default_task)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    trpo: TRPOConfig = field(default_factory=TRPOConfig)
    run: RunConfig = field(default_factory=RunConfig)
    machine: MachineConfig = field(default_factory=MachineConfig)

    @property
    def trials_per_update(self) -> int:
        return self.ppo.steps_per_update // self.task.trial_length

    @property
    def trials_per_minibatch(self) -> int:
        return self.trials_per_update // self.ppo.minibatches

    @property
    def num_updates(self) -> int:
        return max(1, math.ceil(self.run.total_steps / self.ppo.steps_per_update))

    def to_dict(self) -> dict[str, Any]:
        groups = {name: dataclasses.asdict(getattr(self, name)) for name in GROUPS if name != "task"}
        return {"version": CONFIG_VERSION, "task": self.task.to_dict(), **groups}

    def experiment(self) -> dict[str, Any]:
        """The groups that define what the run learns (everything but the machine)."""
        data = self.to_dict()
        return {name: data[name] for name in EXPERIMENT}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """A config from its JSON form; configs of rl2's format 1 (no "version") are migrated first."""
        from rl2.migrate import upgrade_config

        data = upgrade_config(data)
        unknown = set(data) - set(GROUPS) - {"version"}
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        groups: dict[str, Any] = {"task": task_from_dict(dict(data.get("task", {})))}
        for name, group_cls in GROUPS.items():
            if name == "task":
                continue
            values = data.get(name, {})
            bad = set(values) - {f.name for f in dataclasses.fields(group_cls)}
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
        """A copy with fields overridden by their names, e.g. ``replace(hidden=64, n=100)``; ``family``
        switches the task to that family's defaults (with the task fields given here)."""
        by_group: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            by_group.setdefault(field_group(key), {})[key] = value
        groups = {name: dataclasses.replace(getattr(self, name), **by_group.get(name, {}))
                  for name in GROUPS if name != "task"}
        return Config(task=_replace_task(self.task, by_group.get("task", {})), **groups).validated()

    def validated(self) -> "Config":
        """Checks every field against its bounds and the fields against each other; returns self."""
        for group_name in GROUPS:
            group = getattr(self, group_name)
            for f in dataclasses.fields(group):
                _check_field(f, getattr(group, f.name))
        self.task.check()
        trial = self.task.trial_length
        if self.ppo.steps_per_update % trial:
            raise ConfigError(
                f"steps_per_update must be a multiple of the trial length {trial} "
                f"(n={self.task.n} episodes x {self.task.episode_length} steps), got {self.ppo.steps_per_update}"
            )
        if self.ppo.algo == "trpo" and self.task.box_actions:
            raise ConfigError(f"trpo steps discrete actions only; the {self.task.family} family has Box actions: "
                              "use ppo")
        if self.policy.reward_by_action and self.task.box_actions:
            raise ConfigError(f"reward_by_action multiplies a discrete action's one-hot; the {self.task.family} "
                              "family has Box actions")
        if self.ppo.reward_credit == "mean" and not self.task.mean_rewards:
            raise ConfigError(f"reward_credit mean needs an env that knows each reward's mean; the {self.task.family} "
                              "family's does not (use sampled)")
        if self.ppo.count_bonus > 0 and not self.task.counted_states:
            raise ConfigError(f"count_bonus counts visits to tabular states; the {self.task.family} family's "
                              "observations are not (use 0)")
        if self.ppo.explore_episodes >= self.task.n:
            raise ConfigError(f"explore_episodes must leave an episode whose rewards training credits: the trial has "
                              f"n={self.task.n}, got {self.ppo.explore_episodes}")
        if self.ppo.belief_coef > 0 and not self.task.task_parameter_dim:
            raise ConfigError(f"belief_coef needs an env that reports its task's parameters; the {self.task.family} "
                              "family's does not (use 0)")
        if self.ppo.belief_coef > 0 and self.ppo.algo != "ppo":
            raise ConfigError("belief_coef supervises the core through PPO's loss; trpo's natural step has no place "
                              "for it (use ppo, or 0)")
        if self.machine.gru_kernel == "fused" and (self.policy.rnn, self.ppo.algo) != ("gru", "ppo"):
            raise ConfigError(f"gru_kernel fused replays GRU cores under PPO; this run has {self.policy.rnn} under "
                              f"{self.ppo.algo} (use auto or torch)")
        if self.policy.rnn == "transformer":
            self._check_transformer()
        if self.trials_per_update % self.ppo.minibatches:
            raise ConfigError(
                f"minibatches must divide the {self.trials_per_update} trials per update, got {self.ppo.minibatches}"
            )
        return self

    def _check_transformer(self) -> None:
        p, trial = self.policy, self.task.trial_length
        if p.memoryless:  # each step would be a trial of its own, with a cache for a whole trial
            raise ConfigError("memoryless is the blind yardstick of a recurrent core: use rnn gru or lstm with it")
        if p.hidden % p.attn_heads:
            raise ConfigError(f"hidden must be a multiple of attn_heads {p.attn_heads} (each head gets hidden / "
                              f"attn_heads dimensions), got {p.hidden}")
        if p.attn_context and p.attn_context < trial:
            raise ConfigError(f"attn_context {p.attn_context} is shorter than the trial ({trial} steps: "
                              f"n={self.task.n} episodes x {self.task.episode_length}); a trial is one context: "
                              "raise it, or 0 for the trial length")
        longest, context = self.task.longest_trial, p.context(trial)
        if context < longest:  # refused now, not when the final evaluation runs past the context
            raise ConfigError(f"the held-out tests run trials of {longest} steps, past the transformer's context of "
                              f"{context}: test on trials of the training length (mazes: --eval-episodes {self.task.n} "
                              "--large-maze-size 0) or raise --attn-context")
        if p.rnn_layers > 1:
            raise ConfigError("rnn_layers stacks recurrent cores (gru, lstm); a transformer's depth is attn_layers "
                              "(use 1)")
        if p.weight_norm:
            raise ConfigError("weight_norm reparameterizes recurrent cores (gru, lstm); the transformer normalizes "
                              "its activations with LayerNorm instead (use false)")


def check_resumable(stored: Config, asked: Config) -> None:
    """Refuses (ConfigError, one line) a resume that changes the experiment: the machine may change,
    and total_steps may grow; nothing else."""
    if asked.run.total_steps < stored.run.total_steps:
        raise ConfigError(f"different config: total_steps is {stored.run.total_steps} there, "
                          f"{asked.run.total_steps} asked (a resumed run may go longer, not shorter)")
    old, new = stored.experiment(), asked.replace(total_steps=stored.run.total_steps).experiment()
    for group in EXPERIMENT:
        for name, value in old[group].items():
            if new[group].get(name) != value:
                raise ConfigError(f"different config: {name} is {value!r} there, "
                                  f"{new[group].get(name)!r} asked (only the machine settings and a longer "
                                  "total_steps may change)")


def make_task(family: str, **values: Any) -> TaskConfig:
    """A family's task config: its defaults with `values` (ConfigError naming the family's fields
    where one is not its own; ranges are checked by ``Config.validated``)."""
    from rl2.families import family_named

    cls = family_named(family).config
    _check_task_fields(cls, values)
    return cls(**values)


def task_from_dict(values: dict[str, Any]) -> TaskConfig:
    """A family's task config from its JSON form ``{"family": NAME, field: value, ...}``."""
    from rl2.families import DEFAULT_FAMILY

    values = dict(values)
    return make_task(values.pop("family", DEFAULT_FAMILY), **values)


def _replace_task(task: TaskConfig, overrides: dict[str, Any]) -> TaskConfig:
    overrides = dict(overrides)
    family = overrides.pop("family", task.family)
    if family != task.family:
        return make_task(family, **overrides)
    _check_task_fields(type(task), overrides)
    return dataclasses.replace(task, **overrides)


def _check_task_fields(cls: type, names: Any) -> None:
    own = [f.name for f in dataclasses.fields(cls)]
    bad = [name for name in names if name not in own]
    if bad:
        raise ConfigError(f"the {cls.family} family has no field {', '.join(bad)} (its fields: {', '.join(own)})")


def task_fields() -> dict[str, list[tuple[str, dataclasses.Field]]]:
    """Every task field's name -> (family, field) of each registered family that has it."""
    from rl2.families import registered

    out: dict[str, list[tuple[str, dataclasses.Field]]] = {}
    for family in registered():
        for f in dataclasses.fields(family.config):
            out.setdefault(f.name, []).append((family.name, f))
    return out


def all_fields() -> dict[str, tuple[str, dataclasses.Field]]:
    """Every config field by name -> (group name, field); a task field shared by several families is
    given once (its first family's). Names are unique across groups."""
    out: dict[str, tuple[str, dataclasses.Field]] = {name: ("task", fs[0][1]) for name, fs in task_fields().items()}
    for group_name, group_cls in GROUPS.items():
        if group_name == "task":
            continue
        for f in dataclasses.fields(group_cls):
            assert f.name not in out, f"duplicate config field name {f.name}"
            out[f.name] = (group_name, f)
    return out


def field_group(name: str) -> str:
    if name == "family":
        return "task"
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
    expected = {"int": int, "float": float, "bool": bool, "str": str}[
        f.type if isinstance(f.type, str) else f.type.__name__]
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

    Generated from the dataclasses and the family registry (``python scripts/make_config_reference.py``);
    a test fails when the checked-in page and the code drift apart.
    """
    from rl2.families import registered

    lines = ["# Config reference", "",
             "Every field of a run's config, grouped as in `config.json`. Each is also a flag of `rl2 train`",
             "(`--steps-per-update 2400`), a keyword of the Python API (`RL2(\"bandit-n10-k5\", hidden=128)`)",
             "and is checked against its range before anything runs. Presets (`rl2 presets`) set some of them.",
             "The `task` group is the chosen family's own: a flag of another family's is refused, naming the",
             "family's fields. `machine` is where the run executes: `rl2 train --resume` accepts changes to it",
             "and a longer `--total-steps`, and refuses any other change in one line. The learning-rate and",
             "entropy schedules run on `update / num_updates`: a longer `--total-steps` stretches them over the",
             "new length from where the run stands (with `anneal_lr`, the next update's learning rate is that of",
             "its place in the longer run, so higher than where the shorter run ended). Configs and checkpoints",
             "of earlier rl2 versions (a flat `task` group) are migrated when read (`rl2/migrate.py`).",
             "This page is generated from `rl2/config.py` and `rl2/families/`: edit the code, then run",
             "`python scripts/make_config_reference.py`.", "",
             "A run's `config.json` (fields left out take their defaults):", "", "```json",
             '{"version": 2, "task": {"family": "bandit", "n": 10, "k": 5}, "policy": {"hidden": 256},',
             ' "ppo": {"algo": "ppo", "lr": 0.003}, "trpo": {"max_kl": 0.01}, '
             '"run": {"total_steps": 1000000, "seed": 0},',
             ' "machine": {"device": "auto", "threads": 0}}', "```", "",
             "## `task`: the task distribution, the chosen family's own fields (a section per family)", "",
             "| field | flag | default | allowed | meaning |", "|---|---|---|---|---|",
             f"| `family` | `--family` | `{_default_task().family}` | one of "
             f"{', '.join(f.name for f in registered())} | the task family |", ""]
    for family in registered():
        lines += [f"### `{family.name}`: {family.doc}", "", *_field_rows(family.config), ""]
    for group_name, group_cls in GROUPS.items():
        if group_name != "task":
            lines += [f"## `{group_name}`: {(group_cls.__doc__ or '').strip()}", "", *_field_rows(group_cls), ""]
    return "\n".join(lines)


def _field_rows(group_cls: type) -> list[str]:
    rows = ["| field | flag | default | allowed | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(group_cls):
        default = f.default if not isinstance(f.default, bool) else str(f.default).lower()
        rows.append(f"| `{f.name}` | `--{f.name.replace('_', '-')}` | `{default}` | {describe_bounds(f)} "
                    f"| {f.metadata['doc']} |")
    return rows
