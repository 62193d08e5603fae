"""scripts/install.sh asks for PyTorch's CPU build first where no GPU is found, and falls back to the
default index only where the CPU index cannot be reached (a dry run prints the pip commands)."""

from __future__ import annotations

import functools
import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install.sh"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def cpu_index(tmp_path):
    """A local HTTP server standing in for PyTorch's CPU wheel index (an empty page at /whl/cpu/)."""
    (tmp_path / "site" / "whl" / "cpu").mkdir(parents=True)
    (tmp_path / "site" / "whl" / "cpu" / "index.html").write_text("<html></html>")
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def dry_run(tmp_path: Path, index: str, gpu: bool) -> list[str]:
    """The pip commands install.sh would run, with `nvidia-smi -L` answering as a machine with(out) a GPU."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\nexit {0 if gpu else 1}\n")
    smi.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DRY_RUN": "1", "PYTHON": sys.executable, "TORCH_CPU_INDEX": index,
           "VENV": str(tmp_path / "venv"), "EXTRAS": "test"}
    r = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.splitlines() if line.startswith("pip install")]


def test_without_a_gpu_the_cpu_index_comes_first(tmp_path, cpu_index):
    assert dry_run(tmp_path, cpu_index, gpu=False) == [f"pip install torch>=2.4 --index-url {cpu_index}",
                                                       "pip install -e .[test]"]


def test_without_a_gpu_or_the_cpu_index_the_default_index_is_the_fallback(tmp_path):
    unreachable = f"http://127.0.0.1:{closed_port()}/whl/cpu"
    assert dry_run(tmp_path, unreachable, gpu=False) == ["pip install torch==2.13.0", "pip install -e .[test]"]


def test_with_a_gpu_the_default_index_gives_the_cuda_build(tmp_path, cpu_index):
    assert dry_run(tmp_path, cpu_index, gpu=True) == ["pip install torch>=2.4", "pip install -e .[test]"]
