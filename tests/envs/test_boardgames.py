"""Board games: rules (wins in every direction, draws), masks, illegal moves, the opponent,
copy/restore, symmetries, checkers and rendering."""

from __future__ import annotations

import itertools
import warnings

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.boardgames import ConnectFour, TicTacToe
from envs.boardgames.render import CELL, MARGIN, pixel_to_action
from tests.agents.minimax import winner as reference_winner

IDS = ["simdrive/TicTacToe-v0", "simdrive/ConnectFour-v0"]


def play(game, actions):
    state = game.initial_state()
    for action in actions:
        state = game.next_state(state, action)
    return state


# --- tic-tac-toe rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
)
def test_tictactoe_every_line_wins(line):
    game = TicTacToe()
    others = [c for c in range(9) if c not in line]
    # X plays the line, O plays two cells off the line that do not form a line themselves
    moves = [line[0], others[0], line[1], others[1], line[2]]
    state = play(game, moves)
    assert state.winner == 1 and game.is_terminal(state)
    assert game.terminal_value(state) == -1.0  # for O, to move: lost
    assert not game.legal_mask(state).any()


def test_tictactoe_draw_and_agreement_with_reference():
    game = TicTacToe()
    state = play(game, [0, 4, 8, 1, 7, 6, 2, 5, 3])  # X O X / X O O / O X X -> full, no line
    assert game.is_terminal(state) and state.winner == 0 and game.terminal_value(state) == 0.0
    rng = np.random.default_rng(0)
    for _ in range(300):  # random games: our win detection agrees with the independent oracle
        state = game.initial_state()
        while not game.is_terminal(state):
            legal = game.legal_actions(state)
            state = game.next_state(state, int(rng.choice(legal)))
            assert state.winner == reference_winner(tuple(int(v) for v in state.board.reshape(-1)))


def test_next_state_raises_on_illegal_and_does_not_mutate():
    game = TicTacToe()
    state = play(game, [4])
    before = state.board.copy()
    with pytest.raises(ValueError, match=r"illegal move 4; legal moves: \[0, 1, 2, 3, 5, 6, 7, 8\]"):
        game.next_state(state, 4)
    nxt = game.next_state(state, 0)
    assert np.array_equal(state.board, before) and nxt.board[0, 0] == -1


# --- connect four rules ------------------------------------------------------------------


def test_connect_four_gravity_and_full_column():
    game = ConnectFour()
    state = play(game, [3, 3, 3])
    assert list(state.board[:, 3]) == [0, 0, 0, 1, -1, 1]
    state = play(game, [0] * 6)
    assert not game.legal_mask(state)[0] and game.legal_mask(state)[1:].all()
    with pytest.raises(ValueError, match="illegal move 0"):
        game.next_state(state, 0)


@pytest.mark.parametrize(
    "moves,winner",
    [
        ([0, 0, 1, 1, 2, 2, 3], 1),  # horizontal on the bottom row
        ([6, 0, 6, 1, 6, 2, 5, 3], -1),  # horizontal for the second player
        ([2, 3, 2, 3, 2, 3, 2], 1),  # vertical
        ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 1),  # diagonal going up to the right
        ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], 1),  # diagonal going up to the left
    ],
)
def test_connect_four_wins(moves, winner):
    game = ConnectFour()
    state = play(game, moves[:-1])
    assert state.winner == 0 and not game.is_terminal(state)
    state = game.next_state(state, moves[-1])
    assert state.winner == winner and game.is_terminal(state)
    assert game.winner_of_board(state.board) == winner


def test_connect_four_draw():
    game = ConnectFour()
    # fills the board with rows XXOOXXO / OOXXOOX alternating from the bottom: no line anywhere
    order = [0] * 6 + [1] * 6 + [4] + [2] * 6 + [3] * 6 + [4] * 5 + [5] * 5 + [6] * 6 + [5]
    state = game.initial_state()
    for action in order:
        assert state.winner == 0, game.to_text(state)
        state = game.next_state(state, action)
    assert state.moves == 42 and state.winner == 0 and game.is_terminal(state)
    assert game.terminal_value(state) == 0.0


def test_fast_rollout_matches_rules():
    """The list-based rollout returns +1/-1/0 consistently with next_state (same rng stream)."""
    for game in (TicTacToe(), ConnectFour()):
        rng = np.random.default_rng(1)
        values = [game.rollout(game.initial_state(), rng) for _ in range(400)]
        assert set(values) <= {-1.0, 0.0, 1.0}
        assert values.count(1.0) > values.count(-1.0)  # the first player wins more random games
    game = TicTacToe()
    assert game.rollout(play(game, [0, 3, 1, 4, 2]), np.random.default_rng(0)) == -1.0  # terminal: O lost


# --- the environments --------------------------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("opponent", ["none", "random"])
def test_checkers_pass(env_id, opponent):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id, opponent=opponent, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_observation_is_from_player_to_move_and_mask(env_id):
    env = gym.make(env_id)
    obs, info = env.reset(seed=0)
    assert obs["board"].sum() == 0 and obs["action_mask"].all() and info["to_play"] == 0
    obs, reward, terminated, truncated, info = env.step(0)
    assert reward == 0.0 and not terminated and info["to_play"] == 1
    # the stone just played is the opponent's (plane 1) from the new mover's point of view
    assert obs["board"][1].sum() == 1 and obs["board"][0].sum() == 0
    assert env.observation_space.contains(obs)


def test_tictactoe_env_rewards_and_illegal_move_loss():
    env = gym.make("simdrive/TicTacToe-v0")
    env.reset(seed=0)
    for action in (0, 3, 1, 4):
        _, reward, terminated, _, _ = env.step(action)
        assert reward == 0.0 and not terminated
    _, reward, terminated, _, info = env.step(2)  # X completes the top row
    assert reward == 1.0 and terminated and info["winner"] == 1
    with pytest.raises(RuntimeError, match="reset"):
        env.step(5)
    env.reset(seed=0)
    env.step(4)
    obs, reward, terminated, truncated, info = env.step(4)  # occupied: a documented loss
    assert reward == -1.0 and terminated and not truncated and info["illegal_action"]
    assert info["legal_actions"] == [0, 1, 2, 3, 5, 6, 7, 8]


def test_random_opponent_env_is_seeded_and_scores_agent():
    env = gym.make("simdrive/ConnectFour-v0", opponent="random")

    def rollout(seed):
        obs, _ = env.reset(seed=seed)
        history, total, done = [obs["board"].copy()], 0.0, False
        while not done:
            action = int(np.flatnonzero(obs["action_mask"])[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            history.append(obs["board"].copy())
            done = terminated or truncated
        return history, total

    a, b = rollout(3), rollout(3)
    assert len(a[0]) == len(b[0]) and all(np.array_equal(x, y) for x, y in zip(a[0], b[0]))
    assert a[1] in (-1.0, 0.0, 1.0)
    # agent_player fixes the side: second -> the opponent has already moved at reset
    obs, _ = env.reset(seed=0, options={"agent_player": 1})
    assert obs["board"][1].sum() == 1 and obs["board"][0].sum() == 0
    obs, _ = env.reset(seed=0, options={"agent_player": 0})
    assert obs["board"].sum() == 0
    with pytest.raises(ValueError, match="agent_player"):
        env.reset(options={"agent_player": 2})
    # an opponent that always wins quickly: the agent's reward is -1 when the reply wins
    env = gym.make("simdrive/TicTacToe-v0", opponent=lambda game, state, rng: int(game.legal_actions(state)[-1]))
    env.reset(seed=0, options={"agent_player": 0})
    rewards = [env.step(a)[1] for a in (0, 1)]  # opponent takes 8, 7; then 6 completes its bottom row
    _, reward, terminated, _, info = env.step(3)
    assert rewards == [0.0, 0.0] and reward == -1.0 and terminated and info["opponent_action"] == 6


@pytest.mark.parametrize("env_id", IDS)
def test_get_set_state_restores_exactly(env_id):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    for action in (1, 2, 1):
        env.step(action)
    saved = env.get_state()
    obs_saved = env._obs()
    legal_saved = env.legal_actions().copy()
    trajectory = [env.step(int(a))[1] for a in env.legal_actions()[:1]]
    env.step(int(env.legal_actions()[0]))
    env.set_state(saved)
    assert np.array_equal(env._obs()["board"], obs_saved["board"])
    assert np.array_equal(env.legal_actions(), legal_saved)
    assert [env.step(int(a))[1] for a in env.legal_actions()[:1]] == trajectory
    # the state from an observation is the canonical position (player to move = +1)
    canonical = env.game.state_from_obs(obs_saved)
    assert np.array_equal(env.game.encode(canonical), obs_saved["board"])


def test_tictactoe_symmetries_preserve_policy_mapping():
    game = TicTacToe()
    state = play(game, [0, 5])  # X at (0,0), O at (1,2): asymmetric position
    planes = game.encode(state)
    policy = np.arange(9, dtype=np.float64)  # a distinct probability mass per cell
    syms = game.symmetries(planes, policy)
    assert len(syms) == 8
    seen = set()
    for sym_planes, sym_policy in syms:
        # the mass that was on each cell moved together with the cell's content
        for cell in range(9):
            r, c = divmod(cell, 3)
            original = np.flatnonzero(policy == sym_policy[cell])[0]
            orow, ocol = divmod(int(original), 3)
            assert np.array_equal(sym_planes[:, r, c], planes[:, orow, ocol])
        seen.add(sym_planes.tobytes())
        # legality maps the same way: empty cells in the image <-> legal moves of the image
        sym_state = game.state_from_obs({"board": sym_planes})
        assert np.array_equal(game.legal_mask(sym_state), sym_planes.sum(0).reshape(-1) == 0)
    assert len(seen) == 8


def test_connect_four_mirror_symmetry():
    game = ConnectFour()
    state = play(game, [0, 1, 1])
    planes = game.encode(state)
    policy = np.array([0.5, 0.2, 0.1, 0.1, 0.05, 0.05, 0.0])
    (p0, pi0), (p1, pi1) = game.symmetries(planes, policy)
    assert np.array_equal(p0, planes) and np.array_equal(pi0, policy)
    assert np.array_equal(p1, planes[:, :, ::-1]) and np.array_equal(pi1, policy[::-1])
    mirrored = play(game, [6, 5, 5])
    assert np.array_equal(game.encode(mirrored), p1)


@pytest.mark.parametrize("env_id", IDS)
def test_rgb_render_and_click_mapping(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    empty = env.render()
    env.step(2)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert not np.array_equal(empty, frame)
    game = env.unwrapped.game
    for action in range(game.n_actions):
        if game.gravity:
            col, row = action, game.rows - 1
        else:
            row, col = divmod(action, game.cols)
        x, y = MARGIN + col * CELL + CELL // 2, MARGIN + row * CELL + CELL // 2
        assert pixel_to_action(game, x, y) == action
    assert pixel_to_action(game, 1, 1) is None


def test_pygame_event_to_action_and_human_window():
    pygame = pytest.importorskip("pygame")
    from envs.boardgames.render import event_to_action

    game = TicTacToe()
    state = play(game, [4])
    click = lambda cell: pygame.event.Event(  # noqa: E731
        pygame.MOUSEBUTTONDOWN, pos=(MARGIN + (cell % 3) * CELL + 5, MARGIN + (cell // 3) * CELL + 5), button=1
    )
    assert event_to_action(click(8), game, state) == 8
    assert event_to_action(click(4), game, state) is None  # occupied
    assert event_to_action(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a), game, state) is None
    env = gym.make("simdrive/ConnectFour-v0", render_mode="human")
    env.reset(seed=0)
    env.step(3)
    env.close()


def test_same_seed_same_rollout_with_opponent():
    for env_id in IDS:
        results = []
        for _ in range(2):
            env = gym.make(env_id, opponent="random")
            obs, _ = env.reset(seed=11)
            rng = np.random.default_rng(0)
            boards = []
            for _ in itertools.count():
                action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
                obs, _, terminated, truncated, _ = env.step(action)
                boards.append(obs["board"].tobytes())
                if terminated or truncated:
                    break
            results.append(boards)
        assert results[0] == results[1]
