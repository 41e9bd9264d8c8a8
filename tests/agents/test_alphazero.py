"""AlphaZero: PUCT search signs and batching, self-play targets, resumable state, and the
learning test: trained on tic-tac-toe within a CI budget it never loses to a perfect player."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from agents.alphazero import AlphaZeroAgent, AlphaZeroConfig
from agents.alphazero.arena import play_match
from agents.alphazero.coach import self_play
from agents.alphazero.game import GameAdapter
from agents.alphazero.search import PUCTSearch, best_action
from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.checkpoint import load_checkpoint, save_checkpoint
from tests.agents.minimax import exhaustive_results

TINY = dict(channels=8, blocks=1, value_hidden=8, simulations=8, eval_simulations=8, games_per_iteration=4,
            train_steps=3, batch_size=16, arena_games=2, arena_simulations=4)


class Uniform:
    """A stand-in network: uniform priors over legal moves, value 0; counts calls."""

    def __init__(self):
        self.calls = 0
        self.positions = 0

    def __call__(self, planes, masks):
        self.calls += 1
        self.positions += len(planes)
        priors = masks / masks.sum(axis=1, keepdims=True)
        return priors, np.zeros(len(planes))


class Record(Callbacks):
    def __init__(self):
        self.metrics, self.episodes, self.calls = [], [], 0

    def on_metrics(self, step, metrics):
        self.metrics.append(dict(metrics))

    def on_episode_end(self, step, episode_return, episode_length):
        self.episodes.append((step, episode_return, episode_length))


def c4_after(moves):
    game = GameAdapter(gym.make("simdrive/ConnectFour-v0").unwrapped.game)
    state = game.initial_state()
    for move in moves:
        state = game.step(state, move)[0]
    return game, state


@pytest.mark.parametrize("leaf_batch", [1, 8])
def test_puct_takes_wins_and_blocks_with_uniform_network(leaf_batch):
    evaluate = Uniform()
    game, state = c4_after([0, 6, 1, 6, 2, 5])  # first player to move wins at 3
    search = PUCTSearch(game, c_puct=1.5, leaf_batch=leaf_batch)
    root = search.new_root(state)
    search.run([root], evaluate, 200)
    assert best_action(root) == 3
    assert root.n.sum() == 200 and search.simulations == 200
    game, state = c4_after([0, 6, 1, 6, 2])  # second player must block at 3
    root = search.new_root(state)
    search.run([root], evaluate, 400)
    assert best_action(root) == 3


def test_virtual_loss_batches_leaves_into_fewer_network_calls():
    game, state = c4_after([3])
    single, batched = Uniform(), Uniform()
    PUCTSearch(game, leaf_batch=1).run([PUCTSearch(game).new_root(state)], single, 64)
    search = PUCTSearch(game, leaf_batch=8)
    roots = [search.new_root(state) for _ in range(3)]
    search.run(roots, batched, 64)
    assert single.calls == 65  # root expansion + one leaf per call
    assert batched.calls < 20 and batched.positions >= 3 * 64 * 0.9  # several trees x several leaves per call
    assert all(root.n.sum() == 64 for root in roots)


def test_self_play_targets_and_symmetry_augmentation():
    env = gym.make("simdrive/TicTacToe-v0")
    game = GameAdapter(env.unwrapped.game)
    search = PUCTSearch(game, dirichlet_alpha=1.0, dirichlet_eps=0.25)
    examples, stats = self_play(game, search, Uniform(), 6, 16, 2, np.random.default_rng(0))
    assert stats.games == 6 and len(examples) == 8 * stats.moves  # 8 dihedral copies per position
    assert np.allclose(examples.policies.sum(axis=1), 1.0)
    # replay each game's first copies: z is +1 for the player who moved last if it won
    offset = 0
    for length, first_return in zip(stats.lengths, stats.first_player_returns):
        values = examples.values[offset: offset + 8 * length: 8]
        assert set(np.unique(np.abs(values))) <= {0.0, 1.0}
        if first_return != 0:
            assert values[-1] == 1.0  # the last mover won
            assert np.all(values[::2] == first_return)  # even plies: the first player
            assert np.all(values[1::2] == -first_return)
        planes = examples.planes[offset: offset + 8 * length: 8]
        assert np.all(planes[:, :2].sum(axis=(1, 2, 3)) == np.arange(length))  # stones on the board
        offset += 8 * length
    assert offset == len(examples)


def test_arena_counts_from_player_a_point_of_view():
    env = gym.make("simdrive/TicTacToe-v0")
    game = GameAdapter(env.unwrapped.game)
    first_legal = lambda states: [int(np.flatnonzero(game.legal_mask(s))[0]) for s in states]  # noqa: E731

    def smart(states):  # takes a winning move if there is one, else the first legal
        out = []
        for s in states:
            legal = np.flatnonzero(game.legal_mask(s))
            wins = [a for a in legal if game.step(s, int(a))[1] > 0]
            out.append(int(wins[0]) if wins else int(legal[0]))
        return out

    result = play_match(game, first_legal, first_legal, 4, np.random.default_rng(0))
    assert result.wins == 2 and result.losses == 2  # the starter always wins this mirror match
    result = play_match(game, smart, first_legal, 10, np.random.default_rng(0), opening_moves=1)
    assert result.wins > result.losses


def test_policy_only_act_without_env_and_check_env():
    env = gym.make("simdrive/ConnectFour-v0")
    agent = AlphaZeroAgent(env.observation_space, env.action_space, AlphaZeroConfig(**TINY), seed=0)
    obs, _ = env.reset(seed=0)
    obs["action_mask"][:] = 0
    obs["action_mask"][5] = 1
    assert agent.act(obs) == 5  # no env bound: the masked network policy
    with pytest.raises(IncompatibleEnvironment):
        AlphaZeroAgent.check_env(gym.make("simdrive/GridWorld4x4-v0"))
    with pytest.raises(ValueError, match="simulations"):
        AlphaZeroConfig(simulations=0)


def test_resume_from_checkpoint_matches_uninterrupted_training(tmp_path):
    torch.set_num_threads(1)
    env = gym.make("simdrive/ConnectFour-v0")
    config = AlphaZeroConfig(**TINY)

    straight = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=5)
    record = Record()
    straight.train(env, Budget(episodes=8), record)
    assert straight.iteration == 2 and len(record.episodes) == 8
    for key in ("loss_policy", "loss_value", "selfplay_game_length", "selfplay_simulations_per_second", "arena_win_rate", "promoted"):
        assert key in record.metrics[-1], key

    first = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=5)
    first.train(env, Budget(episodes=4), Callbacks())
    path = save_checkpoint(tmp_path / "az.sdckpt", agent="alphazero", config=config, env_id="simdrive/ConnectFour-v0", state=first.state_dict())
    ckpt = load_checkpoint(path)
    resumed = AlphaZeroAgent(env.observation_space, env.action_space, AlphaZeroConfig(**ckpt.config), seed=5)
    resumed.load_state_dict(ckpt.state)
    assert resumed.iteration == 1 and len(resumed.replay) == 1
    resumed.train(env, Budget(episodes=8), Callbacks())
    assert resumed.iteration == 2 and resumed.episodes == 8
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)
    obs, _ = env.reset(seed=0)
    assert straight.act(obs) == resumed.act(obs)


@pytest.mark.slow
def test_alphazero_learns_tictactoe_and_never_loses_to_perfect_player():
    torch.set_num_threads(1)
    env = gym.make("simdrive/TicTacToe-v0")
    game = env.unwrapped.game
    # the defaults (50 simulations per self-play move, 100 per evaluation move, 32 games per
    # iteration, arena gating) with a smaller network and fewer gradient steps per iteration
    config = AlphaZeroConfig(channels=32, blocks=2, train_steps=50)
    agent = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=0)

    def choose(state):  # deterministic play: temperature 0, no noise
        return agent.act({"board": game.encode(state), "action_mask": game.legal_mask(state).astype(np.int8)})

    agent.bind_env(env)
    before = exhaustive_results(choose, game, "all")
    assert before["losses"] > 0  # control: the same search with an untrained network does lose

    record = Record()
    start = time.perf_counter()
    agent.train(env, Budget(steps=4000), record)  # 16 iterations of 32 games
    elapsed = time.perf_counter() - start
    assert agent.steps >= 2500 and elapsed < 150
    assert record.metrics[-1]["loss_value"] < record.metrics[0]["loss_value"]
    against_perfect = exhaustive_results(choose, game, "optimal")  # every perfect player, both sides
    assert against_perfect["losses"] == 0, against_perfect
    against_anyone = exhaustive_results(choose, game, "all")  # every opponent line, both sides
    assert against_anyone["losses"] == 0, against_anyone
    assert against_anyone["wins"] > 0


def test_play_checkpoint_against_mcts(tmp_path):
    from simdrive.play import load_agent, play

    env = gym.make("simdrive/TicTacToe-v0")
    config = AlphaZeroConfig(**TINY)
    agent = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=0)
    path = save_checkpoint(tmp_path / "az.sdckpt", agent="alphazero", config=config, env_id="simdrive/TicTacToe-v0",
                           state=agent.state_dict(), env_kwargs={"opponent": "random"})
    loaded, env_id, env_kwargs = load_agent(path)
    assert isinstance(loaded, AlphaZeroAgent) and env_id == "simdrive/TicTacToe-v0" and "opponent" not in env_kwargs
    summary = play(str(path), vs="mcts:20", games=2, verbose=False)
    assert summary.total.games == 2 and summary.a_first.games == 1 and summary.b_first.games == 1
    assert summary.player_b == "mcts:20" and len(summary.outcomes) == 2
    other = play(str(path), vs=str(path), games=2, verbose=False)  # a checkpoint against itself
    assert other.total.games == 2
