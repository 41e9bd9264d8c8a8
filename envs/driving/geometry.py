"""Frenet frame of the packed road (numba): projection onto a section, back to world coordinates,
lane lookup, the drivable raster. The vectorized numpy equivalents for build time and
sensors live on :class:`~.road.Road`; these are the per-vehicle versions the kernel uses.
"""

from __future__ import annotations

import numpy as np

from .jit import no_alloc
from .tables import (LF_OFF, LF_WIDTH, LI_SEC, SF_GBASE, SF_LENGTH, SG_DX, SG_DY, SG_GS, SG_HEAD, SG_S0, SG_TMAX, SG_TMIN,
                     SG_X0, SG_Y0)


@no_alloc
def segment_at(tabs, sec, s):
    """Index of the segment of section ``sec`` containing arc length ``s`` [m] (clamped)."""
    a, b = tabs.SEC_SEG[sec], tabs.SEC_SEG[sec + 1]
    if b - a == 1:
        return a
    gs = tabs.SF[sec, SF_GBASE] + min(max(s, 0.0), tabs.SF[sec, SF_LENGTH])
    k = np.searchsorted(tabs.SG[:, SG_GS], gs, side="right") - 1
    return min(max(k, a), b - 1)


@no_alloc
def project(tabs, sec, s_guess, x, y):
    """Project point ``(x, y)`` [m] onto section ``sec`` near ``s_guess`` [m]: returns
    ``(s, d, road_heading, segment)`` (s extrapolated past the section's ends)."""
    SG = tabs.SG
    a, b = tabs.SEC_SEG[sec], tabs.SEC_SEG[sec + 1]
    k0 = segment_at(tabs, sec, s_guess)
    best, bs, bd, bh, bk = np.inf, 0.0, 0.0, 0.0, k0
    for k in range(max(k0 - 2, a), min(k0 + 3, b)):
        dx, dy = SG[k, SG_DX], SG[k, SG_DY]
        rx, ry = x - SG[k, SG_X0], y - SG[k, SG_Y0]
        t = rx * dx + ry * dy
        tc = min(max(t, SG[k, SG_TMIN]), SG[k, SG_TMAX])
        ex, ey = rx - tc * dx, ry - tc * dy
        e2 = ex * ex + ey * ey
        if e2 < best:
            best, bs, bd, bh, bk = e2, SG[k, SG_S0] + tc, dx * ry - dy * rx, SG[k, SG_HEAD], k
    return bs, bd, bh, bk


@no_alloc
def to_world(tabs, sec, s, d):
    """Frenet ``(sec, s, d)`` -> ``(x, y, heading)`` [m, m, rad]."""
    SG = tabs.SG
    k = segment_at(tabs, sec, s)
    t = s - SG[k, SG_S0]
    dx, dy = SG[k, SG_DX], SG[k, SG_DY]
    return SG[k, SG_X0] + t * dx - d * dy, SG[k, SG_Y0] + t * dy + d * dx, SG[k, SG_HEAD]


@no_alloc
def lane_at(tabs, sec, d):
    """Nearest lane of section ``sec`` to lateral offset ``d`` [m]."""
    l0, l1 = tabs.SEC_LANE[sec], tabs.SEC_LANE[sec + 1]
    k = int(np.rint((d - tabs.LF[l0, LF_OFF]) / tabs.LF[l0, LF_WIDTH]))
    return l0 + min(max(k, 0), l1 - l0 - 1)


@no_alloc
def drivable(tabs, x, y):
    """Whether point ``(x, y)`` [m] is on the drivable surface (raster lookup)."""
    g = tabs.RASTER_GEO
    ix = int(np.floor((x - g[0]) / g[2]))
    iy = int(np.floor((y - g[1]) / g[2]))
    h, w = tabs.RASTER.shape
    if ix < 0 or iy < 0 or ix >= w or iy >= h:
        return False
    return tabs.RASTER[iy, ix]


@no_alloc
def lane_section(tabs, lane):
    return tabs.LI[lane, LI_SEC]
