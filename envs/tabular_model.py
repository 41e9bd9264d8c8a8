"""The known dynamics of a finite MDP as numpy arrays.

Known-dynamics environments (``GridWorld4x4-v0``, ``GridWorld5x5-v0``, ``Maze-v0``) expose
``env.unwrapped.model``, a :class:`TabularModel`, so planning agents (policy/value
iteration) can read p(s' | s, a) and E[r | s, a] directly instead of sampling ``step()``.

Conventions:

* states and actions are the integers of the env's ``Discrete`` spaces;
* a terminal state transitions to itself with probability 1 and reward 0, whatever the action,
  so ``V(terminal) = 0`` falls out of the Bellman equations without special cases;
* the arrays are read-only (the model is shared, not copied, between callers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class TabularModel:
    """p(s' | s, a), E[r | s, a] and the terminal mask of a finite MDP."""

    transition_probs: np.ndarray
    """(S, A, S) float64: ``transition_probs[s, a, s2]`` = P(S_{t+1}=s2 | S_t=s, A_t=a); rows sum to 1."""
    expected_rewards: np.ndarray
    """(S, A) float64: E[R_{t+1} | S_t=s, A_t=a] [reward]."""
    terminal: np.ndarray
    """(S,) bool: True for terminal (absorbing, zero-reward) states."""

    def __post_init__(self) -> None:
        p = np.array(self.transition_probs, dtype=np.float64)
        r = np.array(self.expected_rewards, dtype=np.float64)
        t = np.array(self.terminal, dtype=bool)
        if p.ndim != 3 or p.shape[0] != p.shape[2]:
            raise ValueError(f"transition_probs must have shape (S, A, S), got {p.shape}")
        n_states, n_actions = p.shape[:2]
        if r.shape != (n_states, n_actions):
            raise ValueError(f"expected_rewards must have shape {(n_states, n_actions)}, got {r.shape}")
        if t.shape != (n_states,):
            raise ValueError(f"terminal must have shape {(n_states,)}, got {t.shape}")
        if np.any(p < 0.0) or not np.allclose(p.sum(axis=2), 1.0, atol=1e-9):
            raise ValueError("transition_probs rows must be non-negative and sum to 1")
        if not np.all(np.isfinite(r)):
            raise ValueError("expected_rewards must be finite")
        for array in (p, r, t):
            array.flags.writeable = False
        object.__setattr__(self, "transition_probs", p)
        object.__setattr__(self, "expected_rewards", r)
        object.__setattr__(self, "terminal", t)

    @property
    def n_states(self) -> int:
        """Number of states S."""
        return int(self.transition_probs.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions A."""
        return int(self.transition_probs.shape[1])

    @classmethod
    def from_outcomes(
        cls,
        n_states: int,
        n_actions: int,
        outcomes: dict[tuple[int, int], list[tuple[float, int, float]]],
        terminal: np.ndarray,
    ) -> TabularModel:
        """Build a model from ``{(s, a): [(probability, next_state, reward), ...]}``.

        Pairs of terminal states are filled in (self-loop, reward 0) and must not be given;
        every non-terminal pair must be. Outcomes with the same next state are summed.
        """
        terminal = np.asarray(terminal, dtype=bool)
        p = np.zeros((n_states, n_actions, n_states))
        r = np.zeros((n_states, n_actions))
        for s in range(n_states):
            for a in range(n_actions):
                if terminal[s]:
                    p[s, a, s] = 1.0
                    continue
                for prob, s2, reward in outcomes[(s, a)]:
                    p[s, a, s2] += prob
                    r[s, a] += prob * reward
        return cls(p, r, terminal)


def start_state_option(options: dict | None, n_states: int, terminal: np.ndarray) -> int | None:
    """The ``start_state`` of ``reset(options=...)``, checked, or ``None`` when not given.
    Any other option is refused, naming the valid one."""
    options = options or {}
    unknown = set(options) - {"start_state"}
    if unknown:
        raise ValueError(f"unknown reset option(s) {sorted(unknown)}; valid: ['start_state']")
    start = options.get("start_state")
    if start is None:
        return None
    if not isinstance(start, (int, np.integer)) or not 0 <= int(start) < n_states:
        raise ValueError(f"start_state must be an int in [0, {n_states}), got {start!r}")
    if terminal[int(start)]:
        raise ValueError(f"start_state {int(start)} is terminal")
    return int(start)
