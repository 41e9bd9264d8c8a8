"""Collisions between oriented boxes (separating-axis test) behind a distance broad phase,
and the off-road test of the ego's footprint. numpy only, vectorized over all pairs."""

from __future__ import annotations

import numpy as np

__all__ = ["box_corners", "boxes_overlap", "ego_collisions", "ego_offroad", "colliding_pairs", "classify_ego_collisions",
           "COLLISION_TYPES"]

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


def boxes_overlap(x1, y1, h1, l1, w1, x2, y2, h2, l2, w2):
    """Separating-axis test for pairs of oriented boxes (elementwise, broadcastable).

    Boxes are centre ``(x, y)`` [m], heading ``h`` [rad], full length ``l`` and width ``w`` [m].
    Returns True where the boxes overlap or touch.
    """
    dx, dy = x2 - x1, y2 - y1
    c1, s1, c2, s2 = np.cos(h1), np.sin(h1), np.cos(h2), np.sin(h2)
    C = np.abs(c1 * c2 + s1 * s2)  # |cos(h1 - h2)|
    S = np.abs(s1 * c2 - c1 * s2)  # |sin(h1 - h2)|
    eps = 1e-9
    a1 = np.abs(dx * c1 + dy * s1) <= 0.5 * (l1 + l2 * C + w2 * S) + eps
    b1 = np.abs(-dx * s1 + dy * c1) <= 0.5 * (w1 + l2 * S + w2 * C) + eps
    a2 = np.abs(dx * c2 + dy * s2) <= 0.5 * (l2 + l1 * C + w1 * S) + eps
    b2 = np.abs(-dx * s2 + dy * c2) <= 0.5 * (w2 + l1 * S + w1 * C) + eps
    return a1 & b1 & a2 & b2


def ego_collisions(world):
    """What the ego (slot 0) of each world overlaps now: ``(code, slot)``, (N,) HIT_* code and
    the slot of the box hit (-1 for none; an obstacle wins over a vehicle), or None when the
    ego of no world overlaps anything.

    Broad phase: bounding-box distance test over all slots; the separating-axis test runs
    only on the surviving candidate pairs (compacted flat indices).
    """
    from .world import HIT_NONE, HIT_OBSTACLE, HIT_VEHICLE, STATIC

    x, y = world.x, world.y
    reach = world.ego_reach()  # any box can touch the ego only within this
    cand = world.active & (np.abs(x - x[:, :1]) <= reach) & (np.abs(y - y[:, :1]) <= reach)
    cand[:, 0] = False
    fi = cand.ravel().nonzero()[0]  # flat index of the other box
    if fi.size == 0:
        return None
    wi = fi // world.V
    fe = wi * world.V  # flat index of the ego
    xf, yf, hf, Lf, Wf = (a.ravel() for a in (x, y, world.h, world.length, world.width))
    hit = boxes_overlap(xf[fe], yf[fe], hf[fe], Lf[fe], Wf[fe], xf[fi], yf[fi], hf[fi], Lf[fi], Wf[fi])
    if not hit.any():
        return None
    out = np.full(world.n, HIT_NONE)
    slot = np.full(world.n, -1, np.int64)
    wh, fh = wi[hit], fi[hit]
    out[wh] = HIT_VEHICLE
    slot[wh] = fh - wh * world.V
    obst = world.kind.ravel()[fh] == STATIC
    out[wh[obst]] = HIT_OBSTACLE  # obstacle hits win over vehicle hits
    slot[wh[obst]] = fh[obst] - wh[obst] * world.V
    return out, slot


def classify_ego_collisions(world, rows, slot):
    """nuPlan's collision type and the ego's fault for ego collisions in worlds ``rows`` with ``slot``.

    Following nuPlan's ``no_ego_at_fault_collisions``: the ego stopped (speed <= 0.05 m/s) ->
    ``stopped_ego``; else the other stopped -> ``stopped_track``; else the other's centre behind
    the ego (more than 150 degrees off the ego's heading) -> ``active_rear``; else the ego's
    front edge touches the other box -> ``active_front``; else ``active_lateral``. The ego is at
    fault for ``active_front`` and ``stopped_track``, and for ``active_lateral`` when it straddles
    a lane line or is off the drivable area. Returns (type code (R,), at_fault bool (R,)).
    """
    rows = np.asarray(rows, np.int64)
    slot = np.asarray(slot, np.int64)
    r = world.road
    ev = world.v[rows, 0]
    ov = world.v[rows, slot]
    ex, ey, eh = world.x[rows, 0], world.y[rows, 0], world.h[rows, 0]
    ox, oy, oh = world.x[rows, slot], world.y[rows, slot], world.h[rows, slot]
    L, W = world.length[rows, 0], world.width[rows, 0]
    bearing = np.arctan2(oy - ey, ox - ex) - eh
    behind = np.abs((bearing + np.pi) % (2 * np.pi) - np.pi) > np.deg2rad(150.0)
    # the ego's front edge as a thin box (0.1 m deep) at its front bumper
    fx, fy = ex + 0.5 * L * np.cos(eh), ey + 0.5 * L * np.sin(eh)
    front = boxes_overlap(fx, fy, eh, 0.1, W, ox, oy, oh, world.length[rows, slot], world.width[rows, slot])
    kind = np.where(ev <= STOPPED_SPEED, CT_STOPPED_EGO,
                    np.where(ov <= STOPPED_SPEED, CT_STOPPED_TRACK,
                             np.where(behind, CT_ACTIVE_REAR, np.where(front, CT_ACTIVE_FRONT, CT_ACTIVE_LATERAL))))
    lane = world.lane[rows, 0]
    e = np.abs(world.d[rows, 0] - r.lane_offset[lane])
    straddles = e + 0.5 * W > 0.5 * r.lane_width[lane]
    corners = box_corners(ex, ey, eh, L, W)
    off = ~r.drivable(corners[..., 0], corners[..., 1]).all(-1)
    fault = (kind == CT_ACTIVE_FRONT) | (kind == CT_STOPPED_TRACK) | ((kind == CT_ACTIVE_LATERAL) & (straddles | off))
    return kind, fault


def ego_offroad(world):
    """(N,) bool: some corner of the ego's footprint is off the drivable surface, or None
    when every ego is on it.

    Fast path: an ego whose footprint lies inside its (non-junction) section's lateral span,
    away from the section ends, is on the road (tested first with the bounding circle, then with
    the footprint's extents); only the others are looked up in the drivable raster.
    """
    r = world.road
    sec, s, d = world.sec[:, 0], world.s[:, 0], world.d[:, 0]
    dh = world.h[:, 0] - world.road_h[:, 0]
    lo, hi, smax, smin, half_l = world.offroad_fast()  # a cheaper sufficient test first (|sin| <= |angle|)
    e = half_l * np.abs(dh)
    if ((d - e > lo[sec]) & (d + e < hi[sec]) & (s > smin) & (s < smax[sec])).all():
        return None
    c, sn = np.abs(np.cos(dh)), np.abs(np.sin(dh))
    L, W = world.length[:, 0], world.width[:, 0]
    lat = 0.5 * (L * sn + W * c) + 0.05  # lateral half extent of the footprint [m]
    lon = 0.5 * (L * c + W * sn)
    inside = (d - lat > r.sec_dmin[sec]) & (d + lat < r.sec_dmax[sec]) & (s > lon) & (s < r.sec_length[sec] - lon)
    inside &= r.sec_simple[sec]
    if inside.all():
        return None
    c = world.ego_corners()
    return ~inside & ~r.drivable(c[..., 0], c[..., 1]).all(-1)


def colliding_pairs(world, w: int = 0):
    """All overlapping pairs ``(i, j)``, i < j, among active vehicles of world ``w``.

    Broad phase: sort by x and keep pairs within the largest bounding diameter in x
    (sort-and-sweep done with ``searchsorted``), then a circle test, then the SAT.
    """
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
