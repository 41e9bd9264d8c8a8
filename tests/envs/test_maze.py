"""The maze: ASCII layouts and their errors, the generator, config validation, slippery
moves, carrots and traps, and agreement of the exposed model with step()."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.grid_render import AGENT, CARROT
from envs.maze import DYNA_MAZE, MazeConfig, MazeEnv, generate_maze, parse_ascii, shortest_path
from tests.envs.test_gridworld import assert_model_matches_step

UP, RIGHT, DOWN, LEFT = range(4)


def free_graph(walls: np.ndarray) -> tuple[int, int, bool]:
    """(vertices, edges, connected) of the 4-neighbour graph of the free cells."""
    free = ~walls
    n_vertices = int(free.sum())
    n_edges = int((free[1:, :] & free[:-1, :]).sum() + (free[:, 1:] & free[:, :-1]).sum())
    cells = [tuple(x) for x in np.argwhere(free)]
    seen, stack = {cells[0]}, [cells[0]]
    while stack:
        r, c = stack.pop()
        for nxt in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nxt[0] < walls.shape[0] and 0 <= nxt[1] < walls.shape[1] and free[nxt] and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return n_vertices, n_edges, len(seen) == n_vertices


# --- ASCII layouts --------------------------------------------------------------------


def test_parse_ascii_round_trip_and_default_layout():
    layout = parse_ascii("""
        #####
        #S.C#
        #T#.#
        #..G#
        #####
    """)
    assert layout.shape == (5, 5) and layout.start == (1, 1) and layout.goal == (3, 3)
    assert layout.carrots == ((1, 3),) and layout.traps == ((2, 1),)
    assert parse_ascii(layout.to_ascii()).to_ascii() == layout.to_ascii()
    env = MazeEnv()  # default: Dyna maze, 6x9 with 7 walls
    assert env.grid_shape == (6, 9) and env.observation_space.n == 47
    assert env.layout.to_ascii() == DYNA_MAZE.strip()


@pytest.mark.parametrize(
    "text, message",
    [
        ("..G\n...", "exactly one start"),
        ("S.G\n..G", "exactly one goal"),
        ("S.G\n.x.", "unknown character 'x' at row 1, column 1"),
        ("S.G\n....", "same length"),
        ("\n\n", "empty"),
        ("SCCCCCCCG", "at most 6 carrots"),
        ("SS.G", "exactly one start"),
    ],
)
def test_bad_ascii_raises(text, message):
    with pytest.raises(ValueError, match=message):
        parse_ascii(text)
    with pytest.raises(ValueError, match=message):
        gym.make("simdrive/Maze-v0", layout=text)


# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"slip_probability": 0.1}, "unknown MazeConfig key.*slip_probability.*valid keys: layout"),
        ({"slip_prob": 1.5}, "slip_prob"),
        ({"slip_prob": "0.1"}, "slip_prob"),
        ({"goal_reward": float("nan")}, "goal_reward"),
        ({"trap_terminal": 1}, "trap_terminal"),
        ({"maze_size": (0, 5)}, "maze_size"),
        ({"maze_size": (3, 3), "layout": "SG"}, "either layout"),
        ({"loop_fraction": 0.1}, "loop_fraction only applies to generated"),
        ({"maze_size": (3, 3), "n_carrots": 7}, "n_carrots"),
        ({"maze_size": (2, 2), "n_traps": 3}, "n_traps"),
    ],
)
def test_bad_config_raises_naming_the_key(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("simdrive/Maze-v0", **kwargs)


def test_config_object_and_kwargs_override():
    config = MazeConfig(layout="S.G", goal_reward=5.0)
    env = MazeEnv(config=config, step_reward=-1.0)
    assert env.config.goal_reward == 5.0 and env.config.step_reward == -1.0
    assert MazeConfig(maze_size=[2, 3]).maze_size == (2, 3)  # lists (from YAML) become tuples
    with pytest.raises(Exception):
        config.goal_reward = 1.0  # frozen


# --- generator ------------------------------------------------------------------------


@pytest.mark.parametrize("size, seed", [((1, 2), 0), ((5, 5), 0), ((6, 9), 3), ((12, 7), 11)])
def test_generated_maze_is_perfect(size, seed):
    layout = generate_maze(size, seed)
    assert layout.shape == (2 * size[0] + 1, 2 * size[1] + 1)
    n_vertices, n_edges, connected = free_graph(layout.walls)
    assert connected and n_edges == n_vertices - 1  # a spanning tree: connected, no cycle
    assert n_vertices == 2 * size[0] * size[1] - 1  # every room, plus rooms-1 passages
    assert layout.walls[0].all() and layout.walls[-1].all() and layout.walls[:, 0].all() and layout.walls[:, -1].all()


def test_generator_is_deterministic_by_maze_seed():
    a = MazeEnv(maze_size=(8, 8), maze_seed=5)
    b = MazeEnv(maze_size=(8, 8), maze_seed=5)
    c = MazeEnv(maze_size=(8, 8), maze_seed=6)
    assert a.layout.to_ascii() == b.layout.to_ascii() != c.layout.to_ascii()
    before = a.layout.to_ascii()
    a.reset(seed=123)  # the episode seed does not change the layout
    assert a.layout.to_ascii() == before


def test_loops_add_cycles():
    n_vertices, n_edges, connected = free_graph(generate_maze((8, 8), 1, loop_fraction=0.25).walls)
    perfect = generate_maze((8, 8), 1).walls
    interior_walls = sum(
        perfect[r, c] for r in range(1, 16) for c in range(1, 16) if r % 2 != c % 2
    )
    assert connected and n_edges - (n_vertices - 1) == round(0.25 * interior_walls) > 0


def test_generated_carrots_and_traps():
    layout = generate_maze((6, 6), 2, n_carrots=3, n_traps=4)
    assert len(layout.carrots) == 3 and len(layout.traps) == 4
    path = set(shortest_path(layout.walls, layout.start, layout.goal))
    assert path and not path & set(layout.traps)
    env = MazeEnv(maze_size=(6, 6), maze_seed=2, n_carrots=3, n_traps=4)
    assert env.observation_space.n == 8 * int((~layout.walls).sum())


# --- dynamics -------------------------------------------------------------------------


def test_dyna_maze_moves_walls_and_goal():
    env = MazeEnv(step_reward=-0.5, goal_reward=2.0)
    obs, _ = env.reset(seed=0)
    assert env.cell_of_state(obs) == (2, 0)
    obs, r, term, trunc, info = env.step(LEFT)  # off the map: stay
    assert env.cell_of_state(obs) == (2, 0) and r == -0.5 and info["event"] == "wall"
    env.reset(options={"start_state": env.state_of((2, 1))})
    obs, r, term, _, info = env.step(RIGHT)  # into the wall at (2, 2)
    assert env.cell_of_state(obs) == (2, 1) and info["event"] == "wall" and not term
    env.reset(options={"start_state": env.state_of((1, 8))})
    obs, r, term, trunc, info = env.step(UP)
    assert env.cell_of_state(obs) == (0, 8) and r == 1.5 and term and not trunc and info["event"] == "goal"
    with pytest.raises(ValueError, match="terminal"):
        env.reset(options={"start_state": env.state_of((0, 8))})


def test_dyna_maze_shortest_path_is_14_steps_by_value_iteration():
    model = MazeEnv(goal_reward=0.0, step_reward=-1.0).model
    v = np.zeros(model.n_states)
    for _ in range(100):
        v = (model.expected_rewards + model.transition_probs @ v).max(axis=1)
    env = MazeEnv()
    assert v[env.state_of((2, 0))] == -14.0  # Sutton & Barto, Figure 8.2


def test_carrot_is_eaten_once_and_state_is_markov():
    env = MazeEnv(layout="S.C.G", carrot_reward=3.0, step_reward=-1.0, render_mode="rgb_array")
    assert env.observation_space.n == 10
    obs, _ = env.reset(seed=0)
    rewards, cells, masks = [], [], []
    for a in (RIGHT, RIGHT, LEFT, RIGHT, RIGHT):
        obs, r, term, _, _ = env.step(a)
        rewards.append(r)
        cells.append(env.cell_of_state(obs))
        masks.append(env.carrot_mask_of_state(obs))
    assert rewards == [-1.0, 2.0, -1.0, -1.0, -1.0]
    assert cells == [(0, 1), (0, 2), (0, 1), (0, 2), (0, 3)]
    assert masks == [0, 1, 1, 1, 1]
    frame = env.render()
    assert tuple(frame[32, 2 * 64 + 32 - 12]) != CARROT and tuple(frame[32, 3 * 64 + 32]) == AGENT
    obs, _ = env.reset()
    assert env.carrot_mask_of_state(obs) == 0  # carrots come back each episode
    assert tuple(env.render()[32, 2 * 64 + 32 - 12]) == CARROT


@pytest.mark.parametrize("trap_terminal", [True, False])
def test_traps(trap_terminal):
    env = MazeEnv(layout="ST.G", trap_reward=-4.0, step_reward=0.0, trap_terminal=trap_terminal)
    env.reset(seed=0)
    obs, r, term, _, info = env.step(RIGHT)
    assert r == -4.0 and term == trap_terminal and info["event"] == "trap"
    assert bool(env.model.terminal[obs]) == trap_terminal
    if not trap_terminal:
        obs, r, term, _, _ = env.step(RIGHT)
        assert env.cell_of_state(obs) == (0, 2) and r == 0.0 and not term


def test_slippery_move_statistics():
    env = MazeEnv(layout="...\n.S.\n..G", slip_prob=0.3)
    env.reset(seed=1)
    counts = {}
    n = 4000
    for _ in range(n):
        env.reset(options={"start_state": env.state_of((1, 1))})
        obs, _, _, _, info = env.step(UP)
        cell = env.cell_of_state(obs)
        counts[cell] = counts.get(cell, 0) + 1
        assert info["slipped"] == (cell != (0, 1))
    assert set(counts) == {(0, 1), (1, 2), (1, 0)}  # never backwards
    assert counts[(0, 1)] / n == pytest.approx(0.7, abs=0.03)
    assert counts[(1, 2)] / n == pytest.approx(0.15, abs=0.02)
    assert counts[(1, 0)] / n == pytest.approx(0.15, abs=0.02)
    np.testing.assert_allclose(
        env.model.transition_probs[env.state_of((1, 1)), UP, [env.state_of((0, 1)), env.state_of((1, 2)),
                                                              env.state_of((1, 0))]],
        [0.7, 0.15, 0.15],
    )


def test_model_matches_step_deterministic_exactly():
    env = MazeEnv(layout="S.C\n.#T\nC.G", trap_terminal=False)
    model = env.model
    for s in np.flatnonzero(~model.terminal):
        for a in range(4):
            env.reset(options={"start_state": int(s)})
            s2, r, term, _, _ = env.step(a)
            assert model.transition_probs[s, a, s2] == 1.0 and r == model.expected_rewards[s, a]
            assert term == model.terminal[s2]


def test_model_matches_step_slippery_with_carrots_and_traps():
    env = MazeEnv(layout="S.C\n.#T\nC.G", slip_prob=0.2, trap_terminal=False, carrot_reward=2.0, trap_reward=-3.0)
    assert env.model.n_states == 8 * 4 and env.model.terminal.sum() == 4
    assert_model_matches_step(env, samples=150, seed=0)


def test_large_model_is_refused_clearly():
    env = MazeEnv(maze_size=(30, 30), n_carrots=6)
    with pytest.raises(ValueError, match="GiB"):
        _ = env.model
    assert getattr(env, "model", None) is None  # agents probing for a model see none


def test_render_generated_maze():
    env = gym.make("simdrive/Maze-v0", maze_size=(20, 30), maze_seed=1, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    frame = env.render()
    rows, cols = env.unwrapped.grid_shape
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    px = frame.shape[0] // rows
    assert frame.shape[:2] == (rows * px, cols * px) and max(frame.shape) <= 720
    r, c = env.unwrapped.cell_of_state(obs)
    assert tuple(frame[r * px + px // 2, c * px + px // 2]) == AGENT


def test_draw_values_per_carrot_mask():
    env = MazeEnv(layout="S.C\n..G")
    values = np.arange(env.observation_space.n, dtype=float)
    a, b = env.draw_values(values, carrot_mask=0), env.draw_values(values, carrot_mask=1)
    assert a.shape == b.shape == (128, 192, 3) and not np.array_equal(a, b)
    with pytest.raises(ValueError, match="carrot_mask"):
        env.draw_values(values, carrot_mask=2)
