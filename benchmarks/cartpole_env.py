"""Steps per second: simdrive/CartPole-v1 against Gymnasium's CartPole-v1, side by side.

Rows (each: same seed, same pre-sampled random actions for both sides, so both follow the same
trajectories and reset equally often):

* ``single make``  : ``gym.make`` of each (PassiveEnvChecker + OrderEnforcing + TimeLimit), step /
  reset on episode end;
* ``single raw``   : the unwrapped env classes;
* ``vector N=64``, ``vector N=1024``: ``gym.make_vec`` of each, i.e. our ``CartPoleVectorEnv``
  against Gymnasium's ``CartPoleVectorEnv`` (both NEXT_STEP autoreset, 500-step limit);
  steps/s counts sub-env steps;
* ``sync N=64``    : Gymnasium's ``SyncVectorEnv`` of CartPole-v1, which our vector env equals
  step for step (an extra row, for scale);
* ``render``       : one 600x400 ``rgb_array`` frame (our opencv drawing vs Gymnasium's pygame).

Each row is timed in interleaved rounds and reports the best round (least disturbed by other
processes) of each side; the ratio is ours / gymnasium. Prints a table, then one JSON line.

    .venv/bin/python benchmarks/cartpole_env.py            # ~30 s
    .venv/bin/python benchmarks/cartpole_env.py --quick    # ~5 s, noisier
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402,F401  (registers simdrive/*)

OURS, THEIRS = "simdrive/CartPole-v1", "CartPole-v1"


def _time_single(env: gym.Env, actions: list[int]) -> float:
    """Seconds to play ``actions``, resetting (unseeded) at episode ends."""
    env.reset(seed=0)
    step, reset = env.step, env.reset
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            reset()
    return time.perf_counter() - t0


def _time_vector(env: gym.vector.VectorEnv, actions: np.ndarray) -> float:
    """Seconds to play ``actions`` (T, N); the vector env autoresets itself."""
    env.reset(seed=0)
    step = env.step
    t0 = time.perf_counter()
    for a in actions:
        step(a)
    return time.perf_counter() - t0


def _time_render(env: gym.Env, n: int) -> float:
    env.reset(seed=0)
    env.step(1)
    t0 = time.perf_counter()
    for _ in range(n):
        env.render()
    return time.perf_counter() - t0


def _row(name: str, gym_run: Callable[[], float], our_run: Callable[[], float], work: int, rounds: int, unit: str):
    gym_run(), our_run()  # warm-up (imports, caches, first-call allocation)
    gym_rates, our_rates = [], []
    for _ in range(rounds):  # interleaved, so load changes hit both sides alike
        gym_rates.append(work / gym_run())
        our_rates.append(work / our_run())
    g, o = max(gym_rates), max(our_rates)
    return {
        "row": name,
        "unit": unit,
        "gymnasium": g,
        "ours": o,
        "ratio": o / g,
        "gymnasium_median": float(np.median(gym_rates)),
        "ours_median": float(np.median(our_rates)),
        "ratio_median": float(np.median(our_rates) / np.median(gym_rates)),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (noisier)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per side and row")
    args = parser.parse_args(argv)
    quick = args.quick
    rounds = args.rounds or (5 if quick else 15)
    rng = np.random.default_rng(0)
    n_single = 5_000 if quick else 20_000
    single_actions = rng.integers(0, 2, n_single).tolist()
    rows = []

    rows.append(
        _row(
            "single make",
            lambda e=gym.make(THEIRS): _time_single(e, single_actions),
            lambda e=gym.make(OURS): _time_single(e, single_actions),
            n_single,
            rounds,
            "steps/s",
        )
    )
    rows.append(
        _row(
            "single raw",
            lambda e=gym.make(THEIRS).unwrapped: _time_single(e, single_actions),
            lambda e=gym.make(OURS).unwrapped: _time_single(e, single_actions),
            n_single,
            rounds,
            "steps/s",
        )
    )
    for n_envs, n_steps in ((64, 300 if quick else 1_500), (1024, 100 if quick else 500)):
        actions = rng.integers(0, 2, (n_steps, n_envs))
        theirs = gym.make_vec(THEIRS, num_envs=n_envs, vectorization_mode="vector_entry_point")
        ours = gym.make_vec(OURS, num_envs=n_envs)
        assert type(theirs).__module__.startswith("gymnasium") and type(ours).__module__ == "envs.cartpole"
        rows.append(
            _row(
                f"vector N={n_envs}",
                lambda e=theirs, a=actions: _time_vector(e, a),
                lambda e=ours, a=actions: _time_vector(e, a),
                n_steps * n_envs,
                rounds,
                "env-steps/s",
            )
        )
    n_sync = 40 if quick else 150
    sync_actions = rng.integers(0, 2, (n_sync, 64))
    rows.append(
        _row(
            "sync N=64 (extra)",
            lambda e=gym.make_vec(THEIRS, num_envs=64, vectorization_mode="sync"): _time_vector(e, sync_actions),
            lambda e=gym.make_vec(OURS, num_envs=64): _time_vector(e, sync_actions),
            n_sync * 64,
            rounds,
            "env-steps/s",
        )
    )
    n_frames = 30 if quick else 150
    rows.append(
        _row(
            "render rgb_array (extra)",
            lambda e=gym.make(THEIRS, render_mode="rgb_array"): _time_render(e, n_frames),
            lambda e=gym.make(OURS, render_mode="rgb_array"): _time_render(e, n_frames),
            n_frames,
            rounds,
            "frames/s",
        )
    )

    print(f"CartPole-v1 steps per second, best of {rounds} interleaved rounds (median ratio in brackets)")
    print(f"{'row':<26}{'gymnasium':>14}{'ours':>14}{'ours/gym':>10}{'(median)':>10}  unit")
    for r in rows:
        print(
            f"{r['row']:<26}{r['gymnasium']:>14,.0f}{r['ours']:>14,.0f}{r['ratio']:>9.2f}x"
            f"{r['ratio_median']:>9.2f}x  {r['unit']}"
        )
    core = [r for r in rows if "extra" not in r["row"]]
    result = {
        "benchmark": "cartpole_env",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "cpu_count": os.cpu_count(),
        "rounds": rounds,
        "quick": quick,
        "rows": rows,
        "min_ratio_core_rows": min(r["ratio"] for r in core),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
