"""One physics step of N worlds: the fixed sequence of the driving engine, compiled with numba.

Per world: speed disturbances of traffic drivers -> lane occupancy -> paths, lights and give-way -> IDM accelerations and cooperative
merging -> MOBIL lane changes (each vehicle once per ``lane_change_period``, staggered) ->
control (lane keeping, the ego's commands) under the steering-rate and friction limits ->
kinematic bicycle -> Frenet update and lane transitions -> the ego's events (collision with
its type and fault, off-road, red light) -> recycling of traffic. Worlds are independent, so
world ``w`` of a batch evolves exactly like a single world with the same seed.

This is the one copy of the physics: the Python :class:`~.world.World` only owns the arrays.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel, no_alloc
from . import collision as col
from . import occupancy as occ
from .geometry import drivable, lane_at, project, segment_at
from .junctions import RED, give_way, light_state
from .lanechange import choose_lane
from .longitudinal import accelerations, choose_next, cooperative_merging, desired_speeds, light_stops, paths, route_next
from .params import (P_AMBER, P_BIG, P_CRIT_GAP, P_CYCLE, P_EGO_ACCEL, P_EGO_BRAKE, P_EMERG, P_LANE_MODE, P_LATACC,
                     P_LC_STEPS, P_MAX_STEER, P_SPAWN_TRIES, P_SPEED_GAIN, P_STEER_RATE, P_VMAX, P_DT)
from . import disturbances
from .spawning import recycle
from .state import (ACC, ACTIVE, ALAT, AT_FAULT, EGO_STOP, FAILED_YIELD, HOPS, BEST, CRASHED, CTYPE, D, DESIRED, EGO, EGO_TARGET, H, HIT, HIT_NONE,
                    HIT_OBSTACLE, HIT_SLOT, HIT_VEHICLE, KIND, LANE, LEAD_ACC, LEAD_DV, LEAD_GAP, LEN, LIGHT_T0, NEXT, OFFROAD,
                    RAN_RED, RH, ROUTE_I, S, SACC, SB, SCRIPTED, SEC, SLANE, STATIC, STEER, STOPPED, T, TLANE, TRAFFIC,
                    TRAVELLED, TURN, V, WBASE, WID, X, Y)
from .tables import SG_KAPPA, LF_LENGTH, LF_OFF, LF_WIDTH, LI_ENDS, LI_JUNCTION, LI_LIGHT, LI_NSUCC, LI_SEC, SF_DMAX, SF_DMIN, SF_LENGTH, SF_SIMPLE
from .traffic import bicycle_step, lateral_slip, limit_slip, slip_from_steer, speed_command, steer_from_slip


@kernel
def decide(w, F, I, B, WF, WI, WB, tabs, P, override, scratch, mobil_all, ego_only):
    """Traffic decisions of world ``w`` (no motion): fills ``F[DESIRED]`` (IDM acceleration
    against every constraint, bounded), ``I[NEXT]`` and, for vehicles due, ``I[TLANE]``
    (MOBIL; ``mobil_all``: every vehicle now). ``ego_only``: only the ego's MOBIL choice, into
    ``I[BEST, w, 0]``, changing nothing else (the expert's question)."""
    nv = F.shape[2]
    big = P[P_BIG]
    key, lane_of, veh, prim, sec, path, pathd, v0e, lstop, ystop, acc, lgap, lv, segs, lslot, mgap, mv, mslot = scratch
    n = occ.build(w, F, I, B, tabs.LF, tabs.LI, big, key, lane_of, veh, prim, sec)
    paths(w, F, I, B, WI, tabs, path, pathd)
    for i in range(nv):
        I[NEXT, w, i] = path[i, 1]
    desired_speeds(w, F, I, B, WF, tabs, path, pathd, segs, v0e)
    light_stops(w, F, I, B, WI, WF, tabs, P, override, path, pathd, lstop)
    if tabs.ZONE_OTHER.shape[0]:
        if give_way(w, F, I, B, path, pathd, lstop, v0e, tabs, tabs.LI[:, 8], tabs.LI[:, 9], tabs.ZONES, tabs.ZONE_OTHER,
                    tabs.ZONE_PRIO, tabs.ZONE_KIND, P[P_CRIT_GAP], P[P_EMERG], ystop, mgap, mv, mslot) and not ego_only:
            WB[FAILED_YIELD, w] = True
    else:
        for i in range(nv):
            ystop[i], mgap[i], mslot[i] = np.inf, np.inf, -1
    accelerations(w, F, I, B, WF, tabs, P, n, key, lane_of, veh, prim, sec, path, pathd, segs, v0e, lstop, ystop, mgap, mv, mslot,
                  big, acc, lgap, lv, lslot)
    cooperative_merging(w, F, I, B, tabs, P, n, key, lane_of, veh, prim, v0e, acc)
    for i in range(nv):
        F[DESIRED, w, i] = acc[i]
    WF[LEAD_GAP, w], WF[LEAD_DV, w] = lgap[0], F[V, w, 0] - lv[0]
    WF[LEAD_ACC, w] = F[ACC, w, lslot[0]] if lslot[0] >= 0 else 0.0
    end = pathd[0, 1] - 0.5 * F[LEN, w, 0] if tabs.LI[path[0, 0], LI_ENDS] else np.inf
    WF[EGO_STOP, w] = min(lstop[0], ystop[0], end)
    lc = int(P[P_LC_STEPS])
    if ego_only:
        I[BEST, w, 0] = choose_lane(w, 0, F, I, tabs, P, n, key, lane_of, veh, prim, v0e, acc[0])
        return
    for i in range(1, nv):
        if I[KIND, w, i] != TRAFFIC or not B[ACTIVE, w, i]:
            continue
        # each vehicle reconsiders once per period (staggered); one in a lane that ends, every step
        if mobil_all or (WI[T, w] + i) % lc == 0 or tabs.LI[I[LANE, w, i], LI_ENDS]:
            best = choose_lane(w, i, F, I, tabs, P, n, key, lane_of, veh, prim, v0e, acc[i])
            I[BEST, w, i] = best
            I[TLANE, w, i] = best


@kernel
def make_scratch(nv):
    """Per-world work arrays of :func:`decide`."""
    return (np.empty(2 * nv), np.empty(2 * nv, np.int64), np.empty(2 * nv, np.int64), np.empty(nv, np.int64),
            np.empty(nv, np.int64), np.empty((nv, 3), np.int64), np.empty((nv, 3)), np.empty(nv), np.empty(nv),
            np.empty(nv), np.empty(nv), np.empty(nv), np.empty(nv), np.zeros(nv, np.int64),
            np.empty(nv, np.int64), np.empty(nv), np.empty(nv), np.empty(nv, np.int64))


@no_alloc
def _segments(w, F, I, B, tabs, segs):
    """Segment index under every vehicle (for the curvature speed caps)."""
    for i in range(F.shape[2]):
        if B[ACTIVE, w, i]:
            q = I[SEC, w, i]
            a, b = tabs.SEC_SEG[q], tabs.SEC_SEG[q + 1]
            if b - a == 1:
                segs[i] = a
            else:
                _s, _d, _h, k = project(tabs, q, F[S, w, i], F[X, w, i], F[Y, w, i])
                segs[i] = k
        else:
            segs[i] = tabs.SEC_SEG[0]


@kernel
def step_worlds(F, I, B, WF, WI, WB, seeds, tabs, P, override, ego_steer, ego_acc):
    """Advance every world by one physics step of ``dt`` seconds.

    ``ego_steer`` [rad] and ``ego_acc`` [m/s^2] (N,) drive the ego in direct mode; in lane mode
    (meta-actions) the ego follows ``tlane[:, 0]`` and its target speed."""
    n, nv = F.shape[1], F.shape[2]
    scratch = make_scratch(nv)
    lane_mode = P[P_LANE_MODE] > 0.5
    for w in range(n):
        _segments(w, F, I, B, tabs, scratch[13])
        disturbances.update(F, I, B, WF, WI, seeds, tabs, P, w)
        decide(w, F, I, B, WF, WI, WB, tabs, P, override, scratch, False, False)
        _move(w, F, I, B, WF, WI, WB, tabs, P, override, lane_mode, ego_steer[w], ego_acc[w])
        _ego_events(w, F, I, B, WI, WB, tabs)
        WI[T, w] += 1
        if WI[T, w] % int(P[P_LC_STEPS]) == 0:
            recycle(F, I, B, WF, WI, seeds, tabs, P, w, int(P[P_SPAWN_TRIES]))


@no_alloc
def _move(w, F, I, B, WF, WI, WB, tabs, P, override, lane_mode, steer_cmd_ego, acc_cmd_ego):
    """Control, bicycle step, Frenet update and lane transitions of world ``w``."""
    dt = P[P_DT]
    emerg, max_steer, rate, latacc, vmax = P[P_EMERG], P[P_MAX_STEER], P[P_STEER_RATE], P[P_LATACC], P[P_VMAX]
    sb_max = slip_from_steer(max_steer)
    nv = F.shape[2]
    t_now = WI[T, w] * dt
    for i in range(nv):
        if not B[ACTIVE, w, i]:
            continue
        kind = I[KIND, w, i]
        if kind == STATIC:
            F[V, w, i], F[ACC, w, i], F[SB, w, i], F[ALAT, w, i] = 0.0, 0.0, 0.0, 0.0
            continue
        v, wb = F[V, w, i], F[WBASE, w, i]
        # longitudinal command
        if kind == EGO:
            if lane_mode:
                a = speed_command(v, WF[EGO_TARGET, w], P[P_SPEED_GAIN], P[P_EGO_BRAKE], P[P_EGO_ACCEL])
            else:
                a = min(max(acc_cmd_ego, -P[P_EGO_BRAKE]), P[P_EGO_ACCEL])
        else:
            a = F[DESIRED, w, i]
            if kind == SCRIPTED:
                if not np.isnan(F[SACC, w, i]):
                    a = min(max(F[SACC, w, i], -emerg), P[P_EGO_ACCEL])
                if I[SLANE, w, i] >= 0:
                    I[TLANE, w, i] = I[SLANE, w, i]
        # lateral command, then the steering-rate and friction limits
        if kind == EGO and not lane_mode:
            steer_cmd = steer_cmd_ego
        else:
            e = F[D, w, i] - tabs.LF[I[TLANE, w, i], LF_OFF]
            sb_cmd = lateral_slip(e, F[H, w, i] - F[RH, w, i], v, wb, sb_max, F[LEN, w, i] > 6.0)
            steer_cmd = steer_from_slip(sb_cmd) + _curve_steer(w, i, I, WI, tabs, F[S, w, i], v, wb)
        steer, sb = limit_slip(F[STEER, w, i], steer_cmd, v, wb, max_steer, rate, latacc, dt)
        F[STEER, w, i], F[SB, w, i], F[ACC, w, i] = steer, sb, a
        F[ALAT, w, i] = 2.0 * v * v * sb / wb
        x, y, h, v2 = bicycle_step(F[X, w, i], F[Y, w, i], F[H, w, i], v, sb, a, wb, dt, vmax)
        if kind == EGO:
            WF[TRAVELLED, w] += v * dt
        F[X, w, i], F[Y, w, i], F[H, w, i], F[V, w, i] = x, y, h, v2
        F[STOPPED, w, i] = F[STOPPED, w, i] + dt if v2 < 0.1 else 0.0
        # Frenet update and lane transitions
        s_before = F[S, w, i]
        s, d, rh, _k = project(tabs, I[SEC, w, i], F[S, w, i] + v * dt, x, y)
        F[S, w, i], F[D, w, i], F[RH, w, i] = s, d, rh
        if kind == EGO:
            _red_light(w, F, I, WF, WB, tabs, P, override, t_now, s_before)
        _transition(w, i, F, I, B, WF, WI, WB, tabs, P, override, t_now)
        if B[ACTIVE, w, i]:
            I[LANE, w, i] = lane_at(tabs, I[SEC, w, i], F[D, w, i])


@no_alloc
def _red_light(w, F, I, WF, WB, tabs, P, override, t_now, s_before):
    """The ego runs a red light when its front bumper crosses the stop line at the end of a
    signalized lane while that light is red (entering on amber is allowed; a vehicle already
    past the line may clear the junction)."""
    lane = I[TLANE, w, 0]
    g = tabs.LI[lane, LI_LIGHT]
    if g < 0:
        return
    line = tabs.LF[lane, LF_LENGTH] - 0.5 * F[LEN, w, 0]
    if s_before <= line < F[S, w, 0]:
        ph = tabs.LIGHT_PHASE[g]
        if light_state(t_now, WF[LIGHT_T0, w], override[w, g], tabs.PHASE_START[ph], tabs.PHASE_GREEN[ph], P[P_AMBER],
                       P[P_CYCLE]) == RED:
            WB[RAN_RED, w] = True


@no_alloc
def _next_lane(w, i, I, WI, tabs):
    """The lane vehicle i drives into after its present one (the ego along its route), -1 none."""
    if I[KIND, w, i] == EGO:
        return route_next(tabs, I[LANE, w, i], WI[ROUTE_I, w])
    return choose_next(tabs, I[TLANE, w, i], I[TURN, w, i], I[HOPS, w, i])


@no_alloc
def _curve_steer(w, i, I, WI, tabs, s, v, wb):
    """Feed-forward front-wheel angle [rad] of vehicle i at ``s`` [m] for the road's curvature
    0.35 s ahead, into the next lane's section when that point lies past this one's end
    (the steering-rate limit needs the preview to turn in on time at a junction; the lane
    keeping's feedback only corrects what remains, so curves are followed without lag)."""
    sec = I[SEC, w, i]
    s_look = s + 0.35 * v
    if s_look > tabs.SF[sec, SF_LENGTH]:
        nxt = _next_lane(w, i, I, WI, tabs)
        if nxt >= 0:
            s_look -= tabs.SF[sec, SF_LENGTH]
            sec = tabs.LI[nxt, LI_SEC]
    a, b = tabs.SEC_SEG[sec], tabs.SEC_SEG[sec + 1]
    if b - a == 1:
        return 0.0
    k = segment_at(tabs, sec, s_look)
    return np.arctan(wb * tabs.SG[k, SG_KAPPA])


@no_alloc
def _transition(w, i, F, I, B, WF, WI, WB, tabs, P, override, t_now):
    """Move vehicle i past its section's end into the next lane (the ego along its route;
    crossing a red light's stop line is the ego's red-light event)."""
    q = I[SEC, w, i]
    length = tabs.SF[q, SF_LENGTH]
    if F[S, w, i] <= length:
        return
    if I[KIND, w, i] == EGO:
        lane = I[LANE, w, i]
        ri = WI[ROUTE_I, w]
        nxt = route_next(tabs, lane, ri)
        if ri + 1 < tabs.ROUTE.shape[0]:
            if nxt >= 0:
                F[D, w, i] += tabs.LF[nxt, LF_OFF] - tabs.LF[lane, LF_OFF]
                I[TLANE, w, i] = nxt
            else:  # not in a lane that leads on: keep d, nearest lane of the next section
                I[TLANE, w, i] = lane_at(tabs, tabs.ROUTE[ri + 1], F[D, w, i])
            F[S, w, i] -= length
            I[SEC, w, i] = tabs.LI[I[TLANE, w, i], LI_SEC]
            WI[ROUTE_I, w] = ri + 1
        elif nxt >= 0:  # past the route's end: keep driving along the road
            F[D, w, i] += tabs.LF[nxt, LF_OFF] - tabs.LF[lane, LF_OFF]
            F[S, w, i] -= length
            I[SEC, w, i], I[TLANE, w, i] = tabs.LI[nxt, LI_SEC], nxt
        return
    tl = I[TLANE, w, i]
    nxt = choose_next(tabs, tl, I[TURN, w, i], I[HOPS, w, i])
    I[HOPS, w, i] += 1
    if nxt < 0:  # a dead end: the vehicle leaves the map
        B[ACTIVE, w, i] = False
        F[X, w, i], F[Y, w, i] = 1e6, 1e6
        return
    F[D, w, i] += tabs.LF[nxt, LF_OFF] - tabs.LF[tl, LF_OFF]
    F[S, w, i] -= length
    I[SEC, w, i], I[TLANE, w, i] = tabs.LI[nxt, LI_SEC], nxt


@no_alloc
def _ego_events(w, F, I, B, WI, WB, tabs):
    """The ego's collision (first box it touches; an obstacle wins over a vehicle) with nuPlan's
    type and fault, and whether its footprint left the drivable surface."""
    if not B[ACTIVE, w, 0]:
        return
    ex, ey, eh, el, ew = F[X, w, 0], F[Y, w, 0], F[H, w, 0], F[LEN, w, 0], F[WID, w, 0]
    r0 = 0.5 * np.hypot(el, ew)
    hit, slot = HIT_NONE, -1
    for j in range(1, F.shape[2]):
        if not B[ACTIVE, w, j]:
            continue
        reach = r0 + 0.5 * np.hypot(F[LEN, w, j], F[WID, w, j])
        if abs(F[X, w, j] - ex) > reach or abs(F[Y, w, j] - ey) > reach:
            continue
        if col.overlap(ex, ey, eh, el, ew, F[X, w, j], F[Y, w, j], F[H, w, j], F[LEN, w, j], F[WID, w, j]):
            if I[KIND, w, j] == STATIC:
                hit, slot = HIT_OBSTACLE, j
                break
            if hit == HIT_NONE:
                hit, slot = HIT_VEHICLE, j
    off = _offroad(w, F, I, tabs)
    if off:
        WB[OFFROAD, w] = True
    if hit != HIT_NONE and not WB[CRASHED, w]:
        j = slot
        ct = col.collision_type(F[V, w, 0], F[V, w, j], ex, ey, eh, el, ew, F[X, w, j], F[Y, w, j], F[H, w, j], F[LEN, w, j], F[WID, w, j])
        lane = I[LANE, w, 0]
        straddles = abs(F[D, w, 0] - tabs.LF[lane, LF_OFF]) + 0.5 * ew > 0.5 * tabs.LF[lane, LF_WIDTH]
        in_junction = tabs.LI[lane, LI_JUNCTION] != 0
        WB[CRASHED, w] = True
        WI[HIT, w], WI[HIT_SLOT, w], WI[CTYPE, w] = hit, slot, ct
        WB[AT_FAULT, w] = (ct == col.CT_ACTIVE_FRONT or ct == col.CT_STOPPED_TRACK
                           or (ct == col.CT_ACTIVE_LATERAL and (straddles or off or in_junction)))


@no_alloc
def _offroad(w, F, I, tabs):
    """Whether a corner of the ego's footprint is off the drivable surface."""
    q = I[SEC, w, 0]
    s, d = F[S, w, 0], F[D, w, 0]
    dh = F[H, w, 0] - F[RH, w, 0]
    L, W = F[LEN, w, 0], F[WID, w, 0]
    c, sn = abs(np.cos(dh)), abs(np.sin(dh))
    lat = 0.5 * (L * sn + W * c) + 0.05
    lon = 0.5 * (L * c + W * sn)
    if tabs.SF[q, SF_SIMPLE] > 0.5 and d - lat > tabs.SF[q, SF_DMIN] and d + lat < tabs.SF[q, SF_DMAX] and lon < s < tabs.SF[q, SF_LENGTH] - lon:
        return False
    x, y, h = F[X, w, 0], F[Y, w, 0], F[H, w, 0]
    ch, sh = np.cos(h), np.sin(h)
    for a, b in ((0.5, 0.5), (0.5, -0.5), (-0.5, -0.5), (-0.5, 0.5)):
        cx = x + a * L * ch - b * W * sh
        cy = y + a * L * sh + b * W * ch
        if not drivable(tabs, cx, cy):
            return True
    return False
