"""Imitation learning on the driving suites: behavioural cloning and DAgger against the expert.

For each suite (``highway``, ``merge``): the expert drives the suite's scenarios at held-out
repetitions (``simdrive.data.SUITE_REPETITION_OFFSET`` on) into two demonstration datasets,
with and without ChauffeurNet perturbations, recording the bird's-eye raster and the camera.
Then, all scored with the suite's driving score (CARLA: route completion x infraction
penalty, mean over the suite's own repetitions, which no demonstration used):

- the expert itself;
- BC variants, one line each (the ablation table): raster + perturbations + class balancing
  (the main model), camera instead of raster, no perturbations, no class balancing;
- DAgger from the perturbed dataset, its policy after every iteration (0 = plain BC),
  learner episodes driven on the suite's scenarios (held-out repetitions).

Targets (issue 10): BC (raster) >= 90% of the expert's score; DAgger >= 97% within 5 iterations.

    python benchmarks/imitation.py                                   # both suites, defaults
    python benchmarks/imitation.py --suites highway --episodes 60 --dagger-iterations 2 --repeats 2   # quick

Prints one table per suite and, last, one JSON line with everything. Not part of the test suite.
Datasets go to $MINARI_DATASETS_PATH (default ~/.minari/datasets) as simdrive/bench-SUITE-{plain,perturbed}-v0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def suite_score(suite: str, policy: str, repeats: int | None) -> dict[str, float]:
    """The suite's mean driving score (and a few rates) of a policy: 'expert' or a checkpoint."""
    from simdrive.evaluation.schema import load_suite
    from simdrive.evaluation.suite import suite_means

    means = suite_means(load_suite(suite), policy, repeats)
    return {"driving_score": means["driving_score"], "route_completion": means["route_completion"],
            "crash_rate": means["crash"], "success_rate": means["success"], "episodes": int(means["episodes"])}


def train_bc(env_id: str, dataset: str, env_kwargs: dict[str, Any], out: Path, seed: int, settings: tuple[str, ...]) -> tuple[str, float]:
    from simdrive.runner import TrainRequest, train

    started = time.perf_counter()
    summary = train(TrainRequest(agent="bc", env_id=env_id, seed=seed, overrides=(f"data={dataset}", *settings),
                                 env_kwargs=env_kwargs, out_dir=out, track=False, eval_episodes=1,
                                 show_progress=False))
    return summary.checkpoint, time.perf_counter() - started


def run_dagger(suite: str, env_id: str, dataset: str, out: Path, seed: int, iterations: int, episodes: int,
               repeats: int | None, settings: dict[str, Any], env_kwargs: dict[str, Any],
               start: tuple[str, dict[str, float]] | None = None) -> list[dict[str, float]]:
    """DAgger with the learner driving the suite's scenarios; every iteration's policy scored on the suite.
    ``start``: (checkpoint, its score) of a BC model on the same dataset and settings, used as pi_0
    (DAgger's own first step is that same BC training; this saves running it twice)."""
    from agents.base import Budget, Callbacks
    from agents.checkpoint import load_checkpoint, save_checkpoint
    from agents.dagger import DAggerAgent, DAggerConfig
    from simdrive.imitation import SuiteEnv

    env = SuiteEnv(suite, env_kwargs)
    config = DAggerConfig(data=dataset, iterations=iterations, episodes_per_iteration=episodes, **settings)
    agent = DAggerAgent(env.observation_space, env.action_space, config, seed=seed)
    budget, callbacks = Budget(steps=10**12), Callbacks()
    started = time.perf_counter()
    if start is None:
        demos = agent.start(env, budget, callbacks)
    else:
        demos = agent.load_demonstrations(dataset)
        agent.load_state_dict(load_checkpoint(start[0]).state)
    train_seconds = time.perf_counter() - started  # training and labelling, scoring excluded
    rows = []
    for it in range(iterations + 1):
        path = save_checkpoint(out / f"dagger-{it}.sdckpt", agent="dagger", config=config, env_id=env_id,
                               env_kwargs=env_kwargs, state=agent.state_dict())
        score = start[1] if start is not None and it == 0 else suite_score(suite, str(path), repeats)
        rows.append({"iteration": it, "samples": len(demos), "train_seconds": train_seconds, **score})
        print(f"  dagger iteration {it}: score {score['driving_score']:.1f}, {len(demos)} samples, {train_seconds:.0f} s", flush=True)
        if it < iterations:
            started = time.perf_counter()
            demos, _ = agent.iterate(env, demos, it, budget, callbacks, retrain=True)
            train_seconds += time.perf_counter() - started
    env.close()
    return rows


def bench_suite(suite: str, args) -> dict[str, Any]:
    from simdrive import data
    from simdrive.config import parse_env_kwargs
    from simdrive.evaluation.schema import load_suite

    env_id = load_suite(suite).scenarios[0].env_id
    raster = parse_env_kwargs(args.env_arg)  # sensor geometry (birdseye_height=..., camera_scale=...)
    sensors = "birdseye,camera"
    names = {"plain": f"simdrive/bench-{suite}-plain-v0", "perturbed": f"simdrive/bench-{suite}-perturbed-v0"}
    collect = {}
    for kind, name in names.items():
        started = time.perf_counter()
        summary = data.collect_expert(None, raster, args.episodes, name, seed=args.seed, sensors=sensors, overwrite=True, suite=suite,
                                      perturb=data.parse_perturb(args.perturb) if kind == "perturbed" else None)
        collect[kind] = {"episodes": summary.episodes, "steps": summary.steps, "seconds": time.perf_counter() - started,
                         "outcomes": summary.outcomes}
        print(f"  collected {name}: {summary.episodes} episodes, {summary.steps} steps", flush=True)
    expert = suite_score(suite, "expert", args.repeats)
    print(f"  expert: score {expert['driving_score']:.1f}", flush=True)
    variants = [("raster + perturbations + balancing", "birdseye", names["perturbed"], ()),
                ("camera + perturbations + balancing", "camera", names["perturbed"], ()),
                ("raster, no perturbations", "birdseye", names["plain"], ()),
                ("raster, no class balancing", "birdseye", names["perturbed"], ("balance=false",))]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, (label, obs, dataset, settings) in enumerate(variants):
            if args.only_main and i > 0:
                break
            ckpt, seconds = train_bc(env_id, dataset, {**raster, "observation": obs}, Path(scratch) / f"bc{i}", args.seed,
                                     (*settings, *args.set))
            score = suite_score(suite, ckpt, args.repeats)
            if i == 0:
                main = (ckpt, score, seconds)
            rows.append({"model": f"BC {label}", "train_seconds": seconds, **score,
                         "share_of_expert": score["driving_score"] / max(expert["driving_score"], 1e-9)})
            print(f"  BC {label}: score {score['driving_score']:.1f} ({seconds:.0f} s)", flush=True)
        dagger = []
        if args.dagger_iterations > 0:
            settings = dict(kv.split("=", 1) for kv in args.set)
            typed = {k: (float(v) if "." in v else int(v)) if v.replace(".", "").isdigit() else (v == "true" if v in ("true", "false") else v)
                     for k, v in settings.items()}
            typed["epochs_per_iteration"] = args.dagger_epochs
            dagger = run_dagger(suite, env_id, names["perturbed"], Path(scratch), args.seed, args.dagger_iterations,
                                args.dagger_episodes, args.repeats, typed, {**raster, "observation": "birdseye"},
                                start=main[:2])
            for row in dagger:
                row["train_seconds"] += main[2]
            for row in dagger:
                row["share_of_expert"] = row["driving_score"] / max(expert["driving_score"], 1e-9)
    return {"suite": suite, "env_id": env_id, "collect": collect, "expert": expert, "bc": rows, "dagger": dagger}


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    e = result["expert"]
    table = Table(title=f"suite {result['suite']}: driving score (CARLA), held-out repetitions", title_justify="left")
    table.add_column("model", no_wrap=True)
    for col in ("driving score", "% of expert", "route compl. [%]", "crash rate", "success", "train [s]"):
        table.add_column(col, justify="right")
    table.add_row("expert", f"{e['driving_score']:.1f}", "100%", f"{e['route_completion']:.1f}", f"{e['crash_rate']:.2f}",
                  f"{e['success_rate']:.2f}", "-")
    for r in result["bc"] + [dict(r, model=f"DAgger iteration {r['iteration']}") for r in result["dagger"]]:
        table.add_row(r["model"], f"{r['driving_score']:.1f}", f"{100 * r['share_of_expert']:.0f}%", f"{r['route_completion']:.1f}",
                      f"{r['crash_rate']:.2f}", f"{r['success_rate']:.2f}", f"{r['train_seconds']:.0f}")
    Console(width=160).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=["highway", "merge"])
    parser.add_argument("--episodes", type=int, default=150, help="demonstration episodes per dataset")
    parser.add_argument("--perturb", default="p=0.1,lateral=1.0,heading=0.05")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per scenario when scoring (default: the suite's)")
    parser.add_argument("--dagger-iterations", type=int, default=5)
    parser.add_argument("--dagger-epochs", type=int, default=5, help="most epochs of each DAgger retraining")
    parser.add_argument("--dagger-episodes", type=int, default=20, help="learner episodes per DAgger iteration")
    parser.add_argument("--set", nargs="*", default=["epochs=20"], help="BC settings key=value")
    parser.add_argument("--only-main", action="store_true", help="only the main BC model (no ablations)")
    parser.add_argument("--env-arg", nargs="*", default=[], help="environment arguments key=value for every model and "
                        "dataset (sensor geometry, e.g. birdseye_height=128 birdseye_look_ahead=100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results = []
    for suite in args.suites:
        print(f"suite {suite}", flush=True)
        result = bench_suite(suite, args)
        print_table(result)
        results.append(result)
    print(json.dumps({"benchmark": "imitation", "args": vars(args), "results": results}, default=float))


if __name__ == "__main__":
    main()
