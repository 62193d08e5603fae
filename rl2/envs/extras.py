"""Optional dependencies: the heavy simulators (MuJoCo, Meta-World, the ALE) are extras. Whether one
is installed, and importing it with a one-line error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from rl2.config import ConfigError


def available(module: str) -> bool:
    """`module` can be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(module: str, family: str, needs: str, extra: str) -> ModuleType:
    """`module`, imported; missing, a ConfigError naming what the family needs and the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"the {family} family needs {needs}: pip install 'rl2[{extra}]'") from None
