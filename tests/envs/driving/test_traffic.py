"""Driver and vehicle models: IDM and the ACC model, MOBIL, the bicycle's steering-rate and
friction limits, the counter-based random numbers."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.maps import HighwayParams, build_highway
from envs.driving.traffic import STYLES, acc_model, idm, idm_accel, idm_equilibrium_gap, limit_slip, uniform
from envs.driving.world import EGO, SCRIPTED, STATIC, TRAFFIC, World, WorldParams


def make_world(lanes=2, slots=3, ego_speed=20.0):
    m = build_highway(HighwayParams(lanes=lanes, length=3000.0, route_length=2000.0))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=slots, ego_speed=ego_speed))
    w.reset([0], np.array([7], np.uint64))
    w.speed_factor[0] = 1.0  # traffic drives at its style's desired speed exactly
    return w


def run(w, seconds, ego_acc=0.0):
    for _ in range(int(seconds * w.p.sim_frequency)):
        w.step(np.zeros(1), np.full(1, ego_acc))


def test_idm_equilibrium_gap_formula():
    v, v0, T, s0 = 20.0, 30.0, 1.5, 2.0
    g = idm_equilibrium_gap(v, v0, T, s0)
    assert idm_accel(v, v0, g, 0.0, 1.5, 3.0, T, s0) == pytest.approx(0.0, abs=1e-9)
    assert idm_accel(v, v0, g * 0.8, 0.0, 1.5, 3.0, T, s0) < 0 < idm_accel(v, v0, g * 1.2, 0.0, 1.5, 3.0, T, s0)


def test_acc_model_equals_idm_in_steady_following_and_is_calm_after_a_cut_in():
    a, b, T, s0 = 2.0, 3.0, 1.5, 2.0
    # steady following at the equilibrium gap: the same as IDM (no CAH correction)
    g = idm_equilibrium_gap(20.0, 30.0, T, s0)
    assert acc_model(20.0, 30.0, g, 20.0, 0.0, a, b, T, s0) == pytest.approx(idm(20.0, 30.0, g, 0.0, a, b, T, s0))
    # a car cut in 8 m ahead at the same speed: IDM slams the brakes, the ACC model brakes about comfortably
    assert idm(25.0, 30.0, 8.0, 0.0, a, b, T, s0) < -20.0
    assert -b - 1.0 < acc_model(25.0, 30.0, 8.0, 25.0, 0.0, a, b, T, s0) < 0.0
    # a stopped obstacle: at least the kinematic deceleration v^2 / (2 gap) needed to stop in time
    assert acc_model(20.0, 30.0, 40.0, 0.0, 0.0, a, b, T, s0) <= -20.0**2 / (2 * 40.0) + 1e-9


def test_follower_converges_to_the_idm_equilibrium_gap():
    w = make_world(lanes=1, ego_speed=20.0)
    base = w.map.start_s
    w.place_obstacle(0, 0, 0, base + 100.0, 5.0, 2.0, kind=EGO, speed=20.0)  # ego ahead (within the traffic window)
    w.place_obstacle(0, 1, 0, base + 60.0, 5.0, 2.0, kind=SCRIPTED, speed=20.0)
    w.script_acc[0, 1] = 0.0
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=20.0)
    w._set_style(0, 2, 0)  # normal driver
    run(w, 60.0)
    gap = w.s[0, 1] - w.s[0, 2] - 5.0
    expected = idm_equilibrium_gap(20.0, 30.0 * STYLES[0, 0], STYLES[0, 1], STYLES[0, 4])
    assert w.v[0, 2] == pytest.approx(20.0, abs=0.05)
    assert gap == pytest.approx(expected, rel=0.02)
    assert w.lane[0, 2] == 0


def test_brakes_to_a_stopped_obstacle_without_collision_and_within_bounds():
    w = make_world(lanes=1, ego_speed=0.0)
    base = w.map.start_s
    w.place_obstacle(0, 0, 0, base + 140.0, 5.0, 2.0, kind=EGO, speed=0.0)
    w.place_obstacle(0, 1, 0, base + 100.0, 4.0, 2.0, kind=STATIC)
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=25.0)
    w._set_style(0, 2, 0)
    gaps, accs = [], []
    for _ in range(30 * 15):
        w.step(np.zeros(1), np.zeros(1))
        gaps.append(w.s[0, 1] - w.s[0, 2] - 4.5)
        accs.append(w.acc[0, 2])
    assert min(gaps) > 0.5
    assert w.v[0, 2] < 0.05
    assert gaps[-1] == pytest.approx(STYLES[0, 4], abs=0.7)  # stops about s0 behind
    assert min(accs) >= -w.p.emergency_decel


def test_sudden_obstacle_braking_is_bounded_by_the_emergency_deceleration():
    """Control for the bound: an obstacle 15 m ahead of a car at 25 m/s demands far more than
    8 m/s^2 from IDM; the applied deceleration stays at the emergency limit (and it collides)."""
    w = make_world(lanes=1, ego_speed=0.0)
    base = w.map.start_s
    w.place_obstacle(0, 0, 0, base + 200.0, 5.0, 2.0, kind=EGO, speed=0.0)
    w.place_obstacle(0, 1, 0, base + 20.0, 4.0, 2.0, kind=STATIC)
    w.place_obstacle(0, 2, 0, base, 5.0, 2.0, kind=TRAFFIC, speed=25.0)
    assert idm(25.0, 30.0, 15.5, 25.0, 2.0, 3.0, 1.5, 2.0) < -50.0
    w.step()
    assert w.acc[0, 2] == pytest.approx(-w.p.emergency_decel)


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
    run(w, 1.0)  # every vehicle reconsiders its lane once per second
    return w


def test_mobil_changes_lane_when_it_pays():
    w = _mobil_setup(blocker=False)
    assert w.tlane[0, 2] == 1
    run(w, 4.0)
    assert w.lane[0, 2] == 1 and abs(w.d[0, 2] - 4.0) < 0.5


def test_mobil_refuses_unsafe_change():
    w = _mobil_setup(blocker=True)
    assert w.tlane[0, 2] == 0


def test_friction_limits_the_turn_at_speed_and_the_steering_rate():
    """Full steering lock at 30 m/s turns no tighter than v^2 / max_lateral_accel (defect 6: it
    used to give a 4.6 m radius at any speed), and the wheel angle moves at the rate limit."""
    env = gym.make("simdrive/Highway-v0", action="continuous", vehicles=0, policy_frequency=15.0, ego_speed=30.0)
    env.reset(seed=0)
    w = env.unwrapped.world
    w.v[0, 0] = 30.0
    p = w.p
    steer = []
    for _ in range(15):  # 1 s of full left lock, coasting
        env.step(np.array([1.0, 0.0, 0.0], np.float32))
        steer.append(w.steer[0, 0])
    assert steer[0] == pytest.approx(min(p.max_steer_rate / p.sim_frequency, np.arctan(p.max_lateral_accel * p.wheelbase / 30.0**2)), rel=1e-6)
    assert np.all(np.abs(w.lat_acc[0, 0]) <= p.max_lateral_accel + 1e-6)
    v = w.v[0, 0]
    radius = p.wheelbase / np.tan(abs(w.steer[0, 0]))
    assert radius >= v * v / p.max_lateral_accel - 1e-6 and radius > 100.0
    # at walking speed the same lock gives the geometric minimum radius
    s1, sb1 = limit_slip(0.0, 0.6, 2.0, 3.0, 0.6, 100.0, 7.0, 1.0)
    assert s1 == pytest.approx(0.6) and p.wheelbase / np.tan(s1) < 5.0


def test_counter_based_random_is_batch_invariant():
    seeds = np.array([[5], [9]], np.uint64)
    a = uniform(seeds, 3, np.arange(4)[None, :], 1)
    b = uniform(seeds[1:], 3, np.arange(4)[None, :], 1)
    assert np.array_equal(a[1:], b)
    assert ((a >= 0) & (a < 1)).all() and len(np.unique(a)) == 8
