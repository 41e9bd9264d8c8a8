"""Longitudinal behaviour (numba, per world): each vehicle's path, the stop lines it respects,
its leader (straddling vehicles included), and its IDM acceleration against the binding
constraint, bounded by its acceleration and the emergency deceleration. Also the cooperative
merging rules: a vehicle in a lane that ends adapts its speed to a gap in the lane it must
enter, and a polite follower there makes room for it.
"""

from __future__ import annotations

import numpy as np

from .jit import no_alloc
from . import occupancy as occ
from .junctions import AMBER, RED, light_state
from .params import P_AMBER, P_BIG, P_DT, P_COURTESY, P_CYCLE, P_EMERG, P_MERGE_LOOK
from .rng import uniform1
from .state import (ACC, ACTIVE, AMAX, HOPS, BCOMF, DIST_DROP, EGO, HT, IGNORE, KIND, LANE, LEN, LIGHT_T0, POL, ROUTE_I, S, S0, SPEED_FACTOR,
                    STATIC, T, TLANE, TRAFFIC, TURN, V, V0F)
from .tables import LF_LENGTH, LF_SPEED, LI_ENDS, LI_LEFT, LI_LIGHT, LI_NSUCC, LI_RIGHT, LI_SEC, SF_LENGTH, SG_VCAP
from .traffic import acc_model, idm

PUR_CHOICE = np.uint64(11)


@no_alloc
def choose_next(tabs, lane, turn, hop):
    """The successor a vehicle with route draw ``turn`` takes after ``lane`` at its ``hop``-th lane
    transition (-1: none), with the map's link weights. A pure function of its arguments, so the
    path ahead is known before it is driven (and a loop is not driven the same way every lap);
    a negative ``turn`` forces successor index ``-turn - 1`` (scripted actors)."""
    ns = tabs.LI[lane, LI_NSUCC]
    if ns <= 0:
        return -1
    if turn < 0:
        return tabs.SUCC[lane, min(-turn - 1, ns - 1)]
    if ns == 1:
        return tabs.SUCC[lane, 0]
    u = uniform1(np.uint64(turn), np.uint64(lane), np.uint64(hop), PUR_CHOICE)
    k = np.searchsorted(tabs.SUCC_CDF[lane, :ns], u, side="right")
    return tabs.SUCC[lane, min(k, ns - 1)]


@no_alloc
def route_next(tabs, lane, ri):
    """The ego's lane after ``lane`` when it is on route section ``ri``: the successor in the
    next route section (-1 if ``lane`` does not lead there); past the route's end, any successor."""
    if lane < 0:
        return -1
    if ri + 1 >= tabs.ROUTE.shape[0]:
        return tabs.SUCC[lane, 0] if tabs.LI[lane, LI_NSUCC] > 0 else -1
    want = tabs.ROUTE[ri + 1]
    for k in range(tabs.SUCC.shape[1]):
        c = tabs.SUCC[lane, k]
        if c >= 0 and tabs.LI[c, LI_SEC] == want:
            return c
    return -1


@no_alloc
def paths(w, F, I, B, WI, tabs, path, pathd):
    """Path of every vehicle: its target lane and the next two lanes it will take, and the
    distance [m] from its centre to the start of each (the first is -s)."""
    nv = F.shape[2]
    for i in range(nv):
        p0 = I[TLANE, w, i]
        path[i, 0], path[i, 1], path[i, 2] = p0, -1, -1
        pathd[i, 0] = -F[S, w, i]
        pathd[i, 1], pathd[i, 2] = np.inf, np.inf
        if not B[ACTIVE, w, i] or I[KIND, w, i] == STATIC:
            continue
        if I[KIND, w, i] == EGO:
            ri = WI[ROUTE_I, w]
            p1 = route_next(tabs, p0, ri)
            p2 = route_next(tabs, p1, ri + 1)
        else:
            p1 = choose_next(tabs, p0, I[TURN, w, i], I[HOPS, w, i])
            p2 = choose_next(tabs, p1, I[TURN, w, i], I[HOPS, w, i] + 1) if p1 >= 0 else -1
        path[i, 1] = p1
        pathd[i, 1] = tabs.SF[tabs.LI[p0, LI_SEC], SF_LENGTH] - F[S, w, i]
        if p1 >= 0:
            path[i, 2] = p2
            pathd[i, 2] = pathd[i, 1] + tabs.LF[p1, LF_LENGTH]


@no_alloc
def light_stops(w, F, I, B, WI, WF, tabs, P, override, path, pathd, out):
    """Bumper distance [m] to the first stop line each vehicle respects (inf: none): a red
    light it can still stop for with the emergency deceleration, or an amber light it can stop
    for comfortably. Scripted rule-breakers respect none."""
    nv = F.shape[2]
    t = WI[T, w] * P[P_DT]
    for i in range(nv):
        out[i] = np.inf
        if not B[ACTIVE, w, i] or I[KIND, w, i] == STATIC or B[IGNORE, w, i]:
            continue
        v = F[V, w, i]
        for k in range(path.shape[1]):
            ln = path[i, k]
            if ln < 0:
                break
            g = tabs.LI[ln, LI_LIGHT]
            if g < 0:
                continue
            ph = tabs.LIGHT_PHASE[g]
            st = light_state(t, WF[LIGHT_T0, w], override[w, g], tabs.PHASE_START[ph], tabs.PHASE_GREEN[ph], P[P_AMBER], P[P_CYCLE])
            end = pathd[i, k] + tabs.LF[ln, LF_LENGTH] - 0.5 * F[LEN, w, i]  # bumper to the line at the lane's end
            if end < 0.0:
                continue  # its front is past this line: it has entered the junction and clears it
            if st == RED and end > v * v / (2.0 * P[P_EMERG]) - 0.5:
                out[i] = end
                break
            if st == AMBER and end > v * v / (2.0 * F[BCOMF, w, i]):
                out[i] = end
                break


@no_alloc
def traffic_factor(w, i, F, I, sf):
    """Factor [-] on vehicle i's desired speed beyond its style's: for traffic, the episode's speed
    factor ``sf`` less the drop of a speed disturbance under way (disturbances.py); 1 for the others."""
    if I[KIND, w, i] != TRAFFIC:
        return 1.0
    return sf * (1.0 - F[DIST_DROP, w, i])


@no_alloc
def desired_speed(w, i, F, tabs, path, pathd, seg, factor):
    """Desired speed [m/s] of vehicle i: its lane's limit times its style factor and ``factor``
    (the episode's traffic speed factor, 1 for the ego), lowered ahead of slower lanes and of
    curves (lateral friction) so that it arrives there at their speed braking comfortably."""
    f = F[V0F, w, i] * factor
    v0 = tabs.LF[path[i, 0], LF_SPEED] * f
    b = F[BCOMF, w, i]
    v0 = min(v0, tabs.SG[seg, SG_VCAP])
    for k in range(1, path.shape[1]):
        ln = path[i, k]
        if ln < 0:
            break
        dist = max(pathd[i, k], 0.0)
        vk = min(tabs.LF[ln, LF_SPEED] * f, tabs.SG[tabs.SEC_SEG[tabs.LI[ln, LI_SEC]], SG_VCAP])
        v0 = min(v0, np.sqrt(vk * vk + 2.0 * b * dist))
    return v0


@no_alloc
def desired_speeds(w, F, I, B, WF, tabs, path, pathd, segs, out):
    """:func:`desired_speed` of every moving vehicle (0 for the others)."""
    nv = F.shape[2]
    sf = WF[SPEED_FACTOR, w]
    for i in range(nv):
        out[i] = 0.0
        if not B[ACTIVE, w, i] or I[KIND, w, i] == STATIC:
            continue
        out[i] = desired_speed(w, i, F, tabs, path, pathd, segs[i], traffic_factor(w, i, F, I, sf))


@no_alloc
def speed_limits_ahead(w, i, F, tabs, path, pathd, seg, factor):
    """Upper bound [m/s^2] on vehicle i's acceleration from the speeds it must not exceed: the
    curve speed here (a P-controller with a 0.5 s time constant) and, for slower lanes and curves
    on its path ahead, the deceleration that reaches their speed at their start, once that
    exceeds half its comfortable deceleration (IDM alone brakes too weakly towards a lower
    desired speed)."""
    v, b = F[V, w, i], F[BCOMF, w, i]
    out = np.inf
    cap = tabs.SG[seg, SG_VCAP]
    if v > cap:
        out = 2.0 * (cap - v)
    f = F[V0F, w, i] * factor
    for k in range(1, path.shape[1]):
        ln = path[i, k]
        if ln < 0:
            break
        vk = min(tabs.LF[ln, LF_SPEED] * f, tabs.SG[tabs.SEC_SEG[tabs.LI[ln, LI_SEC]], SG_VCAP])
        if v > vk:
            b_req = (v * v - vk * vk) / (2.0 * max(pathd[i, k] - 0.5 * F[LEN, w, i], 0.5))
            if b_req > 0.5 * b:
                out = min(out, -b_req)
    return out


@no_alloc
def leader(w, i, F, I, n, key, lane_of, veh, prim, sec, path, pathd, big):
    """(bumper gap [m], speed [m/s], slot) of vehicle i's leader: the nearest vehicle ahead in
    any lane it occupies, else the rearmost one of the next lanes on its path; (inf, 0, -1)."""
    s_i, L_i = F[S, w, i], F[LEN, w, i]
    best, vl, bj = np.inf, 0.0, -1
    own = False
    for e in (prim[i], sec[i]):
        if e < 0:
            continue
        k = occ.ahead(n, lane_of, e)
        if k < 0:
            continue
        if e == prim[i]:
            own = True
        j = veh[k]
        gap = F[S, w, j] - s_i - 0.5 * (L_i + F[LEN, w, j])
        if gap < best:
            best, vl, bj = gap, F[V, w, j], j
    if not own:
        for k in range(1, path.shape[1]):
            ln = path[i, k]
            if ln < 0 or pathd[i, k] > best:
                break
            e = occ.first_in(n, key, lane_of, ln, big)
            if e >= 0:
                j = veh[e]
                if j != i:
                    gap = pathd[i, k] + F[S, w, j] - 0.5 * (L_i + F[LEN, w, j])
                    if gap < best:
                        best, vl, bj = gap, F[V, w, j], j
                    break
    return best, vl, bj


@no_alloc
def accelerations(w, F, I, B, WF, tabs, P, n, key, lane_of, veh, prim, sec, path, pathd, segs, v0e, light_stop, ystop,
                  merge_gap, merge_v, merge_slot, big, out, lead_gap, lead_v, lead_slot):
    """IDM acceleration [m/s^2] of every moving vehicle against its leader (the nearer of the
    one on its path and the one ahead of it in a merge: ``merge_gap``, ``merge_v``,
    ``merge_slot`` from :func:`junctions.give_way`), the end of a lane that ends, the stop line
    it respects and the line where it gives way; bounded to [-emergency deceleration, its
    maximum acceleration]. Also fills each vehicle's leader: bumper gap [m], speed [m/s] and
    slot (-1 none)."""
    nv = F.shape[2]
    emerg = P[P_EMERG]
    sf = WF[SPEED_FACTOR, w]
    for i in range(nv):
        out[i] = 0.0
        lead_gap[i], lead_v[i], lead_slot[i] = np.inf, 0.0, -1
        if not B[ACTIVE, w, i] or I[KIND, w, i] == STATIC:
            continue
        v = F[V, w, i]
        a, b, T_, s0 = F[AMAX, w, i], F[BCOMF, w, i], F[HT, w, i], F[S0, w, i]
        v0 = v0e[i]
        gap, vl, j = leader(w, i, F, I, n, key, lane_of, veh, prim, sec, path, pathd, big)
        if merge_gap[i] < gap:
            gap, vl, j = merge_gap[i], merge_v[i], merge_slot[i]
        lead_gap[i], lead_v[i], lead_slot[i] = gap, vl, j
        acc = acc_model(v, v0, gap, vl, F[ACC, w, j] if j >= 0 else 0.0, a, b, T_, s0)
        # the road's speeds ahead, not the driver's disturbed wish (IDM brings it down to that)
        acc = min(acc, speed_limits_ahead(w, i, F, tabs, path, pathd, segs[i], sf if I[KIND, w, i] == TRAFFIC else 1.0))
        p0 = path[i, 0]
        if tabs.LI[p0, LI_ENDS]:  # keep speed for merging as long as a comfortable stop at the end remains possible
            g = pathd[i, 1] - 0.5 * F[LEN, w, i] - s0
            b_req = v * v / (2.0 * max(g, 0.1))
            if g < 0.5:
                acc = min(acc, -emerg if v > 0.0 else 0.0)
            elif b_req > b:
                acc = min(acc, -b_req)
        if light_stop[i] < np.inf:
            acc = min(acc, idm(v, v0, light_stop[i], v, a, b, T_, s0))
        if ystop[i] < np.inf:
            acc = min(acc, idm(v, v0, ystop[i], v, a, b, T_, s0))
        out[i] = min(max(acc, -emerg), a)


@no_alloc
def cooperative_merging(w, F, I, B, tabs, P, n, key, lane_of, veh, prim, v0e, acc):
    """A vehicle in a lane that ends follows the vehicle ahead of it (or beside it) in the lane it
    must enter, braking at most comfortably, so that it lines up with the gap behind that
    vehicle; the polite vehicle behind it in that lane (MOBIL politeness > 0.1) keeps behind it,
    as behind a leader (ACC model), if that costs at most ``courtesy_decel``."""
    nv = F.shape[2]
    big = P[P_BIG]
    look = P[P_MERGE_LOOK]
    court = P[P_COURTESY]
    for r in range(nv):
        if not B[ACTIVE, w, r] or I[KIND, w, r] == STATIC:
            continue
        lane = I[LANE, w, r]
        if not tabs.LI[lane, LI_ENDS] or I[TLANE, w, r] != lane:
            continue
        tl = tabs.LI[lane, LI_LEFT]
        if tl < 0 or tabs.LI[tl, LI_ENDS]:
            tl = tabs.LI[lane, LI_RIGHT]
        if tl < 0 or tabs.LI[tl, LI_ENDS]:
            continue
        s_r, v_r, L_r = F[S, w, r], F[V, w, r], F[LEN, w, r]
        nl, nf = occ.around(n, key, lane_of, veh, tl, s_r, big, r)
        if nl >= 0 and I[KIND, w, r] != EGO:
            j = veh[nl]
            g = F[S, w, j] - s_r - 0.5 * (L_r + F[LEN, w, j])
            if g < look:  # fall in behind it (braking at most comfortably), so that a gap opens beside
                a_adapt = idm(v_r, v0e[r], g, v_r - F[V, w, j], F[AMAX, w, r], F[BCOMF, w, r], 0.7 * F[HT, w, r], F[S0, w, r])
                acc[r] = min(acc[r], max(a_adapt, -F[BCOMF, w, r]))
        if nf >= 0:
            j = veh[nf]
            kj = I[KIND, w, j]
            if (kj == TRAFFIC or kj == EGO) and F[POL, w, j] > 0.1 and s_r - F[S, w, j] < look:
                g = s_r - F[S, w, j] - 0.5 * (L_r + F[LEN, w, j])
                if g > 0.0:  # follow it as if it were already in the lane
                    a_c = courtesy_idm(w, j, g, v_r, F[ACC, w, r], F, v0e)
                    if a_c >= -court:
                        acc[j] = min(acc[j], max(a_c, -court))


@no_alloc
def courtesy_idm(w, j, gap, v_lead, a_lead, F, v0e):
    """Acceleration [m/s^2] of vehicle j following a merging vehicle at bumper gap ``gap`` [m],
    speed ``v_lead`` [m/s] and acceleration ``a_lead`` [m/s^2] as if it were already its leader:
    the ACC model, which brakes at about its comfortable deceleration where plain IDM would
    over-react to the short gap (zipper merging)."""
    v = F[V, w, j]
    return acc_model(v, v0e[j], gap, v_lead, a_lead, F[AMAX, w, j], F[BCOMF, w, j], F[HT, w, j], F[S0, w, j])
