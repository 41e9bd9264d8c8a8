"""Speed disturbances of traffic drivers (envs/driving/disturbances.py): the profile of one, how a
disturbed driver brakes and recovers, seeding, and that they make Highway demand reacting."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.disturbances import DOWN_RATE, drop_at
from envs.driving.maps import HighwayParams, build_highway
from envs.driving.replay import expert_actions, replay_success
from envs.driving.state import STATIC, TRAFFIC
from envs.driving.world import World, WorldParams


def test_drop_profile_falls_holds_recovers_and_ends():
    full, hold, v_ref, b, a = 0.6, 5.0, 30.0, 3.0, 2.0
    t_down, t_up = full * v_ref / (DOWN_RATE * b), full * v_ref / a
    assert drop_at(0.0, full, hold, v_ref, b, a) == 0.0
    # the desired speed v_ref * (1 - drop) falls at DOWN_RATE * b per second
    slope = (drop_at(2.0, full, hold, v_ref, b, a) - drop_at(1.0, full, hold, v_ref, b, a)) * v_ref
    assert slope == pytest.approx(DOWN_RATE * b)
    assert drop_at(t_down + 0.5 * hold, full, hold, v_ref, b, a) == full
    rise = (drop_at(t_down + hold + 1.0, full, hold, v_ref, b, a) - drop_at(t_down + hold + 2.0, full, hold, v_ref, b, a)) * v_ref
    assert rise == pytest.approx(a)
    assert drop_at(t_down + hold + t_up + 0.1, full, hold, v_ref, b, a) < 0.0  # over


def lone_world(rate: float, depth: float, seed: int = 3) -> tuple[World, float]:
    """A world with one traffic car (slot 1) alone on a long one-lane road at its desired speed,
    the ego parked far behind it; and that desired speed [m/s]."""
    m = dataclasses.replace(build_highway(HighwayParams(lanes=1, length=6000.0, route_length=4000.0)), window=(-150.0, 1e5))
    w = World(m, 1, WorldParams(vehicles=1, density_range=(1.0, 1.0), speed_factor_range=(1.0, 1.0), disturbance_rate=rate,
                                disturbance_depth=(depth, depth), disturbance_hold=(5.0, 5.0)))
    w.reset([0], np.array([seed], np.uint64))
    w.kind[0, 0], w.v[0, 0] = STATIC, 0.0
    v_ref = 30.0 * w.v0f[0, 1]
    w.place_obstacle(0, 1, 0, m.start_s + 100.0, w.length[0, 1], w.width[0, 1], kind=TRAFFIC, speed=v_ref)
    return w, v_ref


def lone_driver(rate: float, depth: float, seed: int = 3, seconds: float = 40.0):
    """The lone car's speed, acceleration and disturbance drop at every physics step, and its
    desired speed and b, a."""
    w, v_ref = lone_world(rate, depth, seed)
    v, acc, drop = [], [], []
    for _ in range(int(seconds * 15)):
        w.step()
        v.append(w.v[0, 1])
        acc.append(w.acc[0, 1])
        drop.append(w.disturb_drop[0, 1])
    return np.array(v), np.array(acc), np.array(drop), v_ref, w.b[0, 1], w.a[0, 1]


@pytest.mark.parametrize("seed", [3, 5, 6])  # normal, defensive and aggressive drivers
@pytest.mark.parametrize("depth", [0.2, 0.5])
def test_a_disturbed_driver_brakes_about_comfortably_then_recovers(seed, depth):
    v, acc, drop, v_ref, b, a = lone_driver(1.0, depth, seed)
    assert drop.max() == pytest.approx(1.0 - depth)
    assert v.min() < 1.05 * depth * v_ref  # slowed to the disturbed desired speed
    assert -1.05 * b <= acc.min() <= -0.9 * b  # braking about as hard as comfortable, not harder
    start = int(np.argmax(drop > 0))
    end = start + int(np.argmax(drop[start:] == 0))  # the first disturbance is over (the next starts at once)
    assert end > start and v[end] > v[:end].min() + 3.0 and acc.max() <= a + 1e-9  # it sped up again


def test_control_without_disturbances_the_driver_keeps_its_speed():
    v, acc, drop, v_ref, _b, _a = lone_driver(0.0, 0.2)
    assert drop.max() == 0.0 and np.allclose(v, v_ref) and np.abs(acc).max() < 1e-9


def test_a_disturbance_keeps_its_timing_when_the_desired_speed_changes():
    """Its phases are timed by the desired speed when it began (``disturb_v_ref``): a car that
    moves to a lane of another limit mid-disturbance (here: its desired-speed factor halved) sees
    its drop go on changing at the same rate, with no jump."""
    w, _ = lone_world(1.0, 0.4)
    drops = []
    for k in range(15 * 4):
        if k == 15 * 2:
            w.v0f[0, 1] *= 0.5
        w.step()
        drops.append(w.disturb_drop[0, 1])
    steps = np.diff(drops[15:])
    assert drops[-1] > 0 and steps.max() - steps.min() < 1e-9  # one straight ramp


def test_disturbances_are_seeded_the_same_in_a_batch_and_alone():
    m = build_highway(HighwayParams(lanes=3, length=3000.0, route_length=2000.0))
    params = WorldParams(vehicles=20, disturbance_rate=0.2)
    seeds = np.array([11, 12, 13], np.uint64)
    batch = World(m, 3, params)
    batch.reset([0, 1, 2], seeds)
    singles = [World(m, 1, params) for _ in seeds]
    for k, world in enumerate(singles):
        world.reset([0], seeds[k:k + 1])
    for _ in range(15 * 20):
        batch.step()
        for world in singles:
            world.step()
    assert (batch.disturb_drop > 0).any()
    assert not np.array_equal(batch.disturb_t0[0], batch.disturb_t0[1])  # control: the seeds draw differently
    for k, world in enumerate(singles):
        assert np.array_equal(batch.F[:, k], world.F[:, 0], equal_nan=True)  # script_acc is NaN


def replay_success_rate(source: int, seeds, **kwargs) -> float:
    """Share of ``seeds`` on which seed ``source``'s expert action list, replayed blindly, drives Highway."""
    env = gym.make("simdrive/Highway-v0", **kwargs)
    return replay_success(env, expert_actions(env, source), seeds)


def test_a_cautious_fixed_action_list_no_longer_drives_highway():
    """Seed 7's expert drives at a cautious 15-20 m/s; without disturbances that fixed speed rarely
    meets slower traffic, so its action list replayed blindly drives most other seeds' routes."""
    seeds = range(1000, 1020)
    assert replay_success_rate(7, seeds) <= 0.5
    assert replay_success_rate(7, seeds, disturbance_rate=0.0) >= 0.6  # control: the old Highway
