"""What a task family is (``Family``), and the one registry of them by name.

The registry (``REGISTRY``) is the one piece of module-level mutable state in rl2: built-in families
are registered when ``rl2.families`` is imported, and a user's own with ``register(family)``. No other
module branches on a family's name: each asks the family of its config (``family_of(config.task)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

import torch

from rl2.config import ConfigError, TaskConfig

if TYPE_CHECKING:
    from rl2.envs.base import TrialEnv
    from rl2.envs.gym import GymFamily


class TaskSampler(Protocol):
    """A split of a task distribution: ``sample(batch, generator)`` -> tasks, a dataclass of [B, ...] rows."""

    def sample(self, batch: int, generator: torch.Generator) -> Any: ...


@dataclass(frozen=True)
class Baselines:
    """The classic algorithms that solve a family, behind one interface (``rl2.compare`` runs them)."""

    names: Callable[[TaskConfig], list[str]]  # those that apply to a setting
    # (name, setting, held-out tasks, generator, hyperparameters) -> returns per episode [N, n]
    run: Callable[[str, TaskConfig, Any, torch.Generator, dict[str, float]], torch.Tensor]
    # (name, setting, training tasks to draw, seed) -> tuned hyperparameters; None where it has none to tune
    tune: Callable[[str, TaskConfig, int, int], dict[str, float] | None]


def _no_preset(task: TaskConfig) -> str | None:
    return None


def _episodes_key(task: TaskConfig) -> str:
    return f"{task.family}-n{task.n}"


@dataclass(frozen=True)
class Family:
    """Everything rl2 knows about a task family: its config, tasks, env, presets, title, baselines,
    metrics and evaluation settings. ``user`` below is the user's own Gymnasium env (``RL2.gym``)."""

    name: str
    doc: str  # one line, for --family's help and the config reference
    config: type[TaskConfig]  # its task config dataclass, whose ``family`` is ``name``
    tasks: Callable[[TaskConfig, str, "GymFamily | None"], TaskSampler]  # (task, split, user) -> distribution
    env: Callable[[TaskConfig, "GymFamily | None"], "TrialEnv"]  # (task, user) -> the batched trial env
    title: Callable[[TaskConfig], str]  # the setting in a few words, for tables, figures and reports
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> config fields (``rl2 presets``)
    preset_of: Callable[[TaskConfig], str | None] = _no_preset  # the preset a task setting is, if any
    key: Callable[[TaskConfig], str] = _episodes_key  # names a setting in the tuned baselines and paper tables
    baselines: Baselines | None = None  # the classic baselines, where they apply
    # Held-out settings evaluated by name (mazes: small and large ones); None: the training setting alone
    eval_settings: Callable[[TaskConfig], dict[str, TaskConfig]] | None = None
    episode_lengths: bool = False  # episodes end early (mazes): their lengths are logged and evaluated
    regret: bool = False  # one-pull episodes: the plots draw cumulative regret per pull
    eval_chunk: int = 1000  # most trials evaluated at once (Gymnasium copies are Python objects: fewer)
    renders: bool = False  # ``rl2 render`` draws its trials (mazes)
    one_process: str | None = None  # why it trains in one process only (torchrun refuses it), if it does

    def __post_init__(self) -> None:
        if self.config.family != self.name:
            raise ValueError(f"family {self.name!r}: its config class {self.config.__name__} is tagged "
                             f"{self.config.family!r}")


REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Adds a family (refusing a second one of the same name, or a preset name taken); returns it."""
    if family.name in REGISTRY:
        raise ValueError(f"a family named {family.name!r} is registered already")
    taken = {name for other in REGISTRY.values() for name in other.presets}
    clash = sorted(taken & set(family.presets))
    if clash:
        raise ValueError(f"family {family.name!r}: preset {clash[0]!r} is another family's")
    REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    """Removes a family (tests that register a toy family take it out again)."""
    REGISTRY.pop(name, None)


def registered() -> list[Family]:
    """Every registered family, in registration order."""
    return list(REGISTRY.values())


def family_named(name: str) -> Family:
    """The family of a name; ConfigError naming the known ones otherwise."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown family {name!r} (known: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def family_of(task: TaskConfig) -> Family:
    """The family a task config belongs to."""
    return family_named(task.family)
