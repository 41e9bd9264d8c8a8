"""Connect Four as a two-player Gymnasium environment (``simdrive/ConnectFour-v0``)."""

from __future__ import annotations

from envs.boardgames.base import BoardGameEnv, KInARowGame, OpponentFn


class ConnectFour(KInARowGame):
    """Connect Four rules: 6 rows x 7 columns, stones fall to the lowest empty cell of the
    chosen column, four in a row (horizontal, vertical or either diagonal) wins. Row 0 is the top."""

    name = "connect4"

    def __init__(self) -> None:
        super().__init__(rows=6, cols=7, k=4, gravity=True)


class ConnectFourEnv(BoardGameEnv):
    """Connect Four for two players sharing one environment (or one agent against a built-in opponent).

    ## Action space
    ``Discrete(7)``: the column to drop a stone into (0 = leftmost).

    ## Observation space
    ``Dict`` with

    | key           | space                               | meaning                                            |
    |---------------|-------------------------------------|----------------------------------------------------|
    | ``board``       | ``Box(0, 1, (2, 6, 7), float32)`` | plane 0: stones of the player to move; plane 1: opponent's (row 0 = top) |
    | ``action_mask`` | ``Box(0, 1, (7,), int8)``        | 1 where the column is not full (all 0 once the game is over) |

    ## Rewards
    From the point of view of the player who just moved: +1 for a winning move, 0 for any
    other legal move (a draw ends with 0). Dropping into a full column ends the episode with
    reward -1 and ``info["illegal_action"] = True`` (a documented loss, not an exception).
    With ``opponent="random"`` the env replies at once and rewards are the agent's:
    +1 win, -1 loss (the reply won, or an illegal move), 0 otherwise.

    ## Starting state
    An empty board; the first player moves. With an opponent, the agent's side is random
    (``np_random``) or ``reset(options={"agent_player": 0|1})``.

    ## Episode end
    Termination: four in a row, a full board (draw) or an illegal move. Truncation: the
    registered ``TimeLimit`` of 43 steps never binds (at most 42 moves).

    ## Arguments
    ``render_mode``: None, "human" (pygame window) or "rgb_array" (opencv drawing).
    ``opponent``: "none" (default), "random" or a callable ``(game, state, rng) -> action``.

    ## Planning interface
    ``env.unwrapped.game`` is the pure-functional :class:`ConnectFour` rules object;
    ``get_state()`` / ``set_state(state)`` / ``legal_actions()`` copy and restore positions.

    ## Version history
    * v0: initial version.
    """

    def __init__(self, render_mode: str | None = None, opponent: str | OpponentFn = "none") -> None:
        super().__init__(ConnectFour(), render_mode=render_mode, opponent=opponent)
