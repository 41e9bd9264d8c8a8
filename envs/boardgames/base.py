"""Shared pieces of the two-player board games: the game rules as pure functions and the
Gymnasium environment around them.

Two layers, as in alpha-zero-general's ``Game``:

* :class:`KInARowGame` - the rules as a *pure-functional* object with no Gymnasium in it
  (``initial_state()``, ``next_state(state, action)``, ``legal_actions(state)``,
  ``is_terminal(state)``, ``terminal_value(state)``, ``encode(state)``, ``symmetries(...)``,
  ``rollout(...)``). Planning agents (``agents.mcts``, ``agents.alphazero``) search with it
  directly, so a simulation never pays for ``env.step`` or observation dictionaries. They
  reach it as ``env.unwrapped.game`` (duck-typed: agents never import ``envs``).
* :class:`BoardGameEnv` - the ``gymnasium.Env``: observations from the point of view of the
  player to move, an action mask, an optional built-in opponent, rendering.

A state is a :class:`BoardState` (a numpy board plus three ints), cheap to copy; states are
never mutated in place, so a search tree can share them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

if TYPE_CHECKING:
    from envs.boardgames.bitboard import BitboardCore


class BoardState(NamedTuple):
    """A position. Never modified in place (``next_state`` returns a new one)."""

    board: np.ndarray
    """(rows, cols) int8: +1 = a stone of the first player, -1 = the second player's, 0 = empty."""
    player: int
    """+1 when the first player is to move, -1 when the second player is."""
    winner: int
    """+1 / -1 once that player has won, 0 otherwise (the winner is always the player who just moved)."""
    moves: int
    """Number of stones on the board [-]."""


class KInARowGame:
    """Rules of a two-player "k stones in a row" game on a rows x cols board.

    Tic-tac-toe is (3, 3, k=3, no gravity: an action is a cell ``row * cols + col``);
    Connect Four is (6, 7, k=4, gravity: an action is a column, the stone falls to the
    lowest empty row). A line counts horizontally, vertically and along both diagonals.
    The game is a draw when the board is full and nobody has a line.

    Value convention (used by the search agents): ``step`` returns the reward of the player
    who moved (+1 if the move wins, else 0); ``terminal_value(state)`` is the outcome for the
    player *to move* in a terminal state (-1: the opponent just won, 0: draw).
    """

    name: str = "k-in-a-row"
    num_players: int = 2

    def __init__(self, rows: int, cols: int, k: int, gravity: bool) -> None:
        if rows <= 0 or cols <= 0 or k <= 0 or k > max(rows, cols):
            raise ValueError(f"invalid board {rows}x{cols} with k={k}")
        self.rows = rows
        self.cols = cols
        self.k = k
        self.gravity = gravity
        self.n_actions = cols if gravity else rows * cols
        self.board_shape = (rows, cols)
        self.n_planes = 2

    # --- positions ---------------------------------------------------------------------

    def initial_state(self) -> BoardState:
        return BoardState(np.zeros(self.board_shape, dtype=np.int8), 1, 0, 0)

    def is_terminal(self, state: BoardState) -> bool:
        return state.winner != 0 or state.moves >= self.rows * self.cols

    def terminal_value(self, state: BoardState) -> float:
        """Outcome for the player to move in a terminal ``state``: -1 lost, 0 draw."""
        return -1.0 if state.winner != 0 else 0.0

    def legal_mask(self, state: BoardState) -> np.ndarray:
        """(n_actions,) bool; all False in a terminal state."""
        if self.is_terminal(state):
            return np.zeros(self.n_actions, dtype=bool)
        if self.gravity:
            return state.board[0] == 0
        return (state.board == 0).reshape(-1)

    def legal_actions(self, state: BoardState) -> np.ndarray:
        """Sorted int64 array of the legal actions (empty in a terminal state)."""
        return np.flatnonzero(self.legal_mask(state))

    def _cell(self, board: np.ndarray, action: int) -> tuple[int, int] | None:
        """Where ``action`` puts a stone on ``board``, or None if it is illegal."""
        if not 0 <= action < self.n_actions:
            return None
        if self.gravity:
            column = board[:, action]
            empty = np.flatnonzero(column == 0)
            return (int(empty[-1]), action) if empty.size else None
        row, col = divmod(action, self.cols)
        return (row, col) if board[row, col] == 0 else None

    def next_state(self, state: BoardState, action: int) -> BoardState:
        """The position after the player to move plays ``action``.

        Raises ``ValueError`` naming the move and the legal ones if it is illegal or the game is over.
        """
        action = int(action)
        if self.is_terminal(state):
            raise ValueError(f"the game is over; no move (got {action}) is legal")
        cell = self._cell(state.board, action)
        if cell is None:
            raise ValueError(f"illegal move {action}; legal moves: {self.legal_actions(state).tolist()}")
        board = state.board.copy()
        board[cell] = state.player
        winner = state.player if self._line_through(board, cell[0], cell[1]) else 0
        return BoardState(board, -state.player, winner, state.moves + 1)

    def step(self, state: BoardState, action: int) -> tuple[BoardState, float, bool]:
        """Planning interface: ``(next_state, reward of the mover, terminal)``."""
        nxt = self.next_state(state, action)
        return nxt, (1.0 if nxt.winner != 0 else 0.0), self.is_terminal(nxt)

    def _line_through(self, board: np.ndarray, row: int, col: int) -> bool:
        """Whether the stone at (row, col) is part of k in a row of its colour."""
        stone = board[row, col]
        rows, cols, k = self.rows, self.cols, self.k
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            count = 1
            for sign in (1, -1):
                r, c = row + sign * dr, col + sign * dc
                while 0 <= r < rows and 0 <= c < cols and board[r, c] == stone:
                    count += 1
                    r += sign * dr
                    c += sign * dc
            if count >= k:
                return True
        return False

    def winner_of_board(self, board: np.ndarray) -> int:
        """+1/-1 if that player has k in a row anywhere on ``board``, else 0 (slow; tests, restore)."""
        for row in range(self.rows):
            for col in range(self.cols):
                if board[row, col] != 0 and self._line_through(board, row, col):
                    return int(board[row, col])
        return 0

    def state_from_board(self, board: np.ndarray, player: int | None = None) -> BoardState:
        """A full state from a board (who moves is inferred from the stone counts if not given)."""
        board = np.asarray(board, dtype=np.int8).copy()
        first, second = int((board == 1).sum()), int((board == -1).sum())
        if player is None:
            player = 1 if first == second else -1
        return BoardState(board, int(player), self.winner_of_board(board), first + second)

    # --- what the agents see -------------------------------------------------------------

    def encode(self, state: BoardState) -> np.ndarray:
        """(2, rows, cols) float32 planes from the point of view of the player to move:
        plane 0 = own stones, plane 1 = opponent stones."""
        planes = np.empty((2, self.rows, self.cols), dtype=np.float32)
        planes[0] = state.board == state.player
        planes[1] = state.board == -state.player
        return planes

    def state_from_obs(self, obs: dict[str, np.ndarray]) -> BoardState:
        """The canonical state (player to move = +1) behind an observation. The rules are
        symmetric in the two players, so this is all a search needs."""
        planes = np.asarray(obs["board"])
        board = (planes[0] > 0.5).astype(np.int8) - (planes[1] > 0.5).astype(np.int8)
        moves = int(np.count_nonzero(board))
        state = BoardState(board, 1, 0, moves)
        if self.winner_of_board(board) != 0:
            state = state._replace(winner=self.winner_of_board(board))
        return state

    def symmetries(self, planes: np.ndarray, policy: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Equivalent (planes, policy) pairs under the board's symmetries, identity first.

        Without gravity (square boards): the 8 rotations/reflections, the policy moved with
        the cells. With gravity: identity and the left-right mirror (policy over columns reversed).
        """
        if self.gravity:
            return [(planes, policy), (planes[:, :, ::-1].copy(), policy[::-1].copy())]
        grid = policy.reshape(self.rows, self.cols)
        if self.rows != self.cols:  # a rectangle: identity and the three mirrors
            return [
                (planes, policy),
                (planes[:, :, ::-1].copy(), grid[:, ::-1].reshape(-1).copy()),
                (planes[:, ::-1, :].copy(), grid[::-1, :].reshape(-1).copy()),
                (planes[:, ::-1, ::-1].copy(), grid[::-1, ::-1].reshape(-1).copy()),
            ]
        out = []
        for flip in (False, True):
            p, g = (planes[:, :, ::-1], grid[:, ::-1]) if flip else (planes, grid)
            for turns in range(4):
                out.append((np.rot90(p, turns, axes=(1, 2)).copy(), np.rot90(g, turns).reshape(-1).copy()))
        return out

    def rollout(self, state: BoardState, rng: np.random.Generator, limit: int | None = None) -> float:
        """Play uniformly random moves from ``state`` until the end (or ``limit`` moves).

        Returns the outcome for the player to move in ``state`` (+1 win, 0 draw/cut off,
        -1 loss). Pure Python on lists: a few times faster than ``next_state`` per move.
        """
        if self.is_terminal(state):
            return self.terminal_value(state)
        rows, cols, k, gravity = self.rows, self.cols, self.k, self.gravity
        board = state.board.tolist()
        if gravity:
            heights = [sum(1 for r in range(rows) if board[r][c] != 0) for c in range(cols)]
            free = [c for c in range(cols) if heights[c] < rows]
        else:
            free = [r * cols + c for r in range(rows) for c in range(cols) if board[r][c] == 0]
        player, me = state.player, state.player
        n = len(free) * (rows if gravity else 1) if limit is None else limit
        draws = rng.random(max(n, 1)).tolist()
        for u in draws:
            if not free:
                return 0.0
            i = int(u * len(free))
            action = free[i]
            if gravity:
                col = action
                row = rows - 1 - heights[col]
                heights[col] += 1
                if heights[col] == rows:
                    free.pop(i)
            else:
                row, col = divmod(action, cols)
                free[i] = free[-1]
                free.pop()
            board[row][col] = player
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                count = 1
                for sign in (1, -1):
                    r, c = row + sign * dr, col + sign * dc
                    while 0 <= r < rows and 0 <= c < cols and board[r][c] == player:
                        count += 1
                        r += sign * dr
                        c += sign * dc
                if count >= k:
                    return 1.0 if player == me else -1.0
            player = -player
        return 0.0

    def batch_core(self) -> "BitboardCore":
        """The same rules on batches of bitboard positions (:mod:`envs.boardgames.bitboard`),
        for search code that advances many positions per numpy call."""
        from envs.boardgames.bitboard import BitboardCore

        return BitboardCore(self.rows, self.cols, self.k, self.gravity)

    def to_text(self, state: BoardState) -> str:
        """ASCII picture: X = first player, O = second player."""
        glyph = {1: "X", -1: "O", 0: "."}
        return "\n".join(" ".join(glyph[int(v)] for v in row) for row in state.board)


#: An opponent policy: (game, state, rng) -> action. The env's ``opponent`` argument takes
#: "none", "random" or such a callable (e.g. built from an agent by ``simdrive.play``).
OpponentFn = Callable[[KInARowGame, BoardState, np.random.Generator], int]


def random_opponent(game: KInARowGame, state: BoardState, rng: np.random.Generator) -> int:
    """A uniformly random legal move."""
    legal = game.legal_actions(state)
    return int(legal[rng.integers(len(legal))])


class BoardGameEnv(gym.Env):
    """Gymnasium environment for a :class:`KInARowGame` (subclasses fix the game).

    Observation: ``Dict(board=Box(0, 1, (2, rows, cols), float32), action_mask=Box(0, 1, (n,), int8))``;
    plane 0 holds the stones of the player to move, plane 1 the opponent's.

    Reward: for the player who just moved: +1 if the move wins, 0 otherwise (draw or game
    going on). An illegal move (outside the action mask) loses: ``terminated=True``,
    reward -1, ``info["illegal_action"] = True`` (this keeps random-action checkers and
    single-agent learners working; agents should respect the mask).

    With ``opponent="random"`` (or a callable) the env answers every agent move with the
    opponent's move, so one ``step`` is two plies and the reward is from the *agent's* point
    of view: +1 agent won, -1 the opponent's reply won (or the agent moved illegally), 0
    otherwise. Which side the agent plays is drawn with ``np_random`` at reset, or fixed with
    ``reset(options={"agent_player": 0 or 1})`` (0 = moves first); when the agent is second,
    the opponent's first move is already on the board in the reset observation.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}

    def __init__(self, game: KInARowGame, render_mode: str | None = None, opponent: str | OpponentFn = "none") -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if callable(opponent):
            self._opponent: OpponentFn | None = opponent
        elif opponent == "random":
            self._opponent = random_opponent
        elif opponent in ("none", None):
            self._opponent = None
        else:
            raise ValueError(f"opponent must be 'none', 'random' or a callable (game, state, rng) -> action; got {opponent!r}")
        self.game = game
        self.render_mode = render_mode
        rows, cols = game.board_shape
        self.observation_space = spaces.Dict(
            {
                "board": spaces.Box(0.0, 1.0, (2, rows, cols), dtype=np.float32),
                "action_mask": spaces.Box(0, 1, (game.n_actions,), dtype=np.int8),
            }
        )
        self.action_space = spaces.Discrete(game.n_actions)
        self._state = game.initial_state()
        self._agent_player = 1
        self._last_action: int | None = None
        self._window = None

    # --- planning helpers ----------------------------------------------------------------

    def get_state(self) -> BoardState:
        """The current position (immutable, so no copy is needed)."""
        return self._state

    def set_state(self, state: BoardState) -> None:
        """Jump to a position (from ``get_state`` or ``game.state_from_board``)."""
        board = np.asarray(state.board, dtype=np.int8)
        if board.shape != self.game.board_shape:
            raise ValueError(f"state board must have shape {self.game.board_shape}, got {board.shape}")
        self._state = BoardState(board.copy(), int(state.player), int(state.winner), int(state.moves))

    def legal_actions(self) -> np.ndarray:
        return self.game.legal_actions(self._state)

    @property
    def opponent(self) -> OpponentFn | None:
        return self._opponent

    # --- gymnasium API -------------------------------------------------------------------

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "board": self.game.encode(self._state),
            "action_mask": self.game.legal_mask(self._state).astype(np.int8),
        }

    def _info(self, **extra: Any) -> dict[str, Any]:
        info = {"to_play": 0 if self._state.player == 1 else 1, "winner": int(self._state.winner)}
        info.update(extra)
        return info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"agent_player"}
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; valid: ['agent_player']")
        self._state = self.game.initial_state()
        self._last_action = None
        if self._opponent is not None:
            side = options.get("agent_player")
            if side is None:
                side = int(self.np_random.integers(2))
            if side not in (0, 1):
                raise ValueError(f"agent_player must be 0 (moves first) or 1, got {side!r}")
            self._agent_player = 1 if side == 0 else -1
            if self._agent_player == -1:
                self._opponent_move()
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def _opponent_move(self) -> int:
        action = int(self._opponent(self.game, self._state, self.np_random))
        self._state = self.game.next_state(self._state, action)
        self._last_action = action
        return action

    def step(self, action):
        if self.game.is_terminal(self._state):
            raise RuntimeError("step() called after the game ended; call reset()")
        action = int(action)
        if not (0 <= action < self.game.n_actions and self.game.legal_mask(self._state)[action]):
            legal = self.legal_actions().tolist()
            return self._obs(), -1.0, True, False, self._info(illegal_action=True, legal_actions=legal)
        self._state = self.game.next_state(self._state, action)
        self._last_action = action
        reward = 1.0 if self._state.winner != 0 else 0.0
        terminated = self.game.is_terminal(self._state)
        extra: dict[str, Any] = {}
        if not terminated and self._opponent is not None:
            extra["opponent_action"] = self._opponent_move()
            if self._state.winner != 0:
                reward = -1.0
            terminated = self.game.is_terminal(self._state)
        if self.render_mode == "human":
            self.render()
        return self._obs(), reward, terminated, False, self._info(**extra)

    def render(self):
        from envs.boardgames.render import BoardWindow, draw_board

        frame = draw_board(self.game, self._state, self._last_action)
        if self.render_mode == "rgb_array":
            return frame
        if self.render_mode == "human":
            if self._window is None:
                self._window = BoardWindow(self.game, title=type(self).__name__)
            self._window.show(frame, fps=self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
