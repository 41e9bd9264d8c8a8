"""Who is in which lane, sorted by arc length: leaders and followers for the driver models.

Per world, every active vehicle has an entry in the lane of its centre; a vehicle moving
over into its target lane (0.3 m or more off its lane centre), or whose footprint crosses a
lane line, has a second entry in the other lane it occupies, so it is a leader (and follower)
in both. Entries are sorted by (lane, s); the
leader of an entry is the next entry of the same lane. numba, per world.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel, no_alloc
from .state import ACTIVE, D, LANE, S, TLANE, WID

# lane table columns (see tables.py)
from .tables import LF_LENGTH, LF_OFF, LF_WIDTH, LI_LEFT, LI_RIGHT


@kernel
def build(w, F, I, B, LF, LI, big, key, lane_of, veh, prim, sec):
    """Sort world ``w``'s entries. Fills ``key``/``lane_of``/``veh`` (sorted entries: key, lane,
    vehicle slot) and ``prim``/``sec`` (per slot: index of its entry in its centre lane / in the
    other lane it occupies, -1 none). Returns the number of entries."""
    nv = F.shape[2]
    n = 0
    raw_key = np.empty(2 * nv)
    raw_lane = np.empty(2 * nv, np.int64)
    raw_veh = np.empty(2 * nv, np.int64)
    quarter = 0.25 * big
    for i in range(nv):
        prim[i] = -1
        sec[i] = -1
        if not B[ACTIVE, w, i]:
            continue
        ln = I[LANE, w, i]
        s = min(max(F[S, w, i], -quarter), 2 * quarter)
        raw_key[n], raw_lane[n], raw_veh[n] = ln * big + s + quarter, ln, i
        n += 1
        other = -1
        tl = I[TLANE, w, i]
        e = F[D, w, i] - LF[ln, LF_OFF]
        if tl != ln and abs(e) > 0.3:  # moving over into its target lane
            other = tl
        elif abs(e) + 0.5 * F[WID, w, i] > 0.5 * LF[ln, LF_WIDTH] + 0.2:  # its footprint crosses a lane line
            other = LI[ln, LI_LEFT] if e > 0 else LI[ln, LI_RIGHT]
        if other >= 0:
            raw_key[n], raw_lane[n], raw_veh[n] = other * big + s + quarter, other, i
            n += 1
    order = np.argsort(raw_key[:n], kind="mergesort")
    for k in range(n):
        o = order[k]
        key[k], lane_of[k], veh[k] = raw_key[o], raw_lane[o], raw_veh[o]
        i = raw_veh[o]
        if raw_lane[o] == I[LANE, w, i]:
            prim[i] = k
        else:
            sec[i] = k
    return n


@no_alloc
def ahead(n, lane_of, k):
    """Entry right after entry ``k`` in the same lane, or -1."""
    if k + 1 < n and lane_of[k + 1] == lane_of[k]:
        return k + 1
    return -1


@no_alloc
def behind(lane_of, k):
    """Entry right before entry ``k`` in the same lane, or -1."""
    if k >= 1 and lane_of[k - 1] == lane_of[k]:
        return k - 1
    return -1


@no_alloc
def first_in(n, key, lane_of, lane, big):
    """The rearmost entry of ``lane``, or -1."""
    k = np.searchsorted(key[:n], lane * big)
    if k < n and lane_of[k] == lane:
        return k
    return -1


@no_alloc
def around(n, key, lane_of, veh, lane, s, big, skip):
    """(leader, follower) entries of ``lane`` around arc length ``s`` [m], ignoring slot ``skip``
    (entries exactly at ``s`` count as leaders); -1 where none."""
    q = lane * big + min(max(s, -0.25 * big), 0.5 * big) + 0.25 * big
    k = np.searchsorted(key[:n], q)
    lead = -1
    j = k
    while j < n and lane_of[j] == lane:
        if veh[j] != skip:
            lead = j
            break
        j += 1
    fol = -1
    j = k - 1
    while j >= 0 and lane_of[j] == lane:
        if veh[j] != skip:
            fol = j
            break
        j -= 1
    return lead, fol


@no_alloc
def last_in(n, key, lane_of, lane, big):
    """The frontmost entry of ``lane``, or -1."""
    k = np.searchsorted(key[:n], (lane + 1) * big) - 1
    if k >= 0 and lane_of[k] == lane:
        return k
    return -1


@no_alloc
def around_linked(n, key, lane_of, veh, lane, s, big, skip, F, w, tabs):
    """Like :func:`around`, across lane links: the leader may be the rearmost vehicle of a
    successor of ``lane`` and the follower the frontmost of a predecessor. Returns (leader slot,
    its distance ahead [m], follower slot, its distance behind [m]) between centres; -1/inf."""
    from_s = F[S, w]
    lead, fol = around(n, key, lane_of, veh, lane, s, big, skip)
    lv, ld, fv, fd = -1, np.inf, -1, np.inf
    if lead >= 0:
        lv, ld = veh[lead], from_s[veh[lead]] - s
    else:
        rest = tabs.LF[lane, LF_LENGTH] - s
        for k in range(tabs.SUCC.shape[1]):
            m = tabs.SUCC[lane, k]
            if m < 0:
                break
            e = first_in(n, key, lane_of, m, big)
            if e >= 0 and veh[e] != skip and rest + from_s[veh[e]] < ld:
                lv, ld = veh[e], rest + from_s[veh[e]]
    if fol >= 0:
        fv, fd = veh[fol], s - from_s[veh[fol]]
    else:
        for k in range(tabs.PRED.shape[1]):
            p = tabs.PRED[lane, k]
            if p < 0:
                break
            e = last_in(n, key, lane_of, p, big)
            if e >= 0 and veh[e] != skip:
                dist = s + tabs.LF[p, LF_LENGTH] - from_s[veh[e]]
                if dist < fd:
                    fv, fd = veh[e], dist
    return lv, ld, fv, fd
