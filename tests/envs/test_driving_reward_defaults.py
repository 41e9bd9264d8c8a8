"""Reward and observation defaults of the driving envs that learning depends on (issue 11).

- No crawling optimum: for the discounted return that DQN and PPO estimate (a time-limit
  truncation is bootstrapped, as if the last reward went on forever), finishing the route at any
  meta speed level must be worth more than holding a speed too slow to finish. Control: Highway's
  old goal reward (1) at gamma 0.99, where holding 10 m/s outvalued finishing at 15-25 m/s.
- The own-lane leader is in the kinematics observation: on the 4-lane highway the 5 nearest
  vehicles usually missed it (control), the default lists it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401

FASTER, IDLE, SLOWER = 3, 1, 4


def hold_speed_value(env_id: str, speed: float, gamma: float, **overrides) -> tuple[float, bool]:
    """Discounted return of reaching the meta level ``speed`` [m/s] and holding it on an empty road;
    a truncated episode is bootstrapped with its last reward forever. Returns (value, route completed)."""
    env = gym.make(env_id, vehicles=0, **overrides)
    core = env.unwrapped.core
    levels = list(env.unwrapped.config.target_speeds)
    env.reset(seed=0)
    rewards, terminated, truncated = [], False, False
    while not (terminated or truncated):
        level = levels[int(core.speed_idx[0])]
        _, reward, terminated, truncated, _ = env.step(FASTER if level < speed else SLOWER if level > speed else IDLE)
        rewards.append(reward)
    value = sum(r * gamma**t for t, r in enumerate(rewards))
    if not terminated:
        value += gamma ** len(rewards) * rewards[-1] / (1.0 - gamma)
    env.close()
    return value, terminated


@pytest.mark.parametrize("env_id", ["simdrive/Highway-v0", "simdrive/Merge-v0"])
@pytest.mark.parametrize("gamma", [0.95, 0.99])
def test_finishing_outvalues_crawling_to_the_time_limit(env_id, gamma):
    """The crawl is the fastest meta level that does not finish the route in the time limit."""
    held = {speed: hold_speed_value(env_id, speed, gamma) for speed in (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)}
    slow = [speed for speed, (_, done) in held.items() if not done]
    assert slow, "some level must be too slow to finish (else the comparison says nothing)"
    crawl_speed = max(slow)
    crawl = held[crawl_speed][0]
    for speed, (value, done) in held.items():
        if speed > crawl_speed:
            assert done and value > crawl, (env_id, gamma, speed, value, crawl_speed, crawl)


def test_control_the_old_highway_goal_reward_made_crawling_optimal():
    old = dict(goal_reward=1.0, max_episode_steps=60)  # the old goal reward and time limit
    crawl, _ = hold_speed_value("simdrive/Highway-v0", 10.0, 0.99, **old)
    finishing = [hold_speed_value("simdrive/Highway-v0", speed, 0.99, **old)[0] for speed in (15.0, 20.0, 25.0)]
    assert max(finishing) < crawl


def leader_listed_share(kinematics_vehicles: int | None, episodes: int = 3) -> float:
    """Share of the expert's steps on Highway in which the nearest vehicle ahead in the ego's lane
    (within 60 m) is one of the kinematics observation's rows."""
    kwargs = {} if kinematics_vehicles is None else {"kinematics_vehicles": kinematics_vehicles}
    env = gym.make("simdrive/Highway-v0", **kwargs).unwrapped
    listed = total = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=500 + episode)
        done = False
        while not done:
            world = env.world
            dx, dy = world.x[0] - world.x[0, 0], world.y[0] - world.y[0, 0]
            heading = world.h[0, 0]
            fx = dx * np.cos(heading) + dy * np.sin(heading)
            fy = -dx * np.sin(heading) + dy * np.cos(heading)
            ahead = world.active[0] & (fx > 0) & (fx < 60.0) & (np.abs(fy) < 2.0)
            ahead[0] = False
            if ahead.any():
                leader = np.flatnonzero(ahead)[np.argmin(fx[ahead])]
                rows = obs[2:]
                total += 1
                listed += bool(np.any((rows[:, 0] > 0) & np.isclose(rows[:, 1], fx[leader] / 100.0, atol=1e-3)
                                      & np.isclose(rows[:, 2], fy[leader] / 100.0, atol=1e-3)))
            obs, _, terminated, truncated, _ = env.step(env.expert_action())
            done = terminated or truncated
    env.close()
    assert total > 30, "too few steps with a leader to judge"
    return listed / total


def test_highway_observation_lists_the_leader_and_five_neighbours_did_not():
    assert leader_listed_share(None) >= 0.95
    assert leader_listed_share(5) < 0.6  # control: the test can fail
