#!/usr/bin/env bash
# Creates the virtual environment VENV (default .venv) and installs rl2 into it, with EXTRAS.
# PyTorch is installed first, on its own: where no NVIDIA GPU is found it takes the CPU build
# (a plain `torch` requirement would pull a multi-GB CUDA build onto a machine that cannot use it).
set -euo pipefail
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-}
PYTHON=${PYTHON:-python3}
TORCH_CPU=${TORCH_CPU:-torch==2.13.0}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "installing PyTorch (CUDA build: an NVIDIA GPU is present)"
    $PIP install "torch>=2.4"
  else
    echo "installing PyTorch (CPU build: no NVIDIA GPU found)"
    # The CPU wheel comes from the local wheel cache or PyTorch's CPU index where reachable.
    $PIP install "$TORCH_CPU" || $PIP install "$TORCH_CPU" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
$PIP install -e ".${EXTRAS:+[$EXTRAS]}"
