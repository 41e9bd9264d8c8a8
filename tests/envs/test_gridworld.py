"""Sutton & Barto's grid worlds (Examples 4.1 and 3.5): dynamics, model, reset, rendering."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.gridworld import GridWorld4x4Env, GridWorld5x5Env
from envs.grid_render import AGENT
from envs.tabular_model import TabularModel

UP, RIGHT, DOWN, LEFT = range(4)


def assert_model_matches_step(env: gym.Env, samples: int, seed: int = 0, atol_sigma: float = 5.0) -> None:
    """Sample ``step()`` from every non-terminal (s, a) and compare with ``env.model``:
    every observed next state must have model probability > 0, the empirical next-state
    frequencies must match p(.|s,a) and the mean reward E[r|s,a] (within ``atol_sigma``
    standard errors), and termination must match the terminal mask."""
    model = env.model
    env.reset(seed=seed)
    for s in np.flatnonzero(~model.terminal):
        for a in range(model.n_actions):
            counts = np.zeros(model.n_states)
            rewards = np.zeros(samples)
            for i in range(samples):
                env.reset(options={"start_state": int(s)})
                s2, r, terminated, truncated, _ = env.step(a)
                assert model.transition_probs[s, a, s2] > 0, (s, a, s2)
                assert terminated == bool(model.terminal[s2]) and not truncated
                counts[s2] += 1
                rewards[i] = r
            p = model.transition_probs[s, a]
            se = np.sqrt(p * (1 - p) / samples) + 1e-12
            assert np.all(np.abs(counts / samples - p) <= atol_sigma * se + 1e-9), (s, a, counts / samples, p)
            r_se = rewards.std() / np.sqrt(samples) + 1e-9
            assert abs(rewards.mean() - model.expected_rewards[s, a]) <= atol_sigma * r_se, (s, a)


def evaluate_random_policy(model: TabularModel, gamma: float) -> np.ndarray:
    """Exact v_pi of the equiprobable random policy by solving the Bellman equations."""
    p_pi = model.transition_probs.mean(axis=1)
    r_pi = model.expected_rewards.mean(axis=1)
    return np.linalg.solve(np.eye(model.n_states) - gamma * p_pi, r_pi)


def test_4x4_specific_transitions():
    env = GridWorld4x4Env()
    cases = [  # (state, action, next_state, terminated) from Example 4.1's figure
        (1, LEFT, 0, True), (4, UP, 0, True), (14, RIGHT, 15, True), (11, DOWN, 15, True),
        (5, UP, 1, False), (5, RIGHT, 6, False), (5, DOWN, 9, False), (5, LEFT, 4, False),
        (3, UP, 3, False), (3, RIGHT, 3, False), (7, RIGHT, 7, False), (12, DOWN, 12, False),
        (8, LEFT, 8, False), (13, DOWN, 13, False),
    ]
    for s, a, s2, done in cases:
        env.reset(options={"start_state": s})
        obs, reward, terminated, truncated, _ = env.step(a)
        assert (obs, reward, terminated, truncated) == (s2, -1.0, done, False), (s, a)


def test_4x4_model_gives_figure_4_1_values():
    model = gym.make("simdrive/GridWorld4x4-v0").unwrapped.model
    assert (model.n_states, model.n_actions) == (16, 4)
    assert np.flatnonzero(model.terminal).tolist() == [0, 15]
    assert model.transition_probs.shape == (16, 4, 16) and model.transition_probs.dtype == np.float64
    np.testing.assert_allclose(model.transition_probs.sum(axis=2), 1.0)
    for t in (0, 15):  # terminal: self-loop, reward 0
        assert np.all(model.transition_probs[t, :, t] == 1.0) and np.all(model.expected_rewards[t] == 0.0)
    v = evaluate_random_policy(model, gamma=1.0 - 1e-12)
    expected = [0, -14, -20, -22, -14, -18, -20, -20, -20, -20, -18, -14, -22, -20, -14, 0]
    np.testing.assert_allclose(v, expected, atol=1e-6)


def test_5x5_specific_transitions():
    env = GridWorld5x5Env()
    cases = [  # (cell, action, next cell, reward)
        ((0, 1), UP, (4, 1), 10.0), ((0, 1), DOWN, (4, 1), 10.0), ((0, 1), LEFT, (4, 1), 10.0),
        ((0, 3), UP, (2, 3), 5.0), ((0, 3), RIGHT, (2, 3), 5.0),
        ((0, 0), UP, (0, 0), -1.0), ((0, 0), LEFT, (0, 0), -1.0), ((4, 4), DOWN, (4, 4), -1.0),
        ((4, 1), DOWN, (4, 1), -1.0), ((2, 2), UP, (1, 2), 0.0), ((2, 2), RIGHT, (2, 3), 0.0),
        ((1, 1), UP, (0, 1), 0.0), ((0, 2), RIGHT, (0, 3), 0.0),
    ]
    for (r, c), a, (r2, c2), reward in cases:
        env.reset(options={"start_state": 5 * r + c})
        obs, rew, terminated, truncated, _ = env.step(a)
        assert (env.cell_of_state(obs), rew, terminated, truncated) == ((r2, c2), reward, False, False), (r, c, a)
    assert env.grid_shape == (5, 5) and not env.model.terminal.any()


def test_5x5_model_gives_figure_3_2_and_3_5_values():
    model = gym.make("simdrive/GridWorld5x5-v0").unwrapped.model
    v = evaluate_random_policy(model, gamma=0.9).reshape(5, 5)
    assert v[0, 1] == pytest.approx(8.8, abs=0.05) and v[0, 3] == pytest.approx(5.3, abs=0.05)
    assert v[4, 0] == pytest.approx(-1.9, abs=0.05)
    v_star = np.zeros(25)  # value iteration
    for _ in range(500):
        v_star = (model.expected_rewards + 0.9 * model.transition_probs @ v_star).max(axis=1)
    assert v_star[1] == pytest.approx(24.4, abs=0.05) and v_star[3] == pytest.approx(19.4, abs=0.05)


@pytest.mark.parametrize("cls", [GridWorld4x4Env, GridWorld5x5Env])
def test_model_matches_step(cls):
    assert_model_matches_step(cls(), samples=3)


def test_reset_start_distribution_and_options():
    env = GridWorld4x4Env()
    starts = {env.reset(seed=seed)[0] for seed in range(300)}
    assert starts == set(range(1, 15))
    assert [env.reset(seed=7)[0] for _ in range(2)] == [env.reset(seed=7)[0]] * 2
    assert env.reset(options={"start_state": 6})[0] == 6
    with pytest.raises(ValueError, match="terminal"):
        env.reset(options={"start_state": 15})
    with pytest.raises(ValueError, match="start_state"):
        env.reset(options={"start_state": 16})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"start": 3})
    env5 = GridWorld5x5Env()
    assert {env5.reset(seed=seed)[0] for seed in range(400)} == set(range(25))


def test_time_limits_truncate():
    env = gym.make("simdrive/GridWorld5x5-v0")
    env.reset(seed=0)
    for t in range(100):
        _, _, terminated, truncated, _ = env.step(0)
        assert not terminated and truncated == (t == 99)


@pytest.mark.parametrize("env_id", ["simdrive/GridWorld4x4-v0", "simdrive/GridWorld5x5-v0"])
def test_render_rgb_array_shows_agent(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    obs, _ = env.reset(seed=3)
    frame = env.render()
    rows, cols = env.unwrapped.grid_shape
    assert frame.dtype == np.uint8 and frame.shape == (rows * 64, cols * 64, 3)
    r, c = env.unwrapped.cell_of_state(obs)
    assert tuple(frame[r * 64 + 32, c * 64 + 32]) == AGENT
    other = (r + 1) % rows
    assert tuple(frame[other * 64 + 32, c * 64 + 32]) != AGENT


def test_render_human_headless():
    env = gym.make("simdrive/GridWorld4x4-v0", render_mode="human")
    env.reset(seed=0)
    env.step(1)
    env.close()
    env.close()


def test_draw_values_and_policy():
    env = GridWorld4x4Env()
    plain = env.draw_values()
    with_policy = env.draw_values(policy=np.zeros(16, dtype=int))
    with_values = env.draw_values(values=np.arange(16.0))
    assert plain.shape == with_policy.shape == with_values.shape == (256, 256, 3)
    diff = np.abs(with_policy.astype(int) - plain).sum(axis=2)
    per_cell = diff.reshape(4, 64, 4, 64).sum(axis=(1, 3))
    assert per_cell[0, 0] == 0 and per_cell[3, 3] == 0  # no arrows on the terminal corners
    assert np.all(np.delete(per_cell.ravel(), [0, 15]) > 0)
    assert not np.array_equal(with_values, plain)
