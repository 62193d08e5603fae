"""The recurrent actor-critic: φ(s, a_prev, r_prev, d_prev) -> encoder -> GRU/LSTM/transformer -> policy and
value heads.

Discrete actions get a categorical policy. Box actions (``continuous=True``) get a diagonal Gaussian
whose mean is the head's output and whose log-std is one learned vector, independent of the state (as
in PPO's original MuJoCo setup): the std then shrinks only as the whole policy grows sure, and a state
cannot collapse its own exploration.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rl2.noise import RandomSource
from rl2.policy.attention import CausalTransformer
from rl2.policy.cores import GRUKernel, RecurrentState, join_states, make_core, run_core
from rl2.policy.encoders import make_encoder
from rl2.policy.heads import categorical_sample, categorical_stats, gaussian_sample, gaussian_stats, torso
from rl2.policy.normalizers import InputNormalizer, ValueNormalizer


class RecurrentActorCritic(nn.Module):
    """A recurrent core with a policy head and a value head (as in the paper).

    critic="shared": one core feeds both heads (cheapest). critic="separate": the value head has a
    recurrent core of its own, so that fitting the value function cannot move the policy — what
    TRPO's trust region needs. Either way both see the same inputs.

    The state is reset only at trial starts, and every sequence this policy replays starts at one:
    rollouts are aligned with trials, and PPO replays whole-trial columns from ``initial_state``. So
    ``unroll`` takes no per-step reset mask; inside a trial the state runs through episode ends
    (the episode-done flag is an input, not a reset).

    gru_kernel: what replays a GRU core under a backward pass (see ``GRUKernel``): "torch"
    (torch.nn.GRU, the default), "fused" (rl2's C++ kernel) or "auto" (fused where it loads). It is
    resolved at the first such replay (or ``resolve_gru_kernel``), never at construction, and is no
    parameter: checkpoints are the same either way.

    rnn="transformer": a causal transformer of width `hidden` over the trial (``rl2.policy.attention``)
    with `attn_layers` blocks of `attn_heads` heads, whose context holds `attn_context` steps (the
    longest trial it will see). Its state is its key/value cache: ``step`` streams, ``unroll`` replays
    whole trials in one batched pass.
    """

    def __init__(self, obs_dim: int | tuple[int, ...], num_actions: int, rnn: str = "gru", hidden: int = 256,
                 critic: str = "shared", continuous: bool = False, norm_obs: bool = False,
                 norm_reward: bool = False, head_hidden: int = 0, gru_kernel: str = "torch", attn_layers: int = 2,
                 attn_heads: int = 4, attn_context: int = 0, attn_sink: bool = False, memoryless: bool = False,
                 init_log_std: float = 0.0, weight_norm: bool = False, belief_dim: int = 0,
                 rnn_layers: int = 1, reward_by_action: bool = False) -> None:
        super().__init__()
        # The blind yardstick: the same network and training, but each step goes through the core from
        # the zero state with its previous action, reward and done inputs zeroed, so nothing of the
        # task can reach the policy. It needs no weights of its own: the checkpoints look the same.
        self.memoryless = memoryless
        self.continuous = continuous  # Box actions: num_actions is the action vector's size
        self.obs_shape = (obs_dim,) if isinstance(obs_dim, int) else tuple(obs_dim)
        self.obs_dim = math.prod(self.obs_shape)
        self.num_actions = num_actions
        self.input_dim = self.obs_dim + num_actions + 2  # the flattened φ a step receives
        self.reward_by_action = reward_by_action  # the core also reads a_prev's one-hot times r_prev, after φ
        self.hidden = hidden
        self.rnn_type = rnn
        self.rnn_layers = rnn_layers
        self.critic = critic
        self.gru_kernel = GRUKernel(gru_kernel)
        # The modules are created in this order so that a seed gives the same weights as ever.
        # A separate critic gets its own encoder too, so that fitting values never moves the policy.
        self.encoder = make_encoder(self.obs_shape)
        self.value_encoder = make_encoder(self.obs_shape) if critic == "separate" else None
        core_input = self.input_dim if self.encoder is None else self.encoder.out_dim + num_actions + 2
        # The core input's optional columns this policy adds after φ (a warm start bridges a source without them).
        self.optional_inputs = {}
        if reward_by_action:
            self.optional_inputs["reward_by_action"] = range(core_input, core_input + num_actions)
            core_input += num_actions
        attn = dict(attn_layers=attn_layers, attn_heads=attn_heads, attn_context=attn_context, attn_sink=attn_sink)
        self.core = make_core(rnn, core_input, hidden, rnn_layers, **attn)
        self.value_core = make_core(rnn, core_input, hidden, rnn_layers, **attn) if critic == "separate" else None
        # Optional torsos: a tanh layer each, so the heads read a nonlinear function of the state
        # (identities without weights by default: linear heads' checkpoints stay as before).
        self.policy_torso = torso(hidden, head_hidden)
        self.value_torso = torso(hidden, head_hidden)
        head_in = head_hidden or hidden
        self.policy_head = nn.Linear(head_in, num_actions)
        self.value_head = nn.Linear(head_in, 1)
        self.value_norm = ValueNormalizer()
        # Created only where asked for, so the discrete families' weights and checkpoints are as before.
        self.input_norm = (InputNormalizer(self.obs_dim, self.obs_dim + num_actions, norm_obs, norm_reward)
                           if norm_obs or norm_reward else None)
        self._init_weights()
        if weight_norm:  # after the init, which it keeps: each row's length starts as the row's norm
            self._normalize_weights()
        if continuous:  # created after the init loop: it draws no random numbers
            self.log_std = nn.Parameter(torch.full((num_actions,), float(init_log_std)))
        # Belief supervision (training only): a linear read-out of the task's `belief_dim` parameters from
        # the policy's core. Created last, so that every other weight of a seed is as without it.
        self.belief_head = nn.Linear(hidden, belief_dim) if belief_dim else None

    def _init_weights(self) -> None:
        # Orthogonal recurrent weights as in the paper; a near-uniform initial policy (gain 0.01)
        # so early trials explore; zero biases. A transformer core has initialized itself.
        for name, param in self.named_parameters():
            if self.rnn_type == "transformer" and name.startswith(("core.", "value_core.")):
                continue
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
        for layer_stack in (self.policy_torso, self.value_torso):
            for layer in layer_stack.modules():
                if isinstance(layer, nn.Linear):  # CleanRL's init of tanh layers
                    nn.init.orthogonal_(layer.weight, gain=math.sqrt(2))
                    nn.init.zeros_(layer.bias)

    def _normalize_weights(self) -> None:
        """Weight normalization (Salimans and Kingma, 2016), as in the paper: each row of a weight matrix
        becomes a learned length g times the unit direction v / |v|, so that a step of gradient descent
        moves a row's direction and its scale apart. On the recurrent core's input and recurrent weights,
        the torsos' and the heads' (not the encoder's, nor the belief head's)."""
        weight_norm = nn.utils.parametrizations.weight_norm
        for core in (self.core, self.value_core):
            if core is None:
                continue
            if not isinstance(core, (nn.GRU, nn.LSTM)):
                raise ValueError("weight_norm reparameterizes gru and lstm cores")
            for k in range(core.num_layers):
                for name in (f"weight_ih_l{k}", f"weight_hh_l{k}"):
                    weight_norm(core, name)
        for stack in (self.policy_torso, self.value_torso, self.policy_head, self.value_head):
            for layer in stack.modules():
                if isinstance(layer, nn.Linear):
                    weight_norm(layer, "weight")

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
        """Rows of the state per core: each layer's h, and for an LSTM each layer's c after them."""
        return (2 if self.rnn_type == "lstm" else 1) * self.rnn_layers

    @property
    def state_layers(self) -> int:
        return self.layers_per_core * (2 if self.value_core is not None else 1)

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> RecurrentState:
        """The state at every trial start: zeros [state_layers, batch, hidden]; for a transformer an
        empty context per core (which allocates nothing until the first step)."""
        device = device if device is not None else self.policy_head.weight.device
        if isinstance(self.core, CausalTransformer):
            return tuple(core.empty_cache(batch, device) for core in (self.core, self.value_core) if core is not None)
        return torch.zeros(self.state_layers, batch, self.hidden, device=device)

    def resolve_gru_kernel(self) -> str | None:
        """Resolves the GRU kernel now rather than at the first training replay (loading the fused one,
        which compiles it on a machine's first use); returns why "auto" fell back to torch.nn.GRU, or None."""
        self.gru_kernel.resolve(self.policy_head.weight.device)
        return self.gru_kernel.note

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs [..., input_dim] -> the policy core's and the value core's inputs (normalized where
        configured, images encoded)."""
        if self.memoryless:
            x = torch.cat([x[..., : self.obs_dim], torch.zeros_like(x[..., self.obs_dim :])], -1)
        if self.input_norm is not None:
            x = self.input_norm(x)
        if self.reward_by_action:  # last, so that a warm start from a core without them adds its last columns
            x = torch.cat([x, self.earned(x)], -1)
        if self.encoder is None:
            return x, x
        obs, extras = x[..., : self.obs_dim], x[..., self.obs_dim :]
        x_pi = torch.cat([self.encoder(obs), extras], -1)
        x_v = x_pi if self.value_encoder is None else torch.cat([self.value_encoder(obs), extras], -1)
        return x_pi, x_v

    def earned(self, x: torch.Tensor) -> torch.Tensor:
        """What the previous action earned, by action: its one-hot times the previous reward, [..., A] from
        φ [..., input_dim]. The paper's φ holds the two side by side, and an input layer sums them: an action's
        count and its reward total then enter the state apart, and a core must compose their product itself
        (with its gates) to keep what each action earned. Here it is summed as it comes."""
        action = x[..., self.obs_dim : self.obs_dim + self.num_actions]
        return action * x[..., self.obs_dim + self.num_actions, None]

    def _run_core(self, x: tuple[torch.Tensor, torch.Tensor], state: RecurrentState
                  ) -> tuple[tuple[torch.Tensor, torch.Tensor], RecurrentState | None]:
        """Encoded inputs (policy's, value's), each [T, B, D'] -> (policy features, value features),
        each [T, B, H], and the final state (None after a transformer's whole-trial replay)."""
        x_pi, x_v = x
        if self.memoryless:  # every step a sequence of its own, from the zero state: [T, B, D] -> [1, T*B, D]
            T, B = x_pi.shape[:2]
            zeros = self.initial_state(T * B, x_pi.device)
            (out_pi, out_v), _ = self._run_core_from((x_pi.reshape(1, T * B, -1), x_v.reshape(1, T * B, -1)), zeros)
            return (out_pi.reshape(T, B, -1), out_v.reshape(T, B, -1)), state
        return self._run_core_from(x, state)

    def _run_core_from(self, x: tuple[torch.Tensor, torch.Tensor], state: RecurrentState
                       ) -> tuple[tuple[torch.Tensor, torch.Tensor], RecurrentState | None]:
        x_pi, x_v = x
        if self.value_core is None:
            out, state = run_core(self.core, x_pi, state, self.gru_kernel)
            return (out, out), state
        L = self.layers_per_core
        out_pi, state_pi = run_core(self.core, x_pi, state[:L], self.gru_kernel)
        out_v, state_v = run_core(self.value_core, x_v, state[L:], self.gru_kernel)
        return (out_pi, out_v), join_states(state_pi, state_v)

    def heads(self, features: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy, value) features [..., H] -> logits [..., A] and values [...] in return units."""
        out_pi, out_v = self.policy_torso(features[0]), self.value_torso(features[1])
        value = self.value_head(out_v).squeeze(-1) * self.value_norm.std + self.value_norm.mean
        return self.policy_head(out_pi), value

    def step(self, x: torch.Tensor, state: RecurrentState) -> tuple[torch.Tensor, torch.Tensor, RecurrentState]:
        """One step for B tasks: x [B, D] -> logits [B, A], value [B], next state."""
        (out_pi, out_v), state = self._run_core(self.encode(x.unsqueeze(0)), state)  # [1, B, D]
        logits, value = self.heads((out_pi.squeeze(0), out_v.squeeze(0)))
        return logits, value, state

    def unroll(self, x: torch.Tensor, state0: RecurrentState) -> tuple[torch.Tensor, torch.Tensor]:
        """Replays whole trials x [T, B, D] from state0 -> logits [T, B, A], values [T, B].

        Each column is one trial from its first step (so state0 is ``initial_state``): the whole
        sequence goes through the core in one call, with no reset inside it.
        """
        logits, values, _ = self.replay(x, state0)
        return logits, values

    def replay(self, x: torch.Tensor, state0: RecurrentState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``unroll``, and the policy core's output [T, B, H] beside it (what ``belief`` reads)."""
        features, _ = self._run_core(self.encode(x), state0)  # images go through the CNN once, for all steps
        logits, values = self.heads(features)
        return logits, values, features[0]

    def belief(self, features: torch.Tensor) -> torch.Tensor:
        """The belief head's estimate of the task's parameters [..., F] from the policy core's output [..., H]."""
        assert self.belief_head is not None, "this policy was built without belief supervision (belief_dim 0)"
        return self.belief_head(features)

    def sample(self, out: torch.Tensor, generator: RandomSource, greedy: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions from the policy head's output [B, A] (logits, or Gaussian means) and their log-probs [B].

        Discrete: [B] long; Box: [B, A] floats in the unbounded Gaussian space (the env clips them).
        Greedy: the most likely action (the argmax, or the mean).
        """
        if not self.continuous:
            return categorical_sample(out, generator, greedy)
        return gaussian_sample(out, self.log_std, generator, greedy)

    def action_stats(self, out: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of the actions and the policy's entropy, both [...] (see ``categorical_stats``)."""
        if not self.continuous:
            return categorical_stats(out, actions)
        return gaussian_stats(out, self.log_std, actions)
