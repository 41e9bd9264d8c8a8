"""The k-armed bandit testbed: arm and reward statistics, info, determinism, config."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.bandit import BanditConfig, BanditEnv


def test_arm_means_are_standard_normal_and_redrawn_each_reset():
    env = BanditEnv()
    env.reset(seed=0)
    means = np.stack([env.reset()[1]["means"] for _ in range(500)])  # 5000 arm means
    assert means.shape == (500, 10)
    assert means.mean() == pytest.approx(0.0, abs=0.06)
    assert means.std() == pytest.approx(1.0, abs=0.05)
    assert not np.array_equal(means[0], means[1])


def test_gaussian_rewards_have_arm_mean_and_unit_variance():
    env = BanditEnv(k=5)
    _, info = env.reset(seed=1)
    n = 4000
    for a in range(5):
        rewards = np.array([env.step(a)[1] for _ in range(n)])
        assert rewards.mean() == pytest.approx(info["means"][a], abs=4.5 / np.sqrt(n))
        assert rewards.std() == pytest.approx(1.0, abs=0.05)


def test_bernoulli_rewards():
    env = gym.make("simdrive/Bandit-v0", variant="bernoulli", k=4)
    _, info = env.reset(seed=2)
    p = info["means"]
    assert np.all((p >= 0) & (p <= 1))
    n = 3000
    for a in range(4):
        rewards = np.array([env.unwrapped.step(a)[1] for _ in range(n)])
        assert set(np.unique(rewards)) <= {0.0, 1.0}
        assert rewards.mean() == pytest.approx(p[a], abs=4.5 * np.sqrt(p[a] * (1 - p[a]) / n) + 1e-3)


def test_info_optimal_action_and_regret():
    env = BanditEnv()
    obs, info = env.reset(seed=3)
    means = info["means"]
    best = int(np.argmax(means))
    assert obs == 0 and info["optimal_action"] == best
    for a in range(10):
        obs, _, terminated, truncated, info = env.step(a)
        assert obs == 0 and not terminated and not truncated
        assert info["optimal_action"] == best and info["optimal"] == (a == best)
        assert info["regret"] == pytest.approx(means[best] - means[a]) and info["regret"] >= 0


def test_time_limit_and_same_seed_determinism():
    a, b = gym.make("simdrive/Bandit-v0"), gym.make("simdrive/Bandit-v0")
    info_a, info_b = a.reset(seed=7)[1], b.reset(seed=7)[1]
    np.testing.assert_array_equal(info_a["means"], info_b["means"])
    for t in range(1000):
        ra = a.step(t % 10)
        rb = b.step(t % 10)
        assert ra[1] == rb[1] and ra[3] == (t == 999)
    assert not np.array_equal(info_a["means"], a.reset(seed=8)[1]["means"])


def test_nonstationary_walk_and_offset():
    env = BanditEnv(walk_std=0.1, mean_offset=4.0)
    _, info = env.reset(seed=0)
    assert info["means"].mean() == pytest.approx(4.0, abs=1.0)
    for _ in range(100):
        env.step(0)
    drift = env.means - info["means"]
    assert np.all(drift != 0) and drift.std() == pytest.approx(1.0, abs=0.5)  # 0.1 * sqrt(100)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"arms": 3}, "unknown BanditConfig key.*arms"), ({"k": 0}, "k"), ({"variant": "poisson"}, "variant"),
     ({"walk_std": -1.0}, "walk_std"), ({"variant": "bernoulli", "mean_offset": 1.0}, "only apply")],
)
def test_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make("simdrive/Bandit-v0", **kwargs)
    assert BanditEnv(config=BanditConfig(k=3)).action_space.n == 3


def test_render_bar_chart():
    env = gym.make("simdrive/Bandit-v0", render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    env.step(2)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert not np.array_equal(first, frame)  # the pulled arm is highlighted
