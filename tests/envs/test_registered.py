"""Every registered ``simdrive/`` id passes Gymnasium's and Stable-Baselines3's env checkers,
is deterministic under ``reset(seed=...)`` and renders an RGB array.

Parametrized over ``sorted(envs.DESCRIPTIONS)``, so environments added later are checked
without editing this file; no id is skipped.
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import envs

ENV_IDS = sorted(envs.DESCRIPTIONS)
ROLLOUT_STEPS = 200  # lock-step determinism rollout length ...
ROLLOUT_SECONDS = 3.0  # ... cut short (after at least MIN_STEPS) for slow envs
MIN_STEPS = 20


def test_every_description_is_registered():
    assert ENV_IDS, "no environments registered"
    for env_id in ENV_IDS:
        assert env_id.startswith("simdrive/") and env_id in gym.registry
        assert envs.DESCRIPTIONS[env_id].strip()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    env = gym.make(env_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gym_check_env(env.unwrapped, skip_render_check=False)
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sb3_check_env(env, warn=False, skip_render_check=True)
    finally:
        env.close()


def _sample_action(env: gym.Env, info: dict):
    mask = info.get("action_mask")
    if mask is not None:
        return env.action_space.sample(mask=np.asarray(mask, dtype=np.int8))
    return env.action_space.sample()


def _assert_same(a, b, what: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), what
        for key in a:
            _assert_same(a[key], b[key], f"{what}[{key!r}]")
    elif isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{what}[{i}]")
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_rollout(env_id):
    env_a, env_b = gym.make(env_id), gym.make(env_id)
    try:
        env_a.action_space.seed(123)
        obs_a, info_a = env_a.reset(seed=42)
        obs_b, info_b = env_b.reset(seed=42)
        _assert_same(obs_a, obs_b, "reset obs")
        start, episode = time.perf_counter(), 0
        for t in range(ROLLOUT_STEPS):
            action = _sample_action(env_a, info_a)
            out_a, out_b = env_a.step(action), env_b.step(action)
            for name, x, y in zip(("obs", "reward", "terminated", "truncated"), out_a[:4], out_b[:4]):
                _assert_same(x, y, f"step {t}: {name}")
            info_a = out_a[4]
            if out_a[2] or out_a[3]:
                episode += 1
                obs_a, info_a = env_a.reset(seed=42 + episode)
                obs_b, _ = env_b.reset(seed=42 + episode)
                _assert_same(obs_a, obs_b, f"reset {episode} obs")
            if t >= MIN_STEPS and time.perf_counter() - start > ROLLOUT_SECONDS:
                break
    finally:
        env_a.close()
        env_b.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_rgb_array(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    try:
        _, info = env.reset(seed=0)
        for _ in range(3):
            _, _, terminated, truncated, info = env.step(_sample_action(env, info))
            if terminated or truncated:
                _, info = env.reset()
        frame = env.render()
        assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] > 0 and frame.shape[1] > 0
        assert frame.std() > 0, "the frame is a flat colour"
    finally:
        env.close()
