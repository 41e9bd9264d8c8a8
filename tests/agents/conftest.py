"""Fixtures for the agent tests (helpers live in ``tests/agents/tabular_helpers.py``)."""

import gymnasium as gym
import pytest

import envs  # noqa: F401 - registers simdrive/*


@pytest.fixture
def grid4():
    env = gym.make("simdrive/GridWorld4x4-v0")
    yield env
    env.close()


@pytest.fixture
def grid5():
    env = gym.make("simdrive/GridWorld5x5-v0")
    yield env
    env.close()
