"""The deep-learning text's experiment: behavioural cloning on CarRacing, 7 discrete actions,
84x84 frames, against its demonstrator.

The scripted track-following driver of ``simdrive/CarRacing-v0`` (``envs/carracing.py``)
drives ``--episodes`` episodes (seeds 0, 1, ...) into a Minari dataset; ``simdrive train bc``'s
pipeline (the text's CNN: 3 convolutions + 2 fully connected layers with batch norm and
dropout, class balancing by weighted sampling, split by episode, early stopping) learns from
it; then the BC policy and the demonstrator drive the same ``--eval-episodes`` held-out tracks
(seeds 10000, 10001, ...). Target (issue 10): BC mean return >= 80% of the demonstrator's.

    python benchmarks/carracing_bc.py                          # 40 demonstrations, 50 evaluation episodes
    python benchmarks/carracing_bc.py --episodes 10 --eval-episodes 5 --set epochs=5   # quick

Prints a table and, last, one JSON line. Not part of the test suite (needs simdrive[carracing]).
The same from the command line:

    simdrive collect expert simdrive/CarRacing-v0 --episodes 40 --out simdrive/carracing-expert-v0
    simdrive train bc simdrive/CarRacing-v0 --data simdrive/carracing-expert-v0 --eval-episodes 50
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENV_ID = "simdrive/CarRacing-v0"
EVAL_SEED = 10_000


def returns_of(agent, episodes: int) -> list[float]:
    from simdrive.envs_registry import make_env
    from simdrive.runner import evaluate

    env = make_env(ENV_ID)
    try:
        return evaluate(agent, env, episodes, seed=EVAL_SEED).returns
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=40, help="demonstration episodes")
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--dataset", default="simdrive/bench-carracing-expert-v0")
    parser.add_argument("--set", nargs="*", default=["epochs=15"], help="BC settings key=value")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from simdrive import data
    from simdrive.agents_registry import resolve_policy
    from simdrive.runner import TrainRequest, train

    started = time.perf_counter()
    collected = data.collect_expert(ENV_ID, {}, args.episodes, args.dataset, seed=args.seed, overwrite=True)
    collect_seconds = time.perf_counter() - started
    print(f"collected {collected.episodes} episodes, {collected.steps} steps, mean return {collected.mean_return:.1f} "
          f"({collect_seconds:.0f} s)", flush=True)
    info = data.info(args.dataset)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        summary = train(TrainRequest(agent="bc", env_id=ENV_ID, seed=args.seed, overrides=(f"data={args.dataset}", *args.set),
                                     out_dir=Path(scratch), track=False, eval_episodes=1, show_progress=False))
        train_seconds = time.perf_counter() - started
        bc = resolve_policy(summary.checkpoint, ENV_ID, args.seed).agent
        bc_returns = returns_of(bc, args.eval_episodes)
    expert = resolve_policy("expert", ENV_ID, args.seed).agent
    expert_returns = returns_of(expert, args.eval_episodes)
    share = float(np.mean(bc_returns) / np.mean(expert_returns))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"CarRacing behavioural cloning: {args.eval_episodes} held-out tracks", title_justify="left")
    for col in ("policy", "mean return", "std", "min", "max"):
        table.add_column(col, justify="right")
    for name, rets in (("demonstrator (scripted)", expert_returns), ("BC (CNN, 84x84, 7 actions)", bc_returns)):
        table.add_row(name, f"{np.mean(rets):.1f}", f"{np.std(rets):.1f}", f"{np.min(rets):.1f}", f"{np.max(rets):.1f}")
    Console(width=140).print(table)
    print(f"BC / demonstrator: {100 * share:.1f}% (target >= 80%); training {train_seconds:.0f} s on {collected.steps} steps")
    print(json.dumps({"benchmark": "carracing_bc", "args": vars(args), "demonstrations": collected.as_dict(),
                      "action_histogram": info["action_histogram"], "train_seconds": train_seconds,
                      "demonstrator_returns": expert_returns, "bc_returns": bc_returns, "bc_share": share,
                      "target_met": share >= 0.8}))


if __name__ == "__main__":
    main()
