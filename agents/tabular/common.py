"""Pieces shared by the tabular agents.

- environment checks: discrete spaces, the known model (``env.unwrapped.model``), the
  ``reset(options={"start_state": s})`` option;
- action selection over a Q table: greedy (deterministic), greedy with random
  tie-breaking, epsilon-greedy and its action probabilities;
- ``QTableMixin``: ``act`` / ``value_table`` / ``greedy_actions`` / ``q_table`` for every
  agent that keeps a table ``self.q`` of shape (S, A);
- ``TrainingCounters``: the steps and episodes an agent has trained for; they travel in
  the checkpoint, so a resumed ``train`` continues its counters and its schedules.

Budgets are totals over an agent's life: ``train(env, Budget(episodes=500), ...)`` after
loading a checkpoint that has trained 200 episodes trains 300 more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol

import gymnasium as gym
import numpy as np

from agents.base import IncompatibleEnvironment, check_discrete
from agents.schedules import LinearSchedule


class TabularModel(Protocol):
    """What a known-dynamics environment exposes as ``env.unwrapped.model`` (duck-typed)."""

    n_states: int
    n_actions: int
    transition_probs: np.ndarray  # (S, A, S): P(s' | s, a) [-]
    expected_rewards: np.ndarray  # (S, A): E[r | s, a] [reward units]
    terminal: np.ndarray  # (S,) bool: absorbing states whose value is 0


def env_id(env: gym.Env) -> str:
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(getattr(env, "unwrapped", env)).__name__


def tabular_sizes(env: gym.Env, agent: str) -> tuple[int, int]:
    """(number of states, number of actions) or ``IncompatibleEnvironment``."""
    if isinstance(env, gym.vector.VectorEnv):
        raise IncompatibleEnvironment(f"{agent} trains on a single environment, not a vector env")
    n_states = check_discrete(env.observation_space, "observation", agent)
    n_actions = check_discrete(env.action_space, "action", agent)
    return n_states, n_actions


def maybe_model(env: gym.Env) -> Any:
    """``env.unwrapped.model`` or None (also when building it fails, e.g. too large)."""
    try:
        return getattr(getattr(env, "unwrapped", env), "model", None)
    except (ValueError, MemoryError):
        return None


def find_model(env: gym.Env, agent: str) -> TabularModel:
    """The environment's model arrays, checked for shape, or ``IncompatibleEnvironment``."""
    try:
        model = getattr(getattr(env, "unwrapped", env), "model", None)
    except (ValueError, MemoryError) as error:  # e.g. a maze whose dense model would be too large
        raise IncompatibleEnvironment(f"{agent}: {env_id(env)} cannot build its model: {error}") from None
    needed = ("transition_probs", "expected_rewards", "terminal")
    if model is None or not all(hasattr(model, name) for name in needed):
        raise IncompatibleEnvironment(
            f"{agent} needs an environment that exposes its model (env.unwrapped.model), "
            f"e.g. simdrive/GridWorld4x4-v0; {env_id(env)} has none"
        )
    p = np.asarray(model.transition_probs)
    r = np.asarray(model.expected_rewards)
    terminal = np.asarray(model.terminal)
    if p.ndim != 3 or p.shape[0] != p.shape[2] or r.shape != p.shape[:2] or terminal.shape != p.shape[:1]:
        raise IncompatibleEnvironment(
            f"{agent}: the model of {env_id(env)} has inconsistent shapes "
            f"(transition_probs {p.shape}, expected_rewards {r.shape}, terminal {terminal.shape})"
        )
    return model


def model_arrays(model: TabularModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P (S, A, S) float64, R (S, A) float64, terminal (S,) bool) copies of a model."""
    return (
        np.array(model.transition_probs, dtype=np.float64),
        np.array(model.expected_rewards, dtype=np.float64),
        np.array(model.terminal, dtype=bool),
    )


def check_start_state_option(env: gym.Env, agent: str) -> None:
    """Raise ``IncompatibleEnvironment`` unless ``reset(options={"start_state": s})`` starts in ``s``.

    Resets the environment (the caller resets it again before training).
    """
    n_states, _ = tabular_sizes(env, agent)
    model = maybe_model(env)
    obs, _ = env.reset()
    candidates = [s for s in range(n_states) if s != int(obs)]
    if model is not None and hasattr(model, "terminal"):
        terminal = np.asarray(model.terminal, dtype=bool)
        candidates = [s for s in candidates if not terminal[s]]
    for state in candidates[:8]:
        try:
            obs, _ = env.reset(options={"start_state": state})
        except Exception:  # noqa: BLE001 - e.g. a wall cell; try another state
            continue
        if int(obs) == state:
            return
        break
    raise IncompatibleEnvironment(
        f"{agent} needs exploring starts: an environment whose reset(options={{'start_state': s}}) "
        f"starts in state s (e.g. simdrive/GridWorld4x4-v0); {env_id(env)} does not"
    )


def greedy(q_row: np.ndarray) -> int:
    """The first action of highest value: deterministic."""
    return int(np.argmax(q_row))


def argmax_random(values: np.ndarray, rng: np.random.Generator) -> Any:
    """Argmax over the last axis, ties broken uniformly at random (int for 1-D input)."""
    best = values.max(axis=-1, keepdims=True)
    noise = rng.random(values.shape)
    choice = np.argmax(np.where(values >= best, noise, -1.0), axis=-1)
    return int(choice) if values.ndim == 1 else choice


def epsilon_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """A uniformly random action with probability ``epsilon``, else greedy (random tie-break)."""
    if epsilon > 0.0 and rng.random() < epsilon:
        return int(rng.integers(q_row.shape[0]))
    return argmax_random(q_row, rng)


def epsilon_greedy_probs(q_row: np.ndarray, epsilon: float) -> np.ndarray:
    """Action probabilities of ``epsilon_greedy`` (greedy mass shared by tied actions)."""
    n = q_row.shape[0]
    ties = q_row >= q_row.max()
    return np.full(n, epsilon / n) + ties * ((1.0 - epsilon) / ties.sum())


@dataclass
class TrainingCounters:
    """Environment transitions and finished episodes trained so far (checkpointed)."""

    steps: int = 0
    episodes: int = 0

    def state_dict(self) -> dict[str, int]:
        return {"steps": self.steps, "episodes": self.episodes}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.steps = int(state["steps"])
        self.episodes = int(state["episodes"])


class QTableMixin:
    """``act`` and the table views for an agent with ``self.q`` (S, A) and ``self.rng``.

    ``act(obs, explore=False)`` is the greedy action (first maximum, deterministic);
    ``explore=True`` follows the agent's behaviour policy (``_explore_action``).
    """

    q: np.ndarray
    rng: np.random.Generator

    def _init_table(self, observation_space: Any, action_space: Any, config: Any, seed: int, initial_q: float = 0.0) -> None:
        """Config, sizes, RNG, counters and a Q table filled with ``initial_q``."""
        self.config = config if config is not None else self.Config()
        self.n_states = int(observation_space.n)
        self.n_actions = int(action_space.n)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.q = np.full((self.n_states, self.n_actions), float(initial_q))
        self.counters = TrainingCounters()

    def act(self, obs: Any, explore: bool = False) -> int:
        state = int(obs)
        if explore:
            return self._explore_action(state)
        return greedy(self.q[state])

    def _explore_action(self, state: int) -> int:
        return argmax_random(self.q[state], self.rng)

    def q_table(self) -> np.ndarray:
        """Action values, shape (S, A)."""
        return self.q.copy()

    def value_table(self) -> np.ndarray:
        """State values max_a Q(s, a), shape (S,)."""
        return self.q.max(axis=1)

    def greedy_actions(self) -> np.ndarray:
        """The action ``act(s, explore=False)`` takes in each state, shape (S,) int."""
        return np.argmax(self.q, axis=1)


def reset_seed(rng: np.random.Generator) -> int:
    """A seed for the first ``env.reset`` of a ``train`` call, drawn from the agent's RNG."""
    return int(rng.integers(2**31 - 1))


def episode_epsilon(start: float, end: float, decay_fraction: float, fraction_used: float) -> float:
    """Epsilon decayed linearly from ``start`` to ``end`` over the first ``decay_fraction`` of the budget."""
    return LinearSchedule(start, end, decay_fraction)(fraction_used)


def checked_table(values: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A checkpointed table as float64, refusing one saved for a different environment."""
    table = np.array(values, dtype=np.float64)
    if table.shape != shape:
        raise ValueError(f"the saved {what} has shape {table.shape}, this environment needs {shape}")
    return table
