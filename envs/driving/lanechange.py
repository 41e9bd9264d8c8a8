"""Lateral behaviour (numba, per world): MOBIL lane changes (Kesting, Treiber & Helbing 2007)
against the real gaps of the target lane, straddling vehicles included.

A change is considered only by a vehicle settled in its lane, in a section that allows lane
changes, never into a lane that ends (unless its own lane ends too), and only when it can be
completed: room beside the vehicle, a front gap and a rear gap, and a new follower that need
not brake harder than ``safe_decel`` (``ego_safe_decel`` when the ego is that follower). A
vehicle whose lane ends has a mandatory incentive to leave it.
"""

from __future__ import annotations

import numpy as np

from .jit import no_alloc
from . import occupancy as occ
from .longitudinal import courtesy_idm
from .params import P_BIG, P_EGO_SAFE_DECEL, P_KEEP_RIGHT, P_MERGE_SAFE_DECEL, P_SAFE_DECEL
from .state import ACC, AMAX, BCOMF, D, EGO, HT, KIND, LANE, LEN, POL, S, S0, SCRIPTED, STATIC, STYLE, THR, TLANE, V

AGGRESSIVE = 1  # traffic.STYLES row of aggressive drivers
from .tables import LF_LENGTH, LF_OFF, LI_CHANGE, LI_ENDS, LI_LEFT, LI_RIGHT
from .traffic import idm

MANDATORY_GAIN = 10.0  # incentive to leave a lane that ends [m/s^2]
BLOCKER_LOOK = 60.0  # a stopped obstacle or scripted vehicle this close ahead (behind a queue) blocks the lane [m]


@no_alloc
def _idm_behind(w, j, s_lead, v_lead, L_lead, F, v0e):
    """IDM acceleration of vehicle j behind a leader at (s, v, length)."""
    gap = s_lead - F[S, w, j] - 0.5 * (F[LEN, w, j] + L_lead)
    return idm(F[V, w, j], v0e[j], gap, F[V, w, j] - v_lead, F[AMAX, w, j], F[BCOMF, w, j], F[HT, w, j], F[S0, w, j])


@no_alloc
def _room(gap, v_behind, margin):
    """Whether a bumper gap [m] leaves room behind a vehicle for one moving at ``v_behind`` [m/s]:
    1 m for a stopped one, else 2 m plus ``margin`` [s] of its speed."""
    if v_behind <= 0.5:
        return gap >= 1.0
    return gap >= 2.0 + margin * v_behind


@no_alloc
def _linked(table, lane, other):
    """Whether ``other`` is among ``table[lane]`` (successors or predecessors)."""
    for k in range(table.shape[1]):
        if table[lane, k] == other:
            return True
    return False


@no_alloc
def _idm_gap(w, j, gap, v_lead, F, v0e):
    """IDM acceleration of vehicle j at bumper gap ``gap`` [m] behind a leader at ``v_lead``."""
    return idm(F[V, w, j], v0e[j], gap, F[V, w, j] - v_lead, F[AMAX, w, j], F[BCOMF, w, j], F[HT, w, j], F[S0, w, j])


@no_alloc
def blocked_ahead(w, F, I, n, lane_of, veh, k, s):
    """Whether an obstacle or a stopped scripted vehicle stands in the lane of entry ``k`` within
    ``BLOCKER_LOOK`` [m] of arc length ``s``, with only stopped vehicles (a queue) from entry ``k``
    up to it: the lane does not move on by itself, as if it ended there."""
    while k >= 0:
        j = veh[k]
        if F[S, w, j] - s > BLOCKER_LOOK or F[V, w, j] >= 0.5:
            return False
        if I[KIND, w, j] == STATIC or I[KIND, w, j] == SCRIPTED:
            return True
        k = occ.ahead(n, lane_of, k)
    return False


@no_alloc
def choose_lane(w, i, F, I, tabs, P, n, key, lane_of, veh, prim, v0e, acc_now):
    """MOBIL's choice for vehicle i: a neighbour lane, or its own lane (a vehicle still moving
    into its target lane keeps that target)."""
    lane = I[LANE, w, i]
    if I[TLANE, w, i] != lane or abs(F[D, w, i] - tabs.LF[lane, LF_OFF]) > 0.3 or not tabs.LI[lane, LI_CHANGE]:
        return I[TLANE, w, i]
    big = P[P_BIG]
    s, v, L = F[S, w, i], F[V, w, i], F[LEN, w, i]
    ends_here = tabs.LI[lane, LI_ENDS] != 0
    # own lane: leader and follower (for the politeness term)
    e = prim[i]
    ko, kf = occ.ahead(n, lane_of, e), occ.behind(lane_of, e)
    of = veh[kf] if kf >= 0 else -1
    own_gap = np.inf  # room ahead in its own lane [m]
    # the ego, blocked by an obstacle or a stopped scripted vehicle ahead, leaves the lane even from a
    # standstill (the expert then crawls around it; traffic has no such manoeuvre and keeps queueing),
    # judged by MOBIL's usual safety criterion: the merge's milder ACC-model judgement let it pull out
    # from a standstill in front of traffic that then rear-ended it
    blocked = False
    if ko >= 0:
        ol = veh[ko]
        own_gap = F[S, w, ol] - s - 0.5 * (L + F[LEN, w, ol])
        blocked = I[KIND, w, i] == EGO and blocked_ahead(w, F, I, n, lane_of, veh, ko, s)
    a_of_old, a_of_new = 0.0, 0.0
    if of >= 0:
        a_of_old = _idm_behind(w, of, s, v, L, F, v0e)
        if ko >= 0:
            a_of_new = _idm_behind(w, of, F[S, w, ol], F[V, w, ol], F[LEN, w, ol], F, v0e)
        else:
            a_of_new = _idm_behind(w, of, np.inf, 0.0, 0.0, F, v0e)
    best, best_gain = lane, 0.0
    for side in range(2):
        tl = tabs.LI[lane, LI_LEFT] if side == 0 else tabs.LI[lane, LI_RIGHT]
        if tl < 0 or (tabs.LI[tl, LI_ENDS] and not ends_here):
            continue
        j_l, ds_l, j_f, ds_f = occ.around_linked(n, key, lane_of, veh, tl, s, big, i, F, w, tabs)
        gap_f, v_l, L_l, s_l = np.inf, 0.0, 0.0, np.inf
        if j_l >= 0:
            v_l, L_l = F[V, w, j_l], F[LEN, w, j_l]
            s_l = s + ds_l  # the leader's position in this lane's coordinate
            gap_f = ds_l - 0.5 * (L + L_l)
        gap_b = np.inf
        s_f = -np.inf
        if j_f >= 0:
            s_f = s - ds_f
            gap_b = ds_f - 0.5 * (L + F[LEN, w, j_f])
        margin = 0.15 if ends_here else 0.3  # leaving a lane that ends accepts shorter gaps [s]
        if not _room(gap_f, v, margin) or (j_f >= 0 and not _room(gap_b, F[V, w, j_f], margin)):
            continue  # no room
        if v < 6.0 and ((own_gap < 6.0 and not blocked) or (v_l < v + 2.0 and gap_f < 12.0)):
            continue  # slow traffic: it might have to stop before completing the change
        a_new = idm(v, v0e[i], gap_f, v - v_l, F[AMAX, w, i], F[BCOMF, w, i], F[HT, w, i], F[S0, w, i])
        a_nf_new, a_nf_old = 0.0, 0.0
        if j_f >= 0:
            gb = ds_f - 0.5 * (L + F[LEN, w, j_f])
            a_nf_new = _idm_gap(w, j_f, gb, v, F, v0e)
            a_nf_old = _idm_gap(w, j_f, ds_f + ds_l - 0.5 * (L_l + F[LEN, w, j_f]), v_l, F, v0e)
            # cutting in front of the ego: only if it need barely brake, except for aggressive drivers
            lim = P[P_EGO_SAFE_DECEL] if I[KIND, w, j_f] == EGO and I[STYLE, w, i] != AGGRESSIVE else P[P_SAFE_DECEL]
            # a merge from a lane that ends is judged as the follower will react to it: with the ACC
            # model, against MOBIL's usual b_safe of 4 m/s^2 (Treiber & Kesting); the ego keeps its limit
            if ends_here:
                a_check = courtesy_idm(w, j_f, gb, v, F[ACC, w, i], F, v0e)
                if I[KIND, w, j_f] != EGO:
                    lim = max(lim, P[P_MERGE_SAFE_DECEL])
            else:
                a_check = a_nf_new
            if a_check < -lim:
                continue  # unsafe for the new follower
        # vehicles that started moving into this lane since the occupancy was built count too
        clash = False
        lim = P[P_SAFE_DECEL]
        for k in range(F.shape[2]):
            tk = I[TLANE, w, k]
            if k == i or tk < 0 or I[LANE, w, k] == tk:
                continue
            if tk == tl:
                ds = F[S, w, k] - s
            elif _linked(tabs.SUCC, tl, tk):  # moving into the continuation of the target lane
                ds = tabs.LF[tl, LF_LENGTH] - s + F[S, w, k]
            elif _linked(tabs.PRED, tl, tk):  # into the lane before it
                ds = -(s + tabs.LF[tk, LF_LENGTH] - F[S, w, k])
            else:
                continue
            gap = abs(ds) - 0.5 * (L + F[LEN, w, k])
            if abs(ds) > 150.0:
                continue
            if ds >= 0.0:
                clash = not _room(gap, v, margin) or _idm_gap(w, i, gap, F[V, w, k], F, v0e) < -lim
            else:
                clash = not _room(gap, F[V, w, k], margin) or _idm_gap(w, k, gap, v, F, v0e) < -lim
            if clash:
                break
        if clash:
            continue
        gain = a_new - acc_now + F[POL, w, i] * (a_nf_new - a_nf_old + a_of_new - a_of_old)
        gain += P[P_KEEP_RIGHT] if side == 1 else -P[P_KEEP_RIGHT]
        if ends_here or blocked:
            gain += MANDATORY_GAIN
        if gain > F[THR, w, i] and gain > best_gain:
            best, best_gain = tl, gain
    return best
