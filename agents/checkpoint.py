"""Checkpoint files: safe to load, bounded in memory, written atomically.

A checkpoint is one ``.sdckpt`` file: a zip archive of NumPy ``.npy`` members (as written
by ``np.savez``) holding every array of the agent's state, plus one JSON document (member
``__meta__``, UTF-8 bytes) with the metadata, the shape of the state tree and, since
format version 2, the dtype and shape of every array member.

Loading treats the file as untrusted:

* nothing is ever unpickled (only boolean, integer and floating dtypes are read), so a
  checkpoint from a stranger cannot run code;
* the metadata is read first, limited to ``MAX_METADATA_BYTES``, and validated against
  a schema (types, required keys, nesting depth, references) before anything is built;
* only the array members the state tree refers to are read, each up to the size its
  declared dtype and shape give (a member that inflates beyond it, a "zip bomb", is
  refused after that many bytes), and all together up to a global cap
  (``max_bytes``, default ``MAX_CHECKPOINT_BYTES`` or ``$SIMDRIVE_MAX_CHECKPOINT_BYTES``);
* every problem is a ``CheckpointError`` with a one-line message.

The state tree an agent returns from ``state_dict()`` may nest ``dict`` (string or int
keys), ``list``/``tuple``, NumPy arrays, torch tensors and JSON scalars (int, float, str,
bool, None). Tensors come back as tensors, arrays as arrays.

Writing goes to a temporary file next to the target (``.NAME.tmpPID.TOKEN``), fsynced, then
renamed over the target: an interrupted write never leaves a half-written checkpoint under
the real name, and the next write removes temporaries left by processes that died.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

FORMAT = "simdrive-checkpoint"
FORMAT_VERSION = 2  # 2: the metadata declares every array's dtype and shape
READABLE_VERSIONS = (1, 2)
_META_KEY = "__meta__"

#: Largest metadata document [bytes].
MAX_METADATA_BYTES = 16 << 20
#: Default cap on all arrays of one checkpoint together [bytes]; a DQN replay buffer of
#: pixel observations may need more: set ``SIMDRIVE_MAX_CHECKPOINT_BYTES``.
MAX_CHECKPOINT_BYTES = 2 << 30
#: Deepest nesting of the state tree and of configuration values [levels].
MAX_STATE_DEPTH = 64
MAX_VALUE_DEPTH = 16
#: Longest agent name / environment id [characters].
MAX_NAME_CHARS = 200
#: dtype kinds a checkpoint may hold: booleans, signed and unsigned integers, floats.
_KINDS = "biuf"
_REF = re.compile(r"a\d{1,9}")


class CheckpointError(Exception):
    """A checkpoint is missing, damaged, too large, or from an incompatible version."""


@dataclass(frozen=True)
class Checkpoint:
    agent: str
    config: dict[str, Any]
    env_id: str
    env_kwargs: dict[str, Any]
    state: dict[str, Any]
    extra: dict[str, Any]


# --- writing -------------------------------------------------------------------------


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and type(value).__name__ in {"Tensor", "Parameter"}


def _flatten(tree: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    """Replace every array leaf by a reference, collecting the arrays."""
    if isinstance(tree, Mapping):
        out = {}
        for key, value in tree.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint state keys must be str or int, got {key!r} at {path}")
            out[key if isinstance(key, str) else f"__int__{key}"] = _flatten(value, arrays, f"{path}/{key}")
        return {"__dict__": out}
    if isinstance(tree, (list, tuple)):
        return {"__list__": [_flatten(v, arrays, f"{path}/{i}") for i, v in enumerate(tree)]}
    if _is_tensor(tree):
        array = tree.detach().cpu().numpy()
        _check_dtype(array.dtype, path)
        ref = f"a{len(arrays)}"
        arrays[ref] = array
        return {"__tensor__": ref}
    if isinstance(tree, np.ndarray):
        _check_dtype(tree.dtype, path)
        ref = f"a{len(arrays)}"
        arrays[ref] = tree
        return {"__array__": ref}
    if isinstance(tree, np.generic):
        return tree.item()
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    raise TypeError(f"cannot checkpoint a {type(tree).__name__} at {path}")


def _check_dtype(dtype: np.dtype, path: str) -> None:
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        what = "object arrays" if dtype == object else f"arrays of dtype {dtype}"
        raise TypeError(f"{what} cannot be checkpointed safely ({path}); use bool, integer or float arrays")


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


_TEMP = re.compile(r"\.(?P<name>.+)\.tmp(?P<pid>\d+)(\.[0-9a-f]+)?")


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or a pid we cannot ask about): leave its file alone
    return True


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete ``.NAME.tmpPID*`` files next to ``path`` left by processes that no longer run."""
    path = Path(path)
    removed = []
    try:
        candidates = list(path.parent.glob(f".{path.name}.tmp*"))
    except OSError:
        return removed
    for candidate in candidates:
        match = _TEMP.fullmatch(candidate.name)
        if match is None or match["name"] != path.name:
            continue
        pid = int(match["pid"])
        if pid != os.getpid() and process_alive(pid):
            continue
        try:
            candidate.unlink()
            removed.append(candidate)
        except OSError:
            pass
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename; temporaries
    of earlier writes whose process died are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


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
        "arrays": {ref: {"dtype": array.dtype.str, "shape": list(array.shape)} for ref, array in arrays.items()},
    }
    meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **{_META_KEY: meta_bytes}, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


# --- reading -------------------------------------------------------------------------


def default_max_bytes() -> int:
    """The global cap on a checkpoint's arrays [bytes] (``$SIMDRIVE_MAX_CHECKPOINT_BYTES`` overrides)."""
    text = os.environ.get("SIMDRIVE_MAX_CHECKPOINT_BYTES", "")
    try:
        value = int(text)
    except ValueError:
        return MAX_CHECKPOINT_BYTES
    return value if value > 0 else MAX_CHECKPOINT_BYTES


class _Reader:
    """Bounded reads of ``.npy`` members from an open zip archive."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, budget: int) -> None:
        self.archive = archive
        self.path = path
        self.budget = budget  # bytes still allowed [bytes]

    def fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {self.path} {why}; re-run 'simdrive train' (or use a checkpoint you trust)")

    def header(self, stream: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=2000)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=2000)
            else:
                raise ValueError(f"npy version {version}")
        except (ValueError, TypeError, SyntaxError, EOFError, OSError, zipfile.BadZipFile, RecursionError, MemoryError):
            raise self.fail(f"is damaged (member {name} has no valid array header)") from None
        return shape, bool(fortran), dtype

    def read(self, ref: str, declared: Mapping[str, Any] | None, limit: int | None = None) -> np.ndarray:
        name = f"{ref}.npy"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise self.fail(f"is damaged (missing array {ref})") from None
        try:
            stream = self.archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as error:
            raise self.fail(f"is damaged (member {name}: {_first_line(error)})") from None
        with stream:
            shape, fortran, dtype = self.header(stream, name)
            if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize > 16:
                raise self.fail(f"holds array {ref} of dtype {dtype}, which SimDrive never writes (only bool, int and float)")
            if declared is not None and (np.dtype(declared["dtype"]) != dtype or tuple(declared["shape"]) != tuple(shape)):
                raise self.fail(f"is damaged (array {ref} is not the dtype and shape its metadata declares)")
            nbytes = math.prod(shape) * dtype.itemsize
            cap = self.budget if limit is None else min(limit, self.budget)
            if nbytes > cap:
                raise self.fail(f"declares array {ref} of {nbytes} bytes, more than the {cap} allowed "
                                "(set SIMDRIVE_MAX_CHECKPOINT_BYTES to load larger checkpoints you trust)")
            buffer = bytearray(nbytes)
            view = memoryview(buffer)
            filled = 0
            try:
                while filled < nbytes:
                    got = stream.readinto(view[filled:])
                    if not got:
                        break
                    filled += got
                trailing = stream.read(1)  # reaching the end also checks the member's CRC
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as error:
                raise self.fail(f"is damaged (member {name}: {_first_line(error)})") from None
            if filled != nbytes or trailing:
                raise self.fail(f"is damaged (array {ref} is {'shorter' if filled != nbytes else 'longer'} than its header declares)")
        self.budget -= nbytes
        array = np.frombuffer(buffer, dtype=dtype)
        array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
        if not dtype.isnative:  # torch reads native byte order only
            array = array.astype(dtype.newbyteorder("="))
        return array


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _json_value(value: Any, depth: int) -> bool:
    """Plain JSON data nested at most ``depth`` levels (iteratively checked)."""
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if level > depth:
            return False
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        elif not (item is None or isinstance(item, (bool, int, float, str))):
            return False
    return True


def validate_metadata(meta: Any) -> list[str]:
    """Problems of a checkpoint's metadata against the schema (empty when valid).

    Required: ``format`` (str), ``format_version`` (int), ``agent`` and ``env_id`` (short
    strings), ``config``, ``env_kwargs``, ``extra`` (mappings of JSON values nested at most
    ``MAX_VALUE_DEPTH`` levels), ``state`` (a tree of ``__dict__``/``__list__``/``__array__``/
    ``__tensor__`` nodes and JSON scalars, at most ``MAX_STATE_DEPTH`` deep) and, from
    version 2, ``arrays`` (reference -> ``{"dtype": str, "shape": [int, ...]}``)."""
    if not isinstance(meta, dict):
        return ["the metadata is not a mapping"]
    problems = []
    for key, kind in (("format", str), ("format_version", int), ("agent", str), ("env_id", str)):
        if key not in meta:
            problems.append(f"'{key}' is missing")
        elif not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            problems.append(f"'{key}' is not a {kind.__name__}")
        elif kind is str and not 0 < len(meta[key]) <= MAX_NAME_CHARS:
            problems.append(f"'{key}' is empty or longer than {MAX_NAME_CHARS} characters")
    for key, required in (("config", True), ("env_kwargs", False), ("extra", False)):
        if key not in meta:
            if required:
                problems.append(f"'{key}' is missing")
        elif not isinstance(meta[key], dict) or not _json_value(meta[key], MAX_VALUE_DEPTH):
            problems.append(f"'{key}' is not a mapping of plain values nested at most {MAX_VALUE_DEPTH} levels")
    if problems:
        return problems
    version = meta["format_version"]
    arrays = meta.get("arrays")
    if version >= 2:
        if not isinstance(arrays, dict):
            return ["'arrays' is missing or not a mapping"]
        for ref, spec in arrays.items():
            if not _REF.fullmatch(ref):
                return [f"array reference {ref[:40]!r} is not valid"]
            if not (isinstance(spec, dict) and isinstance(spec.get("dtype"), str) and len(spec["dtype"]) <= 8
                    and isinstance(spec.get("shape"), list) and len(spec["shape"]) <= 32
                    and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in spec["shape"])):
                return [f"array {ref} has no valid dtype and shape"]
            try:
                dtype = np.dtype(spec["dtype"])
            except (TypeError, ValueError, SyntaxError):
                return [f"array {ref} has an unknown dtype"]
            if dtype.kind not in _KINDS:
                return [f"array {ref} has dtype {dtype}, which SimDrive never writes (only bool, int and float)"]
    if "state" not in meta:
        return ["'state' is missing"]
    stack = [(meta["state"], 0)]
    nodes = 0
    while stack:
        node, level = stack.pop()
        nodes += 1
        if level > MAX_STATE_DEPTH:
            return [f"the state tree is nested deeper than {MAX_STATE_DEPTH} levels"]
        if node is None or isinstance(node, (bool, int, float, str)):
            continue
        if not isinstance(node, dict) or len(node) != 1:
            return ["the state tree holds a node that is not a scalar or a one-key mapping"]
        (kind, value), = node.items()
        if kind == "__dict__" and isinstance(value, dict):
            for key in value:
                if key.startswith("__int__") and not re.fullmatch(r"__int__-?\d{1,18}", key):
                    return [f"the state tree holds a bad integer key {key[:40]!r}"]
            stack.extend((v, level + 1) for v in value.values())
        elif kind == "__list__" and isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
        elif kind in ("__array__", "__tensor__") and isinstance(value, str) and _REF.fullmatch(value):
            if version >= 2 and value not in arrays:
                return [f"the state tree refers to array {value}, which the metadata does not declare"]
        else:
            return [f"the state tree holds an unknown node {kind[:40]!r}"]
    if meta.get("format") != FORMAT:
        return ["it is not a SimDrive checkpoint (wrong format name)"]
    return []


def _unflatten(tree: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """Rebuild the state tree (already validated, so bounded in depth)."""
    if isinstance(tree, dict):
        (kind, value), = tree.items()
        if kind == "__dict__":
            return {(int(k[len("__int__"):]) if k.startswith("__int__") else k): _unflatten(v, arrays) for k, v in value.items()}
        if kind == "__list__":
            return [_unflatten(v, arrays) for v in value]
        if kind == "__tensor__":
            import torch

            return torch.from_numpy(arrays[value])
        return arrays[value]
    return tree


def _refs(tree: Any) -> list[str]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            (kind, value), = node.items()
            if kind in ("__array__", "__tensor__"):
                out.append(value)
            else:
                stack.extend(value.values() if isinstance(value, dict) else value)
    return list(dict.fromkeys(out))


def load_checkpoint(path: str | os.PathLike[str], max_bytes: int | None = None) -> Checkpoint:
    """Read a checkpoint (see the module docstring); raises ``CheckpointError`` with a clear message on any problem."""
    path = Path(path)
    cap = default_max_bytes() if max_bytes is None else int(max_bytes)
    try:
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path} does not exist; pass the .sdckpt file written by 'simdrive train'")
        size = path.stat().st_size
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror or error}") from None
    if size > cap + MAX_METADATA_BYTES:
        raise CheckpointError(f"checkpoint {path} is {size} bytes, more than the {cap} allowed "
                              "(set SIMDRIVE_MAX_CHECKPOINT_BYTES to load larger checkpoints you trust)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        raise CheckpointError(f"{path} is not a SimDrive checkpoint (or it is damaged); pass the .sdckpt file written by 'simdrive train'") from None
    with archive:
        reader = _Reader(archive, path, cap)
        if f"{_META_KEY}.npy" not in archive.NameToInfo:
            raise CheckpointError(f"checkpoint {path} is not a SimDrive checkpoint (no metadata); re-run 'simdrive train'")
        raw = reader.read(_META_KEY, None, limit=MAX_METADATA_BYTES)
        reader.budget = cap
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise reader.fail("has damaged metadata")
        try:
            meta = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise reader.fail("has damaged metadata (not valid JSON)") from None
        if isinstance(meta, dict) and meta.get("format") == FORMAT and isinstance(meta.get("format_version"), int) \
                and meta["format_version"] not in READABLE_VERSIONS:
            raise CheckpointError(
                f"checkpoint {path} has format version {meta['format_version']}, this SimDrive reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}; re-train it with this version")
        problems = validate_metadata(meta)
        if problems:
            if isinstance(meta, dict) and meta.get("format") != FORMAT:
                raise CheckpointError(f"{path} is not a SimDrive checkpoint; pass the .sdckpt file written by 'simdrive train'")
            raise reader.fail(f"has invalid metadata ({problems[0]})")
        refs = _refs(meta["state"])
        declared = meta.get("arrays") if meta["format_version"] >= 2 else None
        if declared is not None:
            total = sum(math.prod(declared[r]["shape"]) * np.dtype(declared[r]["dtype"]).itemsize for r in refs)
            if total > cap:
                raise reader.fail(f"declares {total} bytes of arrays, more than the {cap} allowed "
                                  "(set SIMDRIVE_MAX_CHECKPOINT_BYTES to load larger checkpoints you trust)")
        arrays = {ref: reader.read(ref, declared[ref] if declared is not None else None) for ref in refs}
    state = _unflatten(meta["state"], arrays)
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} has invalid metadata (the state is not a mapping); re-run 'simdrive train'")
    return Checkpoint(
        agent=meta["agent"],
        config=meta["config"],
        env_id=meta["env_id"],
        env_kwargs=meta.get("env_kwargs", {}),
        state=state,
        extra=meta.get("extra", {}),
    )
