import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip_keeps_arrays_tensors_and_scalars(tmp_path):
    state = {
        "q": np.arange(12, dtype=np.float64).reshape(3, 4),
        "net": {"weight": torch.randn(2, 3), "bias": torch.zeros(2)},
        "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
        "steps": 42,
        "name": "x",
        "flag": True,
        "nothing": None,
    }
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="q-learning", config={"alpha": 0.5, "net": (64, 64)},
                           env_id="simdrive/Maze-v0", state=state, env_kwargs={"rows": 5})
    loaded = load_checkpoint(path)
    assert loaded.agent == "q-learning" and loaded.env_id == "simdrive/Maze-v0"
    assert loaded.config == {"alpha": 0.5, "net": [64, 64]} and loaded.env_kwargs == {"rows": 5}
    np.testing.assert_array_equal(loaded.state["q"], state["q"])
    assert isinstance(loaded.state["net"]["weight"], torch.Tensor)
    torch.testing.assert_close(loaded.state["net"]["weight"], state["net"]["weight"])
    assert loaded.state["optimizer"]["state"][0]["step"].item() == 3.0  # int keys survive
    assert loaded.state["optimizer"]["param_groups"][0]["params"] == [0, 1]
    assert loaded.state["steps"] == 42 and loaded.state["flag"] is True and loaded.state["nothing"] is None


def test_missing_damaged_and_foreign_files_fail_clearly(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.sdckpt")
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={"x": np.ones(1000)})
    truncated = tmp_path / "t.sdckpt"
    truncated.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="damaged|not a SimDrive"):
        load_checkpoint(truncated)


def test_other_format_version_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={})
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(np.load(archive.open("__meta__.npy")).tobytes())
    meta["format_version"] = 999
    with open(tmp_path / "v.sdckpt", "wb") as handle:  # np.savez would add .npz to a path
        np.savez(handle, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(CheckpointError, match="format version 999"):
        load_checkpoint(tmp_path / "v.sdckpt")


class _Marker:
    """Unpickling this object creates ``path``: the proof that a loader unpickled it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path(self.path).touch, ())


def test_pickled_array_is_refused_and_never_unpickled(tmp_path):
    """A checkpoint whose metadata is valid and whose state refers to an object array: the
    loader must refuse it for the pickle (a loader with allow_pickle=True would unpickle
    the array and create the marker file)."""
    marker = tmp_path / "unpickled"
    good = save_checkpoint(tmp_path / "good.sdckpt", agent="a", config={}, env_id="e", state={"x": np.zeros(2)})
    with zipfile.ZipFile(good) as archive:
        meta = json.loads(np.load(archive.open("__meta__.npy")).tobytes())
    meta["arrays"]["a0"] = {"dtype": "|O", "shape": [1]}
    crafted = tmp_path / "pickled.sdckpt"
    payload = np.empty(1, dtype=object)
    payload[0] = _Marker(marker)
    with open(crafted, "wb") as handle:
        np.savez(handle, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), a0=payload, allow_pickle=True)
    with pytest.raises(CheckpointError, match="dtype object"):
        load_checkpoint(crafted)
    assert not marker.exists()
    meta["arrays"]["a0"] = {"dtype": "<f8", "shape": [1]}  # metadata that lies about the dtype: still refused
    with open(crafted, "wb") as handle:
        np.savez(handle, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), a0=payload, allow_pickle=True)
    with pytest.raises(CheckpointError, match="dtype object"):
        load_checkpoint(crafted)
    assert not marker.exists()


def test_write_is_atomic_the_target_is_only_ever_renamed_into_place(tmp_path):
    """The checkpoint's own name is never opened for writing: the bytes go to a temporary
    file in the same folder, which is fsynced and renamed over the target (os.replace). A
    plain ``open(path, "wb").write(...)`` fails this test."""
    target = tmp_path / "a.sdckpt"
    save_checkpoint(target, agent="a", config={}, env_id="e", state={"x": np.ones(3)})  # an older checkpoint
    events = []

    def hook(event, args):
        if recording and event == "open" and args[1] is not None and any(c in str(args[1]) for c in "wax+"):
            events.append(("open", Path(args[0]).name))
        elif recording and event == "os.rename":
            events.append(("rename", Path(args[0]).name, Path(args[1]).name))

    recording = False
    sys.addaudithook(hook)  # audit hooks cannot be removed: it records only while `recording`
    recording = True
    try:
        save_checkpoint(target, agent="a", config={}, env_id="e", state={"x": np.zeros(3)})
    finally:
        recording = False
    written = [e[1] for e in events if e[0] == "open"]
    renames = [e for e in events if e[0] == "rename"]
    assert target.name not in written, events
    assert len(renames) == 1 and renames[0][2] == target.name and renames[0][1] in written, events
    assert [p.name for p in tmp_path.iterdir()] == ["a.sdckpt"]
    np.testing.assert_array_equal(load_checkpoint(target).state["x"], np.zeros(3))


def test_leftover_temporary_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    stale = tmp_path / f".a.sdckpt.tmp{dead_pid}"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / ".a.sdckpt.tmp1.abcd"  # pid 1 (init) is alive: its write is left alone
    live.write_bytes(b"someone else's write in progress")
    other = tmp_path / f".b.sdckpt.tmp{dead_pid}"  # another file's temporary: not ours to judge
    other.write_bytes(b"x")
    save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.sdckpt", live.name, other.name])


def test_object_arrays_are_rejected(tmp_path):
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={"x": np.array([{}], dtype=object)})
