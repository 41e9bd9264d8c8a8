"""Pixel observations (envs/pixels.py): shape, dtype, stacking order, determinism, frames follow the cart."""

from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers simdrive/*)
from envs.pixels import PixelObservation, make_pixel_env, pixel_observation

ENV_ID = "simdrive/CartPole-v1"


def _dark_centroid_x(frame: np.ndarray) -> float:
    """Mean column of the dark (cart) pixels of a grayscale frame [px]."""
    cols = np.nonzero(frame < 60)[1]
    assert cols.size > 0
    return float(cols.mean())


def test_shape_dtype_and_space():
    env = make_pixel_env(ENV_ID)
    assert env.observation_space == gym.spaces.Box(0, 255, (4, 84, 84), dtype=np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    for f in obs[1:]:  # the stack starts as copies of the first frame
        np.testing.assert_array_equal(f, obs[0])
    obs, *_ = env.step(1)
    assert env.observation_space.contains(obs)
    small = make_pixel_env(ENV_ID, frame_stack=2, size=32)
    assert small.reset(seed=0)[0].shape == (2, 32, 32)


def test_newest_frame_is_gray_resized_render_and_stack_shifts():
    env = make_pixel_env(ENV_ID)
    prev, _ = env.reset(seed=1)
    for t in range(6):
        obs, *_ = env.step(t % 2)
        np.testing.assert_array_equal(obs[:-1], prev[1:])  # oldest first, newest last
        render = env.unwrapped.render()
        expected = cv2.resize(cv2.cvtColor(render, cv2.COLOR_RGB2GRAY), (84, 84), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(obs[-1], expected)
        prev = obs


def test_frames_change_as_the_pole_and_cart_move():
    env = make_pixel_env(ENV_ID)
    obs0, _ = env.reset(seed=2)
    obs = obs0
    for _ in range(8):  # push right: the cart accelerates right, the pole falls left
        obs, _, terminated, _, _ = env.step(1)
        assert not terminated
    assert (obs[-1] != obs0[-1]).sum() > 10
    # the newest frames differ from each other (motion is visible inside one observation)
    assert (obs[-1] != obs[0]).any()
    # the state drives the picture: a cart moved to x = +1.5 m draws its dark pixels further right
    pixels = env.env  # the PixelObservation under the frame stack
    assert isinstance(pixels, PixelObservation)
    env.unwrapped.state = np.array([-1.5, 0.0, 0.0, 0.0])
    left = pixels.observation(None)
    env.unwrapped.state = np.array([1.5, 0.0, 0.0, 0.0])
    right = pixels.observation(None)
    assert _dark_centroid_x(right) - _dark_centroid_x(left) > 40  # 3 m = 62.5 px at 84 px / 4.8 m


def test_determinism_same_seed_same_frames():
    def rollout(seed: int) -> np.ndarray:
        env = make_pixel_env(ENV_ID)
        frames = [env.reset(seed=seed)[0]]
        rng = np.random.default_rng(0)
        for _ in range(25):
            obs, _, term, trunc, _ = env.step(int(rng.integers(2)))
            frames.append(obs)
            if term or trunc:
                frames.append(env.reset()[0])
        return np.stack(frames)

    a, b, c = rollout(3), rollout(3), rollout(4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_episode_semantics_are_unchanged():
    pixel, state = make_pixel_env(ENV_ID), gym.make(ENV_ID)
    pixel.reset(seed=5)
    state.reset(seed=5)
    for t in range(40):
        a = (t // 3) % 2
        _, r_p, te_p, tr_p, _ = pixel.step(a)
        _, r_s, te_s, tr_s, _ = state.step(a)
        assert (r_p, te_p, tr_p) == (r_s, te_s, tr_s)
        if te_p or tr_p:
            break


def test_wrong_render_mode_and_arguments_raise():
    with pytest.raises(ValueError, match="rgb_array"):
        pixel_observation(gym.make(ENV_ID))
    with pytest.raises(ValueError, match="rgb_array"):
        make_pixel_env(ENV_ID, render_mode="human")
    with pytest.raises(ValueError):
        PixelObservation(gym.make(ENV_ID, render_mode="rgb_array"), size=0)
    with pytest.raises(ValueError):
        make_pixel_env(ENV_ID, frame_stack=0)


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_env_checker_accepts_pixel_env():
    from gymnasium.utils.env_checker import check_env

    check_env(make_pixel_env(ENV_ID), skip_render_check=True)
