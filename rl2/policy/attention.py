"""The causal Transformer core: self-attention over everything the trial has shown so far.

Where a GRU carries the trial in one state vector, this core keeps every step's keys and values and
lets each step attend to all earlier ones of its trial. A trial is one context: a new trial starts an
empty one (``KVCache`` at position 0), so nothing attends across trials, exactly as a recurrent state
is reset at trial starts.

Two ways through the same weights, equal up to float rounding (a test checks it):

- ``forward``: whole trials [T, B, D] from their first step, at once, through
  ``scaled_dot_product_attention(is_causal=True)`` — PPO's and TRPO's replays;
- ``step``: one step [B, D] after what a ``KVCache`` holds — rollouts and ``Agent.act``. The step's
  keys and values are appended to the cache and its query attends over the cache's prefix, so a step
  costs O(position) and nothing earlier is recomputed.

Positions are sinusoidal (Vaswani et al. 2017) and count the steps of the whole trial, across episode
ends (the episode-done flag is an input, as for the recurrent cores): they carry no weights, so the
checkpoint is the same whatever the context, and every position up to it is defined.

With ``sink``, a learned token stands before every trial's first step (it starts as position -1's
code, and no position code is added to it), and each step may attend to it. Softmax weights sum to
1, so without such a token a head must spread all its weight over the steps it has seen; with it, a
head can attend to nothing, and the weight it puts on the steps it matches grows with how many there
are: a count, which exploration needs (how often an arm was pulled). Attention sinks of this kind
are what trained language models grow on their first token (Xiao et al. 2023); here the token is
given. The sink's keys and values depend on the weights alone, so a cache computes them once, at a
trial's first step.

Normalization is pre-LayerNorm (x + f(LN(x)) in each block, one LN after the last): the residual
path is then the identity, so gradients reach early layers unscaled and the stack trains without a
learning-rate warm-up (Xiong et al. 2020); in RL this reordering is what made transformers train
stably at all (GTrXL, Parisotto et al. 2020). The residual branches' output layers start scaled by
1/sqrt(2 x layers), so the residual stream's variance at initialization does not grow with depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rl2.config import ConfigError

MLP_RATIO = 4  # the MLP's hidden width, a multiple of the model width (as in GPT-2 and GTrXL)


def sinusoidal_positions(length: int, width: int, start: int = 0) -> torch.Tensor:
    """[length, width]: the codes of positions start, ..., start + length - 1; position t's is
    sin(t / 10000^(2i/width)) in column 2i and cos in 2i + 1."""
    t = torch.arange(start, start + length, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10_000.0) / width))
    codes = torch.zeros(length, width, dtype=torch.float64)
    codes[:, 0::2] = torch.sin(t * freq)
    codes[:, 1::2] = torch.cos(t * freq)[:, : width // 2]
    return codes.float()


@dataclass(frozen=True)
class KVCache:
    """What one transformer core has seen of the current trial: each layer's keys and values of the
    steps so far, in buffers preallocated to the context at the first step.

    ``position`` (a Python int: stepping needs no read from the device) is the number of steps held.
    ``step`` writes into the buffers in place and returns the cache one position on, sharing them:
    the cache is append-only, so stepping twice from the same cache overwrites the first step's entry.
    Rollouts and ``Agent.act`` never branch; training replays whole trials through ``forward``.
    """

    batch: int
    device: torch.device
    position: int = 0
    keys: torch.Tensor | None = None  # [layers, B, heads, context, head_dim]
    values: torch.Tensor | None = None  # the same shape

    def advanced(self) -> "KVCache":
        return KVCache(self.batch, self.device, self.position + 1, self.keys, self.values)


class Block(nn.Module):
    """One pre-LayerNorm block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.attn_norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, MLP_RATIO * width), nn.GELU(), nn.Linear(MLP_RATIO * width, width))

    def _qkv(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h [B, T, W] -> queries, keys and values, each [B, heads, T, head_dim]."""
        B, T, W = h.shape
        q, k, v = self.qkv(self.attn_norm(h)).view(B, T, 3, self.heads, W // self.heads).permute(2, 0, 3, 1, 4)
        return q, k, v

    def _rest(self, h: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        """The residual updates after attention: attended [B, heads, T, head_dim] -> h [B, T, W]."""
        B, T, W = h.shape
        h = h + self.proj(attended.transpose(1, 2).reshape(B, T, W))
        return h + self.mlp(self.mlp_norm(h))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Whole trials h [B, T, W] from their first step: each step attends to itself and the earlier ones."""
        q, k, v = self._qkv(h)
        return self._rest(h, F.scaled_dot_product_attention(q, k, v, is_causal=True))

    def step(self, h: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, position: int) -> torch.Tensor:
        """One step h [B, 1, W] at `position`: its key and value go into this layer's cache
        ([B, heads, context, head_dim]) and its query attends over positions 0..position."""
        q, k, v = self._qkv(h)
        keys[:, :, position] = k[:, :, 0]
        values[:, :, position] = v[:, :, 0]
        # No mask: every cached position is at or before this one (is_causal would align the one
        # query with the first key, not the last).
        return self._rest(h, F.scaled_dot_product_attention(q, keys[:, :, : position + 1],
                                                            values[:, :, : position + 1]))


class CausalTransformer(nn.Module):
    """Input projection, sinusoidal trial positions, `layers` pre-LN blocks of `heads` heads and a
    final LayerNorm; outputs of size `width` at each step. `context`: the most steps a trial may have
    (the cache holds one more with `sink`, the learned token before the first step)."""

    def __init__(self, input_size: int, width: int, layers: int, heads: int, context: int,
                 sink: bool = False) -> None:
        super().__init__()
        if width % heads:
            raise ConfigError(f"the transformer's width (hidden) must be a multiple of attn_heads {heads}, got {width}")
        if context < 1:
            raise ConfigError(f"the transformer's context must be at least 1 step, got {context}")
        self.width, self.layers, self.heads, self.context = width, layers, heads, context
        self.input = nn.Linear(input_size, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        # Not persistent: computed from the context, so checkpoints hold weights only.
        self.register_buffer("positions", sinusoidal_positions(context, width), persistent=False)
        # Created only where asked for, so that a core without it keeps its weights and checkpoints.
        self.sink = nn.Parameter(torch.empty(width)) if sink else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier weights and zero biases; the residual branches' last layers scaled by 1/sqrt(2 x layers)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()
        for block in self.blocks:
            for out in (block.proj, block.mlp[2]):
                out.weight.data.mul_(1 / math.sqrt(2 * self.layers))
        if self.sink is not None:  # it stands one step before the first: position -1's code, no random draw
            with torch.no_grad():
                self.sink.copy_(sinusoidal_positions(1, self.width, start=-1)[0])

    def empty_cache(self, batch: int, device: torch.device | str) -> KVCache:
        """The context at a trial's start: nothing seen (buffers come with the first step)."""
        return KVCache(batch, torch.device(device))

    def _check_length(self, steps: int) -> None:
        if steps > self.context:
            raise ConfigError(f"the trial has run past the transformer's context of {self.context} steps "
                              "(attn_context): train with a longer --attn-context to run longer trials")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Whole trials x [T, B, D] from their first step -> outputs [T, B, width]."""
        T = x.shape[0]
        self._check_length(T)
        h = (self.input(x) + self.positions[:T, None]).transpose(0, 1)  # [B, T, W]
        if self.sink is not None:  # the sink before step 0: causal attention lets every step see it
            h = torch.cat([self.sink.expand(h.shape[0], 1, -1), h], 1)
        for block in self.blocks:
            h = block(h)
        if self.sink is not None:
            h = h[:, 1:]
        return self.norm(h).transpose(0, 1)

    def step(self, x: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        """One step x [B, D] after the `cache` -> output [B, width] and the cache one step on
        (inference: rollouts and ``Agent.act``; the buffers are written in place)."""
        p = cache.position
        self._check_length(p + 1)
        offset = int(self.sink is not None)  # the cache's slot 0 holds the sink's keys and values
        if cache.keys is None:
            shape = (self.layers, cache.batch, self.heads, self.context + offset, self.width // self.heads)
            cache = KVCache(cache.batch, cache.device, p, x.new_zeros(shape), x.new_zeros(shape))
            if self.sink is not None:
                g = self.sink.expand(cache.batch, 1, -1)
                for layer, block in enumerate(self.blocks):
                    g = block.step(g, cache.keys[layer], cache.values[layer], 0)
        h = (self.input(x) + self.positions[p])[:, None]  # [B, 1, W]
        for layer, block in enumerate(self.blocks):
            h = block.step(h, cache.keys[layer], cache.values[layer], p + offset)
        return self.norm(h[:, 0]), cache.advanced()
