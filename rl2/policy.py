"""Recurrent actor-critic: φ(s, a_prev, r_prev, d_prev) -> GRU/LSTM -> policy and value.

Discrete actions get a categorical policy. Box actions (``continuous=True``) get a diagonal
Gaussian whose mean is the head's output and whose log-std is one learned vector, independent of the
state (as in PPO's original MuJoCo setup): the std then shrinks only as the whole policy grows sure,
and a state cannot collapse its own exploration. The policy acts in the normalized box [-1, 1]^A;
the env clips samples there and maps them to its bounds (see ``rl2.envs.gym``), so the log-prob
PPO uses is the Gaussian's own, exactly (a tanh squash would need its Jacobian and has no closed-form
entropy).

The recurrent state is one tensor, [1, B, H] for a GRU and [2, B, H] (h and c stacked) for an
LSTM, so resetting it at a trial start is one multiply for either core.

The input encoder is chosen by the observation's shape: vectors go to the core as they are; images
[C, H, W] (flattened in the input, like every observation) go through a small CNN first, whose
features are concatenated with the previous action, reward and done flag. Image observations may
arrive as bytes (uint8 pixels, 0-255): ``rl2_inputs`` scales them to [0, 1], so a rollout can keep
them as bytes and rebuild the same φ bit for bit (``scale_pixels``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rl2 import fused_gru
from rl2.noise import RandomSource, rand, randn

RecurrentState = torch.Tensor  # [1, B, H] (GRU) or [2, B, H] (LSTM: h, c)


def scale_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixels (0-255) -> float32 in [0, 1]; the one definition, so stored bytes replay exactly."""
    return pixels.float().div_(255.0)


def rl2_inputs(obs: torch.Tensor, prev_action: torch.Tensor, prev_reward: torch.Tensor,
               prev_done: torch.Tensor, num_actions: int) -> torch.Tensor:
    """φ(s_t, a_{t-1}, r_{t-1}, d_{t-1}) for any leading dims: [..., obs_dim + num_actions + 2].

    obs: floats, or uint8 pixels (scaled to [0, 1] here). prev_action is -1 where there is no
    previous action (a trial's first step): its one-hot is zeros. A floating prev_action
    [..., num_actions] (Box actions) goes in as it is (zeros at a trial's start).
    """
    if obs.dtype == torch.uint8:
        obs = scale_pixels(obs)
    if prev_action.is_floating_point():
        return torch.cat([obs, prev_action.to(obs.dtype), prev_reward.unsqueeze(-1).to(obs.dtype),
                          prev_done.unsqueeze(-1).to(obs.dtype)], dim=-1)
    one_hot = F.one_hot(prev_action.clamp(min=0), num_actions).to(obs.dtype)
    one_hot = one_hot * (prev_action >= 0).unsqueeze(-1).to(obs.dtype)
    return torch.cat([obs, one_hot, prev_reward.unsqueeze(-1).to(obs.dtype),
                      prev_done.unsqueeze(-1).to(obs.dtype)], dim=-1)


def sample_actions(logits: torch.Tensor, generator: RandomSource) -> torch.Tensor:
    """Categorical sample by the Gumbel-max trick, drawing only from the given generator (or shard)."""
    u = rand(logits.shape, generator)
    gumbel = -torch.log(-torch.log(u.clamp_(min=1e-20)))
    return (logits + gumbel).argmax(-1)


class ValueNormalizer(nn.Module):
    """Tracks the mean and std of value targets and keeps the value head's outputs in return units.

    The value head learns normalized targets, so the value loss has the same scale whatever the
    rewards (trial returns range from ~5 to ~2000 across the paper's settings). When the statistics
    move, the head's weights are rescaled so its predictions in return units are unchanged (PopArt,
    van Hasselt et al. 2016).
    """

    def __init__(self, decay: float = 0.9) -> None:
        super().__init__()
        self.decay = decay
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, targets: torch.Tensor, head: nn.Linear) -> None:
        """Moves the statistics toward the batch's and rescales ``head`` to preserve its outputs."""
        batch_mean, batch_std = targets.mean(), targets.std(unbiased=False).clamp(min=1e-4)
        w = self.decay * self.initialized.to(targets.dtype)  # the first batch sets the statistics
        new_mean = w * self.mean + (1 - w) * batch_mean
        new_std = w * self.std + (1 - w) * batch_std
        # head(x) * std + mean == head'(x) * new_std + new_mean
        head.weight.mul_(self.std / new_std)
        head.bias.mul_(self.std).add_(self.mean - new_mean).div_(new_std)
        self.mean.copy_(new_mean)
        self.std.copy_(new_std)
        self.initialized.fill_(True)


class InputNormalizer(nn.Module):
    """Running mean and std of the observations and of the previous-reward input, applied to φ.

    Observations are centred and scaled, the reward input only scaled (its sign carries meaning);
    both are clipped to ±10. The statistics are buffers, so checkpoints carry them. They move only
    between updates (``update`` on a collected rollout), never while a batch is being collected or
    trained on: the log-probs of collection and of the PPO epochs then see the same inputs.
    """

    def __init__(self, obs_dim: int, reward_index: int, obs: bool, reward: bool) -> None:
        super().__init__()
        self.obs_dim, self.reward_index = obs_dim, reward_index
        self.obs, self.reward = obs, reward
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_var", torch.ones(obs_dim))
        self.register_buffer("reward_var", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs [..., D] with the observation and reward parts normalized."""
        # [obs | previous action | previous reward | previous done]
        sizes = [self.obs_dim, self.reward_index - self.obs_dim, 1, x.shape[-1] - self.reward_index - 1]
        parts = list(x.split(sizes, -1))
        if self.obs:
            parts[0] = ((parts[0] - self.obs_mean) / (self.obs_var.sqrt() + 1e-8)).clamp(-10, 10)
        if self.reward:
            parts[2] = (parts[2] / (self.reward_var.sqrt() + 1e-8)).clamp(-10, 10)
        return torch.cat(parts, -1)

    @torch.no_grad()
    def update(self, inputs: torch.Tensor, valid: torch.Tensor) -> None:
        """Merges in the statistics of the valid steps of inputs [T, B, D] (Chan et al.'s parallel update)."""
        x = inputs[valid].double()  # [N, D]
        n, c = x.shape[0], self.count
        if n == 0:
            return
        total = c + n
        obs = x[:, : self.obs_dim]
        delta = obs.mean(0) - self.obs_mean
        # M2 of the union = M2_old + M2_batch + δ² · c · n / (c + n)
        m2 = self.obs_var * c + obs.var(0, unbiased=False) * n + delta.pow(2) * c * n / total
        self.obs_mean.add_((delta * n / total).float())
        self.obs_var.copy_(m2 / total)
        # The reward input is scaled by its root mean square (a second moment about zero: no centring).
        self.reward_var.copy_((self.reward_var * c + x[:, self.reward_index].pow(2).mean() * n) / total)
        self.count.fill_(total)


class ImageEncoder(nn.Module):
    """A CNN ``net`` over images of ``shape`` [C, H, W] with ``out_dim`` features, read from the
    flattened observations every input carries."""

    shape: tuple[int, int, int]
    net: nn.Sequential
    out_dim: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened images [..., C·H·W] -> features [..., out_dim]."""
        lead = x.shape[:-1]
        return self.net(x.reshape(-1, *self.shape)).reshape(*lead, self.out_dim)


class ConvEncoder(ImageEncoder):
    """A small CNN for images [C, H, W] -> features [out].

    The first layer reads non-overlapping 3 x 3 patches: the maze renderer draws each cell as a
    3 x 3 tile, so each of its outputs describes one cell; the second mixes neighbouring cells.
    """

    def __init__(self, shape: tuple[int, int, int], channels: int = 32, out: int = 128) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, channels, kernel_size=3, stride=3), nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(channels * (h // 3) * (w // 3), out), nn.ReLU(),
        )
        self.out_dim = out


class FrameEncoder(ImageEncoder):
    """The DQN (Mnih et al. 2015) CNN for screens such as Atari's 84 x 84 frames [C, H, W] -> features [out],
    at half its widths (16, 32, 32 channels, 256 features).

    Half widths because PPO replays every step through the encoder each epoch on a CPU: the full
    network costs ~1.9 ms per frame forward and backward on one core, this one ~0.36 ms.
    """

    MIN_SIDE = 36  # the smallest side the three convolutions (8/4, 4/2, 3/1) leave a 1 x 1 map of

    def __init__(self, shape: tuple[int, int, int], out: int = 256) -> None:
        super().__init__()
        c, h, w = shape
        self.shape = shape
        side = lambda n: ((n - 8) // 4 + 1 - 4) // 2 + 1 - 2  # noqa: E731  (the map's side after the convolutions)
        self.net = nn.Sequential(
            nn.Conv2d(c, 16, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * side(h) * side(w), out), nn.ReLU(),
        )
        self.out_dim = out


def make_encoder(obs_shape: tuple[int, ...]) -> ImageEncoder | None:
    """The encoder an observation shape needs: None (identity) for vectors, a CNN for images: the
    cell-tile CNN for small pictures (mazes), the DQN-style one for screens of at least 36 x 36."""
    if len(obs_shape) == 1:
        return None
    if len(obs_shape) == 3 and min(obs_shape[1:]) >= FrameEncoder.MIN_SIDE:
        return FrameEncoder(obs_shape)  # type: ignore[arg-type]
    if len(obs_shape) == 3 and min(obs_shape[1:]) >= 3:
        return ConvEncoder(obs_shape)  # type: ignore[arg-type]
    raise ValueError(f"observations must be vectors [D] or images [C, H, W] of at least 3 x 3, got {obs_shape}")


class RecurrentActorCritic(nn.Module):
    """A recurrent core with a policy head and a value head (as in the paper).

    critic="shared": one core feeds both heads (cheapest). critic="separate": the value head has a
    recurrent core of its own, so that fitting the value function cannot move the policy — what
    TRPO's trust region needs. Either way both see the same inputs and reset at trial starts.
    """

    def __init__(self, obs_dim: int | tuple[int, ...], num_actions: int, rnn: str = "gru", hidden: int = 256,
                 critic: str = "shared", continuous: bool = False, norm_obs: bool = False,
                 norm_reward: bool = False, head_hidden: int = 0) -> None:
        super().__init__()
        self.continuous = continuous  # Box actions: num_actions is the action vector's size
        self.obs_shape = (obs_dim,) if isinstance(obs_dim, int) else tuple(obs_dim)
        self.obs_dim = math.prod(self.obs_shape)
        self.num_actions = num_actions
        self.input_dim = self.obs_dim + num_actions + 2  # the flattened φ a step receives
        self.hidden = hidden
        self.rnn_type = rnn
        self.critic = critic
        # Training replays through rl2's fused GRU kernel (rl2.fused_gru; the learner switches it on
        # once the kernel is loaded). Not a parameter: checkpoints are the same either way.
        self.fused_gru = False
        # A separate critic gets its own encoder too, so that fitting values never moves the policy.
        self.encoder = make_encoder(self.obs_shape)
        self.value_encoder = make_encoder(self.obs_shape) if critic == "separate" else None
        core_input = self.input_dim if self.encoder is None else self.encoder.out_dim + num_actions + 2
        core = {"gru": nn.GRU, "lstm": nn.LSTM}[rnn]
        self.core = core(core_input, hidden)
        self.value_core = core(core_input, hidden) if critic == "separate" else None
        # Optional torsos: a tanh layer each, so the heads read a nonlinear function of the state
        # (identities without weights by default: linear heads' checkpoints stay as before).
        self.policy_torso = _torso(hidden, head_hidden)
        self.value_torso = _torso(hidden, head_hidden)
        head_in = head_hidden or hidden
        self.policy_head = nn.Linear(head_in, num_actions)
        self.value_head = nn.Linear(head_in, 1)
        self.value_norm = ValueNormalizer()
        # Created only where asked for, so the discrete families' weights and checkpoints are as before.
        self.input_norm = (InputNormalizer(self.obs_dim, self.obs_dim + num_actions, norm_obs, norm_reward)
                           if norm_obs or norm_reward else None)
        self._init_weights()
        if continuous:  # created after the init loop: it draws no random numbers
            self.log_std = nn.Parameter(torch.zeros(num_actions))

    def _init_weights(self) -> None:
        # Orthogonal recurrent weights as in the paper; a near-uniform initial policy (gain 0.01)
        # so early trials explore; zero biases.
        for name, param in self.named_parameters():
            if "weight_hh" in name:
                for chunk in param.data.chunk(param.shape[0] // self.hidden, 0):
                    nn.init.orthogonal_(chunk)
            elif "weight_ih" in name:
                nn.init.xavier_uniform_(param)
            elif "core" in name:
                nn.init.zeros_(param)
        nn.init.orthogonal_(self.policy_head.weight, gain=0.01)
        nn.init.zeros_(self.policy_head.bias)
        nn.init.orthogonal_(self.value_head.weight, gain=1.0)
        nn.init.zeros_(self.value_head.bias)
        for torso in (self.policy_torso, self.value_torso):
            for layer in torso.modules():
                if isinstance(layer, nn.Linear):  # CleanRL's init of tanh layers
                    nn.init.orthogonal_(layer.weight, gain=math.sqrt(2))
                    nn.init.zeros_(layer.bias)

    def policy_parameters(self) -> list[nn.Parameter]:
        """Every parameter the action distribution depends on."""
        encoder = list(self.encoder.parameters()) if self.encoder is not None else []
        log_std = [self.log_std] if self.continuous else []
        return [*encoder, *self.core.parameters(), *self.policy_torso.parameters(), *self.policy_head.parameters(),
                *log_std]

    def value_only_parameters(self) -> list[nn.Parameter]:
        """The parameters that move the value estimate but not the policy."""
        core = list(self.value_core.parameters()) if self.value_core is not None else []
        encoder = list(self.value_encoder.parameters()) if self.value_encoder is not None else []
        return [*encoder, *core, *self.value_torso.parameters(), *self.value_head.parameters()]

    @property
    def layers_per_core(self) -> int:
        return 2 if self.rnn_type == "lstm" else 1

    @property
    def state_layers(self) -> int:
        return self.layers_per_core * (2 if self.value_core is not None else 1)

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> RecurrentState:
        """The state at every trial start: zeros."""
        device = device if device is not None else self.policy_head.weight.device
        return torch.zeros(self.state_layers, batch, self.hidden, device=device)

    def _run_one(self, core: nn.Module, x: torch.Tensor, state: RecurrentState) -> tuple[torch.Tensor, RecurrentState]:
        if self.rnn_type == "lstm":
            out, (h, c) = core(x, (state[0:1].contiguous(), state[1:2].contiguous()))
            return out, torch.cat([h, c], 0)
        if self.fused_gru and torch.is_grad_enabled() and fused_gru.supports(core, x):
            return fused_gru.gru_sequence(core, x, state)
        return core(x, state.contiguous())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs [..., input_dim] -> the policy core's and the value core's inputs (normalized where
        configured, images encoded)."""
        if self.input_norm is not None:
            x = self.input_norm(x)
        if self.encoder is None:
            return x, x
        obs, extras = x[..., : self.obs_dim], x[..., self.obs_dim :]
        x_pi = torch.cat([self.encoder(obs), extras], -1)
        x_v = x_pi if self.value_encoder is None else torch.cat([self.value_encoder(obs), extras], -1)
        return x_pi, x_v

    def _run_core(self, x: tuple[torch.Tensor, torch.Tensor], state: RecurrentState
                  ) -> tuple[tuple[torch.Tensor, torch.Tensor], RecurrentState]:
        """Encoded inputs (policy's, value's), each [T, B, D'] -> (policy features, value features),
        each [T, B, H], and the final state."""
        x_pi, x_v = x
        if self.value_core is None:
            out, state = self._run_one(self.core, x_pi, state)
            return (out, out), state
        L = self.layers_per_core
        out_pi, state_pi = self._run_one(self.core, x_pi, state[:L])
        out_v, state_v = self._run_one(self.value_core, x_v, state[L:])
        return (out_pi, out_v), torch.cat([state_pi, state_v], 0)

    def heads(self, features: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy, value) features [..., H] -> logits [..., A] and values [...] in return units."""
        out_pi, out_v = self.policy_torso(features[0]), self.value_torso(features[1])
        value = self.value_head(out_v).squeeze(-1) * self.value_norm.std + self.value_norm.mean
        return self.policy_head(out_pi), value

    def step(self, x: torch.Tensor, state: RecurrentState) -> tuple[torch.Tensor, torch.Tensor, RecurrentState]:
        """One step for B tasks: x [B, D] -> logits [B, A], value [B], next state."""
        (out_pi, out_v), state = self._run_core(self.encode(x.unsqueeze(0)), state)
        logits, value = self.heads((out_pi.squeeze(0), out_v.squeeze(0)))
        return logits, value, state

    def unroll(self, x: torch.Tensor, state0: RecurrentState,
               trial_start: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Replays sequences x [T, B, D] from state0 -> logits [T, B, A], values [T, B].

        trial_start [T, B] (bool) resets the state to zeros before the marked steps. Without it
        (every column is one trial starting at t = 0, the aligned case) the whole sequence goes
        through the fused core in one call, which is much faster.
        """
        x_pi, x_v = self.encode(x)  # images go through the CNN once, for all steps
        if trial_start is None or not bool(trial_start[1:].any()):
            if trial_start is not None:
                state0 = state0 * (~trial_start[0]).to(state0.dtype)[None, :, None]
            features, _ = self._run_core((x_pi, x_v), state0)
            return self.heads(features)
        pis, vs = [], []
        state = state0
        for t in range(x.shape[0]):
            state = state * (~trial_start[t]).to(state.dtype)[None, :, None]
            (out_pi, out_v), state = self._run_core((x_pi[t : t + 1], x_v[t : t + 1]), state)
            pis.append(out_pi)
            vs.append(out_v)
        return self.heads((torch.cat(pis, 0), torch.cat(vs, 0)))


    def sample(self, out: torch.Tensor, generator: RandomSource, greedy: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions from the policy head's output [B, A] (logits, or Gaussian means) and their log-probs [B].

        Discrete: [B] long; Box: [B, A] floats in the unbounded Gaussian space (the env clips them).
        Greedy: the most likely action (the argmax, or the mean).
        """
        if not self.continuous:
            action = out.argmax(-1) if greedy else sample_actions(out, generator)
            return action, torch.log_softmax(out, -1).gather(1, action[:, None]).squeeze(1)
        action = out if greedy else out + self.log_std.exp() * randn(out.shape, generator)
        return action, self.action_stats(out, action)[0]

    def action_stats(self, out: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of the actions and the policy's entropy, both [...] (see ``categorical_stats``)."""
        if not self.continuous:
            return categorical_stats(out, actions)
        return gaussian_stats(out, self.log_std, actions)


def _torso(hidden: int, width: int) -> nn.Module:
    """Linear(hidden, width) + tanh, or the identity for width 0."""
    return nn.Sequential(nn.Linear(hidden, width), nn.Tanh()) if width else nn.Identity()


def gaussian_stats(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Diagonal Gaussian N(mean, exp(log_std)²): log-probability of actions [..., A] and entropy, both [...].

        log π(a) = Σ_i [-(a_i - μ_i)² / (2σ_i²) - log σ_i - ½ log 2π],   H = Σ_i [½ + ½ log 2π + log σ_i]
    """
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    z = (actions - mean) * torch.exp(-log_std)
    logp = (-0.5 * z.pow(2) - log_std - half_log_2pi).sum(-1)
    entropy = (0.5 + half_log_2pi + log_std).sum(-1).expand(mean.shape[:-1])
    return logp, entropy


def categorical_stats(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability of the actions and the entropy of the distribution, both [...]."""
    logp_all = torch.log_softmax(logits, -1)
    logp = logp_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy
