"""The expert through every turn of the intersection: it stays on the road (a tight right turn
needs the steering to turn in before the connector starts, under the steering-rate limit)."""

from importlib import import_module

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401


def offroad_rate(n=40, **kwargs):
    spec = gym.spec("simdrive/Intersection-v0")
    module, cls = spec.vector_entry_point.split(":")
    env = getattr(import_module(module), cls)(num_envs=n, max_episode_steps=spec.max_episode_steps, **kwargs)
    env.reset(seed=list(range(n)))
    done, offroad, completed = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    for _ in range(spec.max_episode_steps):
        _, term, info = env.core.step(env.expert_actions())
        offroad |= ~done & info["offroad"]
        completed |= ~done & info["route_completed"]
        done |= term
        if done.all():
            break
    return offroad.mean(), completed.mean()


@pytest.mark.parametrize("turn", ["right", "straight", "left"])
def test_expert_stays_on_the_road_through_every_turn(turn):
    # before the steering preview into the next lane and the speed-level cap, 5 of 40 right turns left the road
    off, completed = offroad_rate(turn=turn)
    assert off == 0.0
    assert completed >= 0.95


def test_control_a_sluggish_steering_leaves_the_road_in_right_turns():
    off, _ = offroad_rate(n=16, turn="right", max_steer_rate=0.15)
    assert off > 0.0
