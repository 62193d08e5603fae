"""The Python API: build from a config or preset, learn, evaluate, save, load, deploy.

    from rl2 import RL2
    model = RL2("bandit-n10-k5", total_steps=500_000)
    model.learn()
    print(model.evaluate(trials=1000).summary())
    model.save("bandit.pt")
    agent = RL2.load("bandit.pt").agent()

Your own Gymnasium env: ``RL2.gym(make_env, tasks, n=2, max_episode_steps=50)`` (see ``rl2.tasks.gym``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from rl2.agent import Agent
from rl2.checkpoint import load_file_or_run, write_checkpoint
from rl2.config import Config
from rl2.device import device_available, resolve_device
from rl2.envs import GymFamily
from rl2.evaluate import EvalResult, NavigationResult, evaluate
from rl2.learner import IterationResult, Learner
from rl2.presets import DEFAULT_PRESET, preset_config
from rl2.tasks.gym import TaskDistribution
from rl2.zoo import resolve, warm_start_weights


class RL2:
    """An RL² agent and its meta-training state (``init_from="RUN_DIR"`` among the overrides starts it from
    that run's trained weights, with a fresh optimizer and counters: a warm start)."""

    def __init__(self, config: Config | str = DEFAULT_PRESET, device: str | None = None,
                 family: GymFamily | None = None, *, warm_start: bool = True, **overrides: Any) -> None:
        if isinstance(config, str):
            config = preset_config(config, **overrides)
        elif overrides:
            config = config.replace(**overrides)
        if device is not None:
            config = config.replace(device=device)
        self.config = config.validated()
        self.learner = Learner(self.config, resolve_device(self.config.machine.device), family=family)
        if warm_start and self.config.run.init_from:  # load() passes False: its weights are the checkpoint's
            _, weights, source_config = warm_start_weights(self.config.run.init_from)
            self.learner.warm_start(weights, self.config.run.init_from, source_config)

    @classmethod
    def gym(cls, make: Callable[[], Any], tasks: TaskDistribution, name: str = "gym", device: str | None = None,
            success_key: str | None = None, **overrides: Any) -> "RL2":
        """An agent for your own Gymnasium env: ``make()`` builds one copy, ``tasks`` samples tasks and
        applies them (see ``rl2.tasks.gym``); ``success_key``: the step info's success flag, if the env
        has one (success rates are then logged and evaluated). Overrides set the config, e.g.
        ``n=2, max_episode_steps=50``."""
        family = GymFamily(name, make, tasks, success_key)
        return cls(Config().replace(family="gym", **overrides), device=device, family=family)

    @property
    def policy(self):
        return self.learner.policy

    def learn(self, total_steps: int | None = None,
              callback: Callable[[IterationResult], None] | None = None) -> "RL2":
        """Meta-trains for `total_steps` more env steps (default: the config's updates, as ``rl2 train``).

        (For mazes the config's total_steps counts every trial at its longest, so its updates
        collect fewer env steps than that.)
        """
        stop = self.learner.env_steps + total_steps if total_steps is not None else None
        while (self.learner.update < self.config.num_updates if stop is None else self.learner.env_steps < stop):
            result = self.learner.iterate()
            if callback is not None:
                callback(result)
        return self

    def evaluate(self, trials: int = 1000, seed: int | None = None, greedy: bool = False
                 ) -> EvalResult | NavigationResult:
        """Frozen weights on fresh held-out tasks: returns per trial and per episode index (mazes:
        also success and lengths, on held-out mazes of the training size and large ones: the family's
        held-out settings)."""
        seed = self.config.run.eval_seed if seed is None else seed
        return evaluate(self.policy, self.config.task, trials, seed, greedy=greedy, family=self.learner.family)

    def agent(self, greedy: bool = False, seed: int = 0) -> Agent:
        """A step-by-step agent for deployment in the user's own loop."""
        env = self.learner.env
        return Agent(self.policy, greedy=greedy, seed=seed, spaces=getattr(env, "spaces", None),
                     states=getattr(env, "num_states", None))

    def save(self, path: str | Path) -> Path:
        """Writes a checkpoint (weights, optimizer, generators, counters, config) to a file."""
        from rl2.train import checkpoint_state  # the one definition of a checkpoint's contents

        return write_checkpoint(Path(path), checkpoint_state(self.learner))

    @classmethod
    def load(cls, path: str | Path, device: str | None = None, family: GymFamily | None = None) -> "RL2":
        """Loads a checkpoint file, or the newest valid checkpoint of a run directory (``device``: where
        to load it, by default the run's own device where this machine has it, else auto: a GPU run
        evaluates on a CPU-only machine; ``family``: the Gymnasium env and tasks of an ``RL2.gym``
        agent, which a checkpoint cannot hold)."""
        path = resolve(path)  # a zoo:NAME agent's file, or the path as given
        state = load_file_or_run(path)
        config = Config.from_dict(state["config"])
        if device is None and not device_available(config.machine.device):
            device = "auto"  # e.g. a run trained on a GPU, evaluated on a machine without one
        model = cls(config, device=device, family=family, warm_start=False)
        model.learner.load_state_dict(state["learner"])
        return model


__all__ = ["RL2"]
