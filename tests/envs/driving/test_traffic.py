import numpy as np
import pytest

from envs.driving.maps import HighwayParams, build_highway
from envs.driving.traffic import STYLES, idm_accel, idm_equilibrium_gap, uniform
from envs.driving.world import EGO, SCRIPTED, STATIC, TRAFFIC, World, WorldParams


def make_world(lanes=2, slots=3, ego_speed=20.0):
    m = build_highway(HighwayParams(lanes=lanes, length=3000.0, route_length=2000.0))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=slots, ego_speed=ego_speed))
    w.reset([0], np.array([7], np.uint64))
    return w


def run(w, seconds, ego_acc=0.0):
    for _ in range(int(seconds * w.p.sim_frequency)):
        w.step(np.zeros(1), np.full(1, ego_acc))


def test_idm_equilibrium_gap_formula():
    v, v0, T, s0 = 20.0, 30.0, 1.5, 2.0
    g = idm_equilibrium_gap(v, v0, T, s0)
    assert idm_accel(v, v0, g, 0.0, 1.5, 3.0, T, s0) == pytest.approx(0.0, abs=1e-9)
    assert idm_accel(v, v0, g * 0.8, 0.0, 1.5, 3.0, T, s0) < 0 < idm_accel(v, v0, g * 1.2, 0.0, 1.5, 3.0, T, s0)


def test_idm_follower_converges_to_equilibrium_gap():
    w = make_world(lanes=1, ego_speed=20.0)
    base = w.map.start_s
    w.place_obstacle(0, 0, 0, base + 100.0, 5.0, 2.0, kind=EGO, speed=20.0)  # ego ahead (within the traffic window)
    w.place_obstacle(0, 1, 0, base + 60.0, 5.0, 2.0, kind=SCRIPTED, speed=20.0)
    w.script_acc[0, 1] = 0.0
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=20.0)
    w._set_style(0, 2, 0)  # normal driver
    run(w, 60.0)
    gap = w.s[0, 1] - w.s[0, 2] - 5.0
    v0 = 30.0 * STYLES[0, 0]
    expected = idm_equilibrium_gap(20.0, v0, STYLES[0, 1], STYLES[0, 4])
    assert w.v[0, 2] == pytest.approx(20.0, abs=0.05)
    assert gap == pytest.approx(expected, rel=0.02)
    assert w.lane[0, 2] == 0


def test_idm_brakes_to_stopped_leader_without_collision():
    w = make_world(lanes=1, ego_speed=0.0)
    base = w.map.start_s
    w.place_obstacle(0, 0, 0, base + 140.0, 5.0, 2.0, kind=EGO, speed=0.0)
    w.place_obstacle(0, 1, 0, base + 100.0, 4.0, 2.0, kind=STATIC)
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=25.0)
    w._set_style(0, 2, 0)  # normal driver
    gaps = []
    for _ in range(30 * 15):
        w.step(np.zeros(1), np.zeros(1))
        gaps.append(w.s[0, 1] - w.s[0, 2] - 4.5)
    assert min(gaps) > 0.5
    assert w.v[0, 2] < 0.05
    assert gaps[-1] == pytest.approx(STYLES[0, 4], abs=0.7)  # stops about s0 behind


def _mobil_setup(blocker: bool):
    w = make_world(ego_speed=25.0)
    base = w.map.start_s
    w.place_obstacle(0, 0, 1, base + 120.0, 5.0, 2.0, kind=EGO, speed=25.0)
    w.place_obstacle(0, 1, 0, base + 30.0, 5.0, 2.0, kind=SCRIPTED, speed=10.0)  # slow leader
    w.script_acc[0, 1] = 0.0
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=25.0)
    w._set_style(0, 2, 0)  # normal driver
    if blocker:  # fast car right behind in the target lane
        w.place_obstacle(0, 3, 1, base - 7.0, 5.0, 2.0, kind=TRAFFIC, speed=30.0)
    else:
        w.active[0, 3] = False
    w.step(np.zeros(1), np.zeros(1))  # t = 0: every world takes its MOBIL decision
    return w


def test_mobil_changes_lane_when_it_pays():
    w = _mobil_setup(blocker=False)
    assert w.tlane[0, 2] == 1
    run(w, 4.0, ego_acc=0.0)
    assert w.lane[0, 2] == 1


def test_mobil_refuses_unsafe_change():
    w = _mobil_setup(blocker=True)
    assert w.tlane[0, 2] == 0


def test_counter_based_random_is_batch_invariant():
    seeds = np.array([[5], [9]], np.uint64)
    a = uniform(seeds, 3, np.arange(4)[None, :], 1)
    b = uniform(seeds[1:], 3, np.arange(4)[None, :], 1)
    assert np.array_equal(a[1:], b)
    assert ((a >= 0) & (a < 1)).all() and len(np.unique(a)) == 8
