"""Device selection: auto picks CUDA where a GPU is present."""

from __future__ import annotations

import torch

from rl2.config import ConfigError


def device_available(name: str) -> bool:
    """Whether a device name can be used on this machine."""
    return name in ("auto", "cpu") or (name == "cuda" and torch.cuda.is_available())


def resolve_device(name: str) -> torch.device:
    """'auto' | 'cpu' | 'cuda' -> a torch device that exists here, or ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device must be cpu or auto: --device cuda was asked for but no CUDA GPU is available")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device must be one of auto, cpu, cuda, got {name!r}")
    return torch.device(name)
