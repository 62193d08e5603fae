"""Switching Bernoulli bandits: at each pull, with chance ``hazard``, all arm probabilities are
redrawn; a changing environment beyond the paper's tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from rl2.baselines.switching import (SWITCHING_BASELINES, SWITCHING_HPARAMS, run_switching_baseline,
                                     tune_switching_baseline)
from rl2.config import opt
from rl2.envs.switching import SwitchingBanditEnv
from rl2.families.bandit import BanditConfig, bandit_env
from rl2.families.registry import Baselines, Family
from rl2.tasks import SwitchingBandit


@dataclass(frozen=True)
class SwitchingConfig(BanditConfig):
    """Switching bandits: a bandit whose arms are all redrawn at a change point."""

    family: ClassVar[str] = "switching"
    hazard: float = opt(0.05, "switching bandits: chance per pull that all arm probabilities are redrawn",
                        ge=0.0, le=1.0)


def title(task: SwitchingConfig) -> str:
    return (f"switching Bernoulli bandits, k={task.k} arms, n={task.n} pulls per trial, "
            f"hazard {task.hazard:g} per pull")


def preset(n: int, k: int, hazard: float) -> dict[str, Any]:
    # Sized as the stationary bandits of the same n (240 trials an update, lr 3e-3), with half their
    # n = 100 budget: a changing environment beyond the paper, so there is no published budget to match.
    return {"family": "switching", "n": n, "k": k, "hazard": hazard, "steps_per_update": n * 240, "minibatches": 4,
            "lr": 3e-3, "total_steps": 3_000_000}


PRESETS = {"switching-n100-k5": preset(100, 5, hazard=0.05)}


def key(task: SwitchingConfig) -> str:
    """A switching setting names its hazard too, e.g. 'switching-n100-k5-h0.05'."""
    return f"switching-n{task.n}-k{task.k}-h{task.hazard:g}"


def preset_of(task: SwitchingConfig) -> str | None:
    name = f"switching-n{task.n}-k{task.k}"
    return name if name in PRESETS and PRESETS[name]["hazard"] == task.hazard else None


def run_baseline(name: str, task: SwitchingConfig, tasks: Any, generator: torch.Generator,
                 hparams: dict[str, float]) -> torch.Tensor:
    return run_switching_baseline(name, tasks.probs.cpu(), generator, **hparams)


def tune_baseline(name: str, task: SwitchingConfig, tasks: int, seed: int) -> dict[str, float] | None:
    return tune_switching_baseline(name, task.n, task.k, task.hazard, tasks, seed) if SWITCHING_HPARAMS[name] else None


FAMILY = Family(
    name="switching", doc="switching Bernoulli bandits: all arms redrawn at a change point (chance hazard per pull)",
    config=SwitchingConfig, tasks=lambda task, split, user: SwitchingBandit(k=task.k, n=task.n, hazard=task.hazard),
    env=lambda task, user: bandit_env(task, SwitchingBanditEnv), title=title, presets=PRESETS, preset_of=preset_of,
    key=key,
    baselines=Baselines(lambda task: list(SWITCHING_BASELINES), run_baseline, tune_baseline), regret=True,
)
