"""Physical invariants of the traffic as properties over many seeded episodes on every map, with
a random and with the expert ego; each check comes with a control showing it can fail."""

from importlib import import_module

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.checks import InvariantMonitor
from envs.driving.maps import HighwayParams, build_highway
from envs.driving.world import SCRIPTED, TRAFFIC, World, WorldParams

MAPS = ("Highway", "Merge", "Intersection", "Roundabout", "Racetrack")
WORLDS = 16  # seeded episodes per map and policy (the benchmark runs 500)


def run_episodes(name, policy, n=WORLDS, seed=0, steps=None, **kwargs):
    """Run n seeded episodes of simdrive/{name}-v0 batched; return the invariant monitor."""
    spec = gym.spec(f"simdrive/{name}-v0")
    module, cls = spec.vector_entry_point.split(":")
    env = getattr(import_module(module), cls)(num_envs=n, max_episode_steps=spec.max_episode_steps, **kwargs)
    env.reset(seed=list(range(seed, seed + n)))
    core = env.core
    mon = InvariantMonitor(core.world)
    done = np.zeros(n, bool)
    rng = np.random.default_rng(seed)
    for _ in range(steps or spec.max_episode_steps):
        act = env.expert_actions() if policy == "expert" else _random(env, rng)
        _, term, _ = core.step(act, on_physics_step=lambda k: mon.update(~done))
        done |= term
        if done.all():
            break
    return mon


def _random(env, rng):
    space = env.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(0, space.n, env.num_envs)
    return rng.uniform(space.low, space.high, (env.num_envs,) + space.shape).astype(np.float32)


@pytest.mark.parametrize("policy", ["expert", "random"])
@pytest.mark.parametrize("name", MAPS)
def test_traffic_invariants_hold(name, policy):
    mon = run_episodes(name, policy)
    assert mon.counts["vehicle_steps"] > 1000
    assert mon.ok(), (name, policy, mon.counts, mon.worst)
    assert mon.worst["decel"] >= -8.0 - 1e-9 and mon.worst["lateral"] <= 7.5


# ---------------------------------------------------------------- controls: the checks can fail
def test_control_overlap_detected_when_braking_is_too_weak():
    """With the traffic's braking capped at 1 m/s^2, it cannot keep its distance and collides,
    and the monitor sees it (the same check passes above with the real limits)."""
    mon = run_episodes("Merge", "expert", n=8, emergency_decel=1.0)
    assert mon.counts["overlaps"] > 0


def test_control_bound_violation_detected():
    """Checked against a bound tighter than the engine's (2 instead of 8 m/s^2), braking is seen."""
    mon = run_episodes("Merge", "expert", n=8)
    tight = InvariantMonitor(mon.world, decel_bound=0.5)
    w = mon.world
    for _ in range(15 * 10):
        w.step()
        tight.update()
    assert tight.counts["accel"] > 0


def test_control_nonfinite_straddle_and_stuck_detected():
    m = build_highway(HighwayParams(lanes=2, length=3000.0, route_length=2000.0))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=3, ego_speed=0.0))
    w.reset([0], np.array([1], np.uint64))
    base = m.start_s
    w.place_obstacle(0, 0, 0, base, 5.0, 2.0, kind=0, speed=0.0)
    # a traffic car told to stop on free road; another stopped half across the lane line
    w.place_obstacle(0, 1, 0, base + 100.0, 5.0, 2.0, kind=TRAFFIC, speed=10.0)
    w.place_obstacle(0, 2, 1, base + 200.0, 5.0, 2.0, kind=TRAFFIC, speed=0.0)
    w.y[0, 2] = w.d[0, 2] = 2.0  # between the lane centres at 0 and 4 (the highway runs along x)
    mon = InvariantMonitor(w, stuck_limit=3.0, straddle_limit=1.0)
    for _ in range(15 * 6):
        w.set_script(0, 1, acc=-8.0)  # scripted actors are excused by the monitor...
        w.set_script(0, 2, acc=0.0)
        w.step()
        w.kind[0, 1:3] = TRAFFIC  # ...so judge them as traffic
        mon.update()
    assert mon.counts["stuck"] > 0 and mon.counts["straddle"] > 0
    w.v[0, 1] = np.nan
    mon.update()
    assert mon.counts["nonfinite"] > 0
