"""Placing traffic (numba, per world): the initial placement of an episode and the recycling of
vehicles that left, both seeded by counter-based draws.

Density and speed vary per episode: each world keeps ``traffic_target`` vehicles, drawn in
``density_range`` x ``vehicles``, and scales traffic's desired speeds by a factor drawn in
``speed_factor_range``. Placement is physically valid: vehicles get speeds their gaps allow
(at most the IDM equilibrium speed for the gap ahead), and a recycled vehicle enters only
where neither it nor the vehicle behind it must brake harder than comfortably.
"""

from __future__ import annotations

import numpy as np

from .jit import kernel, no_alloc
from .disturbances import clear as clear_disturbance
from .geometry import to_world
from .params import (P_DENS_HI, P_DENS_LO, P_EGO_CLEAR, P_EGO_SPEED, P_SPAWN_CLEAR, P_SPEEDF_HI, P_SPEEDF_LO, P_START_S,
                     P_STYLE_C0, P_STYLE_C1, P_VEH_LEN, P_VEH_WID, P_VEHICLES, P_WHEELBASE, P_WIN0, P_WIN1, P_WINDOW_MODE,
                     P_CYCLE, P_STEER_RATE, P_SPREAD, P_START_JITTER, P_EGO_SPEED_JITTER, P_TRUCK_SHARE)
from .rng import uniform1
from .state import (ACC, ACTIVE, AMAX, BCOMF, D, DESIRED, EGO, H, HOPS, HT, IGNORE, KIND, LANE, LEN, LIGHT_T0, NTARGET, POL, RH,
                    ROUTE_I, S, S0, SACC, SB, SEC, SLANE, SPEED_FACTOR, STATIC, STEER, STOPPED, STYLE, T, THR, TLANE,
                    TRAFFIC, TRAVELLED, TURN, V, V0F, WBASE, WID, X, Y, ALAT, EGO_TARGET)
from .tables import LF_LENGTH, LF_OFF, LF_SPEED, LI_ENDS, LI_SEC
from .traffic import STYLES, idm

# draw purposes
PUR_START, PUR_STYLE, PUR_TURN, PUR_SPEED, PUR_SIDE, PUR_LANE, PUR_POS, PUR_DENSITY, PUR_SPEEDF, PUR_LIGHT, PUR_V0F, PUR_EGO_S, PUR_EGO_V, PUR_TRUCK = (
    np.uint64(k) for k in range(14))
U0 = np.uint64(0)


@no_alloc
def set_style(F, I, w, i, style, v0_factor=1.0):
    """Give slot i a behaviour style (a row of STYLES), its desired-speed factor scaled by ``v0_factor``."""
    I[STYLE, w, i] = style
    F[V0F, w, i], F[HT, w, i], F[AMAX, w, i], F[BCOMF, w, i] = STYLES[style, 0] * v0_factor, STYLES[style, 1], STYLES[style, 2], STYLES[style, 3]
    F[S0, w, i], F[POL, w, i], F[THR, w, i] = STYLES[style, 4], STYLES[style, 5], STYLES[style, 6]


TRUCK_LENGTH, TRUCK_WIDTH, TRUCK_WHEELBASE = 9.0, 2.5, 5.5  # [m]
TRUCK_SPEED, TRUCK_ACCEL, TRUCK_DECEL = 0.65, 1.0, 2.0  # desired-speed factor [-], max and comfortable [m/s^2]


@no_alloc
def draw_vehicle(F, I, P, w, i, seed, counter):
    """Draw slot i's driver (style and own desired-speed factor) and body: a car, or with
    probability ``truck_share`` a truck (longer, slower, accelerating and braking more gently)."""
    c, k = np.uint64(counter), np.uint64(i)
    clear_disturbance(F, w, i)
    set_style(F, I, w, i, draw_style(P, uniform1(seed, c, k, PUR_STYLE)), spread(P, uniform1(seed, c, k, PUR_V0F)))
    if uniform1(seed, c, k, PUR_TRUCK) < P[P_TRUCK_SHARE]:
        F[LEN, w, i], F[WID, w, i], F[WBASE, w, i] = TRUCK_LENGTH, TRUCK_WIDTH, TRUCK_WHEELBASE
        F[V0F, w, i] *= TRUCK_SPEED
        F[AMAX, w, i], F[BCOMF, w, i] = TRUCK_ACCEL, TRUCK_DECEL
    else:
        F[LEN, w, i], F[WID, w, i], F[WBASE, w, i] = P[P_VEH_LEN], P[P_VEH_WID], P[P_WHEELBASE]


@no_alloc
def spread(P, u):
    """A vehicle's own desired-speed factor around its style's, from a uniform draw ``u``."""
    return 1.0 + P[P_SPREAD] * (u - 0.5)


@no_alloc
def draw_style(P, u):
    if u < P[P_STYLE_C0]:
        return 0
    if u < P[P_STYLE_C1]:
        return 1
    return 2


@no_alloc
def place(F, I, B, tabs, w, i, lane, s, v):
    """Put slot i on ``lane`` at arc length ``s`` [m] with speed ``v`` [m/s], aligned with the lane."""
    q = tabs.LI[lane, LI_SEC]
    d = tabs.LF[lane, LF_OFF]
    x, y, h = to_world(tabs, q, s, d)
    F[X, w, i], F[Y, w, i], F[H, w, i], F[RH, w, i], F[V, w, i] = x, y, h, h, v
    F[S, w, i], F[D, w, i] = s, d
    I[SEC, w, i], I[LANE, w, i], I[TLANE, w, i], I[HOPS, w, i] = q, lane, lane, 0
    F[ACC, w, i], F[SB, w, i], F[STEER, w, i], F[STOPPED, w, i], F[DESIRED, w, i], F[ALAT, w, i] = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    B[ACTIVE, w, i] = True


@no_alloc
def _along(tabs, lane, s, other_lane, other_s):
    """Signed distance [m] from ``(lane, s)`` to ``(other_lane, other_s)`` along the lane graph
    (same lane, or one link ahead / behind); NaN when they are not linked."""
    if other_lane == lane:
        return other_s - s
    for k in range(tabs.SUCC.shape[1]):
        if tabs.SUCC[lane, k] == other_lane:
            return tabs.LF[lane, LF_LENGTH] - s + other_s
    for k in range(tabs.PRED.shape[1]):
        if tabs.PRED[lane, k] == other_lane:
            return -(s + tabs.LF[other_lane, LF_LENGTH] - other_s)
    return np.nan


@no_alloc
def _lane_neighbours(F, I, B, w, lane, s, skip, tabs):
    """Nearest active vehicles ahead of and behind ``s`` in ``lane`` (by centre or target lane)."""
    lead, fol = -1, -1
    ds_l, ds_f = np.inf, np.inf
    for j in range(F.shape[2]):
        if j == skip or not B[ACTIVE, w, j]:
            continue
        ds = _along(tabs, lane, s, I[LANE, w, j], F[S, w, j])
        if np.isnan(ds) and I[TLANE, w, j] == lane:
            ds = F[S, w, j] - s
        if np.isnan(ds):
            continue
        if ds >= 0.0 and ds < ds_l:
            ds_l, lead = ds, j
        elif ds < 0.0 and -ds < ds_f:
            ds_f, fol = -ds, j
    return lead, fol, ds_l


@no_alloc
def safe_speed(F, w, i, lead, ds, v_wish):
    """Speed [m/s] for slot i: at most ``v_wish``, the IDM equilibrium speed for its gap to
    ``lead`` at centre distance ``ds`` [m] (gap = s0 + v T), and the speed from which it stops
    behind a braking leader with its comfortable deceleration (v^2 <= v_lead^2 + 2 b (gap - s0))."""
    if lead < 0:
        return v_wish
    gap = ds - 0.5 * (F[LEN, w, i] + F[LEN, w, lead]) - F[S0, w, i]
    vl = F[V, w, lead]
    return max(0.0, min(v_wish, gap / F[HT, w, i], np.sqrt(max(vl * vl + 2.0 * F[BCOMF, w, i] * gap, 0.0))))


@kernel
def reset_world(F, I, B, WF, WI, WB, seeds, tabs, P, w):
    """Start a new episode in world ``w`` with ``seeds[w]``."""
    seed = seeds[w]
    nv = F.shape[2]
    nveh = int(P[P_VEHICLES])
    WI[T, w], WI[ROUTE_I, w] = 0, 0
    WF[TRAVELLED, w] = 0.0
    WF[SPEED_FACTOR, w] = P[P_SPEEDF_LO] + (P[P_SPEEDF_HI] - P[P_SPEEDF_LO]) * uniform1(seed, U0, U0, PUR_SPEEDF)
    WF[LIGHT_T0, w] = P[P_CYCLE] * uniform1(seed, U0, U0, PUR_LIGHT)
    dens = P[P_DENS_LO] + (P[P_DENS_HI] - P[P_DENS_LO]) * uniform1(seed, U0, U0, PUR_DENSITY)
    WI[NTARGET, w] = int(np.rint(nveh * dens))
    WF[EGO_TARGET, w] = P[P_EGO_SPEED]
    for i in range(nv):
        B[ACTIVE, w, i] = False
        B[IGNORE, w, i] = False
        F[SACC, w, i] = np.nan
        I[SLANE, w, i] = -1
        clear_disturbance(F, w, i)
        F[LEN, w, i], F[WID, w, i], F[WBASE, w, i] = P[P_VEH_LEN], P[P_VEH_WID], P[P_WHEELBASE]
        F[X, w, i], F[Y, w, i], F[V, w, i] = 1e6, 1e6, 0.0
        I[KIND, w, i] = EGO if i == 0 else (TRAFFIC if i <= nveh else STATIC)
        if i == 0:
            set_style(F, I, w, i, 0)
        else:
            draw_vehicle(F, I, P, w, i, seed, 0)
        I[TURN, w, i] = int(uniform1(seed, U0, np.uint64(i), PUR_TURN) * 1024)
        place_default = 0
        I[SEC, w, i], I[LANE, w, i], I[TLANE, w, i] = place_default, place_default, place_default
    # ego
    ns = tabs.START_LANES.shape[0]
    k = min(int(uniform1(seed, U0, U0, PUR_START) * ns), ns - 1)
    ego_lane = tabs.START_LANES[k]
    s_ego = max(P[P_START_S] + P[P_START_JITTER] * (2.0 * uniform1(seed, U0, U0, PUR_EGO_S) - 1.0), 2.0)
    v_ego = P[P_EGO_SPEED] * (1.0 - P[P_EGO_SPEED_JITTER] * uniform1(seed, U0, U0, PUR_EGO_V))
    place(F, I, B, tabs, w, 0, ego_lane, s_ego, v_ego)
    ex, ey = F[X, w, 0], F[Y, w, 0]
    # traffic: a random subset of the slots, away from the ego, then speeds their gaps allow
    nslot = tabs.SLOT_LANE.shape[0]
    keys = np.empty(nslot)
    for k in range(nslot):
        keys[k] = uniform1(seed, U0, np.uint64(k), PUR_POS)
    order = np.argsort(keys, kind="mergesort")
    placed = 0
    target = min(WI[NTARGET, w], nveh)
    for k in order:
        if placed >= target:
            break
        lane, s = tabs.SLOT_LANE[k], tabs.SLOT_S[k]
        i = 1 + placed
        s = s + (uniform1(seed, U0, np.uint64(i), PUR_SIDE) - 0.5) * 2.0
        x, y, _ = to_world(tabs, tabs.LI[lane, LI_SEC], s, tabs.LF[lane, LF_OFF])
        if np.hypot(x - ex, y - ey) <= P[P_EGO_CLEAR]:
            continue
        if tabs.LI[lane, LI_ENDS] and s > 0.5 * tabs.LF[lane, LF_LENGTH]:
            continue  # a lane that ends: only where there is room left to merge
        # keep about the headway of traffic flowing at 80% of the lane's speed from vehicles already placed
        spacing = P[P_VEH_LEN] + 2.0 + 1.2 * 0.8 * tabs.LF[lane, LF_SPEED]
        crowded = False
        for j in range(1, i):
            ds = _along(tabs, lane, s, I[LANE, w, j], F[S, w, j])
            if not np.isnan(ds) and abs(ds) < spacing:
                crowded = True
                break
        if crowded:
            continue
        v0 = tabs.LF[lane, LF_SPEED] * F[V0F, w, i] * WF[SPEED_FACTOR, w]
        place(F, I, B, tabs, w, i, lane, s, v0 * (0.8 + 0.2 * uniform1(seed, U0, np.uint64(i), PUR_SPEED)))
        placed += 1
    # speeds the gaps allow (a few sweeps: a follower's cap depends on its leader's)
    for _ in range(4):
        for i in range(1, nv):
            if not B[ACTIVE, w, i]:
                continue
            lead, _f, ds = _lane_neighbours(F, I, B, w, I[LANE, w, i], F[S, w, i], i, tabs)
            v = safe_speed(F, w, i, lead, ds, F[V, w, i])
            ln = I[LANE, w, i]
            if tabs.LI[ln, LI_ENDS]:  # able to stop comfortably at the lane's end
                room = tabs.LF[ln, LF_LENGTH] - F[S, w, i] - 0.5 * F[LEN, w, i] - F[S0, w, i]
                v = min(v, np.sqrt(max(2.0 * F[BCOMF, w, i] * room, 0.0)))
            F[V, w, i] = v


@no_alloc
def recycle(F, I, B, WF, WI, seeds, tabs, P, w, tries):
    """Remove traffic that drove away from the ego, then up to ``tries`` attempts to bring a
    missing vehicle back (window mode: ahead of or behind the ego on its section; entries mode:
    at the start of a spawn lane)."""
    nv = F.shape[2]
    nveh = int(P[P_VEHICLES])
    window = P[P_WINDOW_MODE] > 0.5
    es, esec = F[S, w, 0], I[SEC, w, 0]
    ex, ey = F[X, w, 0], F[Y, w, 0]
    count = 0
    for i in range(1, 1 + nveh):
        if not B[ACTIVE, w, i] or I[KIND, w, i] != TRAFFIC:
            continue
        if window:
            ds = F[S, w, i] - es
            far = I[SEC, w, i] != esec or ds < P[P_WIN0] or ds > P[P_WIN1]
        else:
            far = np.hypot(F[X, w, i] - ex, F[Y, w, i] - ey) > 2000.0
        if far:
            B[ACTIVE, w, i] = False
            F[X, w, i], F[Y, w, i] = 1e6, 1e6
        else:
            count += 1
    seed = seeds[w]
    t = np.uint64(WI[T, w])
    for attempt in range(tries):
        if count >= WI[NTARGET, w]:
            return
        i = -1
        for k in range(1, 1 + nveh):
            if not B[ACTIVE, w, k] and I[KIND, w, k] == TRAFFIC:
                i = k
                break
        if i < 0:
            return
        c = t * np.uint64(8) + np.uint64(attempt)
        u_lane = uniform1(seed, c, np.uint64(i), PUR_LANE)
        u_side = uniform1(seed, c, np.uint64(i), PUR_SIDE)
        u_pos = uniform1(seed, c, np.uint64(i), PUR_POS)
        if window:
            q = esec
            l0, nl = tabs.SEC_LANE[q], tabs.SEC_LANE[q + 1] - tabs.SEC_LANE[q]
            lane = l0 + min(int(u_lane * nl), nl - 1)
            if u_side < 0.5:
                s = es + P[P_WIN1] - 60.0 + 55.0 * u_pos
            else:
                s = es + P[P_WIN0] + 5.0 + 55.0 * u_pos
            if s < 5.0 or s > tabs.LF[lane, LF_LENGTH] - 5.0:
                continue
        else:
            nsl = tabs.SPAWN_LANES.shape[0]
            lane = tabs.SPAWN_LANES[min(np.searchsorted(tabs.SPAWN_CDF, u_lane, side="right"), nsl - 1)]
            s = 5.0 * u_pos
        x, y, _ = to_world(tabs, tabs.LI[lane, LI_SEC], s, tabs.LF[lane, LF_OFF])
        if np.hypot(x - ex, y - ey) <= P[P_EGO_CLEAR]:
            continue
        lead, fol = -1, -1
        ok = True
        ds_l, ds_f = np.inf, np.inf
        d_new = tabs.LF[lane, LF_OFF]
        for j in range(nv):
            if j == i or not B[ACTIVE, w, j]:
                continue
            if I[SEC, w, j] == tabs.LI[lane, LI_SEC] and abs(F[D, w, j] - d_new) < tabs.LF[lane, 1] and abs(F[S, w, j] - s) < P[P_SPAWN_CLEAR]:
                ok = False  # someone (perhaps changing lanes) is partly in this lane nearby
                break
            if I[LANE, w, j] != lane and I[TLANE, w, j] != lane:
                continue
            ds = F[S, w, j] - s
            if abs(ds) < P[P_SPAWN_CLEAR]:
                ok = False
                break
            if ds >= 0.0 and ds < ds_l:
                ds_l, lead = ds, j
            elif ds < 0.0 and -ds < ds_f:
                ds_f, fol = -ds, j
        if not ok:
            continue
        draw_vehicle(F, I, P, w, i, seed, c)
        v0 = tabs.LF[lane, LF_SPEED] * F[V0F, w, i] * WF[SPEED_FACTOR, w]
        F[S, w, i] = s
        v = safe_speed(F, w, i, lead, ds_l, v0 * (0.8 + 0.2 * uniform1(seed, c, np.uint64(i), PUR_SPEED)))
        if fol >= 0:  # the vehicle behind must not need to brake hard for the newcomer
            gap = s - F[S, w, fol] - 0.5 * (F[LEN, w, fol] + F[LEN, w, i])
            vf = F[V, w, fol]
            v0f = tabs.LF[I[LANE, w, fol], LF_SPEED] * F[V0F, w, fol]
            if idm(vf, v0f, gap, vf - v, F[AMAX, w, fol], F[BCOMF, w, fol], F[HT, w, fol], F[S0, w, fol]) < -F[BCOMF, w, fol]:
                continue
        place(F, I, B, tabs, w, i, lane, s, v)
        I[TURN, w, i] = int(uniform1(seed, c, np.uint64(i), PUR_TURN) * 1024)
        B[IGNORE, w, i] = False
        count += 1
