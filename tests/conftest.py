import os
import sys

import pytest
import torch

# Tests run many small tensor ops: one thread avoids oversubscription on small CI machines.
torch.set_num_threads(1)


@pytest.fixture
def rl2_cmd():
    """The CLI as a subprocess command (the installed entry point runs the same main)."""
    return [sys.executable, "-m", "rl2"]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RL2_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
