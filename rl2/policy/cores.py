"""Recurrent cores (GRU or LSTM) and the kernel that replays a GRU where a backward pass follows:
torch.nn.GRU, or rl2's fused C++ kernel (``rl2.fused_gru``), which reads the same parameters.

The recurrent state is one tensor, [1, B, H] for a GRU and [2, B, H] (h and c stacked) for an LSTM.
"""

from __future__ import annotations

import torch
from torch import nn

from rl2 import fused_gru
from rl2.config import ConfigError

RecurrentState = torch.Tensor  # [1, B, H] (GRU) or [2, B, H] (LSTM: h, c)

GRU_KERNELS = ("torch", "fused", "auto")


def make_core(rnn: str, input_size: int, hidden: int) -> nn.GRU | nn.LSTM:
    """A one-layer "gru" or "lstm" core, sequence-first."""
    return {"gru": nn.GRU, "lstm": nn.LSTM}[rnn](input_size, hidden)


class GRUKernel:
    """Which kernel replays GRU cores under a backward pass: "torch" (torch.nn.GRU), "fused" (rl2's
    kernel; a ConfigError where it cannot run) or "auto" (fused where it loads, else torch.nn.GRU with
    the reason kept in ``note``). Resolved once, on first use, so choosing compiles nothing."""

    def __init__(self, choice: str = "torch") -> None:
        if choice not in GRU_KERNELS:
            raise ValueError(f"gru_kernel must be one of {', '.join(GRU_KERNELS)}, got {choice!r}")
        self.choice = choice
        self.fused: bool | None = False if choice == "torch" else None  # None: not resolved yet
        self.note: str | None = None  # why "auto" fell back to torch.nn.GRU, where it did

    def resolve(self, device: torch.device) -> bool:
        """Whether replays on `device` run on the fused kernel; the first call loads it (compiling it
        on a machine's first use)."""
        if self.fused is None:
            self.fused, self.note = self._choose(device)
        return self.fused

    def _choose(self, device: torch.device) -> tuple[bool, str | None]:
        if device.type != "cpu":  # the kernel is CPU code; "auto" then keeps nn.GRU without a word
            if self.choice == "fused":
                raise ConfigError("--gru-kernel fused does not fit this run: it runs on CPU (use auto or torch)")
            return False, None
        error = fused_gru.load()  # cached: None, or why the kernel cannot load (one line)
        if error is None:
            return True, None
        if self.choice == "fused":  # asked for outright: never a silent fallback
            raise ConfigError(f"--gru-kernel fused: {error}")
        return False, f"{error}; training replays use torch.nn.GRU"


def run_core(core: nn.Module, x: torch.Tensor, state: RecurrentState, kernel: GRUKernel
             ) -> tuple[torch.Tensor, RecurrentState]:
    """Inputs x [T, B, D] from `state` -> outputs [T, B, H] and the final state; GRU replays that a
    backward pass follows go through `kernel` (inference, under no_grad, stays with nn.GRU)."""
    if isinstance(core, nn.LSTM):
        out, (h, c) = core(x, (state[0:1].contiguous(), state[1:2].contiguous()))
        return out, torch.cat([h, c], 0)
    if torch.is_grad_enabled() and kernel.resolve(x.device) and fused_gru.supports(core, x):
        return fused_gru.gru_sequence(core, x, state)
    return core(x, state.contiguous())
