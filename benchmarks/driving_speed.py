"""SimDrive's driving engine vs highway-env on the same work.

Work: 4 lanes, 50 other vehicles, 15 Hz simulation, 1 Hz policy, a 64-beam lidar
observation, random meta-actions (lane left/idle/lane right/faster/slower).
Prints env-steps per second for highway-env's ``highway-v0`` (LidarObservation, cells=64),
SimDrive's ``simdrive/Highway-v0`` as one env, and batched with ``gymnasium.make_vec``
(N = 64 by default), then the ratios; a second table times each sensor alone per call.
The last line is a JSON object with every number.

    .venv/bin/python benchmarks/driving_speed.py            # full run (~1-2 min)
    .venv/bin/python benchmarks/driving_speed.py --seconds 3 --skip-highway-env

highway-env (PyPI ``highway-env``) is optional and imported lazily: ``pip install highway-env``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

# one thread each (before numpy loads BLAS): the comparison is single-core work, and idle BLAS
# threads spinning would inflate the CPU time of whichever library calls into BLAS
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LANES, VEHICLES, SIM_HZ, POLICY_HZ, BEAMS = 4, 50, 15, 1, 64


class Rate:
    """Steps per second by wall clock and by this process's CPU time (robust to other load)."""

    def __init__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()

    def wall(self) -> float:
        return time.perf_counter() - self.w0

    def done(self, n: int) -> dict:
        return {"wall": n / self.wall(), "cpu": n / max(time.process_time() - self.c0, 1e-9), "steps": n}


def _timed_loop(step, reset, seconds: float, min_steps: int) -> dict:
    """Run ``step`` (returns done) for ``seconds`` (at least ``min_steps``); env-steps/s."""
    reset()
    n, rate = 0, Rate()
    while True:
        if step():
            reset()
        n += 1
        if rate.wall() >= seconds and n >= min_steps:
            return rate.done(n)


def bench_highway_env(seconds: float):
    try:
        import gymnasium as gym
        import highway_env  # noqa: F401
    except ImportError:
        return None, "highway-env not installed (pip install highway-env)"
    cfg = {
        "lanes_count": LANES,
        "vehicles_count": VEHICLES,
        "simulation_frequency": SIM_HZ,
        "policy_frequency": POLICY_HZ,
        "observation": {"type": "LidarObservation", "cells": BEAMS},
        "action": {"type": "DiscreteMetaAction"},
    }
    env = gym.make("highway-v0", config=cfg)
    rng = np.random.default_rng(0)
    seed = [0]

    def reset():
        seed[0] += 1
        env.reset(seed=seed[0])

    def step():
        _, _, term, trunc, _ = env.step(int(rng.integers(5)))
        return term or trunc

    sps = _timed_loop(step, reset, seconds, 5)
    # the lidar observation alone
    obs_type = env.unwrapped.observation_type
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < min(2.0, seconds):
        obs_type.observe()
        k += 1
    lidar_ms = 1e3 * (time.perf_counter() - t0) / k
    env.close()
    return {"rate": sps, "lidar_ms": lidar_ms}, None


def bench_ours_single(seconds: float) -> dict:
    import gymnasium as gym

    import envs  # noqa: F401

    env = gym.make("simdrive/Highway-v0", observation=("lidar",), lidar_beams=BEAMS, vehicles=VEHICLES, lanes=LANES,
                   sim_frequency=float(SIM_HZ), policy_frequency=float(POLICY_HZ))
    rng = np.random.default_rng(0)
    seed = [0]

    def reset():
        seed[0] += 1
        env.reset(seed=seed[0])

    def step():
        _, _, term, trunc, _ = env.step(int(rng.integers(5)))
        return term or trunc

    return _timed_loop(step, reset, seconds, 20)


def bench_ours_batched(seconds: float, n: int):
    import gymnasium as gym

    import envs  # noqa: F401

    venv = gym.make_vec("simdrive/Highway-v0", num_envs=n, observation=("lidar",), lidar_beams=BEAMS, vehicles=VEHICLES,
                        lanes=LANES, sim_frequency=float(SIM_HZ), policy_frequency=float(POLICY_HZ))
    rng = np.random.default_rng(0)
    venv.reset(seed=0)
    for _ in range(2):
        venv.step(rng.integers(0, 5, n))
    k, rate = 0, Rate()
    while True:
        venv.step(rng.integers(0, 5, n))  # autoreset inside
        k += 1
        if rate.wall() >= seconds and k >= 5:
            return rate.done(k * n)


def bench_sensors(seconds: float):
    import gymnasium as gym

    import envs  # noqa: F401
    from envs.driving.sensors import Camera, Kinematics, Lidar, OccupancyGrid

    env = gym.make("simdrive/Highway-v0", vehicles=VEHICLES, lanes=LANES)
    env.reset(seed=0)
    env.step(1)
    w = env.unwrapped.world
    out = {}
    for name, s in (("lidar (64 beams)", Lidar(beams=BEAMS)), ("camera (84x84 RGB)", Camera()), ("kinematics (5)", Kinematics()),
                    ("occupancy (21x21)", OccupancyGrid())):
        s.observe(w)
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            s.observe(w)
            k += 1
        out[name] = 1e3 * (time.perf_counter() - t0) / k
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="wall time per measurement [s]")
    ap.add_argument("--num-envs", type=int, default=64, help="batch size of the batched measurement")
    ap.add_argument("--skip-highway-env", action="store_true", help="do not run highway-env")
    a = ap.parse_args(argv)

    he, he_err = (None, "skipped") if a.skip_highway_env else bench_highway_env(max(a.seconds, 15.0))
    single = bench_ours_single(a.seconds)
    batched = bench_ours_batched(a.seconds, a.num_envs)
    sensors = bench_sensors(min(2.0, a.seconds))

    def ratio(r, key):
        return r[key] / he["rate"][key] if he else None

    rows = [
        ("highway-env highway-v0 (LidarObservation 64)", he["rate"] if he else None),
        ("SimDrive Highway-v0, one env", single),
        (f"SimDrive Highway-v0, batched N={a.num_envs}", batched),
    ]
    print(f"\nWork: {LANES} lanes, {VEHICLES} vehicles, {SIM_HZ} Hz sim, {POLICY_HZ} Hz policy, {BEAMS}-beam lidar, random meta-actions")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}")
    print("env-steps/s by wall clock and by process CPU time; ratios use CPU time (fair on a shared machine)\n")
    print(f"{'environment':48s} {'wall /s':>10s} {'CPU /s':>10s} {'x highway-env':>14s}")
    for name, r in rows:
        if r is None:
            print(f"{name:48s} {'n/a':>10s} {'n/a':>10s} {'n/a':>14s}")
            continue
        x = r["cpu"] / he["rate"]["cpu"] if he else None
        print(f"{name:48s} {r['wall']:10.1f} {r['cpu']:10.1f} {(f'{x:13.0f}x' if x else 'n/a'):>14s}")
    if he_err and not he:
        print(f"  (highway-env: {he_err})")
    print(f"\n{'sensor, one call on one world':40s} {'ms/call':>10s}")
    for name, ms in sensors.items():
        print(f"{'SimDrive ' + name:40s} {ms:10.3f}")
    if he:
        print(f"{'highway-env LidarObservation (64 cells)':40s} {he['lidar_ms']:10.3f}")
    rs, rb = ratio(single, "cpu"), ratio(batched, "cpu")
    result = {
        "work": {"lanes": LANES, "vehicles": VEHICLES, "sim_hz": SIM_HZ, "policy_hz": POLICY_HZ, "lidar_beams": BEAMS},
        "highway_env": he["rate"] if he else None,
        "simdrive_single": single,
        "simdrive_batched": batched,
        "num_envs": a.num_envs,
        "ratio_single_cpu": rs,
        "ratio_batched_cpu": rb,
        "ratio_single_wall": ratio(single, "wall"),
        "ratio_batched_wall": ratio(batched, "wall"),
        "targets_met": {"single_100x": bool(rs and rs >= 100), "batched_1000x": bool(rb and rb >= 1000)},
        "sensor_ms_per_call": sensors,
        "highway_env_lidar_ms_per_call": he["lidar_ms"] if he else None,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
