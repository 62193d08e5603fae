"""Memory estimates made before anything is allocated, so that a request which cannot fit is refused
in one line naming its flag (instead of a traceback, or the kernel's OOM killer, halfway through).

The estimates are lower bounds (the largest tensors only): they refuse what certainly cannot fit and
let everything else try.
"""

from __future__ import annotations

import os

from rl2.config import Config, ConfigError

FLOAT = 4  # bytes of a float32
# What a rollout keeps for each env step whatever the task: φ's reward, done flag and previous action
# (3 floats; the observation adds more), the action (an int64), its log-prob, the value and the reward
# (floats), 5 flags (bools), and PPO's advantage and return (floats).
ROLLOUT_BYTES_PER_STEP = 3 * FLOAT + 8 + 3 * FLOAT + 5 + 2 * FLOAT


def available_bytes() -> int | None:
    """Memory this machine can still give (MemAvailable), or its physical memory where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def training_bytes(config: Config) -> int:
    """Weights with their gradients and Adam's two moments, one minibatch's replay of the core, and the
    rollout of an update (with belief supervision also the task it records at every step, and the belief
    head's estimates of it over a minibatch, with their gradient)."""
    steps = config.ppo.steps_per_update
    belief = (steps + 2 * (steps // config.ppo.minibatches)) * config.task.task_parameter_dim \
        if config.ppo.belief_coef > 0 else 0
    return FLOAT * (core_training_floats(config) + belief) + steps * ROLLOUT_BYTES_PER_STEP


def core_training_floats(config: Config) -> int:
    """The core's share: its weights four times over, and what a minibatch's replay keeps for backward."""
    p = config.policy
    if p.rnn == "transformer":
        return transformer_training_floats(config)
    gates = {"gru": 3, "lstm": 4}.get(p.rnn, 4)
    cores = 2 if p.critic == "separate" else 1
    # the recurrent matrices alone (a stacked layer's input matrix is as large again)
    weights = cores * gates * p.hidden * (p.hidden + 1) * (2 * p.rnn_layers - 1)
    replay = config.ppo.steps_per_update // config.ppo.minibatches * cores * p.hidden * (gates + 1) * p.rnn_layers
    return 4 * weights + replay


def transformer_training_floats(config: Config) -> int:
    """A transformer core's share: per block 12 H² weights (QKV 3, output 1, MLP 8), and what a replay
    keeps for its backward pass, per step and block at least 12 H (LN inputs, Q, K, V, the attention's
    output, the MLP's 4 H wide layer before and after its GELU). PPO's attention kernels (flash on
    CPU, fused on CUDA) keep no T x T scores; TRPO's Fisher replay runs on the math kernel, which keeps
    every head's T x T attention weights for each trial of its subset (T counts the attention sink's
    token where there is one)."""
    p, H = config.policy, config.policy.hidden
    cores = 2 if p.critic == "separate" else 1
    weights = cores * p.attn_layers * 12 * H * H
    replay = config.ppo.steps_per_update // config.ppo.minibatches * cores * p.attn_layers * 12 * H
    if config.ppo.algo == "trpo":
        T = config.task.trial_length + int(p.attn_sink)
        fisher_trials = max(1, round(config.trpo.fisher_fraction * config.trials_per_update))
        replay = max(replay, fisher_trials * p.attn_layers * p.attn_heads * T * T)  # one core: the policy's
    return 4 * weights + replay


def results_bytes(trials: int, episodes: int, methods: int = 1) -> int:
    """The per-episode returns (and lengths, success flags) of `trials` trials of each method."""
    return 3 * FLOAT * trials * episodes * methods


def check_fits(need: int, request: str, available: int | None = None) -> None:
    """Raises ConfigError naming `request` (e.g. ``--hidden 100000000``) where `need` bytes exceed
    the memory this machine has."""
    available = available_bytes() if available is None else available
    if available is not None and need > available:
        raise ConfigError(f"{request} needs at least {need / 2**30:,.1f} GiB of memory, more than the "
                          f"{available / 2**30:,.1f} GiB available here")


def check_training_fits(config: Config, available: int | None = None) -> None:
    """Refuses a run whose network and replay cannot fit, naming the flags that size them."""
    p, ppo = config.policy, config.ppo
    attention = (f" (--rnn transformer, --attn-layers {p.attn_layers}, --attn-heads {p.attn_heads}, "
                 f"{config.task.trial_length}-step trials under {ppo.algo})" if p.rnn == "transformer" else "")
    belief = (f" with --belief-coef {ppo.belief_coef} ({config.task.task_parameter_dim:,} task parameters recorded "
              "a step)" if ppo.belief_coef > 0 else "")
    check_fits(training_bytes(config), f"training with --hidden {p.hidden}, --steps-per-update "
                                       f"{ppo.steps_per_update} and --minibatches {ppo.minibatches}{attention}"
                                       f"{belief}", available)
