"""The meta-learner's state and one meta-training iteration: sample tasks, collect trials, PPO update.

No files, clocks or printing here (that is ``train.py``): a Learner can be driven by the CLI, the
Python API or a test alike, and its whole state round-trips through ``state_dict``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
from collections.abc import Collection
from dataclasses import asdict, dataclass, fields, replace
from types import SimpleNamespace

import torch

from rl2.config import Config, ConfigError, PPOConfig
from rl2.distributed import SINGLE, World
from rl2.envs import GymFamily, TrialEnv
from rl2.exploration import count_bonus, without_first_episodes
from rl2.families import family_of, make_env, make_task_distribution
from rl2.memory import check_training_fits
from rl2.policy import RecurrentActorCritic
from rl2.policy.cores import GRU_KERNELS
from rl2.ppo import UpdateStats, ppo_update
from rl2.rollout import Rollout, collect_trials
from rl2.tasks import slice_tasks
from rl2.trpo import trpo_update


def build_policy(config: Config, device: torch.device | str = "cpu", env: TrialEnv | None = None
                 ) -> RecurrentActorCritic:
    """The actor-critic a config describes (for the spaces of `env`, default the config's), on a device,
    with the GRU kernel the run asks for (which the policy resolves at its first training replay)."""
    env = make_env(config.task) if env is None else env
    p = config.policy
    continuous = getattr(env, "continuous", False)
    name = getattr(env, "name", "this env")  # the gym family's actions are known only here, from its env
    if continuous and config.ppo.algo == "trpo":
        raise ConfigError(f"trpo steps discrete actions only; {name} has Box actions: use ppo")
    if continuous and p.reward_by_action:
        raise ConfigError(f"reward_by_action multiplies a discrete action's one-hot; {name} has Box actions")
    return RecurrentActorCritic(env.obs_shape, env.num_actions, p.rnn, p.hidden, p.critic, continuous=continuous,
                                norm_obs=p.norm_obs, norm_reward=p.norm_reward, head_hidden=p.head_hidden,
                                memoryless=p.memoryless, init_log_std=p.init_log_std,
                                gru_kernel=choose_gru_kernel(config, torch.device(device)), attn_layers=p.attn_layers,
                                attn_heads=p.attn_heads, attn_context=p.context(config.task.trial_length),
                                attn_sink=p.attn_sink, weight_norm=p.weight_norm,
                                belief_dim=env.task_parameter_dim if config.ppo.belief_coef > 0 else 0,
                                rnn_layers=p.rnn_layers, reward_by_action=p.reward_by_action).to(device)


def fused_gru_unfit(config: Config, device: torch.device) -> str | None:
    """Why rl2's fused GRU kernel cannot replay this run's core, or None where it can."""
    return ("it replays GRU cores" if config.policy.rnn != "gru" else
            "TRPO's Fisher products differentiate twice" if config.ppo.algo != "ppo" else
            "it runs on CPU" if device.type != "cpu" else None)


def requested_gru_kernel(config: Config) -> str:
    """The kernel a run asks for: its config's, where that says "auto" the environment's
    ``RL2_GRU_KERNEL`` (auto | fused | torch), a switch for test suites and benchmarks that force one."""
    kernel = config.machine.gru_kernel
    forced = os.environ.get("RL2_GRU_KERNEL", "auto")
    if forced not in GRU_KERNELS:
        raise ConfigError(f"RL2_GRU_KERNEL must be one of auto, fused, torch, got {forced!r}")
    return forced if kernel == "auto" else kernel


def choose_gru_kernel(config: Config, device: torch.device) -> str:
    """The policy's ``gru_kernel`` for a run: "torch", or "fused" / "auto", which the policy resolves (and
    loads) at its first training replay. A config's "fused" stays "fused" (the policy then raises a
    ConfigError where the kernel cannot run); a forced or automatic choice keeps torch.nn.GRU for runs
    the kernel does not fit (``fused_gru_unfit``)."""
    kernel = requested_gru_kernel(config)
    if kernel == "torch" or config.machine.gru_kernel == "fused" or fused_gru_unfit(config, device) is None:
        return kernel
    return "torch"


def optimizer_settings(config: Config) -> PPOConfig | SimpleNamespace:
    """What the update function reads: the ppo group, and for TRPO its own group's fields beside
    them (``trpo_update`` takes both as one object)."""
    if config.ppo.algo == "ppo":
        return config.ppo
    return SimpleNamespace(**asdict(config.ppo), **asdict(config.trpo))


def restore_generator(generator: torch.Generator, state: torch.Tensor) -> None:
    """Sets a generator's saved state. A state from another kind of device (CUDA's Philox against the
    CPU's Mersenne Twister, e.g. a GPU run resumed on a CPU) cannot be carried over: the generator is
    then seeded from it, a deterministic continuation but not the same stream."""
    state = state.cpu()
    if state.numel() == generator.get_state().numel():
        generator.set_state(state)
    else:
        generator.manual_seed(int.from_bytes(hashlib.sha256(state.numpy().tobytes()).digest()[:8], "little"))


@dataclass(frozen=True)
class IterationResult:
    """What one meta-training iteration measured."""

    update: int
    env_steps: int
    trial_return: float  # mean undiscounted return of the trials collected
    episode_returns: list[float]  # mean return of each episode index inside the trial
    lr: float
    ent_coef: float
    stats: UpdateStats
    # Families with a success flag (mazes: the target reached; Meta-World): fraction of the episodes of
    # each index that succeeded
    episode_success: list[float] | None = None
    # Families whose episodes end early (mazes): mean steps of the episodes of each index
    episode_lengths: list[float] | None = None

    def metrics(self) -> dict[str, float]:
        """Flat metric names as logged (TensorBoard tags and CSV columns)."""
        out = {
            "charts/trial_return": self.trial_return,
            "charts/lr": self.lr,
            "charts/ent_coef": self.ent_coef,
            "charts/explained_variance": self.stats.explained_variance,
        }
        for name, value in asdict(self.stats).items():
            if name != "explained_variance" and value is not None:
                out[f"losses/{name.removesuffix('_loss')}"] = float(value)
        return out


def with_new_inputs(weights: dict[str, torch.Tensor], own: dict[str, torch.Tensor],
                    options: dict[str, range], source_has: Collection[str] | None = None) -> dict[str, torch.Tensor]:
    """A source trained without some of the optional inputs, for a network with them.

    ``options``: the columns of this network's core input that each optional part it has takes: parts of
    the observation, the first columns of φ (``MDPEnv.optional_inputs``: the previous state, the time
    left), and what the policy adds after φ (``RecurrentActorCritic.optional_inputs``). ``source_has``: the
    names of those parts the source's network read, from its config. The recurrent core's input
    weights gain zero columns where the parts the source lacks enter, so the warm-started network computes
    what the source did until training teaches it the new inputs. Where ``source_has`` is not known, the
    parts it lacks are the first set whose widths make up the difference (ambiguous only where two parts
    are equally wide: the previous state and the time in an MDP of one state). Weights of any other shape
    are returned as they are (and refused by the caller)."""
    name = "core.weight_ih_l0"  # the GRU's and the LSTM's input weights, [gates, φ]
    if name not in weights or name not in own or weights[name].dim() != 2:
        return weights
    source, width = weights[name], own[name].shape[1]
    if source.shape[1] >= width:  # (its rows may be fewer: a narrower GRU, widened after this by ``widened_gru``)
        return weights
    if source_has is None:
        candidates = [parts for count in range(1, len(options) + 1)
                      for parts in itertools.combinations(options.values(), count)]
    else:
        candidates = [tuple(part for part_name, part in options.items() if part_name not in source_has)]
    for parts in candidates:
        new = {column for part in parts for column in part}
        if new and width - len(new) == source.shape[1]:
            kept = [column for column in range(width) if column not in new]
            grown = source.new_zeros(source.shape[0], width)
            grown[:, kept] = source
            return {**weights, name: grown}
    return weights


def widened_gru(weights: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GRU source of fewer units, for a wider GRU network of the same inputs, layers and heads.

    The source's units keep their weights; each new unit keeps the fresh init of this network (``own``),
    except that nothing reads it yet: the old units' recurrent weights from it, the next layer's old units'
    input weights from it, and the heads' weights from it, are zero. So the widened network computes what
    the source did (its new units run alongside, unread), and the gradient reaches their outgoing weights
    from the first update (a zero unit, with zero weights both ways, would get none). Anything else is
    returned as it is (and refused by the caller).
    """
    name = "core.weight_hh_l0"
    if name not in weights or name not in own or weights[name].dim() != 2:
        return weights
    gates = own[name].shape[0] // own[name].shape[1]  # 3 for a GRU (r, z, n), 4 for an LSTM
    small, wide = weights[name].shape[1], own[name].shape[1]
    if gates != 3 or weights[name].shape != (3 * small, small) or small >= wide:
        return weights
    layers = sum(1 for key in own if key.startswith("core.weight_hh_l"))
    out = dict(weights)
    for layer, kind in itertools.product(range(layers), ("weight_ih", "bias_ih", "bias_hh", "weight_hh")):
        key = f"core.{kind}_l{layer}"
        # A layer's recurrent weights, and the input weights of a layer above the first, read units: they
        # are [3 * units, units].
        reads_units = kind == "weight_hh" or (kind == "weight_ih" and layer > 0)
        expected = (3 * small, small) if reads_units else (3 * small, *own[key].shape[1:])
        if key not in weights or weights[key].shape != expected:
            return weights  # another input or depth too: refused by the caller
        grown = own[key].clone().view(3, wide, *own[key].shape[1:])
        source = weights[key].view(3, small, *weights[key].shape[1:])
        if reads_units:
            grown[:, :small, :small] = source
            grown[:, :small, small:] = 0.0  # the old units do not read the new ones (yet)
        else:
            grown[:, :small] = source
        out[key] = grown.view_as(own[key])
    for key, value in weights.items():  # the layers that read the state: the torsos, heads and belief head
        if key.startswith("core.") or key not in own or value.dim() != 2:
            continue
        if value.shape[1] == small and own[key].shape == (value.shape[0], wide):
            out[key] = torch.cat([value, value.new_zeros(value.shape[0], wide - small)], dim=1)
    return out


class Learner:
    """Policy, optimizer, random generators and counters of one meta-training run.

    Under torchrun every rank holds a Learner in the same state; `world` splits each batch's
    columns over the ranks (see ``rl2.distributed``). ``config.trials_per_update`` is the global batch.
    """

    def __init__(self, config: Config, device: torch.device | str = "cpu", world: World = SINGLE,
                 family: GymFamily | None = None) -> None:
        world.check(config)
        check_training_fits(config)  # before the weights are allocated: one line, not an allocator's traceback
        self.config = config
        self.device = torch.device(device)
        self.world = world
        self.family = family  # the user's own Gymnasium env and tasks (config family "gym"), else None
        self.env = make_env(config.task, family)
        with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's global RNG
            torch.manual_seed(config.run.seed)
            self.policy = build_policy(config, self.device, self.env)
        # PPO's Adam trains everything on one loss; TRPO's Adam only fits the value function
        # (its policy step is the natural gradient).
        trained = self.policy.parameters() if config.ppo.algo == "ppo" else self.policy.value_only_parameters()
        self.optimizer = torch.optim.Adam(trained, lr=config.ppo.lr, eps=1e-5)
        self.update_fn = functools.partial(ppo_update if config.ppo.algo == "ppo" else trpo_update, world=world)
        self.update_settings = optimizer_settings(config)
        self.tasks = make_task_distribution(config.task, family=family)
        # Training tasks and rollout noise have their own streams; evaluation tasks use eval_seed.
        self.task_generator = torch.Generator(self.device).manual_seed(config.run.seed)
        self.rollout_generator = torch.Generator(self.device).manual_seed(config.run.seed + 1)
        self.update = 0
        self.env_steps = 0

    def progress(self) -> float:
        """Fraction of the configured run done, in [0, 1]: drives the lr and entropy schedules."""
        return min(1.0, self.update / self.config.num_updates)

    def schedules(self) -> tuple[float, float]:
        """(learning rate, entropy coefficient) for the next update."""
        ppo, p = self.config.ppo, self.progress()
        lr = ppo.lr * (1.0 - 0.9 * p) if ppo.anneal_lr else ppo.lr
        ent = ppo.ent_coef + (ppo.ent_coef_final - ppo.ent_coef) * p
        return lr, ent

    def bonus_weight(self) -> float:
        """β of the count bonus for the next update: ``count_bonus`` falling linearly to 0 over the run."""
        return self.config.ppo.count_bonus * (1.0 - self.progress())

    def with_count_bonus(self, rollout: Rollout) -> Rollout:
        """The rollout whose rewards carry the count bonus, for the update alone (its statistics stay
        the task's); the rollout itself where the bonus is off or spent."""
        beta = self.bonus_weight()
        if beta <= 0:
            return rollout
        S = self.config.task.counted_states
        states = rollout.inputs[..., :S].argmax(-1)  # the leading one-hot's index (a bandit's one column: 0)
        bonus = count_bonus(states, rollout.actions, S, self.env.num_actions, beta)
        return replace(rollout, rewards=rollout.rewards + bonus * rollout.valid)

    def with_explore_episodes(self, rollout: Rollout) -> Rollout:
        """The rollout whose first ``explore_episodes`` episodes of each trial earn no credited reward, for
        the update alone; the rollout itself where there are none."""
        episodes = self.config.ppo.explore_episodes
        if episodes == 0:
            return rollout
        return replace(rollout, rewards=without_first_episodes(rollout.rewards, rollout.episode_index(), episodes))

    def collect(self) -> Rollout:
        """One trial on each of a batch of freshly sampled training tasks: the global batch, of
        which this rank collected its columns and received the others'."""
        local = self.collect_local()
        return Rollout(*(self.world.gather_columns(getattr(local, f.name)) for f in fields(Rollout)))

    def collect_local(self) -> Rollout:
        """This rank's contiguous columns of the global batch (all of it in one process)."""
        B, task = self.config.trials_per_update, self.config.task
        tasks = self.tasks.sample(B, self.task_generator)  # the global batch: the same draws on every rank
        mine = self.world.shard(B)
        return collect_trials(self.env, self.policy, slice_tasks(tasks, mine.start, mine.stop), task.n,
                              task.trial_length, self.world.noise(self.rollout_generator, B),
                              credit_mean_rewards=self.config.ppo.reward_credit == "mean",
                              record_task=self.config.ppo.belief_coef > 0)

    def iterate(self) -> IterationResult:
        """One meta-training iteration: collect a batch of trials, then update the weights on it."""
        lr, ent_coef = self.schedules()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        rollout = self.collect()
        credited = self.with_count_bonus(self.with_explore_episodes(rollout))
        stats = self.update_fn(self.policy, self.optimizer, credited, self.update_settings,
                               self.config.ppo.minibatches, ent_coef, self.rollout_generator)
        if self.policy.input_norm is not None:  # after the update: its epochs saw collection's statistics
            for cols in rollout.column_chunks():  # pixel rollouts: a few columns' φ in floats at a time
                self.policy.input_norm.update(rollout.policy_inputs(cols), rollout.valid[:, cols])
        self.update += 1
        self.env_steps += rollout.steps
        n = self.config.task.n
        per_episode = rollout.episode_returns(n).mean(0)
        success = lengths = None
        if getattr(self.env, "reports_success", False):
            success = rollout.episode_success(n).float().mean(0).tolist()
        if family_of(self.config.task).episode_lengths:  # the others' episodes run to their cap: no length to learn
            lengths = rollout.episode_lengths(n).mean(0).tolist()
        return IterationResult(
            update=self.update, env_steps=self.env_steps, trial_return=float(rollout.rewards.sum(0).mean()),
            episode_returns=per_episode.tolist(), lr=lr, ent_coef=ent_coef, stats=stats,
            episode_success=success, episode_lengths=lengths,
        )

    def warm_start(self, weights: dict[str, torch.Tensor], source: str, source_config: dict | None = None) -> None:
        """Starts from trained weights (a policy's ``state_dict``); the optimizer, generators and counters
        stay fresh. A source without some optional inputs, or a narrower GRU, is bridged (``with_new_inputs``,
        ``widened_gru``); weights of any other shape are refused in one line (ConfigError) naming the first.
        ``source_config``, the config the weights were trained on (by section), names the optional inputs
        they read."""
        own = self.policy.state_dict()
        # The belief head serves training alone: a source without one, or with one for another target
        # (another shape), leaves this run's fresh head, and the head of a source is dropped where this run
        # trains none.
        weights = {name: value for name, value in weights.items() if not name.startswith("belief_head.")
                   or (name in own and value.shape == own[name].shape)}
        weights.update({name: value for name, value in own.items()
                        if name.startswith("belief_head.") and name not in weights})
        options = {**getattr(self.env, "optional_inputs", {}), **self.policy.optional_inputs}
        held = {} if source_config is None else {**source_config.get("task", {}), **source_config.get("policy", {})}
        source_has = None if source_config is None else [name for name in options if held.get(name)]
        weights = with_new_inputs(weights, own, options, source_has)
        weights = widened_gru(weights, own)
        missing, extra = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
        if missing or extra:
            raise ConfigError(f"cannot start from {source}: another network ({(missing or extra)[0]} is "
                              f"{'not in the one there' if missing else 'not in this one'}: the core (rnn, "
                              "rnn_layers, attn_layers, attn_sink, weight_norm), critic, head_hidden or the "
                              "normalizers differ)")
        for name, value in own.items():
            if weights[name].shape != value.shape:
                raise ConfigError(f"cannot start from {source}: {name} is {list(weights[name].shape)} there, "
                                  f"{list(value.shape)} here (another core, hidden size, observation or action space)")
        self.policy.load_state_dict(weights)

    def state_dict(self) -> dict:
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "task_generator": self.task_generator.get_state(),
            "rollout_generator": self.rollout_generator.get_state(),
            "update": self.update,
            "env_steps": self.env_steps,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restores a learner's state; a weights-only one (a zoo agent) keeps a fresh optimizer and generators."""
        self.policy.load_state_dict(state["policy"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
            restore_generator(self.task_generator, state["task_generator"])
            restore_generator(self.rollout_generator, state["rollout_generator"])
        self.update = int(state["update"])
        self.env_steps = int(state["env_steps"])
