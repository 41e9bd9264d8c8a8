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
