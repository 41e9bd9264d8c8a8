import json
import zipfile

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
    pickled = tmp_path / "p.sdckpt"
    with open(pickled, "wb") as handle:  # an archive whose array would need unpickling
        np.savez(handle, __meta__=np.zeros(3, np.uint8), x=np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError):
        load_checkpoint(pickled)


def test_other_format_version_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={})
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(np.load(archive.open("__meta__.npy")).tobytes())
    meta["format_version"] = 999
    with open(tmp_path / "v.sdckpt", "wb") as handle:  # np.savez would add .npz to a path
        np.savez(handle, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(CheckpointError, match="format version 999"):
        load_checkpoint(tmp_path / "v.sdckpt")


def test_write_is_atomic_no_temporary_left(tmp_path):
    save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={"x": np.ones(3)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.sdckpt"]


def test_object_arrays_are_rejected(tmp_path):
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "a.sdckpt", agent="a", config={}, env_id="e", state={"x": np.array([{}], dtype=object)})
