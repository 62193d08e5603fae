"""Configs written by earlier rl2 versions, brought to the current shape before they are read.

Version 1 (rl2 before the family registry, checkpoint format 1) wrote one flat ``task`` group with
every family's fields, TRPO's fields inside ``ppo`` and the machine settings inside ``run``; it had
no ``"version"`` key. Version 2 keeps only the family's own task fields, and moves each other field
to the group that now holds it (``trpo``, ``machine``). Values are kept as they were, so a migrated
run trains, evaluates and resumes exactly as before.
"""

from __future__ import annotations

from typing import Any

from rl2.config import CONFIG_VERSION, ConfigError, field_group


def upgrade_config(data: dict[str, Any]) -> dict[str, Any]:
    """The current form of a config's JSON dict, whatever version of rl2 wrote it."""
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ConfigError(f"config version must be a positive integer, got {version!r}")
    if version > CONFIG_VERSION:
        raise ConfigError(f"config version {version} is newer than this rl2 reads ({CONFIG_VERSION}): upgrade rl2")
    return from_v1(data) if version == 1 else data


def from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 config (flat task, TRPO in ppo, machine in run) in the version-2 shape."""
    from rl2.families import DEFAULT_FAMILY, family_named

    task = dict(data.get("task", {}))
    family = family_named(task.pop("family", DEFAULT_FAMILY))
    own = set(family.config.__dataclass_fields__)
    out: dict[str, Any] = {"version": CONFIG_VERSION, "task": {"family": family.name}}
    # Version 1 stored every family's task fields: only this family's are its own, the rest were unused.
    out["task"].update({name: value for name, value in task.items() if name in own})
    for group in ("policy", "ppo", "run"):
        for name, value in data.get(group, {}).items():
            out.setdefault(field_group(name), {})[name] = value
    unknown = set(data) - {"task", "policy", "ppo", "run"}
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
    return out
