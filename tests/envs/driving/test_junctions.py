"""Traffic lights, give-way at the roundabout, and the built-in expert on every map."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.maps import IntersectionParams, build_intersection, build_roundabout
from envs.driving.traffic import light_is_green
from envs.driving.world import TRAFFIC, World, WorldParams


def test_light_cycle():
    t = np.arange(0.0, 40.0, 1.0)
    g = light_is_green(t, 40.0, 8.0, 15.0)
    assert g.sum() == 7 and g[8] and not g[15] and not g[7]
    # a window that wraps around the end of the cycle
    g2 = light_is_green(t, 40.0, 36.0, 43.0)
    assert g2[36] and g2[2] and not g2[3] and g2.sum() == 7


def _one_car_at_light(green: int):
    m = build_intersection(IntersectionParams(turn="straight"))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=1, ego_speed=0.0))
    w.reset([0], np.array([1], np.uint64))
    r = w.road
    ego_lane = int(m.start_lanes[0])
    w.place_obstacle(0, 0, ego_lane, 5.0, kind=0, speed=0.0)  # ego parked far back
    lane = int(r.sec_lane[0])  # the east approach (arm 0's "in" section is section 0)
    w.place_obstacle(0, 1, lane, 10.0, kind=TRAFFIC, speed=12.0)
    w.light_override[0, 0] = green  # arm 0's light: 0 red, 1 green
    for _ in range(15 * 15):
        w.step(np.zeros(1), np.zeros(1))
    return w, r.lane_length[lane]


def test_traffic_stops_on_red_and_goes_on_green():
    w, L = _one_car_at_light(0)
    assert w.lane[0, 1] == w.road.sec_lane[0]  # still on the approach
    assert w.v[0, 1] < 0.1 and L - 6.0 < w.s[0, 1] < L  # stopped just before the line
    w, L = _one_car_at_light(1)
    assert w.road.lane_sec[w.lane[0, 1]] != 0 or not w.active[0, 1]  # went through (or left the map)


def test_roundabout_entry_gives_way_to_ring_traffic():
    m = build_roundabout()
    w = World(m, 1, WorldParams(vehicles=0, obstacles=2, ego_speed=0.0))
    w.reset([0], np.array([2], np.uint64))
    r = w.road
    w.place_obstacle(0, 0, int(m.start_lanes[0]), 5.0, kind=0, speed=0.0)  # ego parked far back
    yl = int(w.yield_lanes[0])  # entry of arm 0
    conflict = int(w.yield_conflict[0])
    w.place_obstacle(0, 1, yl, 2.0, kind=TRAFFIC, speed=5.0)
    w.place_obstacle(0, 2, conflict, 0.0, kind=TRAFFIC, speed=9.0)  # ring car about to pass the entry
    entered_before_ring_car_passed = False
    for _ in range(10 * 15):
        w.step(np.zeros(1), np.zeros(1))
        ring_car_passed = w.lane[0, 2] != conflict
        if w.lane[0, 1] != yl and not ring_car_passed:
            entered_before_ring_car_passed = True
    assert not entered_before_ring_car_passed
    assert w.lane[0, 1] != yl  # and it did enter afterwards


@pytest.mark.parametrize(
    "env_id, seeds",
    [("simdrive/Highway-v0", (0, 1, 2)), ("simdrive/Merge-v0", (0, 1, 2)), ("simdrive/Racetrack-v0", (0,)),
     ("simdrive/Intersection-v0", (0, 1, 2)), ("simdrive/Roundabout-v0", (0, 1, 2))],
)
def test_expert_completes_route_without_collision(env_id, seeds):
    env = gym.make(env_id)
    for seed in seeds:
        env.reset(seed=seed)
        for _ in range(2000):
            _, _, term, trunc, info = env.step(env.unwrapped.expert_action())
            if term or trunc:
                break
        assert not info["crashed"] and not info["offroad"] and not info["ran_red_light"], (env_id, seed, info)
        assert info["route_completion"] > 0.98, (env_id, seed, info["route_completion"])
