"""Untrusted checkpoints are read with bounded memory and time and validated before use
(issue 12, point 3); a kill during a write never leaves a broken file (point 6)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, validate_metadata
from simdrive.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _meta_of(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(np.load(archive.open("__meta__.npy")).tobytes())


class Raw(str):
    """JSON text put into the metadata as is (nesting too deep for ``json.dumps``)."""


def _encode(meta) -> str:
    raws: dict[str, str] = {}

    def swap(value):
        if isinstance(value, Raw):
            key = f"@@raw{len(raws)}@@"
            raws[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(meta))
    for key, raw in raws.items():
        text = text.replace(json.dumps(key), raw)
    return text


def _write(path: Path, meta: dict, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Path:
    """An archive with the given metadata and raw ``.npy`` members."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(_encode(meta).encode(), dtype=np.uint8))
        archive.writestr("__meta__.npy", buffer.getvalue())
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.fixture()
def trained(tmp_path):
    """A real q-learning checkpoint on GridWorld4x4."""
    result = CliRunner().invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "5", "--no-track",
                                      "--out", str(tmp_path / "run"), "--eval-episodes", "1"])
    assert result.exit_code == 0, result.output
    return tmp_path / "run" / "checkpoint.sdckpt"


def _peak_mib(call) -> float:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def test_zip_bomb_members_are_never_inflated(tmp_path):
    """64 MiB of zeros deflate to ~64 KiB. Unreferenced, it is never read; referenced under
    a header that declares 10 floats, reading stops after 81 bytes."""
    good = save_checkpoint(tmp_path / "good.sdckpt", agent="a", config={}, env_id="e", state={"x": np.zeros(10)})
    meta = _meta_of(good)
    chunk = bytes(1 << 20)
    bomb = tmp_path / "bomb.sdckpt"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        archive.writestr("__meta__.npy", buffer.getvalue())
        with archive.open("a0.npy", "w") as member:  # declared: 10 float64; actual: 64 MiB
            member.write(_npy_header((10,)))
            for _ in range(64):
                member.write(chunk)
        with archive.open("unreferenced.npy", "w") as member:
            member.write(_npy_header((64 << 17,)))
            for _ in range(64):
                member.write(chunk)
    assert bomb.stat().st_size < 2 << 20
    started = time.perf_counter()
    peak = {}

    def load():
        with pytest.raises(CheckpointError, match="longer than its header declares"):
            load_checkpoint(bomb)

    peak["mib"] = _peak_mib(load)
    assert time.perf_counter() - started < 2.0
    assert peak["mib"] < 16
    # the same archive without the oversized referenced member loads, ignoring the unreferenced bomb
    fixed = tmp_path / "fixed.sdckpt"
    with zipfile.ZipFile(bomb) as source, zipfile.ZipFile(fixed, "w", compression=zipfile.ZIP_DEFLATED) as target:
        target.writestr("__meta__.npy", source.read("__meta__.npy"))
        target.writestr("a0.npy", _npy_header((10,)) + bytes(80))
        with source.open("unreferenced.npy") as src, target.open("unreferenced.npy", "w") as dst:
            for _ in range(4):  # copy a little of the bomb: it stays compressed and unread by the loader
                dst.write(src.read(1 << 20))
            for _ in range(60):
                dst.write(chunk)
    started = time.perf_counter()
    loaded = {}
    peak["fixed"] = _peak_mib(lambda: loaded.setdefault("c", load_checkpoint(fixed)))
    assert time.perf_counter() - started < 2.0 and peak["fixed"] < 16
    np.testing.assert_array_equal(loaded["c"].state["x"], np.zeros(10))


def test_a_member_declaring_a_terabyte_is_refused_before_any_allocation(tmp_path):
    good = save_checkpoint(tmp_path / "good.sdckpt", agent="a", config={}, env_id="e", state={"x": np.zeros(2)})
    meta = _meta_of(good)
    header_only = tmp_path / "tb-header.sdckpt"
    _write(header_only, meta, {"a0.npy": _npy_header((1 << 37,))})  # the header says 1 TiB, the metadata 2 floats
    with pytest.raises(CheckpointError, match="not the dtype and shape its metadata declares"):
        load_checkpoint(header_only)
    meta["arrays"]["a0"]["shape"] = [1 << 37]
    declared = tmp_path / "tb-meta.sdckpt"
    _write(declared, meta, {"a0.npy": _npy_header((1 << 37,))})
    with pytest.raises(CheckpointError, match=r"declares 1099511627776 bytes of arrays, more than"):
        load_checkpoint(declared)
    meta.pop("arrays")
    meta["format_version"] = 1  # version 1 files declare sizes only in the npy headers: bounded there
    old = tmp_path / "tb-v1.sdckpt"
    _write(old, meta, {"a0.npy": _npy_header((1 << 37,))})
    with pytest.raises(CheckpointError, match="declares array a0 of 1099511627776 bytes"):
        load_checkpoint(old)


def test_the_global_cap_can_be_raised_for_trusted_large_checkpoints(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={"x": np.zeros(1000)})
    with pytest.raises(CheckpointError, match="SIMDRIVE_MAX_CHECKPOINT_BYTES"):
        load_checkpoint(path, max_bytes=4000)
    monkeypatch.setenv("SIMDRIVE_MAX_CHECKPOINT_BYTES", "4000")
    with pytest.raises(CheckpointError, match="8000 bytes of arrays, more than the 4000 allowed"):
        load_checkpoint(path)
    monkeypatch.setenv("SIMDRIVE_MAX_CHECKPOINT_BYTES", "8000")
    assert load_checkpoint(path).state["x"].shape == (1000,)


def _nest(depth: int) -> Raw:
    return Raw('{"__list__": [' * depth + '{"__list__": []}' + "]}" * depth)


MALFORMED = {
    "agent is a list": lambda m: m.update(agent=["q-learning"]),
    "no agent": lambda m: m.pop("agent"),
    "no env id": lambda m: m.pop("env_id"),
    "config is a list": lambda m: m.update(config=[1, 2]),
    "env kwargs is a string": lambda m: m.update(env_kwargs="rows=5"),
    "extra is a number": lambda m: m.update(extra=3),
    "state is a list": lambda m: m.update(state=[1]),
    "state is missing": lambda m: m.pop("state"),
    "state nested 990 levels": lambda m: m.update(state={"__dict__": {"deep": _nest(990)}}),
    "config nested 990 levels": lambda m: m.update(config={"a": Raw("[" * 990 + "]" * 990)}),
    "unknown node": lambda m: m.update(state={"__dict__": {"x": {"__pickle__": "a0"}}}),
    "two-key node": lambda m: m.update(state={"__dict__": {}, "__list__": []}),
    "undeclared array": lambda m: m.update(state={"__dict__": {"x": {"__array__": "a7"}}}),
    "bad reference": lambda m: m.update(state={"__dict__": {"x": {"__array__": "../../etc/passwd"}}}),
    "bad int key": lambda m: m.update(state={"__dict__": {"__int__x": 1}}),
    "arrays is a list": lambda m: m.update(arrays=[]),
    "string dtype declared": lambda m: m["arrays"]["a0"].update(dtype="<U5"),
    "negative shape": lambda m: m["arrays"]["a0"].update(shape=[-1]),
    "format version is a string": lambda m: m.update(format_version="2"),
    "metadata is a list": None,
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_metadata_fails_in_one_line(tmp_path, case):
    good = save_checkpoint(tmp_path / "good.sdckpt", agent="q-learning", config={"gamma": 0.9}, env_id="simdrive/Maze-v0",
                           state={"x": np.zeros(2)})
    meta = _meta_of(good)
    mutate = MALFORMED[case]
    if mutate is None:
        meta = [meta]
    else:
        mutate(meta)
    bad = _write(tmp_path / "bad.sdckpt", meta, {"a0.npy": _npy_header((2,)) + bytes(16)})
    with pytest.raises(CheckpointError) as raised:
        load_checkpoint(bad)
    assert "\n" not in str(raised.value)


def test_string_dtype_state_is_refused(tmp_path):
    """A DQN-like state whose array holds strings gave tracebacks; now refused when loading (and saving)."""
    good = save_checkpoint(tmp_path / "good.sdckpt", agent="dqn", config={}, env_id="simdrive/CartPole-v1", state={"x": np.zeros(2)})
    meta = _meta_of(good)
    meta["arrays"]["a0"] = {"dtype": "<U3", "shape": [2]}
    buffer = io.BytesIO()
    np.save(buffer, np.array(["abc", "def"]))
    bad = _write(tmp_path / "strings.sdckpt", meta, {"a0.npy": buffer.getvalue()})
    with pytest.raises(CheckpointError, match="dtype <U3"):
        load_checkpoint(bad)
    with pytest.raises(TypeError, match="cannot be checkpointed"):
        save_checkpoint(tmp_path / "s.sdckpt", agent="a", config={}, env_id="e", state={"x": np.array(["a"])})


def _crafted_from(trained: Path, tmp_path: Path, name: str, edit) -> Path:
    meta = _meta_of(trained)
    edit(meta)
    with zipfile.ZipFile(trained) as source:
        members = {n: source.read(n) for n in source.namelist() if n != "__meta__.npy"}
    return _write(tmp_path / name, meta, members)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["config"].update(gamma="x"), "TDControlConfig.gamma must be a finite number, got 'x'"),
        (lambda m: m["config"].update(gamma=2.0), "TDControlConfig.gamma must be in [0, 1], got 2.0"),
        (lambda m: m["config"].update(alhpa=0.1), "unknown q-learning setting 'alhpa'"),
        (lambda m: m.update(env_id="simdrive/Maze-v0", env_kwargs={"maze_size": [20000, 20000]}),
         "argument 'maze_size' items must be in [1, 200], got 20000"),
        (lambda m: m.update(agent="dqn", config={"hidden": [200000, 200000]}), "DQNConfig.hidden items must be > 0 and <= 4096, got 200000"),
        (lambda m: m.update(env_kwargs={"x": 1}), "unknown argument 'x' for simdrive/GridWorld4x4-v0"),
    ],
)
def test_configurations_in_checkpoints_are_checked_like_set(trained, tmp_path, edit, message):
    """Values from a checkpoint go through the same checks as --set / --env-arg, before
    anything is built: each case fails in one line, in well under the minutes it used to take."""
    crafted = _crafted_from(trained, tmp_path, "crafted.sdckpt", edit)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["eval", str(crafted), "--episodes", "1", "--no-track"])
    assert time.perf_counter() - started < 10
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_checkpoints_load_or_fail_in_one_line(tmp_path_factory, data):
    """Random byte flips, truncations and metadata edits: a CheckpointError or a valid
    checkpoint, never another exception, and never more than a few MB of memory."""
    folder = tmp_path_factory.mktemp("mutants")
    state = {"q": np.arange(12.0).reshape(3, 4), "n": np.arange(3, dtype=np.int64), "steps": 4, "name": "x"}
    good = save_checkpoint(folder / "good.sdckpt", agent="q-learning", config={"gamma": 0.9}, env_id="simdrive/Maze-v0", state=state)
    raw = bytearray(good.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "splice", "meta"]))
    if kind == "flip":
        for position in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[position] = data.draw(st.integers(0, 255))
        path = folder / "m.sdckpt"
        path.write_bytes(bytes(raw))
    elif kind == "truncate":
        path = folder / "m.sdckpt"
        path.write_bytes(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    elif kind == "splice":
        start = data.draw(st.integers(0, len(raw)))
        path = folder / "m.sdckpt"
        path.write_bytes(bytes(raw[:start]) + data.draw(st.binary(max_size=64)) + bytes(raw[start:]))
    else:
        meta = _meta_of(good)
        json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                                   lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                                   max_leaves=10)
        key = data.draw(st.sampled_from(sorted(meta)))
        meta[key] = data.draw(json_values)
        with zipfile.ZipFile(good) as source:
            members = {n: source.read(n) for n in source.namelist() if n != "__meta__.npy"}
        path = _write(folder / "m.sdckpt", meta, members)
    tracemalloc.start()
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(checkpoint.state, dict) and validate_metadata(_meta_of(path)) == []
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 8 << 20


_WRITER = """
import sys, numpy as np
from agents.checkpoint import save_checkpoint
state = {"x": np.random.default_rng(0).random(4_000_000)}  # 32 MB
i = 0
while True:
    state["i"] = i
    save_checkpoint(sys.argv[1], agent="a", config={}, env_id="e", state=state)
    print(i, flush=True)
    i += 1
"""


def test_kill_during_writes_never_leaves_a_broken_checkpoint_and_the_next_write_cleans_up(tmp_path):
    """SIGKILL a process that rewrites a 32 MB checkpoint in a loop, three times at different
    moments: the checkpoint always loads (old or new), and the next write removes the
    temporary files the killed writes left behind."""
    target = tmp_path / "checkpoint.sdckpt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.05, 0.25, 0.6):
        child = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], env=env, stdout=subprocess.PIPE, text=True)
        child.stdout.readline()  # one checkpoint is complete
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert load_checkpoint(target).state["x"].shape == (4_000_000,)
    save_checkpoint(target, agent="a", config={}, env_id="e", state={})
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.sdckpt"]
