"""Scripted actors: a leader that brakes hard on a script, a stalled car, a timed light override."""

import gymnasium as gym
import numpy as np

import envs  # noqa: F401
from envs.driving.collision import colliding_pairs
from envs.driving.maps import HighwayParams, build_highway
from envs.driving.world import EGO, SCRIPTED, TRAFFIC, World, WorldParams


def test_scripted_hard_brake_is_followed_without_collision():
    m = build_highway(HighwayParams(lanes=1, length=3000.0, route_length=2000.0))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=2, ego_speed=0.0))
    w.reset([0], np.array([5], np.uint64))
    base = m.start_s
    w.place_obstacle(0, 0, 0, base + 145.0, 5.0, 2.0, kind=EGO, speed=0.0)  # parked ego keeps the window here
    w.place_obstacle(0, 1, 0, base + 40.0, 5.0, 2.0, kind=TRAFFIC, speed=20.0)
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=20.0)
    w._set_style(0, 2, 0)
    for k in range(12 * 15):
        # the script: cruise 2 s, then brake at 6 m/s^2 to a stop
        w.set_script(0, 1, acc=0.0 if k < 30 else -6.0)
        w.step(np.zeros(1), np.zeros(1))
        assert len(colliding_pairs(w)) == 0
    assert w.kind[0, 1] == SCRIPTED and w.v[0, 1] == 0.0
    assert w.v[0, 2] < 0.1 and w.s[0, 1] - w.s[0, 2] > 5.0


def test_env_with_a_stalled_car_and_forced_red_light():
    env = gym.make("simdrive/Intersection-v0", vehicles=0, obstacles=1, turn="straight")
    env.reset(seed=0)
    w = env.unwrapped.world
    w.light_override[0, :] = 0  # every light red, for good
    for _ in range(100):
        _, _, term, trunc, info = env.step(env.unwrapped.expert_action())
        if term or trunc:
            break
    # the expert waits at the red light: no violation, no progress through the junction
    assert not info["ran_red_light"] and not term
    assert w.route_i[0] == 0 and w.v[0, 0] < 0.5


def test_reset_option_places_the_ego_in_a_lane():
    env = gym.make("simdrive/Highway-v0", vehicles=5)
    for k in range(4):
        env.reset(seed=0, options={"ego_lane": k})
        assert env.unwrapped.world.lane[0, 0] == k



def _ego_choice_behind(kind_ahead) -> tuple[int, int]:
    """(the ego's lane, MOBIL's lane for it) with the ego stopped 3 m behind a stopped car of
    ``kind_ahead`` on an empty two-lane road."""
    m = build_highway(HighwayParams(lanes=2, length=3000.0, route_length=2000.0))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=1, ego_speed=0.0))
    w.reset([0], np.array([5], np.uint64))
    w.place_obstacle(0, 0, 0, m.start_s + 92.0, 5.0, 2.0, kind=EGO, speed=0.0)
    w.place_obstacle(0, 1, 0, m.start_s + 100.0, 5.0, 2.0, kind=TRAFFIC, speed=0.0)
    if kind_ahead == SCRIPTED:
        w.set_script(0, 1, acc=0.0)  # stalled where it stands
    _, best = w.ego_decisions()
    return int(w.lane[0, 0]), int(best[0])


def test_mobil_lets_the_ego_leave_a_lane_blocked_by_a_stalled_car():
    # before, nobody slower than 6 m/s with less than 6 m ahead changed lanes: the expert queued
    # behind a stalled car or debris until the time limit
    lane, best = _ego_choice_behind(SCRIPTED)
    assert best != lane


def test_control_behind_a_stopped_traffic_car_the_ego_keeps_its_lane():
    # a stopped traffic car drives on by itself (a queue at a light): no lane change from a standstill
    lane, best = _ego_choice_behind(TRAFFIC)
    assert best == lane
