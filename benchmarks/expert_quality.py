"""The driving expert's quality, and how much the driving envs demand reacting.

For each driving environment (default action space and policy frequency), ``--episodes``
seeded episodes (seeds 0, 1, ...) of the built-in expert and of a uniformly random policy,
run batched: collisions (all, and those the ego is at fault for, nuPlan's classification),
off-road, red-light runs, failures to yield, route completion, success (route completed
without collision or off-road) and mean speed; the traffic's invariants over the same
episodes (overlaps between traffic vehicles, the hardest deceleration, vehicles stopped
across a lane line or stuck on free road, see ``envs.driving.checks``); and the blind-replay
rate: seed 0's expert action list replayed without looking on seeds 1..``--replay-seeds``
(success as above, also without red-light runs and failures to yield). Targets (issue 8):
expert at-fault collisions <= 0.5%, no off-road, no red-light run, mean route completion
>= 98%; blind replay <= 20%.

Prints a table and, last, one JSON line with every number.

    .venv/bin/python benchmarks/expert_quality.py                  # 500 episodes each (~15-25 min)
    .venv/bin/python benchmarks/expert_quality.py --episodes 50 --envs Highway,Merge
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import import_module

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import envs  # noqa: E402,F401
from envs.driving.checks import InvariantMonitor  # noqa: E402
from envs.driving.replay import expert_actions, replay_success  # noqa: E402

ENVS = ("Highway", "Merge", "Intersection", "Roundabout", "Racetrack")


def _vector_env(name: str, n: int, **kwargs):
    spec = gym.spec(f"simdrive/{name}-v0")
    module, cls = spec.vector_entry_point.split(":")
    return getattr(import_module(module), cls)(num_envs=n, max_episode_steps=spec.max_episode_steps, **kwargs), spec


def episodes(name: str, policy: str, n: int, seed: int = 0, batch: int = 100, action: str | None = None) -> dict:
    """Outcomes of ``n`` seeded episodes (seeds ``seed..seed+n-1``) and the traffic's invariants."""
    kw = {"action": action} if action else {}
    keys = ("crashed", "at_fault", "offroad", "ran_red_light", "failed_to_yield")
    totals = {k: 0 for k in keys}
    completion, success, speed = [], [], []
    inv = dict(overlaps=0, accel=0, lateral=0, nonfinite=0, straddle=0, stuck=0, vehicle_steps=0)
    worst_decel = 0.0
    rng = np.random.default_rng(seed)
    for start in range(seed, seed + n, batch):
        m = min(batch, seed + n - start)
        env, spec = _vector_env(name, m, **kw)
        env.reset(seed=list(range(start, start + m)))
        core = env.core
        mon = InvariantMonitor(core.world)
        done = np.zeros(m, bool)
        events = {k: np.zeros(m, bool) for k in keys}
        comp, succ, vsum, steps = np.zeros(m), np.zeros(m, bool), np.zeros(m), np.zeros(m)
        for _ in range(spec.max_episode_steps):
            if policy == "expert":
                act = env.expert_actions()
            else:
                space = env.single_action_space
                act = (rng.integers(0, space.n, m) if isinstance(space, gym.spaces.Discrete)
                       else rng.uniform(space.low, space.high, (m,) + space.shape).astype(np.float32))
            _, term, info = core.step(act, on_physics_step=lambda k: mon.update(~done))
            live = ~done
            for k in keys:
                events[k] |= live & info[k].astype(bool)
            comp = np.where(live, info["route_completion"], comp)
            succ = np.where(live, info["route_completed"] & ~info["crashed"] & ~info["offroad"], succ)
            vsum += np.where(live, info["speed"], 0.0)
            steps += live
            done |= term
            if done.all():
                break
        for k in keys:
            totals[k] += int(events[k].sum())
        completion += comp.tolist()
        success += succ.tolist()
        speed += (vsum / np.maximum(steps, 1)).tolist()
        for k in inv:
            inv[k] += mon.counts[k]
        worst_decel = min(worst_decel, mon.worst["decel"])
    pct = lambda k: 100.0 * totals[k] / n  # noqa: E731
    return {
        "episodes": n, "collision_pct": pct("crashed"), "at_fault_pct": pct("at_fault"), "offroad_pct": pct("offroad"),
        "red_light_pct": pct("ran_red_light"), "failed_to_yield_pct": pct("failed_to_yield"),
        "route_completion_pct": 100.0 * float(np.mean(completion)), "success_pct": 100.0 * float(np.mean(success)),
        "mean_speed": float(np.mean(speed)), "traffic": {**inv, "hardest_decel": worst_decel},
    }


def blind_replay(name: str, seeds: int) -> dict:
    """Seed 0's expert action list replayed without looking on seeds 1..``seeds``."""
    env = gym.make(f"simdrive/{name}-v0")
    actions = expert_actions(env, 0)
    return {"seeds": seeds, "success_pct": 100.0 * replay_success(env, actions, range(1, seeds + 1)), "actions": len(actions)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=500, help="seeded episodes per environment and policy")
    ap.add_argument("--envs", default=",".join(ENVS), help="comma-separated: " + ",".join(ENVS))
    ap.add_argument("--replay-seeds", type=int, default=50, help="seeds the blind replay is tried on")
    ap.add_argument("--action", default=None, help="meta, discrete or continuous (default: each env's own)")
    args = ap.parse_args(argv)
    out: dict = {"episodes": args.episodes, "envs": {}}
    rows = []
    t0 = time.time()
    for name in args.envs.split(","):
        res = {p: episodes(name, p, args.episodes, action=args.action) for p in ("expert", "random")}
        res["blind_replay"] = blind_replay(name, args.replay_seeds) if args.action is None else None
        out["envs"][name] = res
        for p in ("expert", "random"):
            r = res[p]
            rows.append((name, p, r["collision_pct"], r["at_fault_pct"], r["offroad_pct"], r["red_light_pct"],
                         r["failed_to_yield_pct"], r["route_completion_pct"], r["success_pct"], r["mean_speed"],
                         r["traffic"]["overlaps"], r["traffic"]["hardest_decel"],
                         res["blind_replay"]["success_pct"] if (p == "expert" and res["blind_replay"]) else None))
        print(f"[{time.time() - t0:6.0f}s] {name} done", file=sys.stderr, flush=True)
    head = ("env", "policy", "collision %", "at fault %", "off-road %", "red light %", "no yield %", "route %", "success %",
            "speed m/s", "traffic overlaps", "hardest decel", "blind replay %")
    print(f"{args.episodes} seeded episodes per env and policy" + (f", action={args.action}" if args.action else ""))
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        cells = [row[0], row[1]] + [f"{v:.1f}" if isinstance(v, float) else ("-" if v is None else str(v)) for v in row[2:]]
        print("| " + " | ".join(cells) + " |")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
