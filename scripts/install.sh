#!/usr/bin/env bash
# Creates the virtual environment VENV (default .venv) and installs rl2 into it, with EXTRAS.
#
# PyTorch is installed first, on its own, because a plain `torch` requirement on Linux x86_64 pulls the
# CUDA build (gigabytes of CUDA wheels) even onto a machine without a GPU:
#   - an NVIDIA GPU is present: torch from the default index (the CUDA build);
#   - no GPU, PyTorch's CPU wheel index reachable: torch from that index (the CPU build);
#   - no GPU and that index out of reach (a machine that sees only a package mirror): TORCH_FALLBACK
#     from the default index, which such mirrors or a local wheel cache serve as a CPU build.
# DRY_RUN=1 prints the pip commands instead of running them.
set -euo pipefail
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-}
PYTHON=${PYTHON:-python3}
TORCH=${TORCH:-torch>=2.4}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
TORCH_FALLBACK=${TORCH_FALLBACK:-torch==2.13.0}
DRY_RUN=${DRY_RUN:-}

pip_install() {
  if [ -n "$DRY_RUN" ]; then
    echo "pip install $*"
  else
    "$VENV/bin/python" -m pip --disable-pip-version-check -q install "$@"
  fi
}

# Whether an index answers within a few seconds (an unreachable host fails fast or times out here,
# instead of through pip's retries).
reachable() {
  "$PYTHON" - "$1" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/", timeout=5).close()
except Exception:
    sys.exit(1)
EOF
}

[ -n "$DRY_RUN" ] || [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
if [ -n "$DRY_RUN" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "installing PyTorch (CUDA build: an NVIDIA GPU is present)"
    pip_install "$TORCH"
  elif reachable "$TORCH_CPU_INDEX"; then
    echo "installing PyTorch (CPU build from $TORCH_CPU_INDEX: no NVIDIA GPU found)"
    pip_install "$TORCH" --index-url "$TORCH_CPU_INDEX"
  else
    echo "installing PyTorch ($TORCH_FALLBACK from the default index: no NVIDIA GPU found, $TORCH_CPU_INDEX out of reach)"
    pip_install "$TORCH_FALLBACK"
  fi
fi
pip_install -e ".${EXTRAS:+[$EXTRAS]}"
