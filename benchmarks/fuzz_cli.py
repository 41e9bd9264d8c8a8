"""Fuzz the command line and the checkpoint loader; count tracebacks, hangs and peak memory.

Two campaigns, each invocation in its own process (forked from a parent that has imported
SimDrive, so a crash or a leak stays in the child), in its own empty folder:

* ``--invocations`` (default 1,000) generated command lines: ``train``, ``eval``, ``watch``
  (always ``--record``), ``play`` (never ``--vs human``), ``agents``, ``envs`` and nonsense,
  with valid, borderline and hostile values for arguments, options, ``--set`` and
  ``--env-arg`` (YAML anchors, NaN, 1e309, negative seeds, huge sizes, unicode, empty),
  some tracked against broken MLflow stores (unreachable server, unknown scheme, damaged
  or incomplete ``mlflow.db``, a path under a file). Interactive commands (``drive``, ``play
  --vs human``, ``watch`` without ``--record``) wait for a person by design and are left out.
* ``--checkpoints`` (default 200) mutated checkpoints evaluated with ``simdrive eval``:
  byte flips, truncations, splices, metadata edits (wrong types, missing keys, deep nesting,
  bad references, lying dtypes and shapes), zip bombs, terabyte declarations, pickled object
  arrays, string arrays, hostile configurations (``gamma: "x"``, ``hidden: [200000, 200000]``)
  and environment arguments (``maze_size: [20000, 20000]``).

An outcome is *good* when the process exits 0, or 2 with exactly one ``error:`` line on
stderr (or 130 after an interrupt); a *traceback* is any other ending (an exception escaping,
a crash); a *hang* is a process still running after ``--timeout`` seconds. Peak memory is
the largest ``ru_maxrss`` of a child (it includes what the parent had imported, ~350 MB).
The MCTS fixtures plan with 16 simulations per move: with the default 400, evaluating one on
a 500-step maze legitimately takes minutes (slow, not hung).

    .venv/bin/python benchmarks/fuzz_cli.py                      # ~20-40 min of one core
    .venv/bin/python benchmarks/fuzz_cli.py --invocations 100 --checkpoints 20 --seed 1

Prints each bad outcome, a summary table and one JSON line. Driving environments are
fuzzed too (their configuration checks belong to the driving engine); their bad outcomes
are listed separately as ``driving``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

# --- running one invocation in a forked child ----------------------------------------------


@dataclass
class Outcome:
    args: list[str]
    code: int | None  # None: hang
    stderr: str
    seconds: float
    maxrss_mb: float
    env: dict[str, str] = field(default_factory=dict)

    @property
    def good(self) -> bool:
        if self.code is None or "Traceback" in self.stderr:
            return False
        if self.code == 2:  # exactly one line: "error: ..."
            lines = [line for line in self.stderr.splitlines() if line.strip()]
            return len(lines) == 1 and lines[0].startswith("error: ")
        return self.code in (0, 130)

    @property
    def driving(self) -> bool:
        return any(a in self.args or a.replace("simdrive/", "") in self.args for a in DRIVING) or \
            any("env_id" in a and "Highway" in a for a in self.args)


def run(args: list[str], timeout: float, env: dict[str, str] | None = None) -> Outcome:
    folder = tempfile.mkdtemp(prefix="sd-fuzz-")
    out_path, err_path = os.path.join(folder, ".stdout"), os.path.join(folder, ".stderr")
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setpgid(0, 0)
            os.chdir(folder)
            for key, value in (env or {}).items():
                os.environ[key] = value
            out = os.open(out_path, os.O_WRONLY | os.O_CREAT, 0o600)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(out, 1)
            os.dup2(err, 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
            sys.argv = ["simdrive", *args]
            from simdrive.cli import main

            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:  # noqa: BLE001 - report everything that escapes
            import traceback

            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    code = None
    rss = 0.0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            rss = usage.ru_maxrss / 1024
            break
        if time.monotonic() - started > timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status, usage = os.wait4(pid, 0)
            rss = usage.ru_maxrss / 1024
            break
        time.sleep(0.02)
    seconds = time.monotonic() - started
    try:
        stderr = Path(err_path).read_text(errors="replace")
    except OSError:
        stderr = ""
    shutil.rmtree(folder, ignore_errors=True)
    return Outcome(args, code, stderr[-200_000:], seconds, rss, env or {})


# --- generating invocations -----------------------------------------------------------------

AGENTS = ["q-learning", "sarsa", "expected-sarsa", "double-q-learning", "td0", "mc-control", "mc-es", "mc-prediction",
          "value-iteration", "policy-iteration", "policy-evaluation", "epsilon-greedy", "ucb", "thompson", "mcts", "dqn",
          "a2c", "reinforce", "sb3:ppo", "sb3:dqn", "sb3:a2c", "alphazero", "expert"]
ENVS = ["simdrive/GridWorld4x4-v0", "simdrive/GridWorld5x5-v0", "simdrive/Maze-v0", "simdrive/Bandit-v0", "simdrive/CartPole-v1",
        "simdrive/TicTacToe-v0", "simdrive/ConnectFour-v0", "CartPole-v1", "FrozenLake-v1", "Maze-v0", "tabular/Blackjack-v0",
        "phys2d/CartPole-v1"]
DRIVING = ["simdrive/Highway-v0", "simdrive/Merge-v0", "simdrive/Racetrack-v0", "simdrive/Intersection-v0", "simdrive/Roundabout-v0"]
HOSTILE = ["", " ", "0", "-1", "-0", "1", "2", "0.5", "1e309", "-1e309", "inf", "-inf", ".inf", ".nan", "nan", "NaN", "Infinity",
           "1e23", "1e-300", "99999999999999999999999", "9" * 5000, "x", "true", "null", "~", "[]", "{}", "[1,2]", "[[1]]",
           "[20000, 20000]", "[-1, 5]", "&a [*a]", "[&x [1,1,1,1], &y [*x,*x,*x,*x], [*y,*y,*y,*y]]", "{a: 1", "!!python/name:os.system",
           "a: b: c", "\u202e\u0000", "äöü", "'quoted'", "1,2,3", "(1,2)", "64,64", "200000,200000", "3.7", "1e5", "0x10", "1_000"]
SETTINGS = ["gamma", "alpha", "alpha_final", "epsilon", "epsilon_final", "epsilon_decay", "initial_q", "theta", "visits", "c",
            "prior", "prior_std", "simulations", "rollout_limit", "learning_rate", "buffer_size", "batch_size", "hidden",
            "net_arch", "n_steps", "num_envs", "n_envs", "device", "backbone", "features_dim", "tau", "max_grad_norm",
            "log_std_init", "channels", "blocks", "games_per_iteration", "bogus", "", "GAMMA"]
ENV_ARGS = ["maze_size", "layout", "slip_prob", "goal_reward", "step_reward", "n_traps", "n_carrots", "maze_seed", "k", "variant",
            "walk_std", "mean_offset", "opponent", "params", "sutton_barto_reward", "render_mode", "max_episode_steps",
            "disable_env_checker", "is_slippery", "map_name", "bogus", "1x", ""]
DRIVING_ARGS = ["target_speeds", "discrete_steer", "reward_speed_range", "collision_reward", "high_speed_reward", "style_probs",
                "vehicles", "lanes", "duration", "policy_frequency", "observation"]
TRACKING = ["http://127.0.0.1:9", "foo://x", "sqlite:///{dir}/a-file/mlflow.db", "sqlite:///{dir}/damaged.db",
            "sqlite:///{dir}/incomplete.db", "file:./mlruns", "sqlite://", "sqlite:///" + "d" * 300 + "/m.db", "databricks"]


def value(rng: random.Random) -> str:
    return rng.choice(HOSTILE) if rng.random() < 0.85 else "".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(0, 12)))


def small_budget(rng: random.Random) -> list[str]:
    return rng.choice([["--steps", str(rng.randint(1, 150))], ["--episodes", str(rng.randint(1, 4))], ["--steps", value(rng)],
                       ["--episodes", value(rng)], ["--steps", "5", "--episodes", "3"]])


#: Agent/environment pairs that train (the clean share of ``train`` invocations).
PAIRS = [("q-learning", "simdrive/GridWorld4x4-v0"), ("sarsa", "simdrive/Maze-v0"), ("value-iteration", "simdrive/GridWorld5x5-v0"),
         ("mc-control", "simdrive/GridWorld4x4-v0"), ("ucb", "simdrive/Bandit-v0"), ("thompson", "simdrive/Bandit-v0"),
         ("dqn", "simdrive/CartPole-v1"), ("a2c", "simdrive/CartPole-v1"), ("reinforce", "CartPole-v1"), ("sb3:ppo", "simdrive/CartPole-v1"),
         ("mcts", "simdrive/TicTacToe-v0"), ("alphazero", "simdrive/TicTacToe-v0"), ("q-learning", "FrozenLake-v1")]
SANE = {"gamma": ["0.9", "1", "0"], "alpha": ["0.1", "1"], "epsilon": ["0", "0.3"], "hidden": ["8", "16,16"], "learning_rate": ["0.01"],
        "batch_size": ["8"], "buffer_size": ["500"], "n_steps": ["16"], "simulations": ["4"], "num_envs": ["2"]}


def train_args(rng: random.Random, fixtures: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    if rng.random() < 0.4:  # clean: a pair that trains, sane settings
        agent, env_id = rng.choice(PAIRS)
        args = ["train", agent, env_id, rng.choice(["--steps", "--episodes"]), str(rng.randint(1, 120)), "--eval-episodes", "1",
                "--seed", str(rng.randint(0, 10**6)), "--no-progress", "--no-track"]
        if agent == "alphazero":
            args += ["--set", "games_per_iteration=2", "--set", "simulations=4", "--set", "eval_simulations=4",
                     "--set", "arena_games=0", "--set", "train_steps=2", "--set", "parallel_games=2", "--set", "batch_size=8"]
        if agent == "mcts":
            args += ["--set", "simulations=8"]
        for key in rng.sample(sorted(SANE), rng.randint(0, 2)):
            args += ["--set", f"{key}={rng.choice(SANE[key])}"]
        return args, {}
    agent = rng.choice(AGENTS + ["nope", "Q-Learning", ""])
    env_id = rng.choice(ENVS + DRIVING if rng.random() < 0.15 else ENVS)
    args = ["train", agent, env_id, *small_budget(rng), "--eval-episodes", str(rng.choice([1, 1, 2, 0, -1]))]
    if agent == "alphazero":  # keep self-play tiny
        args += ["--set", "games_per_iteration=2", "--set", "simulations=4", "--set", "eval_simulations=4",
                 "--set", "arena_games=0", "--set", "train_steps=2", "--set", "parallel_games=2"]
    if agent in ("mcts",):
        args += ["--set", "simulations=8"]
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        args += ["--set", f"{rng.choice(SETTINGS)}={value(rng)}"]
    keys = DRIVING_ARGS if env_id in DRIVING else ENV_ARGS
    for _ in range(rng.choice([0, 0, 1, 2])):
        args += ["--env-arg", f"{rng.choice(keys)}={value(rng)}"]
    if rng.random() < 0.2:
        args += ["--seed", rng.choice(["-1", "-5", "0", "7", "1e3", "x", "4294967296", "9" * 30])]
    if rng.random() < 0.15:
        args += ["--out", rng.choice(["/dev/null", "/proc/x", "x" * 300, "a/" * 100, "", "out\u0000x", "/"])]
    if rng.random() < 0.1:
        args += ["--resume", rng.choice(list(fixtures.values()) + ["/nope", "/dev/null"])]
    if rng.random() < 0.1:
        args += [rng.choice(["--checkpoint-every", "--threads", "--eval-episodes"]), value(rng)]
    env: dict[str, str] = {}
    if rng.random() < 0.25:
        env["MLFLOW_TRACKING_URI"] = rng.choice(TRACKING)
    else:
        args.append("--no-track")
    return args + ["--no-progress"], env


def other_args(rng: random.Random, fixtures: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    command = rng.choice(["eval", "eval", "watch", "play", "play", "agents", "envs", "nonsense", "--bogus", "train"])
    source = rng.choice(list(fixtures.values()) + ["expert", "random", "mcts:4", "mcts:0", "mcts:x", "/nope", "/dev/null", value(rng)])
    env: dict[str, str] = {}
    if command == "eval":
        args = ["eval", source] + ([rng.choice(ENVS + DRIVING)] if rng.random() < 0.4 else [])
        args += ["--episodes", rng.choice(["1", "2", "0", "-1", value(rng)]), "--seed", rng.choice(["0", "3", "-1", value(rng)])]
        if rng.random() < 0.2:
            args += ["--env-arg", f"{rng.choice(ENV_ARGS)}={value(rng)}"]
        if rng.random() < 0.3:
            env["MLFLOW_TRACKING_URI"] = rng.choice(TRACKING)
        else:
            args.append("--no-track")
    elif command == "watch":
        args = ["watch", source, "--episodes", "1", "--record", rng.choice(["out.gif", "out.mp4", "out.txt", "/dev/null/x.gif",
                                                                          "/proc/x/y.mp4", "x" * 300 + ".gif"])]
        if rng.random() < 0.3:
            args += ["--fps", rng.choice(["1000", "0", "-1", "nan", "1e309", value(rng)])]
        if rng.random() < 0.3:
            args += ["--seed", rng.choice(["-1", "0", value(rng)])]
    elif command == "play":
        opponent = rng.choice(list(fixtures.values()) + ["random", "mcts:4", "mcts:-1", "nobody", value(rng)])
        args = ["play", source, "--vs", opponent, "--games", rng.choice(["1", "2", "0", value(rng)])]
        if rng.random() < 0.6:
            args += ["--env", rng.choice(["simdrive/TicTacToe-v0", "simdrive/ConnectFour-v0", "simdrive/Maze-v0", value(rng)])]
        if rng.random() < 0.3:
            args += ["--seed", rng.choice(["-1", "0", value(rng)]), "--opening-moves", rng.choice(["0", "3", "-1", "100", value(rng)])]
    elif command == "agents":
        args = ["agents"] + ([rng.choice(AGENTS + ["nope", value(rng)])] if rng.random() < 0.6 else [])
    elif command == "train":
        args = ["train"] + [value(rng) for _ in range(rng.randint(0, 3))]
    else:
        args = [command] + [value(rng) for _ in range(rng.randint(0, 3))]
    return args, env


# --- mutated checkpoints --------------------------------------------------------------------


def _meta(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(np.load(archive.open("__meta__.npy")).tobytes())


def _write(path: Path, meta_text: str, members: dict[str, bytes], deflate: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(meta_text.encode(), dtype=np.uint8))
        archive.writestr("__meta__.npy", buffer.getvalue())
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _header(shape, dtype="<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


def mutate(rng: random.Random, source: Path, target: Path) -> str:
    """Write a mutant of ``source`` to ``target``; returns the kind of mutation."""
    raw = bytearray(source.read_bytes())
    meta = _meta(source)
    with zipfile.ZipFile(source) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != "__meta__.npy"}
    kind = rng.choice(["flip", "truncate", "splice", "meta-value", "meta-drop", "deep", "bomb", "terabyte", "pickle", "strings",
                       "lying-shape", "config", "env", "agent", "version", "big-endian", "fortran"])
    if kind == "flip":
        for _ in range(rng.randint(1, 16)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        target.write_bytes(bytes(raw))
    elif kind == "truncate":
        target.write_bytes(bytes(raw[: rng.randrange(len(raw))]))
    elif kind == "splice":
        at = rng.randrange(len(raw))
        target.write_bytes(bytes(raw[:at]) + bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))) + bytes(raw[at:]))
    elif kind in ("meta-value", "meta-drop"):
        key = rng.choice(sorted(meta))
        if kind == "meta-drop":
            meta.pop(key)
        else:
            meta[key] = rng.choice([None, 1, -1, 2.5, "x", [], {}, [1, "a"], {"a": {"b": [1]}}, True, "9" * 1000, [meta.get(key)]])
        _write(target, json.dumps(meta), members)
    elif kind == "deep":
        depth = rng.choice([70, 500, 990, 5000, 100_000])
        where = rng.choice(["state", "config", "env_kwargs"])
        text = json.dumps({**meta, where: "@@DEEP@@"})
        deep = ('{"__list__": [' * depth + "1" + "]}" * depth) if where == "state" else ('{"a": [' * depth + "1" + "]}" * depth)
        _write(target, text.replace('"@@DEEP@@"', deep), members)
    elif kind == "bomb":
        name = rng.choice([m for m in members] + ["unreferenced.npy"])
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            buffer = io.BytesIO()
            np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
            archive.writestr("__meta__.npy", buffer.getvalue())
            for member, data in members.items():
                if member != name:
                    archive.writestr(member, data)
            with archive.open(name, "w") as handle:
                handle.write(members.get(name, _header((1,)))[:128])
                chunk = bytes(1 << 20)
                for _ in range(rng.choice([64, 256, 1024])):  # up to 1 GiB of zeros (~1 MB compressed)
                    handle.write(chunk)
    elif kind == "terabyte":
        ref = rng.choice(sorted(meta.get("arrays") or {"a0": {}}))
        if rng.random() < 0.5 and "arrays" in meta:
            meta["arrays"][ref] = {"dtype": "<f8", "shape": [1 << 37]}
        members[f"{ref}.npy"] = _header((1 << 37,))
        _write(target, json.dumps(meta), members)
    elif kind == "pickle":
        ref = rng.choice(sorted(meta.get("arrays") or {"a0": {}}))
        buffer = io.BytesIO()
        array = np.empty(1, dtype=object)
        array[0] = {"x": 1}
        np.save(buffer, array, allow_pickle=True)
        members[f"{ref}.npy"] = buffer.getvalue()
        if rng.random() < 0.5 and "arrays" in meta:
            meta["arrays"][ref] = {"dtype": "|O", "shape": [1]}
        _write(target, json.dumps(meta), members)
    elif kind == "strings":
        ref = rng.choice(sorted(meta.get("arrays") or {"a0": {}}))
        buffer = io.BytesIO()
        np.save(buffer, np.array(["abc", "de"]))
        members[f"{ref}.npy"] = buffer.getvalue()
        if "arrays" in meta:
            meta["arrays"][ref] = {"dtype": "<U3", "shape": [2]}
        _write(target, json.dumps(meta), members)
    elif kind == "lying-shape":
        ref = rng.choice(sorted(meta.get("arrays") or {"a0": {}}))
        if ref in meta.get("arrays", {}):
            meta["arrays"][ref]["shape"] = [rng.choice([0, 1, 7, 1000])]
        else:
            meta["state"] = {"__dict__": {"x": {"__array__": "a0"}}}
            meta["arrays"] = {"a0": {"dtype": "<f8", "shape": [rng.choice([0, 1, 7, 1000])]}}
            members["a0.npy"] = _header((3,)) + bytes(24)
        _write(target, json.dumps(meta), members)
    elif kind == "config":
        key = rng.choice(sorted(meta["config"]) + ["bogus", "hidden", "buffer_size"])
        meta["config"][key] = rng.choice(["x", -1, 1e308, [200000, 200000], None, {"a": 1}, True, 10**30, [], 2])
        _write(target, json.dumps(meta), members)
    elif kind == "env":
        meta["env_kwargs"] = rng.choice([{"maze_size": [20000, 20000]}, {"maze_size": [3, 3], "n_traps": 10**9}, {"k": 10**9},
                                         {"bogus": 1}, {"render_mode": "human"}, {"layout": "S" * 10**6}, {"goal_reward": 1e23}])
        meta["env_id"] = rng.choice([meta["env_id"], "simdrive/Maze-v0", "simdrive/Bandit-v0", "nope-v9", "simdrive/Highway-v0"])
        _write(target, json.dumps(meta), members)
    elif kind == "agent":
        meta["agent"] = rng.choice(["nope", "dqn", "alphazero", "sb3:ppo", "expert", "", "a" * 300, "mcts"])
        _write(target, json.dumps(meta), members)
    elif kind == "version":
        meta["format_version"] = rng.choice([0, 1, 3, 999, -1, 2**70])
        if meta["format_version"] == 1:
            meta.pop("arrays", None)
        _write(target, json.dumps(meta), members)
    elif kind in ("big-endian", "fortran"):
        ref = rng.choice(sorted(meta.get("arrays") or {"a0": {}}))
        spec = meta.get("arrays", {}).get(ref, {"shape": [1], "dtype": "<f8"})
        array = np.zeros(spec["shape"], dtype=spec["dtype"])
        if kind == "big-endian":
            array = array.astype(array.dtype.newbyteorder(">"))
            meta.setdefault("arrays", {})[ref] = {"dtype": array.dtype.str, "shape": list(array.shape)}
        else:
            array = np.asfortranarray(array)
        buffer = io.BytesIO()
        np.save(buffer, array)
        members[f"{ref}.npy"] = buffer.getvalue()
        _write(target, json.dumps(meta), members)
    return kind


# --- the campaigns --------------------------------------------------------------------------


def make_fixtures(folder: Path, timeout: float) -> dict[str, str]:
    specs = {"grid": ["q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "5"], "maze": ["sarsa", "simdrive/Maze-v0", "--episodes", "3"],
             "dqn": ["dqn", "simdrive/CartPole-v1", "--steps", "300", "--set", "hidden=16,16", "--set", "buffer_size=1000"],
             "a2c": ["a2c", "simdrive/CartPole-v1", "--steps", "200"], "ttt": ["mcts", "simdrive/TicTacToe-v0", "--steps", "1", "--set", "simulations=16"],
             "c4": ["mcts", "simdrive/ConnectFour-v0", "--steps", "1", "--set", "simulations=16"], "bandit": ["ucb", "simdrive/Bandit-v0", "--episodes", "2"]}
    made = {}
    for name, spec in specs.items():
        out = folder / name
        result = run(["train", *spec, "--no-track", "--eval-episodes", "1", "--out", str(out), "--no-progress"], timeout)
        if result.code == 0 and (out / "checkpoint.sdckpt").exists():
            made[name] = str(out / "checkpoint.sdckpt")
        else:
            print(f"fixture {name} failed: {result.stderr[-300:]}", file=sys.stderr)
    return made


def tracking_fixtures(folder: Path) -> None:
    (folder / "a-file").write_text("not a folder")
    (folder / "damaged.db").write_bytes(b"not a database " * 100)
    import sqlalchemy
    from mlflow.store.db.utils import InitialBase

    engine = sqlalchemy.create_engine(f"sqlite:///{folder / 'incomplete.db'}")
    InitialBase.metadata.create_all(engine)
    engine.dispose()


def report(name: str, outcomes: list[Outcome]) -> dict:
    bad = [o for o in outcomes if not o.good]
    hangs = [o for o in outcomes if o.code is None]
    tracebacks = [o for o in bad if o.code is not None]
    codes: dict[str, int] = {}
    for o in outcomes:
        codes[str(o.code)] = codes.get(str(o.code), 0) + 1
    peak = max((o.maxrss_mb for o in outcomes), default=0.0)
    slowest = max(outcomes, key=lambda o: o.seconds) if outcomes else None
    print(f"\n== {name}: {len(outcomes)} runs, exit codes {dict(sorted(codes.items()))}")
    for o in bad:
        where = "driving" if o.driving else "platform"
        last = [line for line in o.stderr.strip().splitlines() if line.strip()][-3:]
        shown = " ".join(repr(a if len(a) < 120 else a[:100] + "...") for a in o.args)
        print(f"  BAD ({where}, {'hang' if o.code is None else f'exit {o.code}'}, {o.seconds:.1f}s): simdrive {shown}"
              f"{' env ' + json.dumps(o.env) if o.env else ''}\n      " + "\n      ".join(l[:200] for l in last))
    if slowest is not None:
        print(f"  slowest: {slowest.seconds:.1f}s simdrive {' '.join(slowest.args)[:160]}")
    return {"runs": len(outcomes), "tracebacks": len(tracebacks), "hangs": len(hangs),
            "tracebacks_platform": len([o for o in tracebacks if not o.driving]),
            "tracebacks_driving": len([o for o in tracebacks if o.driving]),
            "peak_rss_mb": round(peak, 1), "max_seconds": round(slowest.seconds, 1) if slowest else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a run counts as a hang")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    import simdrive.agents_registry  # noqa: F401  (imported once in the parent: children start fast)
    import simdrive.cli  # noqa: F401
    import simdrive.runner  # noqa: F401

    work = Path(tempfile.mkdtemp(prefix="sd-fuzz-fixtures-"))
    try:
        tracking_fixtures(work)
        fixtures = make_fixtures(work, args.timeout)
        invocations = []
        for index in range(args.invocations):
            cli_args, env = train_args(rng, fixtures) if rng.random() < 0.45 else other_args(rng, fixtures)
            env = {k: v.format(dir=work) for k, v in env.items()}
            outcome = run(cli_args, args.timeout, env)
            invocations.append(outcome)
            if not outcome.good:
                print(f"[{index}] BAD exit={outcome.code}: {[a[:100] for a in cli_args]} {env}", flush=True)
            elif index % 100 == 99:
                print(f"[{index + 1}/{args.invocations}] {time.monotonic() - started:.0f}s", flush=True)
        mutants = []
        kinds: dict[str, int] = {}
        for index in range(args.checkpoints):
            source = Path(rng.choice(list(fixtures.values())))
            target = work / f"mutant-{index}.sdckpt"
            kind = mutate(rng, source, target)
            kinds[kind] = kinds.get(kind, 0) + 1
            outcome = run(["eval", str(target), "--episodes", "1", "--no-track"], args.timeout)
            outcome.args.append(f"# {kind}")
            mutants.append(outcome)
            if not outcome.good:
                print(f"[mutant {index}] BAD exit={outcome.code} ({kind})", flush=True)
            target.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cli = report("CLI invocations", invocations)
    ckpt = report("mutated checkpoints", mutants)
    print(f"\nmutations: {dict(sorted(kinds.items()))}")
    print(f"\n{'campaign':<22}{'runs':>6}{'tracebacks':>12}{'(driving)':>11}{'hangs':>7}{'peak RSS MB':>13}{'max s':>8}")
    for name, row in (("CLI invocations", cli), ("mutated checkpoints", ckpt)):
        print(f"{name:<22}{row['runs']:>6}{row['tracebacks']:>12}{row['tracebacks_driving']:>11}{row['hangs']:>7}"
              f"{row['peak_rss_mb']:>13}{row['max_seconds']:>8}")
    print(json.dumps({"benchmark": "fuzz_cli", "seed": args.seed, "cli": cli, "checkpoints": ckpt,
                      "wall_seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
