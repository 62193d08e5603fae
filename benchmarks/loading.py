"""A trained agent for the benchmarks that measure one, or the script's one-line usage error (exit code 2)."""

from __future__ import annotations

import argparse

from rl2 import RL2


def load_agent(parser: argparse.ArgumentParser, source: str) -> RL2:
    """The agent at `source` (a run directory, checkpoint file or zoo:NAME), on the CPU."""
    try:
        return RL2.load(source, device="cpu")
    except (OSError, ValueError, KeyError) as error:  # no such file or zoo name, a corrupt checkpoint
        parser.error(f"cannot load {source}: {error}")
