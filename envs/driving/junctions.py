"""Who may enter where: traffic lights with amber, and right of way where junction lanes cross,
merge or split. Build-time tables (numpy) and the per-step decisions (numba), in one place.

**Lights.** Every signalized lane belongs to a phase; phases follow each other on a fixed
cycle of ``green`` + ``amber`` + all-red ``clearance`` seconds each, shifted per episode by a
seeded offset. A vehicle stops for red if it can (with its emergency deceleration), and for
amber only if it can stop comfortably (else it clears the junction: the amber dilemma).

**Conflict zones.** For every pair of junction lanes whose centre lines come closer than
``ZONE_DISTANCE`` (crossing, merging or splitting), the stretch of each lane where that
happens is a conflict zone. A vehicle about to enter a zone gives way (stops before it) when
another vehicle is inside it, or will reach it before this one has cleared it plus a critical
gap and has the right of way: a vehicle still clearing the junction after its phase ended has
it over one starting on the next green; otherwise the lane with the higher
``SectionSpec.priority`` has it (ring over entries at a roundabout, straight and right turns
over permissive left turns);
between equal ranks the first to arrive has it, unless the other can no longer stop
comfortably (a committed vehicle). A vehicle with the right of way reacts to one that takes it
only once that one is inside the zone (like a driver who does not expect it). Only vehicles
that will not stop at a light of their own before the zone count.

**Merges** (two lanes that run into the same lane, the zone reaching both lanes' ends: a
roundabout entry joining the ring, a turn joining a through lane) are not crossings: the
vehicle that gets to the merge point first becomes the other's leader. So a vehicle that gives
way at a merge may go when the one with the right of way, driving on, would still be at
least its own IDM desired gap behind it when it reaches the merge point (``s0 + v T`` plus
the term for closing in on it; about 5 s of headway from a standstill on a roundabout, the
critical headway of single-lane roundabout entries in HCM 6th ed., ch. 22), rather than the
critical gap after it has cleared the zone; once it can no longer stop comfortably it goes
on unless the other would have to brake harder than comfortably. A vehicle with the right of
way (or one already inside the zone) follows one ahead of it inside the zone as its leader,
projected onto the merge point, instead of stopping for it; one that gives way still waits
before the zone while a vehicle with the right of way is inside. At a **split** (two lanes
leaving one, as an exit leaves the ring) nobody gives way: the vehicle behind follows the
one ahead, projected onto the split point, until they part. Vehicles are seen where the
zone's lane is among the next three lanes of their path.
"""

from __future__ import annotations

import numpy as np

from .jit import no_alloc
from .traffic import idm
from .state import ACC, ACTIVE, AMAX, BCOMF, HT, IGNORE, KIND, LEN, NEXT, S, S0, STATIC, TLANE, V, YIELDING

EGO_MERGE_MARGIN = 0.5  # the ego (the expert reads its give-way line) merges with this much more headway [s]
ZONE_DISTANCE = 3.2  # two lanes conflict where their centre lines are closer than this [m]
# light states
RED, AMBER, GREEN = 0, 1, 2
# conflict zone kinds
CROSSING, MERGE, SPLIT = 0, 1, 2


# --------------------------------------------------------------------------- build time
def conflict_zones(road, sample: float = 0.5):
    """Conflict zones between the lanes of junction sections.

    Returns ``(conf0, nconf, zones, other, prio)``: for lane ``l`` its conflicts are rows
    ``conf0[l] : conf0[l] + nconf[l]`` of ``zones`` (C, 4) = zone start and end on the lane
    and on the other lane [m of their sections' arc length], ``other`` (C,) the other lane,
    ``prio`` (C,) +1 this lane has the right of way, -1 it gives way, 0 first come first served.
    """
    L = road.num_lanes
    junction = np.array([sp.junction for sp in road.specs], bool)
    rank = np.array([sp.priority for sp in road.specs], np.int64)
    lanes = [ln for ln in range(L) if junction[road.lane_sec[ln]]]
    lines = {ln: _lane_samples(road, ln, sample) for ln in lanes}
    linked = {(int(a), int(b)) for a in range(L) for b in road.lane_succ[a] if b >= 0}
    rows: list[list[tuple]] = [[] for _ in range(L)]
    for i, a in enumerate(lanes):  # build time: a few dozen junction lanes
        for b in lanes[i + 1 :]:
            if road.lane_sec[a] == road.lane_sec[b] or (a, b) in linked or (b, a) in linked:
                continue
            pa, sa = lines[a]
            pb, sb = lines[b]
            dist = np.hypot(pa[:, None, 0] - pb[None, :, 0], pa[:, None, 1] - pb[None, :, 1])
            close = dist < ZONE_DISTANCE
            if not close.any():
                continue
            ia, ib = close.any(1), close.any(0)
            za = (sa[ia].min(), sa[ia].max())
            zb = (sb[ib].min(), sb[ib].max())
            ra, rb = rank[road.lane_sec[a]], rank[road.lane_sec[b]]
            p = int(np.sign(ra - rb))
            rows[a].append((za[0], za[1], zb[0], zb[1], b, p))
            rows[b].append((zb[0], zb[1], za[0], za[1], a, -p))
    nconf = np.array([len(r) for r in rows], np.int64)
    conf0 = np.concatenate([[0], np.cumsum(nconf)[:-1]]).astype(np.int64)
    flat = [c for r in rows for c in r]
    zones = np.array([c[:4] for c in flat], float).reshape(-1, 4)
    other = np.array([c[4] for c in flat], np.int64)
    prio = np.array([c[5] for c in flat], np.int64)
    return conf0, nconf, zones, other, prio


def zone_kinds(road, conf0, nconf, zones, other, tol: float = 1.0) -> np.ndarray:
    """(C,) int: the kind of each conflict zone (from :func:`conflict_zones`): ``MERGE`` where
    both lanes run into a common successor and the zone reaches within ``tol`` [m] of both
    lanes' ends, ``SPLIT`` where both leave a common predecessor and the zone starts within
    ``tol`` of both lanes' starts, else ``CROSSING``."""
    kind = np.full(len(other), CROSSING, np.int64)
    for a in range(road.num_lanes):
        for c in range(conf0[a], conf0[a] + nconf[a]):
            b = int(other[c])
            if set(road.lane_succ[a][road.lane_succ[a] >= 0]) & set(road.lane_succ[b][road.lane_succ[b] >= 0]) and \
                    zones[c, 1] >= road.lane_length[a] - tol and zones[c, 3] >= road.lane_length[b] - tol:
                kind[c] = MERGE
            elif set(road.lane_pred[a][road.lane_pred[a] >= 0]) & set(road.lane_pred[b][road.lane_pred[b] >= 0]) and \
                    zones[c, 0] <= tol and zones[c, 2] <= tol:
                kind[c] = SPLIT
    return kind


def _lane_samples(road, lane: int, step: float):
    """Points along a lane's centre line every ~``step`` m and their section arc length [m]."""
    q = road.lane_sec[lane]
    pts = road.boundary(q, road.lane_offset[lane])
    a, b = road.sec_seg[q], road.sec_seg[q + 1]
    s = np.append(road.seg_s0[a:b], road.sec_length[q])
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    ss = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(ss, s, pts[:, 0]), np.interp(ss, s, pts[:, 1])], 1), ss


# --------------------------------------------------------------------------- per step
@no_alloc
def light_state(t, offset, override, start, green, amber, cycle):
    """RED, AMBER or GREEN at time ``t`` [s] for a phase that turns green at ``start`` [s] of a
    ``cycle`` [s] for ``green`` [s], then amber for ``amber`` [s]; ``offset`` [s] shifts the
    cycle; ``override`` -1 follows the cycle, else forces RED, AMBER or GREEN (0/2 kept for
    the old 0 = red, 1 = green convention: 1 means GREEN, 2 AMBER)."""
    if override == 0:
        return RED
    if override == 1:
        return GREEN
    if override == 2:
        return AMBER
    tau = (t - offset - start) % cycle
    if tau < green:
        return GREEN
    if tau < green + amber:
        return AMBER
    return RED


@no_alloc
def travel_time(dist, v, a, vmax):
    """Time [s] to cover ``dist`` [m] from speed ``v`` [m/s] accelerating at ``a`` [m/s^2] up to
    ``vmax`` [m/s] (then cruising); ``a = 0``: at constant speed."""
    if dist <= 0.0:
        return 0.0
    if a <= 1e-9 or v >= vmax:
        return dist / max(v, 1e-3)
    t1 = (vmax - v) / a
    d1 = 0.5 * (v + vmax) * t1
    if dist <= d1:
        return (-v + np.sqrt(v * v + 2.0 * a * dist)) / a
    return t1 + (dist - d1) / vmax


@no_alloc
def speed_after(dist, v, a, vmax):
    """Speed [m/s] after covering ``dist`` [m] as in :func:`travel_time`."""
    if dist <= 0.0 or a <= 1e-9 or v >= vmax:
        return v
    return min(vmax, np.sqrt(v * v + 2.0 * a * dist))


@no_alloc
def entry_phase(tabs, path, i):
    """The light phase vehicle i entered its junction on (-1: not inside a signalized junction)."""
    la = path[i, 0]
    if not tabs.LI[la, 6]:  # LI_JUNCTION
        return -1
    p = tabs.PRED[la, 0]
    if p < 0 or tabs.LI[p, 4] < 0:  # LI_LIGHT
        return -1
    return tabs.LIGHT_PHASE[tabs.LI[p, 4]]


@no_alloc
def approach_phase(tabs, path, j):
    """The light phase governing vehicle j's approach (-1: none, or j is inside the junction)."""
    g = tabs.LI[path[j, 0], 4]
    return tabs.LIGHT_PHASE[g] if g >= 0 else -1


@no_alloc
def give_way(w, F, I, B, path, pathd, light_stop, v0eff, tabs, conf0, nconf, zones, other, prio, kind,
             crit_gap, b_emerg, ystop, mgap, mv, mslot):
    """Gap acceptance at every conflict zone on each vehicle's path (up to 3 lanes ahead).

    ``path[i, k]`` is the k-th lane of vehicle i's path (-1 past its end), ``pathd[i, k]`` the
    distance [m] from i's centre to the start of that lane along the path (negative for the
    lane it is on); ``light_stop[i]`` the distance to a stop line i will respect (inf none);
    ``kind[c]`` whether zone c is a crossing, merge or split. Writes ``ystop[i]``: bumper gap
    [m] to the line where i must wait (inf: none), ``I[YIELDING, w, i]``: the slot it waits for
    (-1 none), and i's leader inside a merge or split (the vehicle ahead of it projected onto
    the merge point, or the split point):
    bumper gap ``mgap[i]`` [m] (inf: none), speed ``mv[i]`` [m/s], slot ``mslot[i]``. Returns
    whether the ego (slot 0) is entering a zone (its front within 2 m past the zone's start)
    ahead of a vehicle that has the right of way and would reach a crossing before the ego has
    cleared it, or would have to brake harder than comfortably behind it at a merge: a
    failure to yield.
    """
    ego_failed = False
    nv = F.shape[2]
    for i in range(nv):
        ystop[i] = np.inf
        I[YIELDING, w, i] = -1
        mgap[i], mv[i], mslot[i] = np.inf, 0.0, -1
    for i in range(nv):
        if not B[ACTIVE, w, i] or I[KIND, w, i] == STATIC or B[IGNORE, w, i]:
            continue
        Li, vi = F[LEN, w, i], F[V, w, i]
        ai = F[AMAX, w, i]
        vmax_i = max(v0eff[i], 1.0)
        in_phase, app_phase = entry_phase(tabs, path, i), approach_phase(tabs, path, i)
        for k in range(path.shape[1]):
            la = path[i, k]
            if la < 0:
                break
            for c in range(conf0[la], conf0[la] + nconf[la]):
                za0, za1 = zones[c, 0], zones[c, 1]
                ob = other[c]
                mz, sz = kind[c] == MERGE, kind[c] == SPLIT
                Di = pathd[i, k] + za0 - 0.5 * Li  # front bumper to the zone
                Ei = pathd[i, k] + za1 + 0.5 * Li  # rear bumper past the zone end
                # front bumper to the point the two lanes share: a merge's lane ends, a split's lane starts
                ref_i, ref_j = (0.0, 0.0) if sz else (tabs.LF[la, 3], tabs.LF[ob, 3])  # LF_LENGTH
                Ri = pathd[i, k] + ref_i - 0.5 * Li
                if Ei <= 0.0:  # cleared it
                    continue
                t_i_clear = travel_time(Ei, vi, ai, vmax_i)
                t_i_merge = travel_time(Ri, vi, ai, vmax_i)
                v_i_merge = speed_after(Ri, vi, ai, vmax_i)
                if i == 0 and not sz and -2.0 < Di <= 0.0:  # (at a split, the one behind follows the one ahead)
                    ego_failed = ego_failed or _cuts_off(w, F, I, B, path, pathd, light_stop, v0eff, tabs, ob, zones[c, 2],
                                                         zones[c, 3], ref_j, t_i_clear, prio[c], in_phase, app_phase, mz,
                                                         Ri, t_i_merge, v_i_merge)
                i_inside = Di <= 0.0
                if i_inside and not (mz or sz):  # inside a crossing: i goes on
                    continue
                if not i_inside and Di > light_stop[i]:  # i stops at a light before this zone anyway
                    continue
                t_i_arrive = travel_time(Di, vi, ai, vmax_i)
                for j in range(nv):
                    if j == i or not B[ACTIVE, w, j] or I[KIND, w, j] == STATIC:
                        continue
                    for m in range(path.shape[1]):
                        if path[j, m] != ob:
                            continue
                        Lj, vj = F[LEN, w, j], F[V, w, j]
                        Dj = pathd[j, m] + zones[c, 2] - 0.5 * Lj
                        Ej = pathd[j, m] + zones[c, 3] + 0.5 * Lj
                        if Ej <= 0.0:
                            break  # j has cleared the zone
                        if Dj > light_stop[j] and not B[IGNORE, w, j]:
                            break  # j stops at its light first
                        inside = Dj <= 0.0
                        Rj = pathd[j, m] + ref_j - 0.5 * Lj
                        p = effective_priority(tabs, path, j, prio[c], in_phase, app_phase)
                        if (mz or sz) and inside and (Rj < Ri or (Rj == Ri and j < i)) and (i_inside or sz or p >= 0):
                            # j is ahead of i in the merge or split (projected onto the shared point): i follows
                            # it, unless i must still give way to it before the zone
                            _follow(F, w, i, j, Ri - Rj - Lj, mgap, mv, mslot)
                            break
                        if i_inside or sz:  # inside the zone i goes on; at a split, nobody gives way
                            break
                        # when j can be there: pulling away at its acceleration (a vehicle just
                        # starting at a green light counts), up to its desired speed
                        vmax_j = max(v0eff[j], vj)
                        t_j = travel_time(Dj, vj, F[AMAX, w, j], vmax_j)
                        committed = Dj < vj * vj / (2.0 * F[BCOMF, w, j]) + 0.5
                        must = inside
                        if not must:
                            if p < 0 and mz:
                                if vi > 1.0 and Di < vi * vi / (2.0 * F[BCOMF, w, i]) + 1.0:
                                    # i can no longer stop comfortably: it goes on unless that would make j brake
                                    # harder than comfortably (a failure to yield, see _cuts_off)
                                    must = _forces_braking(F, w, j, v0eff[j], Rj - vj * t_i_merge - Li, v_i_merge)
                                else:
                                    # j, driving on at its speed, must still be its desired gap behind i when i merges
                                    gap = Rj - vj * t_i_merge - Li
                                    must = gap < desired_gap(F, w, j, vj, v_i_merge) + (EGO_MERGE_MARGIN * vj if i == 0 else 0.0)
                            elif p < 0:
                                must = t_j < t_i_clear + crit_gap
                            elif p > 0:
                                # right of way: traffic reacts to an intruder only once it is inside; the ego
                                # drives defensively and also yields to one whose braking cannot stop it before the zone
                                must = (i == 0 and vj > 0.5 and vj * vj / (2.0 * max(Dj, 0.1)) > 0.5 - F[ACC, w, j]
                                        and t_j < t_i_clear)
                            else:
                                must = (t_j < t_i_arrive or (t_j == t_i_arrive and j < i) or committed) and t_j < t_i_clear + 0.5 * crit_gap
                        if must and Di - 1.0 < ystop[i]:
                            # wait only where i can still stop (else it is committed and goes on)
                            if Di > vi * vi / (2.0 * b_emerg) - 0.5:
                                ystop[i] = Di - 1.0
                                I[YIELDING, w, i] = j
                        break
    return ego_failed


@no_alloc
def desired_gap(F, w, j, v, v_lead):
    """IDM's desired bumper gap [m] of vehicle j at speed ``v`` [m/s] behind a leader at
    ``v_lead`` [m/s]: ``s0 + v T + v (v - v_lead) / (2 sqrt(a b))``, the closing term only."""
    a, b = F[AMAX, w, j], F[BCOMF, w, j]
    return F[S0, w, j] + v * F[HT, w, j] + v * max(v - v_lead, 0.0) / (2.0 * np.sqrt(a * b))


@no_alloc
def _forces_braking(F, w, j, v0, gap, v_lead):
    """Whether vehicle j (desired speed ``v0`` [m/s]) at bumper ``gap`` [m] behind a leader at
    ``v_lead`` [m/s] brakes harder than its comfortable deceleration (IDM's ``b``, exceeded only
    in critical situations)."""
    vj, b = F[V, w, j], F[BCOMF, w, j]
    return idm(vj, v0, gap, vj - v_lead, F[AMAX, w, j], b, F[HT, w, j], F[S0, w, j]) < -b


@no_alloc
def _follow(F, w, i, j, gap, mgap, mv, mslot):
    """Make j vehicle i's merge leader at bumper ``gap`` [m] if nearer than the one it has."""
    if gap < mgap[i]:
        mgap[i], mv[i], mslot[i] = gap, F[V, w, j], j


@no_alloc
def effective_priority(tabs, path, j, static, in_phase, app_phase):
    """The right of way of a vehicle (entry phase ``in_phase``, approach phase ``app_phase``)
    over vehicle j at a zone whose lanes' ranks give ``static``: a vehicle clearing the junction
    after its phase ended goes before one starting on the next green."""
    aj = approach_phase(tabs, path, j)
    if in_phase >= 0 and aj >= 0 and aj != in_phase:
        return 1
    ej = entry_phase(tabs, path, j)
    if app_phase >= 0 and ej >= 0 and ej != app_phase:
        return -1
    return static


@no_alloc
def _cuts_off(w, F, I, B, path, pathd, light_stop, v0eff, tabs, ob, zb0, zb1, zref, t_clear, static, in_phase, app_phase, mz,
              M0, t_m, v_m):
    """Whether a vehicle with the right of way on lane ``ob`` (zone ``zb0..zb1`` on it, merge point ``zref``) would
    reach the zone within ``t_clear`` [s] at its present speed, not stopping at a light first;
    at a merge (``mz``: the ego's front ``M0`` [m] before the merge point, reached in ``t_m``
    [s] at ``v_m`` [m/s]), whether one behind it, driving on at its present speed, would then be
    so close behind the ego that its driver model brakes harder than its comfortable
    deceleration (IDM's ``b``, which it exceeds only in critical situations)."""
    for j in range(1, F.shape[2]):
        if not B[ACTIVE, w, j] or I[KIND, w, j] == STATIC:
            continue
        for m in range(path.shape[1]):
            if path[j, m] != ob:
                continue
            if effective_priority(tabs, path, j, static, in_phase, app_phase) >= 0:
                break
            Lj, vj = F[LEN, w, j], F[V, w, j]
            Dj = pathd[j, m] + zb0 - 0.5 * Lj
            Ej = pathd[j, m] + zb1 + 0.5 * Lj
            if Ej <= 0.0 or Dj > light_stop[j]:
                break
            if mz:  # one behind the ego's front at the merge point, inside the zone or not
                Mj = pathd[j, m] + zref - 0.5 * Lj
                if Mj > M0 and _forces_braking(F, w, j, v0eff[j], Mj - vj * t_m - F[LEN, w, 0], v_m):
                    return True
            elif Dj > 0.0 and travel_time(Dj, vj, 0.0, vj) < t_clear:
                return True
            break
    return False
