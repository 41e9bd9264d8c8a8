"""Tic-tac-toe as a two-player Gymnasium environment (``simdrive/TicTacToe-v0``)."""

from __future__ import annotations

from envs.boardgames.base import BoardGameEnv, KInARowGame, OpponentFn


class TicTacToe(KInARowGame):
    """Tic-tac-toe rules: 3x3 board, three in a row (row, column or diagonal) wins.
    Action ``a`` marks cell ``(a // 3, a % 3)``."""

    name = "tictactoe"

    def __init__(self) -> None:
        super().__init__(rows=3, cols=3, k=3, gravity=False)


class TicTacToeEnv(BoardGameEnv):
    """Tic-tac-toe for two players sharing one environment (or one agent against a built-in opponent).

    ## Action space
    ``Discrete(9)``: the cell to mark, ``row * 3 + col`` (0 = top-left, 8 = bottom-right).

    ## Observation space
    ``Dict`` with

    | key           | space                               | meaning                                            |
    |---------------|-------------------------------------|----------------------------------------------------|
    | ``board``       | ``Box(0, 1, (2, 3, 3), float32)`` | plane 0: stones of the player to move; plane 1: opponent's |
    | ``action_mask`` | ``Box(0, 1, (9,), int8)``        | 1 where the cell is empty (all 0 once the game is over) |

    The observation is always from the point of view of the player to move.

    ## Rewards
    From the point of view of the player who just moved: +1 for a winning move, 0 for any
    other legal move (a draw ends with 0). An illegal move (occupied cell) ends the episode
    with reward -1 and ``info["illegal_action"] = True`` (a documented loss, not an exception).
    With ``opponent="random"`` the env replies at once and rewards are the agent's:
    +1 win, -1 loss (the reply won, or an illegal move), 0 otherwise.

    ## Starting state
    An empty board; the first player ("X") moves. With an opponent, the agent's side is
    random (``np_random``) or ``reset(options={"agent_player": 0|1})``.

    ## Episode end
    Termination: three in a row, a full board (draw) or an illegal move. Truncation: the
    registered ``TimeLimit`` of 10 steps never binds (at most 9 moves).

    ## Arguments
    ``render_mode``: None, "human" (pygame window) or "rgb_array" (opencv drawing).
    ``opponent``: "none" (default, the caller plays both sides), "random" (seeded random
    replies) or a callable ``(game, state, rng) -> action``.

    ## Planning interface
    ``env.unwrapped.game`` is the pure-functional :class:`TicTacToe` rules object;
    ``get_state()`` / ``set_state(state)`` / ``legal_actions()`` copy and restore positions.

    ## Version history
    * v0: initial version.
    """

    def __init__(self, render_mode: str | None = None, opponent: str | OpponentFn = "none") -> None:
        super().__init__(TicTacToe(), render_mode=render_mode, opponent=opponent)
