"""A batched, bitboard form of the k-in-a-row rules: many positions advanced by one numpy call.

The same rules as :class:`envs.boardgames.base.KInARowGame`, for search code that keeps
thousands of positions in arrays (``agents.alphazero``'s batched tree search) instead of
one :class:`BoardState` object each. A game exposes it as ``game.batch_core()``.

Layout (John Tromp's Connect Four bitboard, generalised): the cell in bitboard row ``h``
(0 = bottom) of column ``c`` is bit ``c * (rows + 1) + h``. Each column carries one
always-empty sentinel bit on top, so shifting a board by

* 1 (vertical), ``rows + 1`` (horizontal), ``rows`` and ``rows + 2`` (the two diagonals)

never carries a stone from one column's edge into the next. ``k`` stones in a row along
direction ``d`` exist iff ``b & (b >> d) & (b >> 2d) & ... & (b >> (k-1)d)`` is non-zero.
Boards up to ``(rows + 1) * cols <= 64`` bits fit (Connect Four: 49, tic-tac-toe: 12).

A batch of positions is a structured array of :data:`STATE_DTYPE`:
``own`` (stones of the player to move) and ``both`` (all stones), as uint64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STATE_DTYPE = np.dtype([("own", np.uint64), ("both", np.uint64)])
"""One position: ``own`` = stones of the player to move, ``both`` = every stone (bitboards)."""

_ONE = np.uint64(1)


class BitboardCore:
    """Batched k-in-a-row rules on uint64 bitboards (see the module docstring).

    Conventions match :class:`~envs.boardgames.base.KInARowGame`: actions are columns with
    gravity and cells ``row * cols + col`` (row 0 = top) without; ``step`` returns the
    mover's reward (+1 if the move makes k in a row, else 0) and whether the game is over;
    ``encode`` gives (2, rows, cols) planes from the point of view of the player to move.
    """

    state_dtype = STATE_DTYPE

    def __init__(self, rows: int, cols: int, k: int, gravity: bool) -> None:
        height = rows + 1
        if height * cols > 64:
            raise ValueError(f"a {rows}x{cols} board needs {height * cols} bits; bitboards hold 64")
        self.rows, self.cols, self.k, self.gravity = rows, cols, k, gravity
        self.n_actions = cols if gravity else rows * cols
        self.input_shape = (2, rows, cols)
        # bit index of every cell, in the env's (row 0 = top, col) order
        cell_bit = np.array([[c * height + (rows - 1 - r) for c in range(cols)] for r in range(rows)], dtype=np.uint64)
        self._cell_shift = cell_bit.reshape(-1)  # (rows * cols,) shift amounts
        self._full = np.uint64(sum(1 << int(b) for b in self._cell_shift))
        self._shifts = tuple(np.uint64(d) for d in (1, height, height - 1, height + 1))
        if gravity:
            self._bottom = np.array([1 << (c * height) for c in range(cols)], dtype=np.uint64)
            self._column = np.array([((1 << rows) - 1) << (c * height) for c in range(cols)], dtype=np.uint64)
            self._top = np.array([1 << (c * height + rows - 1) for c in range(cols)], dtype=np.uint64)
        else:
            self._cell = (_ONE << self._cell_shift).astype(np.uint64)

    # --- positions ---------------------------------------------------------------------

    def initial(self, n: int) -> np.ndarray:
        """``n`` empty boards, first player to move."""
        return np.zeros(n, dtype=STATE_DTYPE)

    def from_board(self, board: np.ndarray, player: int) -> np.void:
        """One position from a (rows, cols) board of +1/-1/0 and the player to move (+1/-1)."""
        flat = np.asarray(board).reshape(-1)
        bits = _ONE << self._cell_shift
        state = np.zeros((), dtype=STATE_DTYPE)
        state["own"] = np.bitwise_or.reduce(np.where(flat == player, bits, np.uint64(0)))
        state["both"] = np.bitwise_or.reduce(np.where(flat != 0, bits, np.uint64(0)))
        return state

    def from_states(self, states: list[Any]) -> np.ndarray:
        """Positions from objects with ``board`` and ``player`` (``BoardState``)."""
        out = np.zeros(len(states), dtype=STATE_DTYPE)
        for i, state in enumerate(states):
            out[i] = self.from_board(state.board, state.player)
        return out

    def legal(self, states: np.ndarray) -> np.ndarray:
        """(n, n_actions) bool: the actions that are legal if the game is not over."""
        both = states["both"][:, None]
        if self.gravity:
            return (both & self._top[None, :]) == 0
        return (both & self._cell[None, :]) == 0

    def has_line(self, stones: np.ndarray) -> np.ndarray:
        """(n,) bool: whether ``stones`` (uint64 bitboards) hold k in a row."""
        found = np.zeros(stones.shape, dtype=bool)
        for d in self._shifts:
            # runs[L] marks the first stone of L in a row; runs[a + b] = runs[a] & (runs[b] >> a*d)
            run, length = stones, 1
            while 2 * length <= self.k:
                run = run & (run >> (d * np.uint64(length)))
                length *= 2
            if length < self.k:
                rest = self.k - length  # < length: a run of `rest` starting `length` cells on
                head = stones
                for i in range(1, rest):
                    head = head & (stones >> (d * np.uint64(i)))
                run = run & (head >> (d * np.uint64(length)))
            found |= run != 0
        return found

    def step(self, states: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Play ``actions`` (legal, games not over) in ``states``: (next states, mover's reward
        (n,) float32, terminal (n,) bool). The next state is from the opponent's point of view."""
        actions = np.asarray(actions, dtype=np.intp)
        own, both = states["own"], states["both"]
        if self.gravity:
            move = (both + self._bottom[actions]) & self._column[actions]
        else:
            move = self._cell[actions]
        mover = own | move
        both = both | move
        won = self.has_line(mover)
        out = np.empty(len(states), dtype=STATE_DTYPE)
        out["own"] = both ^ mover
        out["both"] = both
        return out, won.astype(np.float32), won | (both == self._full)

    def encode(self, states: np.ndarray) -> np.ndarray:
        """(n, 2, rows, cols) float32: plane 0 the stones of the player to move, plane 1 the opponent's."""
        shift = self._cell_shift[None, :]
        own = (states["own"][:, None] >> shift) & _ONE
        opp = ((states["both"] ^ states["own"])[:, None] >> shift) & _ONE
        planes = np.stack([own, opp], axis=1).astype(np.float32)
        return planes.reshape(len(states), 2, self.rows, self.cols)

    def moves_played(self, states: np.ndarray) -> np.ndarray:
        """(n,) int: stones on the board."""
        return np.bitwise_count(states["both"]).astype(np.int64)
