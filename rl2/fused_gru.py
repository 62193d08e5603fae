"""The fused GRU kernel: a C++ forward and backward of a whole sequence (rl2/csrc/fused_gru.cpp).

PPO's replays of the recurrent core dominate meta-training on a CPU; this kernel runs them about 1.5x
faster than ``torch.nn.GRU`` (``benchmarks/throughput.py`` measures both). It is compiled on first use
with the C++ compiler PyTorch's extension builder finds (a few tens of seconds, once: the library is
cached under ``TORCH_EXTENSIONS_DIR``, by default ``~/.cache/torch_extensions``). Where no compiler
is found, ``MachineConfig.gru_kernel = "auto"`` keeps ``torch.nn.GRU``; results agree to float rounding.

It reads the parameters of an ``nn.GRU`` (one layer, unidirectional, with biases), so checkpoints
do not depend on the kernel. A policy built with ``gru_kernel="fused"`` or ``"auto"`` (see
``rl2.policy.cores.GRUKernel``; training runs pass their config's) loads it at its first replay that a
backward pass follows, on CPU, and replays through it from then on; inference, under no_grad, stays
with ``nn.GRU`` and loads nothing.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import shutil
from pathlib import Path

import torch
from torch import nn
from torch.autograd.function import once_differentiable

SOURCE = Path(__file__).resolve().parent / "csrc" / "fused_gru.cpp"

# Instruction sets by PyTorch's own detection, not -march=native: a cached library built on one
# machine must still load on another sharing the same home directory (its name carries the set).
_ISA_FLAGS = {
    "AVX512": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma"],
    "AVX2": ["-mavx2", "-mfma"],
}


def _name() -> str:
    return f"rl2_fused_gru_{torch.backends.cpu.get_cpu_capability().lower()}"


def built() -> bool:
    """Whether a compiled kernel is in the extension cache already (so ``load()`` will be quick)."""
    from torch.utils.cpp_extension import get_default_build_root

    root = Path(os.environ.get("TORCH_EXTENSIONS_DIR") or get_default_build_root())
    return any(root.glob(f"**/{_name()}*.so"))


@functools.cache
def load() -> str | None:
    """Builds (once per machine) and loads the kernel into this process. Returns None when it is
    ready, else why it is not (one line)."""
    isa = torch.backends.cpu.get_cpu_capability()
    # -ffast-math in full: glibc declares its vector exp only under __FAST_MATH__. The loops make no
    # comparisons, so assuming finite values changes nothing there; NaNs still propagate.
    flags = ["-O3", "-fopenmp", "-ffast-math", "-mtune=native", *_ISA_FLAGS.get(isa, [])]
    # glibc's vector math library: the vectorized exp the fused loops call.
    ldflags = ["-lmvec"] if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc" else []
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"the fused GRU kernel needs a C++ compiler and found none ({compiler}: install g++ or set CXX)"
    # The builder logs multi-line warnings of its own (e.g. about the compiler's name); a failure
    # comes back as one line below instead.
    builder_log = logging.getLogger("torch.utils.cpp_extension")
    level = builder_log.level
    builder_log.setLevel(logging.ERROR)
    try:
        from torch.utils.cpp_extension import load as build

        build(name=_name(), sources=[str(SOURCE)], extra_cflags=flags, extra_ldflags=ldflags, is_python_module=False,
              verbose=False)
    except Exception as error:  # no ninja, a failed build: the caller falls back or reports
        lines = str(error).strip().splitlines()
        first = lines[0] if lines else type(error).__name__
        return f"the fused GRU kernel could not be built ({first[:160]})"
    finally:
        builder_log.setLevel(level)
    return None


def supports(core: nn.Module, x: torch.Tensor) -> bool:
    """Whether the kernel can replay `core` on `x`: a unidirectional GRU with biases and no dropout
    between its layers, sequence-first, on CPU, in float32 or float64."""
    return (isinstance(core, nn.GRU) and not core.dropout and not core.bidirectional and core.bias
            and not core.batch_first and x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and x.dim() == 3)


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        out, saved = torch.ops.rl2_fused.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(x, h0, out, saved, w_ih, w_hh)
        return out

    @staticmethod
    @once_differentiable  # TRPO's Fisher products differentiate twice: they keep nn.GRU
    def backward(ctx, dout):
        x, h0, out, saved, w_ih, w_hh = ctx.saved_tensors
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = torch.ops.rl2_fused.gru_backward(
            dout, x, h0, out, saved, w_ih, w_hh, ctx.needs_input_grad[0])
        return (dx if ctx.needs_input_grad[0] else None), dh0, dw_ih, dw_hh, db_ih, db_hh


def gru_sequence(core: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``core(x, h0)`` returns, x [T, B, D] and h0 [L, B, H] -> (out [T, B, H], h_T [L, B, H]),
    computed by the fused kernel (``load()`` must have succeeded), one layer after the other: each
    layer's outputs are the next one's inputs, as in torch.nn.GRU."""
    finals = []
    for k in range(core.num_layers):
        x = _GRUSequence.apply(x.contiguous(), h0[k].contiguous(), getattr(core, f"weight_ih_l{k}"),
                               getattr(core, f"weight_hh_l{k}"), getattr(core, f"bias_ih_l{k}"),
                               getattr(core, f"bias_hh_l{k}"))
        finals.append(x[-1])
    return x, torch.stack(finals)
