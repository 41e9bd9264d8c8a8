import gymnasium as gym
import numpy as np
import pytest

from simdrive.drive import keyboard_action
from simdrive.errors import UserError

BOX = gym.spaces.Box(np.array([-1, 0, 0], np.float32), np.array([1, 1, 1], np.float32))


def test_continuous_keys_steer_left_positive_throttle_brake():
    np.testing.assert_array_equal(keyboard_action(BOX, {"left", "up"}, set()), [1, 1, 0])
    np.testing.assert_array_equal(keyboard_action(BOX, {"right", "down"}, set()), [-1, 0, 1])
    np.testing.assert_array_equal(keyboard_action(BOX, {"left", "right"}, set()), [0, 0, 0])


def test_meta_actions_are_taps_and_idle_otherwise():
    meta = gym.spaces.Discrete(5)
    assert keyboard_action(meta, {"left"}, set()) == 1  # held without a new press: idle
    assert keyboard_action(meta, set(), {"left"}) == 0
    assert keyboard_action(meta, set(), {"right"}) == 2
    assert keyboard_action(meta, set(), {"up"}) == 3
    assert keyboard_action(meta, set(), {"down"}) == 4


def test_seven_discrete_combinations():
    seven = gym.spaces.Discrete(7)
    expected = {frozenset(): 0, frozenset({"up"}): 1, frozenset({"down"}): 2, frozenset({"left"}): 3,
                frozenset({"left", "down"}): 4, frozenset({"right"}): 5, frozenset({"right", "down"}): 6}
    for held, action in expected.items():
        assert keyboard_action(seven, set(held), set()) == action


def test_other_spaces_are_refused():
    with pytest.raises(UserError, match="cannot drive"):
        keyboard_action(gym.spaces.Discrete(2), set(), set())


def test_drive_session_runs_headless():
    from simdrive.drive import drive

    summary = drive("simdrive/Highway-v0", {}, fps=1000, seed=0, max_steps=5)
    assert summary["steps"] == 5


def test_drive_refuses_non_driving_envs():
    from simdrive.drive import drive

    with pytest.raises(UserError, match="not a driving environment|cannot build"):
        drive("simdrive/CartPole-v1", {}, fps=1000, seed=0, max_steps=1)
