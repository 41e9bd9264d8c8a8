"""A perfect tic-tac-toe player for the tests: negamax with memoization over all positions.

Written independently of ``envs.boardgames`` (its own win lines), so it can judge them.
A board is a tuple of 9 ints (+1 first player, -1 second, 0 empty), row-major.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def winner(board: tuple[int, ...]) -> int:
    for a, b, c in LINES:
        if board[a] != 0 and board[a] == board[b] == board[c]:
            return board[a]
    return 0


def to_move(board: tuple[int, ...]) -> int:
    return 1 if sum(1 for v in board if v == 1) == sum(1 for v in board if v == -1) else -1


@lru_cache(maxsize=None)
def value(board: tuple[int, ...]) -> int:
    """Game value for the player to move under perfect play: +1 win, 0 draw, -1 loss."""
    if winner(board) != 0:
        return -1  # the previous mover made the line
    if all(v != 0 for v in board):
        return 0
    player = to_move(board)
    return max(-value(board[:i] + (player,) + board[i + 1:]) for i in range(9) if board[i] == 0)


def optimal_moves(board: tuple[int, ...]) -> list[int]:
    """All moves that keep the best achievable value for the player to move."""
    player = to_move(board)
    moves = [i for i in range(9) if board[i] == 0]
    scores = {i: -value(board[:i] + (player,) + board[i + 1:]) for i in moves}
    best = max(scores.values())
    return [i for i in moves if scores[i] == best]


class PerfectPlayer:
    """Plays an optimal move, chosen at random (seeded) among the optimal ones."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def move(self, board: tuple[int, ...]) -> int:
        moves = optimal_moves(board)
        return int(moves[self.rng.integers(len(moves))])


def board_key(absolute_board: np.ndarray) -> tuple[int, ...]:
    """A (3, 3) int board as the tuple this module uses."""
    return tuple(int(v) for v in np.asarray(absolute_board).reshape(-1))


def exhaustive_results(choose, game, opponent_moves="optimal") -> dict[str, int]:
    """Play a deterministic player ``choose(state) -> action`` (on ``envs.boardgames``
    states) from both sides against *every* line of the opponent: all optimal replies
    (``"optimal"``, i.e. every perfect player) or all legal replies (``"all"``).
    Returns counts of the player's wins, draws and losses over all leaves of that tree."""
    counts = {"wins": 0, "draws": 0, "losses": 0}
    cache: dict[bytes, int] = {}

    def act(state):
        key = state.board.tobytes()
        if key not in cache:
            cache[key] = int(choose(state))
        return cache[key]

    def walk(state, me):
        if game.is_terminal(state):
            key = "draws" if state.winner == 0 else ("wins" if state.winner == me else "losses")
            counts[key] += 1
            return
        if state.player == me:
            walk(game.next_state(state, act(state)), me)
            return
        replies = optimal_moves(board_key(state.board)) if opponent_moves == "optimal" else game.legal_actions(state)
        for move in replies:
            walk(game.next_state(state, int(move)), me)

    for me in (1, -1):
        walk(game.initial_state(), me)
    return counts
