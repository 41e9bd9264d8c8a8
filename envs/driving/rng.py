"""Counter-based random numbers (splitmix64): ``uniform(seed, counter, index, purpose)``.

A draw depends only on its four arguments, so world ``w`` of a batch draws exactly what a
single world with the same seed draws, whatever the batch size or the order of the draws.
:func:`uniform1` is the scalar the physics kernel calls; :func:`uniform` is the numpy version
(a ufunc of the same function).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .jit import no_alloc

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11, _ONE = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11), np.uint64(1)
_SCALE = 1.0 / 9007199254740992.0  # 2^-53


@no_alloc
def _mix(z):
    z = z ^ (z >> _S30)
    z = z * _M1
    z = z ^ (z >> _S27)
    z = z * _M2
    return z ^ (z >> _S31)


@no_alloc
def uniform1(seed, counter, index, purpose):
    """One uniform number in [0, 1) for (seed, counter, index, purpose), all uint64."""
    z = _mix(seed + _GOLD * (counter + _ONE))
    z = _mix(z ^ (index * _M2 + purpose * _GOLD))
    return np.float64(z >> _S11) * _SCALE


@nb.vectorize(["float64(uint64, uint64, uint64, uint64)"], cache=True)
def _uniform_ufunc(seed, counter, index, purpose):
    return uniform1(seed, counter, index, purpose)


def uniform(seed, counter, index, purpose):
    """Uniform numbers in [0, 1), broadcasting numpy arrays of seeds (uint64), counters,
    indices and purposes (non-negative ints)."""
    u = np.uint64
    return _uniform_ufunc(np.asarray(seed, u), np.asarray(counter).astype(u), np.asarray(index).astype(u), np.asarray(purpose).astype(u))
