"""UCT-MCTS: never loses tic-tac-toe to a perfect player, tactics in Connect Four, plans on
grid worlds and mazes through their tabular model, determinism and the agent protocol."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.mcts import MCTSAgent, MCTSConfig
from tests.agents.minimax import PerfectPlayer, board_key


def obs_of(game, state):
    return {"board": game.encode(state), "action_mask": game.legal_mask(state).astype(np.int8)}


def play_vs_perfect(agent, env, agent_first: bool, seed: int) -> int:
    """Result for the agent: +1 win, 0 draw, -1 loss."""
    perfect = PerfectPlayer(seed)
    game = env.unwrapped.game
    state = game.initial_state()
    agent_player = 1 if agent_first else -1
    while not game.is_terminal(state):
        if state.player == agent_player:
            action = agent.act(obs_of(game, state))
        else:
            action = perfect.move(board_key(state.board))
        state = game.next_state(state, action)
    return 0 if state.winner == 0 else (1 if state.winner == agent_player else -1)


def make_agent(env, seed=0, **config):
    agent = MCTSAgent(env.observation_space, env.action_space, MCTSConfig(**config), seed=seed)
    agent.bind_env(env)
    return agent


def test_mcts_never_loses_to_perfect_player():
    env = gym.make("simdrive/TicTacToe-v0")
    results = []
    for seed in range(4):
        agent = make_agent(env, seed=seed, simulations=2500)
        results += [play_vs_perfect(agent, env, True, seed), play_vs_perfect(agent, env, False, seed)]
    assert min(results) >= 0, results
    assert agent.simulations_per_second > 0


def test_weak_mcts_does_lose_to_perfect_player():
    """Control for the test above: with 5 simulations the same games are lost sometimes."""
    env = gym.make("simdrive/TicTacToe-v0")
    results = []
    for seed in range(6):
        agent = make_agent(env, seed=seed, simulations=5)
        results += [play_vs_perfect(agent, env, True, seed), play_vs_perfect(agent, env, False, seed)]
    assert min(results) == -1


def test_connect_four_takes_win_and_blocks():
    env = gym.make("simdrive/ConnectFour-v0")
    game = env.unwrapped.game
    agent = make_agent(env, simulations=300)
    state = game.initial_state()
    for action in (0, 6, 1, 6, 2):  # first player threatens 0-1-2-3; second to move must block 3
        state = game.next_state(state, action)
    assert agent.act(obs_of(game, state)) == 3
    state = game.initial_state()
    for action in (0, 6, 1, 6, 2, 5):  # now the first player to move wins with 3
        state = game.next_state(state, action)
    assert agent.act(obs_of(game, state)) == 3


def test_act_is_deterministic_and_needs_a_model():
    env = gym.make("simdrive/ConnectFour-v0")
    obs, _ = env.reset(seed=0)
    a = make_agent(env, seed=3, simulations=100)
    b = make_agent(env, seed=3, simulations=100)
    assert [a.act(obs) for _ in range(2)] == [b.act(obs)] * 2
    unbound = MCTSAgent(env.observation_space, env.action_space, MCTSConfig(simulations=10))
    with pytest.raises(RuntimeError, match="bind_env"):
        unbound.act(obs)


def test_plans_on_gridworld_with_the_tabular_model():
    env = gym.make("simdrive/GridWorld4x4-v0")
    agent = make_agent(env, simulations=300)
    for start in (12, 6, 1, 11, 9):
        row, col = divmod(start, 4)
        shortest = min(row + col, 6 - row - col)  # to the nearer terminal corner
        obs, _ = env.reset(seed=0, options={"start_state": start})
        steps, done = 0, False
        while not done:
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            steps += 1
            done = terminated or truncated
        assert terminated and steps == shortest, (start, steps)


def test_plans_on_a_maze_including_slippery_moves():
    layout = "S..#\n.#.G\n...."
    env = gym.make("simdrive/Maze-v0", layout=layout)
    agent = make_agent(env, simulations=200)
    obs, _ = env.reset(seed=0)
    total, steps, done = 0.0, 0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        total += reward
        steps += 1
        done = terminated or truncated
    assert terminated and steps == 4, steps  # the shortest path
    slippery = gym.make("simdrive/Maze-v0", layout=layout, slip_prob=0.2)
    agent = make_agent(slippery, simulations=200)
    assert not agent._search.model.deterministic
    reached = 0
    for seed in range(4):
        obs, _ = slippery.reset(seed=seed)
        for _ in range(30):
            obs, reward, terminated, truncated, _ = slippery.step(agent.act(obs))
            if terminated:
                reached += 1
                break
    assert reached == 4


def test_train_reports_and_checkpoint_roundtrip(tmp_path):
    env = gym.make("simdrive/TicTacToe-v0", opponent="random")
    agent = MCTSAgent(env.observation_space, env.action_space, MCTSConfig(simulations=50), seed=0)

    class Record(Callbacks):
        def __init__(self):
            self.episodes, self.metrics = [], []

        def on_episode_end(self, step, episode_return, episode_length):
            self.episodes.append(episode_return)

        def on_metrics(self, step, metrics):
            self.metrics.append(dict(metrics))

    record = Record()
    agent.train(env, Budget(episodes=3), record)
    assert len(record.episodes) == 3 and all(r in (-1.0, 0.0, 1.0) for r in record.episodes)
    assert record.metrics[-1]["simulations_per_second"] > 0
    path = save_checkpoint(tmp_path / "m.sdckpt", agent="mcts", config=agent.config, env_id="simdrive/TicTacToe-v0", state=agent.state_dict())
    ckpt = load_checkpoint(path)
    restored = MCTSAgent(env.observation_space, env.action_space, MCTSConfig(**ckpt.config), seed=0)
    restored.load_state_dict(ckpt.state)
    restored.bind_env(env)
    obs, _ = env.reset(seed=1)
    assert restored.act(obs) == agent.act(obs)
    assert agent.eval_env_kwargs == {"opponent": "random"}
    grid = gym.make("simdrive/GridWorld4x4-v0")
    assert MCTSAgent(grid.observation_space, grid.action_space).eval_env_kwargs == {}


def test_check_env_rejects_env_without_model():
    env = gym.make("CartPole-v1")
    with pytest.raises(IncompatibleEnvironment, match="model"):
        MCTSAgent.check_env(env)
    with pytest.raises(ValueError, match="simulations"):
        MCTSConfig(simulations=0)


def test_play_agent_vs_agent_and_human_by_mouse(capsys):
    """simdrive.play: MCTS vs random alternating starts; a scripted 'human' clicking cells."""
    pygame = pytest.importorskip("pygame")
    from envs.boardgames.render import CELL, MARGIN
    from simdrive.play import play

    summary = play("mcts:300", vs="random", games=4, env_id="simdrive/TicTacToe-v0", seed=0, verbose=True)
    assert summary.total.games == 4 and summary.total.losses == 0 and summary.total.wins >= 2
    assert summary.a_first.games == 2 and summary.b_first.games == 2
    assert "A's score" in capsys.readouterr().out

    env = gym.make("simdrive/TicTacToe-v0")
    agent = make_agent(env, simulations=500)
    pygame.display.init()

    def click(cell):
        row, col = divmod(cell, 3)
        pos = (MARGIN + col * CELL + CELL // 2, MARGIN + row * CELL + CELL // 2)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))

    # the human moves second and plays cells in order, skipping occupied ones (clicks on
    # occupied cells are ignored by the window); then closes the window at the end screen
    for cell in (0, 1, 2, 3, 5, 6, 7, 8):
        click(cell)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    summary = play(agent, vs="human", games=1, env_id="simdrive/TicTacToe-v0", verbose=False)
    assert summary.total.games == 1 and summary.total.losses == 0

