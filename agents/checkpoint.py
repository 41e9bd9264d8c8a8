"""Checkpoint files: safe to load, written atomically.

A checkpoint is one ``.sdckpt`` file: a NumPy ``.npz`` archive (read with
``allow_pickle=False``) holding every array of the agent's state, plus one JSON
document (stored as UTF-8 bytes) with the metadata and the shape of the state tree.
Nothing in it is ever unpickled, so a checkpoint from a stranger cannot run code.

The state tree an agent returns from ``state_dict()`` may nest ``dict`` (string keys),
``list``/``tuple``, NumPy arrays, torch tensors and JSON scalars (int, float, str, bool,
None). Tensors come back as tensors, arrays as arrays.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

FORMAT = "simdrive-checkpoint"
FORMAT_VERSION = 1
_META_KEY = "__meta__"


class CheckpointError(Exception):
    """A checkpoint is missing, damaged, or from an incompatible version."""


@dataclass(frozen=True)
class Checkpoint:
    agent: str
    config: dict[str, Any]
    env_id: str
    env_kwargs: dict[str, Any]
    state: dict[str, Any]
    extra: dict[str, Any]


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and type(value).__name__ in {"Tensor", "Parameter"}


def _flatten(tree: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """Replace every array leaf by a reference, collecting the arrays."""
    if isinstance(tree, Mapping):
        out = {}
        for key, value in tree.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint state keys must be str or int, got {key!r} at {path}")
            out[str(key) if isinstance(key, str) else f"__int__{key}"] = _flatten(value, arrays, f"{path}/{key}")
        return {"__dict__": out}
    if isinstance(tree, (list, tuple)):
        return {"__list__": [_flatten(v, arrays, f"{path}/{i}") for i, v in enumerate(tree)]}
    if _is_tensor(tree):
        ref = f"a{len(arrays)}"
        arrays[ref] = tree.detach().cpu().numpy()
        return {"__tensor__": ref}
    if isinstance(tree, np.ndarray):
        if tree.dtype == object:
            raise TypeError(f"object arrays cannot be checkpointed safely ({path})")
        ref = f"a{len(arrays)}"
        arrays[ref] = tree
        return {"__array__": ref}
    if isinstance(tree, np.generic):
        return tree.item()
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise TypeError(f"cannot checkpoint a {type(tree).__name__} at {path}")


def _unflatten(tree: Any, archive: Mapping[str, np.ndarray]) -> Any:
    if isinstance(tree, dict):
        if "__dict__" in tree:
            return {
                (int(k[len("__int__"):]) if k.startswith("__int__") else k): _unflatten(v, archive)
                for k, v in tree["__dict__"].items()
            }
        if "__list__" in tree:
            return [_unflatten(v, archive) for v in tree["__list__"]]
        if "__tensor__" in tree:
            import torch

            return torch.from_numpy(np.array(archive[tree["__tensor__"]]))
        if "__array__" in tree:
            return np.array(archive[tree["__array__"]])
        raise CheckpointError("damaged checkpoint: unknown node in the state tree")
    return tree


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    agent: str,
    config: Any,
    env_id: str,
    state: Mapping[str, Any],
    env_kwargs: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically; returns its path."""
    arrays: dict[str, np.ndarray] = {}
    tree = _flatten(dict(state), arrays, "state")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "agent": agent,
        "config": _jsonable(config),
        "env_id": env_id,
        "env_kwargs": _jsonable(dict(env_kwargs or {})),
        "extra": _jsonable(dict(extra or {})),
        "state": tree,
    }
    meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **{_META_KEY: meta_bytes}, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint; raises ``CheckpointError`` with a clear message on any problem."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; pass the .sdckpt file written by 'simdrive train'")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a SimDrive checkpoint (or it is damaged); pass the .sdckpt file written by 'simdrive train'")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise CheckpointError(f"checkpoint {path} is damaged or not a SimDrive checkpoint ({error}); re-run 'simdrive train'") from None
    if _META_KEY not in arrays:
        raise CheckpointError(f"checkpoint {path} is not a SimDrive checkpoint (no metadata); re-run 'simdrive train'")
    try:
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"checkpoint {path} has damaged metadata; re-run 'simdrive train'") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a SimDrive checkpoint")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version}, this SimDrive reads version {FORMAT_VERSION}; "
            "re-train it with this version"
        )
    try:
        state = _unflatten(meta["state"], arrays)
    except KeyError as error:
        raise CheckpointError(f"checkpoint {path} is damaged (missing array {error}); re-run 'simdrive train'") from None
    return Checkpoint(
        agent=meta["agent"],
        config=meta["config"],
        env_id=meta["env_id"],
        env_kwargs=meta.get("env_kwargs", {}),
        state=state,
        extra=meta.get("extra", {}),
    )
