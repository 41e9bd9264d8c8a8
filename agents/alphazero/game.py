"""The game adapter: what AlphaZero needs from a two-player game, found by duck typing.

Board-game envs expose their rules as ``env.unwrapped.game`` (agents never import
``envs``). This module checks that object has the pure-functional interface below and
fills in defaults, like alpha-zero-general's ``Game`` class:

``n_actions``, ``board_shape`` and ``n_planes`` (the encoded input is ``(n_planes, *board_shape)``),
``num_players == 2``, ``initial_state()``, ``step(state, action) -> (state, reward of the
mover, terminal)``, ``legal_mask(state)``, ``is_terminal(state)``, ``terminal_value(state)``
(outcome for the player to move: -1 lost, 0 draw), ``encode(state)`` (planes from the point of
view of the player to move), ``state_from_obs(obs)`` and optionally
``symmetries(planes, policy) -> [(planes, policy), ...]`` (identity only if absent).
Games must alternate moves and be zero-sum.

The search works on *batches* of positions through ``GameAdapter.core``: the game's own
``batch_core()`` if it has one (the k-in-a-row games: numpy bitboards, see
``envs.boardgames.bitboard``), else :class:`ScalarCore`, the same interface built on the
functions above with one Python call per position. A core has ``n_actions``,
``state_dtype`` (a numpy dtype, or ``object``), ``initial(n)``, ``from_states(states)``,
``legal(states) -> (n, A) bool``, ``step(states, actions) -> (states, mover's reward,
terminal)`` and ``encode(states) -> (n, C, H, W)``, all on 1-D arrays of positions.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import IncompatibleEnvironment

REQUIRED = (
    "n_actions", "board_shape", "num_players", "initial_state", "step", "legal_mask",
    "is_terminal", "terminal_value", "encode", "state_from_obs",
)


class GameAdapter:
    """A thin, checked wrapper around an env's game object."""

    def __init__(self, game: Any) -> None:
        missing = [name for name in REQUIRED if not hasattr(game, name)]
        if missing:
            raise IncompatibleEnvironment(f"alphazero needs a two-player game at env.unwrapped.game with {', '.join(missing)}")
        if int(game.num_players) != 2:
            raise IncompatibleEnvironment(f"alphazero plays two-player alternating games; this game has {game.num_players} player(s)")
        self.game = game
        self.n_actions = int(game.n_actions)
        self.board_shape = tuple(int(v) for v in game.board_shape)
        self.n_planes = int(getattr(game, "n_planes", game.encode(game.initial_state()).shape[0]))
        self.input_shape = (self.n_planes, *self.board_shape)

        core = game.batch_core() if hasattr(game, "batch_core") else None
        self.core = core if core is not None else ScalarCore(self)

    @classmethod
    def from_env(cls, env: gym.Env) -> "GameAdapter":
        game = getattr(env.unwrapped, "game", None)
        if game is None:
            raise IncompatibleEnvironment(
                f"alphazero needs a board game exposing its rules as env.unwrapped.game; {type(env.unwrapped).__name__} has none"
            )
        return cls(game)

    def initial_state(self) -> Any:
        return self.game.initial_state()

    def step(self, state: Any, action: int) -> tuple[Any, float, bool]:
        return self.game.step(state, action)

    def legal_mask(self, state: Any) -> np.ndarray:
        return np.asarray(self.game.legal_mask(state), dtype=bool)

    def is_terminal(self, state: Any) -> bool:
        return bool(self.game.is_terminal(state))

    def terminal_value(self, state: Any) -> float:
        return float(self.game.terminal_value(state))

    def encode(self, state: Any) -> np.ndarray:
        return np.asarray(self.game.encode(state), dtype=np.float32)

    def state_from_obs(self, obs: Any) -> Any:
        return self.game.state_from_obs(obs)

    def symmetries(self, planes: np.ndarray, policy: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        if hasattr(self.game, "symmetries"):
            return self.game.symmetries(planes, policy)
        return [(planes, policy)]


class ScalarCore:
    """The batch interface (see the module docstring) over a game's one-position functions:
    positions are Python objects in an ``object`` array, advanced one at a time."""

    state_dtype = object

    def __init__(self, game: GameAdapter) -> None:
        self.game = game
        self.n_actions = game.n_actions

    @staticmethod
    def _array(items: list[Any]) -> np.ndarray:
        out = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            out[i] = item
        return out

    def initial(self, n: int) -> np.ndarray:
        return self._array([self.game.initial_state() for _ in range(n)])

    def from_states(self, states: list[Any]) -> np.ndarray:
        return self._array(list(states))

    def legal(self, states: np.ndarray) -> np.ndarray:
        return np.stack([self.game.legal_mask(s) for s in states]).reshape(len(states), self.n_actions)

    def step(self, states: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = [self.game.step(s, int(a)) for s, a in zip(states, actions)]
        return (
            self._array([o[0] for o in out]),
            np.array([o[1] for o in out], dtype=np.float32),
            np.array([o[2] for o in out], dtype=bool),
        )

    def encode(self, states: np.ndarray) -> np.ndarray:
        return np.stack([self.game.encode(s) for s in states]).reshape(len(states), *self.game.input_shape)
