"""The batched bitboard rules agree with the reference rules (``KInARowGame``) move by move
on thousands of random positions of both games: legal moves, wins, draws, planes."""

from __future__ import annotations

import numpy as np
import pytest

from envs.boardgames import ConnectFour, KInARowGame, TicTacToe
from envs.boardgames.bitboard import BitboardCore


@pytest.mark.parametrize(
    "game",
    [TicTacToe(), ConnectFour(), KInARowGame(5, 6, 5, False), KInARowGame(4, 5, 3, True)],
    ids=["tictactoe", "connect4", "5x6-k5", "4x5-k3-gravity"],
)
def test_bitboard_core_matches_reference_rules_on_random_games(game):
    core = game.batch_core()
    rng = np.random.default_rng(0)
    n = 300
    reference = [game.initial_state() for _ in range(n)]
    batch = core.initial(n)
    live = np.ones(n, dtype=bool)
    plies = 0
    while live.any():
        idx = np.flatnonzero(live)
        legal = core.legal(batch[idx])
        actions = []
        for row, i in enumerate(idx):
            state = reference[i]
            assert np.array_equal(legal[row], game.legal_mask(state))
            assert np.array_equal(core.encode(batch[i: i + 1])[0], game.encode(state))
            actions.append(int(rng.choice(game.legal_actions(state))))
        nxt, reward, terminal = core.step(batch[idx], np.array(actions))
        for row, (i, action) in enumerate(zip(idx, actions)):
            ref_next, ref_reward, ref_done = game.step(reference[i], action)
            assert reward[row] == ref_reward and terminal[row] == ref_done, (game.to_text(ref_next), action)
            assert np.array_equal(core.encode(nxt[row: row + 1])[0], game.encode(ref_next))
            assert nxt[row] == core.from_board(ref_next.board, ref_next.player)
            reference[i] = ref_next
            live[i] = not ref_done
        batch[idx] = nxt
        plies += 1
    assert plies >= 9
    assert np.array_equal(core.moves_played(batch), [s.moves for s in reference])


def test_bitboard_core_control_detects_a_wrong_rule():
    """Control: the same comparison fails for a core with the wrong k."""
    game = ConnectFour()
    wrong = BitboardCore(6, 7, 3, True)
    state, batch = game.initial_state(), wrong.initial(1)
    for action in (0, 6, 1, 6, 2):  # three in a row: a win only for k = 3
        state, ref_reward, _ = game.step(state, action)
        batch, reward, _ = wrong.step(batch, np.array([action]))
    assert ref_reward == 0.0 and reward[0] == 1.0


def test_bitboard_core_rejects_boards_over_64_bits():
    with pytest.raises(ValueError, match="64"):
        BitboardCore(8, 8, 5, False)
