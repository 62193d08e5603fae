"""The exact Bayes-optimal policy for the finite-horizon Bernoulli bandit with uniform priors.

The agent knows the prior (each arm's p ~ Beta(1, 1), independently) and the horizon n.  Its
belief after any history is summarised by each arm's (successes, failures), and the optimal
policy follows from backward induction over those joint beliefs::

    V(state) = max over arms i of  p_i · (1 + V(state with s_i + 1)) + (1 − p_i) · V(state with f_i + 1),
    p_i = (s_i + 1) / (s_i + f_i + 2),        V = 0 once n pulls have been made.

Arms are exchangeable under the prior, so a state is stored up to relabelling: the multiset of
the (s, f) pairs of the arms pulled so far (at most min(n, k) of them; the rest are fresh).  This
shrinks the n = 10 problems to a few thousand states for any k, while n = 100 stays astronomically
large (≈4e11 states for k = 5): :func:`solve_bayes_optimal` counts the states first and raises
``ValueError`` above :data:`BAYES_OPTIMAL_MAX_STATES`.

For batched play, states get integer ids (breadth-first by pulls made, so children come later)
and each (state, available arm type) pair becomes a sorted key ``state_id · num_codes + code``,
where ``code`` numbers the (s, f) pairs; a task's next state id is looked up from the pair it
pulled and the reward, so play needs only tensor gathers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from math import comb

import numpy as np
import torch

__all__ = [
    "BAYES_OPTIMAL_MAX_STATES",
    "BayesOptimalSolution",
    "bayes_optimal_state_count",
    "solve_bayes_optimal",
]

#: Largest number of (relabelling-reduced) belief states :func:`solve_bayes_optimal` accepts.
#: The backward induction runs in plain Python at a few microseconds per state and action:
#: n = 20, k = 5 (≈3.5e5 states) takes about 5 s, so this bounds the solve to ~10 s.
BAYES_OPTIMAL_MAX_STATES = 500_000


def bayes_optimal_state_count(n: int, k: int) -> int:
    """Belief states up to arm relabelling reachable within n pulls of k arms (exact below 2**53).

    A state is a multiset of at most k pairs (s, f) with s + f ≥ 1 and total s + f ≤ n.  There
    are w + 1 pairs of weight w, and C(w + j, j) multisets of j of them, which gives a small DP
    over (number of pulled arms, total pulls).
    """
    counts = np.zeros((k + 1, n + 1))  # counts[c, total]: multisets of c pairs with that total
    counts[0, 0] = 1.0
    for weight in range(1, n + 1):
        updated = counts.copy()
        for j in range(1, min(k, n // weight) + 1):
            updated[j:, j * weight :] += counts[:-j, : n + 1 - j * weight] * float(comb(weight + j, j))
        counts = updated
    return int(counts.sum())


@dataclass(frozen=True)
class BayesOptimalSolution:
    """The solved DP for (n, k), in the form batched play needs.

    ``keys`` (sorted) list every (state, available arm type) pair as ``state_id · num_codes +
    code``; ``q[j]`` is that action's optimal expected reward-to-go and ``child[j]`` the next state
    id after a failure (column 0) or a success (column 1).  ``code_of[s, f]`` numbers the pairs.
    """

    n: int
    k: int
    value: float  # optimal expected total reward of a trial (the root's V)
    num_states: int
    num_codes: int
    keys: torch.Tensor  # int64 [A]
    q: torch.Tensor  # float64 [A]
    child: torch.Tensor  # int64 [A, 2]
    code_of: torch.Tensor  # int64 [n + 1, n + 1]; −1 where s + f > n

    def action_rows(self, state_ids: torch.Tensor, successes: torch.Tensor, failures: torch.Tensor) -> torch.Tensor:
        """Row in ``keys`` of every arm of every task: ids [B], counts [B, k] → [B, k] int64."""
        codes = self.code_of.to(successes.device)[successes, failures]
        wanted = state_ids[:, None] * self.num_codes + codes
        keys = self.keys.to(successes.device)
        rows = torch.searchsorted(keys, wanted)
        if bool((keys[rows.clamp(max=keys.numel() - 1)] != wanted).any()):
            raise RuntimeError("counts do not match the tracked belief state (was the policy reset?)")
        return rows


def _pair_codes(n: int) -> tuple[list[tuple[int, int]], dict[tuple[int, int], int]]:
    """All (s, f) with s + f ≤ n, numbered by total then s; (0, 0), a fresh arm, is code 0."""
    pairs = [(s, total - s) for total in range(n + 1) for s in range(total, -1, -1)]
    return pairs, {pair: code for code, pair in enumerate(pairs)}


def _replace(state: tuple[int, ...], old: int, new: int) -> tuple[int, ...]:
    """The canonical (sorted) state with one arm of code ``old`` (0: a fresh one) now ``new``."""
    codes = list(state)
    if old != 0:
        codes.remove(old)
    codes.append(new)
    return tuple(sorted(codes))


def _enumerate(n: int, k: int) -> tuple[list[tuple[int, ...]], list[list[tuple[int, int, int]]]]:
    """States breadth-first (by pulls made) and, per state, its actions (code, failure id, success id)."""
    pairs, code_of = _pair_codes(n)
    states: list[tuple[int, ...]] = [()]
    ids: dict[tuple[int, ...], int] = {(): 0}
    actions: list[list[tuple[int, int, int]]] = []
    for state in states:  # grows while iterating: a breadth-first queue
        pulls = sum(sum(pairs[c]) for c in state)
        if pulls == n:
            actions.append([])
            continue
        choices = sorted(set(state) | ({0} if len(state) < k else set()))
        row = []
        for code in choices:
            s, f = pairs[code]
            children = []
            for child_pair in ((s, f + 1), (s + 1, f)):
                child = _replace(state, code, code_of[child_pair])
                if child not in ids:
                    ids[child] = len(states)
                    states.append(child)
                children.append(ids[child])
            row.append((code, children[0], children[1]))
        actions.append(row)
    return states, actions


@functools.lru_cache(maxsize=8)
def solve_bayes_optimal(n: int, k: int) -> BayesOptimalSolution:
    """Backward induction over all belief states; cached per (n, k) in this process.

    Raises ValueError when the state count exceeds :data:`BAYES_OPTIMAL_MAX_STATES`.
    """
    if n < 1 or k < 1:
        raise ValueError(f"need n ≥ 1 and k ≥ 1, got n={n}, k={k}")
    count = bayes_optimal_state_count(n, k)
    if count > BAYES_OPTIMAL_MAX_STATES:
        raise ValueError(
            f"Bayes-optimal DP for n={n}, k={k} has {count:.3g} belief states, over the limit of "
            f"BAYES_OPTIMAL_MAX_STATES={BAYES_OPTIMAL_MAX_STATES:,} "
            "(feasible: e.g. n ≤ 10 for any k, n ≤ 20 for k ≤ 5)"
        )
    pairs, code_of = _pair_codes(n)
    states, actions = _enumerate(n, k)
    values = [0.0] * len(states)
    q_of: list[list[float]] = [[] for _ in states]
    for state_id in range(len(states) - 1, -1, -1):  # children always have larger ids
        for code, fail_id, success_id in actions[state_id]:
            s, f = pairs[code]
            p = (s + 1) / (s + f + 2)
            q_of[state_id].append(p * (1.0 + values[success_id]) + (1.0 - p) * values[fail_id])
        values[state_id] = max(q_of[state_id], default=0.0)
    return _pack(n, k, states, actions, q_of, values[0], code_of)


def _pack(
    n: int,
    k: int,
    states: list[tuple[int, ...]],
    actions: list[list[tuple[int, int, int]]],
    q_of: list[list[float]],
    value: float,
    code_of: dict[tuple[int, int], int],
) -> BayesOptimalSolution:
    """Flatten the per-state action lists into sorted key / q / child tensors."""
    num_codes = len(code_of)
    keys, q, child = [], [], []
    for state_id, row in enumerate(actions):
        for (code, fail_id, success_id), action_q in zip(row, q_of[state_id]):
            keys.append(state_id * num_codes + code)
            q.append(action_q)
            child.append((fail_id, success_id))
    code_table = torch.full((n + 1, n + 1), -1, dtype=torch.int64)
    for (s, f), code in code_of.items():
        code_table[s, f] = code
    return BayesOptimalSolution(
        n=n,
        k=k,
        value=value,
        num_states=len(states),
        num_codes=num_codes,
        keys=torch.tensor(keys, dtype=torch.int64),
        q=torch.tensor(q, dtype=torch.float64),
        child=torch.tensor(child, dtype=torch.int64).reshape(-1, 2),
        code_of=code_table,
    )
