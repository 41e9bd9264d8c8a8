"""Scenario-suite throughput: scenarios per second run sequentially and on Ray with 2 workers.

    python benchmarks/suite_speed.py [--suite roundabout] [--policy expert] [--repeats 1] [--workers 2]

Prints a table and one JSON line. Both runs play the same episodes (identical records are
checked); the ratio is parallel over sequential throughput. Timings taken on a loaded machine
are not final.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="roundabout")
    ap.add_argument("--policy", default="expert")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    import ray

    from simdrive.evaluation.schema import load_suite
    from simdrive.evaluation.suite import run_suite

    suite = load_suite(args.suite)
    n = len(suite.scenarios) * args.repeats
    t = time.perf_counter()
    seq = run_suite(suite, [args.policy], repeats=args.repeats, clips=False)
    t_seq = time.perf_counter() - t
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        t = time.perf_counter()
        par = run_suite(suite, [args.policy], repeats=args.repeats, workers=args.workers, clips=False)
        t_par = time.perf_counter() - t
    finally:
        ray.shutdown()
    same = [[r.to_dict() for r in x.records] for x in seq.results] == [[r.to_dict() for r in x.records] for x in par.results]
    rows = [("sequential", t_seq, n / t_seq), (f"ray x{args.workers}", t_par, n / t_par)]
    print(f"{'run':<12} {'seconds':>8} {'scenarios/s':>12}")
    for name, sec, rate in rows:
        print(f"{name:<12} {sec:8.2f} {rate:12.2f}")
    print(f"ratio (ray / sequential): {t_seq / t_par:.2f}x; identical records: {same}")
    print(json.dumps({"benchmark": "suite_speed", "suite": suite.name, "policy": args.policy, "scenarios": n,
                      "sequential_s": t_seq, "parallel_s": t_par, "workers": args.workers,
                      "ratio": t_seq / t_par, "identical": same}))


if __name__ == "__main__":
    main()
