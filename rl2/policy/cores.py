"""Cores (GRU, LSTM or a causal transformer) and the kernel that replays a GRU where a backward pass
follows: torch.nn.GRU, or rl2's fused C++ kernel (``rl2.fused_gru``), which reads the same parameters.

The recurrent state is one tensor, [L, B, H] for a GRU of L layers and [2L, B, H] (the layers' h, then
their c) for an LSTM; a transformer's is its context, one ``KVCache`` in a tuple (so that a policy's
two cores' states join by ``+`` as tensors join by ``cat``).
"""

from __future__ import annotations

import torch
from torch import nn

from rl2 import fused_gru
from rl2.config import ConfigError
from rl2.policy.attention import CausalTransformer, KVCache

# [L, B, H] (GRU of L layers), [2L, B, H] (LSTM: h, c), or a transformer's contexts, one KVCache per core
RecurrentState = torch.Tensor | tuple[KVCache, ...]

GRU_KERNELS = ("torch", "fused", "auto")


def make_core(rnn: str, input_size: int, hidden: int, rnn_layers: int = 1, attn_layers: int = 2, attn_heads: int = 4,
              attn_context: int = 0, attn_sink: bool = False) -> nn.GRU | nn.LSTM | CausalTransformer:
    """A "gru" or "lstm" core of `rnn_layers` stacked layers, sequence-first, or a "transformer" of width
    `hidden` (the attn_ arguments are its own)."""
    if rnn == "transformer":
        return CausalTransformer(input_size, hidden, attn_layers, attn_heads, attn_context, sink=attn_sink)
    return {"gru": nn.GRU, "lstm": nn.LSTM}[rnn](input_size, hidden, num_layers=rnn_layers)


def join_states(first: RecurrentState | None, second: RecurrentState | None) -> RecurrentState | None:
    """Two cores' states as one (the policy's, then the value's); None where a replay kept none."""
    if first is None or second is None:
        return None
    return first + second if isinstance(first, tuple) else torch.cat([first, second], 0)


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
             ) -> tuple[torch.Tensor, RecurrentState | None]:
    """Inputs x [T, B, D] from `state` -> outputs [T, B, H] and the final state; GRU replays that a
    backward pass follows go through `kernel` (inference, under no_grad, stays with nn.GRU).

    A transformer streams one step (T = 1) after its cache, or replays whole trials (T > 1) from
    their start in one batched pass; a replay keeps no cache (its final state is None: nothing
    continues a replayed trial)."""
    if isinstance(core, CausalTransformer):
        (cache,) = state
        if x.shape[0] == 1:
            out, cache = core.step(x[0], cache)
            return out[None], (cache,)
        if cache.position:
            raise ValueError("a transformer replays whole trials from their first step: pass initial_state")
        return core(x), None
    if isinstance(core, nn.LSTM):
        L = core.num_layers
        out, (h, c) = core(x, (state[:L].contiguous(), state[L:].contiguous()))
        return out, torch.cat([h, c], 0)
    if torch.is_grad_enabled() and kernel.resolve(x.device) and fused_gru.supports(core, x):
        return fused_gru.gru_sequence(core, x, state)
    return core(x, state.contiguous())
