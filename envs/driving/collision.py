"""Collisions between oriented boxes (separating-axis test), the ego's collision type and fault
(nuPlan's classification), and traffic-wide overlap queries. numpy + numba.

:func:`overlap` is the one box test: the physics kernel calls it per candidate pair, and
:func:`boxes_overlap` is the numpy ufunc built from it.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .jit import kernel, no_alloc

__all__ = ["box_corners", "overlap", "boxes_overlap", "colliding_pairs", "overlap_counts", "COLLISION_TYPES", "STOPPED_SPEED"]

#: nuPlan's collision types (``no_ego_at_fault_collisions`` metric), index = code
COLLISION_TYPES = ("none", "stopped_ego", "stopped_track", "active_front", "active_rear", "active_lateral")
CT_NONE, CT_STOPPED_EGO, CT_STOPPED_TRACK, CT_ACTIVE_FRONT, CT_ACTIVE_REAR, CT_ACTIVE_LATERAL = range(6)
STOPPED_SPEED = 0.05  # below this speed a vehicle counts as stopped (nuPlan's threshold) [m/s]


def box_corners(x, y, h, length, width):
    """Corners of oriented boxes, shape ``x.shape + (4, 2)`` [m] (front-left, front-right,
    rear-right, rear-left). ``h`` heading [rad], ``length``/``width`` full sizes [m]."""
    c, s = np.cos(h), np.sin(h)
    fl = np.array([0.5, 0.5, -0.5, -0.5])
    fw = np.array([0.5, -0.5, -0.5, 0.5])
    lx = np.asarray(length)[..., None] * fl
    wy = np.asarray(width)[..., None] * fw
    cx = np.asarray(x)[..., None] + lx * c[..., None] - wy * s[..., None]
    cy = np.asarray(y)[..., None] + lx * s[..., None] + wy * c[..., None]
    return np.stack([cx, cy], -1)


@no_alloc
def overlap(x1, y1, h1, l1, w1, x2, y2, h2, l2, w2):
    """Separating-axis test of two oriented boxes: centre ``(x, y)`` [m], heading ``h`` [rad],
    full length ``l`` and width ``w`` [m]. True where they overlap or touch."""
    dx, dy = x2 - x1, y2 - y1
    c1, s1, c2, s2 = np.cos(h1), np.sin(h1), np.cos(h2), np.sin(h2)
    C = abs(c1 * c2 + s1 * s2)  # |cos(h1 - h2)|
    S = abs(s1 * c2 - c1 * s2)  # |sin(h1 - h2)|
    eps = 1e-9
    if abs(dx * c1 + dy * s1) > 0.5 * (l1 + l2 * C + w2 * S) + eps:
        return False
    if abs(-dx * s1 + dy * c1) > 0.5 * (w1 + l2 * S + w2 * C) + eps:
        return False
    if abs(dx * c2 + dy * s2) > 0.5 * (l2 + l1 * C + w1 * S) + eps:
        return False
    return abs(-dx * s2 + dy * c2) <= 0.5 * (w2 + l1 * S + w1 * C) + eps


@nb.vectorize(["boolean(float64, float64, float64, float64, float64, float64, float64, float64, float64, float64)"], cache=True)
def boxes_overlap(x1, y1, h1, l1, w1, x2, y2, h2, l2, w2):
    """:func:`overlap` over broadcastable arrays (a numpy ufunc of the same test)."""
    return overlap(x1, y1, h1, l1, w1, x2, y2, h2, l2, w2)


@no_alloc
def collision_type(ev, ov, ex, ey, eh, el, ew, ox, oy, oh, ol, ow):
    """nuPlan's type of a collision between the ego (speed ``ev`` [m/s], box ``ex..ew``) and another
    box (speed ``ov``): the ego stopped -> stopped_ego; else the other stopped -> stopped_track;
    else the other's centre more than 150 deg off the ego's heading -> active_rear; else the
    ego's front edge touches the other -> active_front; else active_lateral."""
    if ev <= STOPPED_SPEED:
        return CT_STOPPED_EGO
    if ov <= STOPPED_SPEED:
        return CT_STOPPED_TRACK
    bearing = np.arctan2(oy - ey, ox - ex) - eh
    bearing = (bearing + np.pi) % (2 * np.pi) - np.pi
    if abs(bearing) > np.deg2rad(150.0):
        return CT_ACTIVE_REAR
    fx, fy = ex + 0.5 * el * np.cos(eh), ey + 0.5 * el * np.sin(eh)
    if overlap(fx, fy, eh, 0.1, ew, ox, oy, oh, ol, ow):  # a 0.1 m deep strip at the front bumper
        return CT_ACTIVE_FRONT
    return CT_ACTIVE_LATERAL


def colliding_pairs(world, w: int = 0):
    """All overlapping pairs ``(i, j)``, i < j, among active vehicles of world ``w`` (a test and
    metrics helper, not on the physics path)."""
    act = np.nonzero(world.active[w])[0]
    x, y, h, L, W = (a[w, act] for a in (world.x, world.y, world.h, world.length, world.width))
    rad = 0.5 * np.hypot(L, W)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    reach = 2 * rad.max() if len(rad) else 0.0
    hi = np.searchsorted(xs, xs + reach, side="right")
    cnt = hi - np.arange(len(xs)) - 1
    ii = np.repeat(np.arange(len(xs)), cnt)
    jj = ii + 1 + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    a, b = order[ii], order[jj]
    near = (x[a] - x[b]) ** 2 + (y[a] - y[b]) ** 2 <= (rad[a] + rad[b]) ** 2
    a, b = a[near], b[near]
    hit = boxes_overlap(x[a], y[a], h[a], L[a], W[a], x[b], y[b], h[b], L[b], W[b])
    pairs = np.stack([act[a[hit]], act[b[hit]]], 1)
    return np.sort(pairs, 1)


@kernel
def _overlaps(x, y, h, L, W, active, exclude_ego):
    n, v = x.shape
    out = np.zeros(n, np.int64)
    for w in range(n):
        for i in range(1 if exclude_ego else 0, v):
            if not active[w, i]:
                continue
            ri = 0.5 * np.hypot(L[w, i], W[w, i])
            for j in range(i + 1, v):
                if not active[w, j]:
                    continue
                reach = ri + 0.5 * np.hypot(L[w, j], W[w, j])
                if abs(x[w, j] - x[w, i]) > reach or abs(y[w, j] - y[w, i]) > reach:
                    continue
                if overlap(x[w, i], y[w, i], h[w, i], L[w, i], W[w, i], x[w, j], y[w, j], h[w, j], L[w, j], W[w, j]):
                    out[w] += 1
    return out


def overlap_counts(world, exclude_ego: bool = True) -> np.ndarray:
    """(N,) number of overlapping pairs of active boxes per world (traffic among itself when
    ``exclude_ego``): the invariant the property tests and benchmarks check."""
    return _overlaps(world.x, world.y, world.h, world.length, world.width, world.active, exclude_ego)
