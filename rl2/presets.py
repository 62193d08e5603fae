"""Named configurations for the paper's settings and beyond, gathered from the families that
define them (``rl2/families/``): bandits n ∈ {10, 100, 500} × k ∈ {5, 10, 50}, tabular MDPs
n ∈ {10, 25, 50, 75, 100}, switching bandits, mazes, point-robot navigation, the MuJoCo and
Meta-World families and an Atari game. Any field can be overridden on top of a preset."""

from __future__ import annotations

from typing import Any

from rl2.config import Config, ConfigError
from rl2.families import family_named, family_of, registered

DEFAULT_PRESET = "bandit-n10-k5"


def all_presets() -> dict[str, dict[str, Any]]:
    """Every registered family's presets, by name, in registration order."""
    return {name: fields for family in registered() for name, fields in family.presets.items()}


PRESETS: dict[str, dict[str, Any]] = all_presets()  # the built-in families' (a family registered later: all_presets)


def preset_config(name: str = DEFAULT_PRESET, **overrides: Any) -> Config:
    """The config of a named preset, with field overrides by name."""
    presets = all_presets()
    if name not in presets:
        raise ConfigError(f"unknown preset '{name}' (known: {', '.join(presets)})")
    fields = presets[name]
    if overrides.get("family", fields["family"]) != fields["family"]:
        # Another family than the preset's: its task starts from that family's defaults, and the
        # preset's training settings stay.
        own = {"family", *family_named(fields["family"]).config.__dataclass_fields__}
        fields = {key: value for key, value in fields.items() if key not in own}
    return Config().replace(**{**fields, **overrides})


def preset_of(config: Config) -> str | None:
    """The preset whose task setting a config trains on, if any (for tables and plots)."""
    return family_of(config.task).preset_of(config.task)
