"""Interrupt the first tracked run while it creates its MLflow SQLite store, N times.

Each trial, in a fresh folder with no ``mlflow.db``:

1. start ``simdrive train q-learning simdrive/Maze-v0 --episodes 3000`` (default store
   ``sqlite:///mlflow.db``);
2. as soon as a file ``mlflow.db*`` or ``.mlflow.db.tmp*`` appears (the store is being created), wait a random
   0..``--window`` seconds and send SIGKILL or SIGINT (alternating with ``--signal mixed``);
3. note whether the kill landed during creation (no complete ``mlflow.db`` at that moment);
4. run a later tracked ``simdrive train q-learning simdrive/GridWorld4x4-v0 --episodes 5``
   in the same folder; the store is *usable* when it exits 0 and its run is FINISHED in the store.

Prints one line per trial, a summary, and one JSON line::

    .venv/bin/python benchmarks/tracking_interrupts.py --trials 50      # ~10 min on a loaded 2-core machine
    .venv/bin/python benchmarks/tracking_interrupts.py --trials 5 --signal kill
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SIMDRIVE = [sys.executable, "-m", "simdrive.cli"]


def store_complete(db: Path) -> bool:
    """A store MLflow opens without migrating (its schema at this MLflow's head revision)."""
    from simdrive.tracking import store_state

    return db.is_file() and store_state(db)[0] == "complete"


def trial(index: int, sig: int, window: float, rng: random.Random, env: dict[str, str]) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="sd-track-"))
    child = subprocess.Popen(
        SIMDRIVE + ["train", "q-learning", "simdrive/Maze-v0", "--episodes", "3000", "--no-progress", "--out", "run1"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(("mlflow.db", ".mlflow.db")) for p in folder.iterdir()):  # the store or its temporary
        if child.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, window))
    during = not store_complete(folder / "mlflow.db")
    child.send_signal(sig)
    try:
        child.wait(timeout=60)
    except subprocess.TimeoutExpired:  # a second Ctrl-C aborts; then give up
        child.send_signal(sig)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    later = subprocess.run(
        SIMDRIVE + ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "5", "--no-progress", "--json", "--out", "run2"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )
    usable = False
    if later.returncode == 0:
        run_id = json.loads(later.stdout.strip().splitlines()[-1])["run_id"]
        with sqlite3.connect(folder / "mlflow.db") as connection:
            row = connection.execute("select status from runs where run_uuid=?", (run_id,)).fetchone()
        usable = row is not None and row[0] == "FINISHED"
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.startswith(("mlflow.db", ".mlflow.db")) and p.name != "mlflow.db")
    last = later.stderr.strip().splitlines()[-1] if later.stderr.strip() else ""
    return {"trial": index, "signal": signal.Signals(sig).name, "during_creation": during, "usable": usable,
            "later_exit": later.returncode, "later_stderr": last[:160], "leftovers": leftovers, "folder": str(folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--signal", choices=("kill", "int", "mixed"), default="mixed")
    parser.add_argument("--window", type=float, default=3.0, help="kill 0..WINDOW s after the store file appears")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    signals = {"kill": [signal.SIGKILL], "int": [signal.SIGINT], "mixed": [signal.SIGKILL, signal.SIGINT]}[args.signal]
    results = []
    for index in range(args.trials):
        result = trial(index, signals[index % len(signals)], args.window, rng, env)
        results.append(result)
        print(f"{index:3d} {result['signal']:7s} during_creation={result['during_creation']!s:5s} "
              f"usable={result['usable']!s:5s} exit={result['later_exit']} leftovers={result['leftovers']} {result['later_stderr']}",
              flush=True)
    usable = sum(r["usable"] for r in results)
    during = sum(r["during_creation"] for r in results)
    during_usable = sum(r["usable"] for r in results if r["during_creation"])
    print(f"\n{usable}/{len(results)} stores usable after the interrupt; {during} interrupts landed during creation, "
          f"{during_usable} of those usable")
    print(json.dumps({"benchmark": "tracking_interrupts", "trials": len(results), "usable": usable,
                      "during_creation": during, "during_creation_usable": during_usable, "signal": args.signal}))


if __name__ == "__main__":
    main()
