"""CarRacing for behavioural cloning: the seven actions, 84x84 frames, and a scripted
track-following expert that actually drives the track."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("Box2D", reason="the carracing extra (box2d) is not installed")
import envs  # noqa: E402,F401
from envs.carracing import ACTIONS, CarRacing7Env, track_following_action  # noqa: E402


def test_spaces_and_action_table():
    env = gym.make("simdrive/CarRacing-v0")
    try:
        obs, _ = env.reset(seed=0)
        assert env.action_space == gym.spaces.Discrete(7) and obs.shape == (84, 84, 3) and obs.dtype == np.uint8
        # the driving simulator's order: none, accelerate, brake, left, left+brake, right, right+brake (CarRacing: -1 = left)
        assert ACTIONS[1, 1] == 1 and ACTIONS[2, 2] > 0 and ACTIONS[3, 0] == -1 and ACTIONS[5, 0] == 1 and ACTIONS[4, 2] > 0
        assert env.spec.max_episode_steps == 1000
        with pytest.raises(ValueError):
            env.step(7)
    finally:
        env.close()


def test_keyboard_mapping_fits_the_seven_actions():
    from simdrive.drive import keyboard_action

    space = gym.spaces.Discrete(7)
    assert ACTIONS[keyboard_action(space, {"left"}, set()), 0] == -1  # the left arrow steers left
    assert ACTIONS[keyboard_action(space, {"right", "down"}, set())].tolist() == [1, 0, 0.8]
    assert ACTIONS[keyboard_action(space, {"up"}, set()), 1] == 1


@pytest.mark.slow
def test_expert_follows_the_track_and_a_control_does_not():
    env = gym.wrappers.TimeLimit(CarRacing7Env(), 250)
    scores = {}
    for name, policy in (("expert", lambda e: track_following_action(e.unwrapped)), ("straight", lambda e: 1)):
        env.reset(seed=3)
        total = 0.0
        for _ in range(250):
            _, reward, terminated, truncated, _ = env.step(policy(env))
            total += reward
            if terminated or truncated:
                break
        scores[name] = (total, env.unwrapped.tile_visited_count)
    env.close()
    # 250 frames (5 s) of following the track visit many tiles; flooring it straight ahead leaves the road
    assert scores["expert"][1] >= 40 and scores["expert"][0] > 100, scores
    assert scores["straight"][1] < scores["expert"][1] / 2, scores
