"""Keeps numba's on-disk cache of the physics kernel consistent.

numba invalidates a cached function when its own source file changes, but not when a jitted
function it calls, in another module, changes. The kernel spans several modules, so on
import the cache files of all of them are dropped whenever any of their sources differs from
the last import (a hash kept next to the cache). Installed releases never hit this (every
file changes at once); it keeps development edits from running stale machine code.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

KERNEL_MODULES = ("jit", "lookahead", "rng", "traffic", "state", "tables", "params", "geometry", "occupancy", "junctions", "longitudinal",
                  "disturbances",
                  "lanechange", "spawning", "collision", "physics", "world")


def check() -> None:
    """Drop stale numba cache files of the kernel modules (best effort: read-only installs skip it)."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in KERNEL_MODULES:
        try:
            digest.update((here / f"{name}.py").read_bytes())
        except OSError:
            return
    stamp = here / "__pycache__" / "kernel-sources.sha256"
    new = digest.hexdigest()
    try:
        if stamp.read_text() == new:
            return
    except OSError:
        pass
    try:
        for path in (here / "__pycache__").glob("*.nb[ic]"):
            if path.name.split(".", 1)[0] in KERNEL_MODULES:
                path.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(new)
        os.replace(tmp, stamp)
    except OSError:
        return
