"""Named configurations for the paper's settings: bandits n ∈ {10, 100, 500} × k ∈ {5, 10, 50},
tabular MDPs n ∈ {10, 25, 50, 75, 100}. Any field can be overridden on top of a preset."""

from __future__ import annotations

from typing import Any

from rl2.config import Config, ConfigError

DEFAULT_PRESET = "bandit-n10-k5"

BANDIT_SETTINGS = [(n, k) for n in (10, 100, 500) for k in (5, 10, 50)]
MDP_SETTINGS = [10, 25, 50, 75, 100]


def _bandit(n: int, k: int) -> dict[str, Any]:
    # Bandit trials are n steps: 240 trials an update up to n = 100, 48 (24,000 steps) at n = 500.
    # Training budgets grow with the trial length.
    trials = 240 if n <= 100 else 48
    budget = {10: 1_000_000, 100: 6_000_000, 500: 20_000_000}[n]
    return {"family": "bandit", "n": n, "k": k, "steps_per_update": n * trials, "minibatches": 4,
            "lr": 3e-3, "total_steps": budget}


def _mdp(n: int) -> dict[str, Any]:
    # 24,000 steps an update: 240 trials of 10 episodes down to 24 trials of 100 episodes.
    return {"family": "mdp", "n": n, "steps_per_update": 24_000, "minibatches": 4,
            "total_steps": 20_000_000 if n <= 25 else 40_000_000}


PRESETS: dict[str, dict[str, Any]] = {
    **{f"bandit-n{n}-k{k}": _bandit(n, k) for n, k in BANDIT_SETTINGS},
    **{f"mdp-n{n}": _mdp(n) for n in MDP_SETTINGS},
}


def preset_config(name: str = DEFAULT_PRESET, **overrides: Any) -> Config:
    """The config of a named preset, with field overrides by name."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}' (known: {', '.join(PRESETS)})")
    return Config().replace(**{**PRESETS[name], **overrides})


def preset_of(config: Config) -> str | None:
    """The preset whose task setting a config trains on, if any (for tables and plots)."""
    t = config.task
    name = f"bandit-n{t.n}-k{t.k}" if t.family == "bandit" else f"mdp-n{t.n}"
    return name if name in PRESETS else None
