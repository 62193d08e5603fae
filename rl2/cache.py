"""Where rl2 keeps what it can recompute (Gittins tables, re-tuned baseline settings)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$RL2_CACHE_DIR`` if set, else ``~/.cache/rl2``."""
    return Path(os.environ.get("RL2_CACHE_DIR") or Path.home() / ".cache" / "rl2")
