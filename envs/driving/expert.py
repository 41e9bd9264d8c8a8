"""The built-in expert: a rule-based autopilot that drives the ego with the traffic's own driver
model and privileged information (the whole world state).

Longitudinal: the ACC-model acceleration against the ego's leader (straddling vehicles
included), lane ends, the lights it must respect and the junction lines where it must give
way (:meth:`World.ego_decisions`, the same kernel code as the traffic). Lateral: MOBIL's lane
choice (never into a lane that ends), the route through the lane graph, and the traffic's lane
keeping. :func:`expert_actions` turns that into one action per world in the env's own action
space (meta, discrete or continuous). Under meta-actions, whose speed levels are coarse, it
looks one decision ahead: of slower / idle / faster it takes the level whose speed is closest to
where the driver model is heading, among those after which the ego can still stop braking at
most ``STOP_DECEL`` before the next stop line and behind where the vehicles ahead in its lane will
stand (stopped ones, and hard-braking ones braking on to a stop). It stops well behind an
obstacle or a stalled scripted vehicle and, once MOBIL finds a gap beside it, crawls around it.
Use from an env: ``env.unwrapped.expert_action()`` (vector env: ``expert_actions()``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .lanechange import BLOCKER_LOOK
from .lookahead import level_after, play
from .physics import _curve_steer
from .state import SCRIPTED, STATIC
from .traffic import lateral_steer

STOP_DECEL = 3.0  # braking the expert plans with to stop at a line [m/s^2]
STOP_MARGIN = 1.0  # it plans to stop this far before the line [m]
OVERSHOOT = 1.0  # under meta-actions near a junction, a speed level may exceed the driver model's wish by this much at most [m/s]
SHORT_HOLD = 0.25  # under direct control, a decision period up to this long follows the lane-keeping law [s]
STEER_CANDIDATES = 41  # front-wheel angles tried per decision under direct control [-]
JUNCTION_CARE = 30.0  # "near a junction": from this far before its first section to its end [m]
LOOK = 2.0  # under meta-actions, the driver model's acceleration is followed this far ahead, at least [s]
LEAD_BRAKING = 1.0  # a leader braking harder than this [m/s^2] is expected to brake on to a stop ...
LEAD_MARGIN = 2.0  # ... and the expert plans to stop this far behind where it stops [m]
LANE_LOOK = 150.0  # vehicles ahead in the ego's lane up to this bumper gap count, not only the leader [m]
BLOCKER_MARGIN = 7.0  # it stops this far behind an obstacle or a stopped scripted vehicle, to steer around it [m]
AROUND_MIN_GAP = 3.0  # it starts around a blocker from no closer than this [m]


def _level_after(core, targets: np.ndarray):
    """(speed [m/s], distance [m]) of the ego after one decision period tracking ``targets`` with
    the meta-action speed controller (the kernel's own, :func:`.lookahead.level_after`)."""
    w, c = core.world, core.cfg
    p = w.p
    targets = np.broadcast_to(np.asarray(targets, float), (w.n,))
    return level_after(w.v[:, 0], targets, p.speed_gain, p.max_brake, p.max_accel, p.max_speed, w.dt, c.substeps)


class _Blockers(NamedTuple):
    """What the ego's lane holds that will not drive on by itself, computed once per decision."""

    mask: np.ndarray  # (N, V) obstacles, stopped scripted vehicles and the queues behind them
    gap: np.ndarray  # (N,) bumper gap to the nearest one ahead in the ego's lane [m] (inf: none)
    going_around: np.ndarray  # (N,) the ego is moving over out of a lane with one close ahead


def _blockers(w) -> _Blockers:
    """Obstacles and stopped scripted vehicles (they do not drive on by themselves), stopped
    vehicles queued up to ``BLOCKER_LOOK`` (MOBIL's reach for a blocked lane) behind one in the
    same lane; the nearest one's gap ahead of the ego, and whether the ego is moving over out of
    its lane with one ``BLOCKER_MARGIN`` + 5 m ahead or closer."""
    stopped = w.active & (w.v < 0.5)
    fixed = stopped & ((w.kind == STATIC) | (w.kind == SCRIPTED))
    same = (w.lane[:, :, None] == w.lane[:, None, :]) & (w.sec[:, :, None] == w.sec[:, None, :])
    ahead = w.s[:, None, :] - w.s[:, :, None]  # [w, j, b]: how far b is ahead of j [m]
    queued = (same & fixed[:, None, :] & (ahead > 0.0) & (ahead < BLOCKER_LOOK)).any(2)
    mask = fixed | (stopped & queued)
    gap = w.s - w.s[:, :1] - 0.5 * (w.length + w.length[:, :1])
    mine = mask & (w.lane == w.lane[:, :1]) & (w.sec == w.sec[:, :1]) & (gap > -1.0)
    mine[:, 0] = False
    nearest = np.where(mine, gap, np.inf).min(1)
    going_around = (w.tlane[:, 0] != w.lane[:, 0]) & (nearest < BLOCKER_MARGIN + 5.0)
    return _Blockers(mask, nearest, going_around)


def _leader_room(w, blockers: _Blockers) -> np.ndarray:
    """Bumper distance [m] the ego may still drive behind its leader, per world: up to
    ``LEAD_MARGIN`` behind where the leader will stand if it is stopped, or brakes harder than
    ``LEAD_BRAKING`` and keeps braking so; inf otherwise. A meta-action changes the speed level
    once per decision, so the driver model's acceleration at the decision instant reacts a whole
    period late to a hard-braking leader (and creeps towards a stopped one at a level's speed)."""
    gap, a_lead = w.ego_lead_gap, w.ego_lead_acc
    v_lead = np.maximum(w.v[:, 0] - w.ego_lead_dv, 0.0)
    # going around a blocker, the leader (in both lanes while moving over) is the blocker itself
    leader = np.where(blockers.going_around, np.inf, _stands_at(gap, v_lead, a_lead) - LEAD_MARGIN)
    return np.minimum(leader, _lane_ahead(w, blockers))


def _stands_at(gap, v, a):
    """Bumper gap [m] at which a vehicle ``gap`` ahead at speed ``v`` [m/s] and acceleration
    ``a`` [m/s^2] will stand: where it is if stopped, where its braking stops it if it brakes
    harder than ``LEAD_BRAKING``; inf otherwise."""
    to_stop = np.where(a < -LEAD_BRAKING, v * v / (2.0 * np.maximum(-a, 1e-6)), np.inf)
    return np.where(v < 0.5, gap, gap + to_stop)


def _lane_ahead(w, blockers: _Blockers) -> np.ndarray:
    """Bumper distance [m] the ego may drive before the nearest vehicle ahead in its lane or
    target lane (same section, within ``LANE_LOOK``) stands, less the margin, per world
    (privileged: a vehicle hidden behind the leader, revealed when the leader swerves out). Going
    around a blocker, the blocker does not count."""
    ahead = w.s - w.s[:, :1]
    gap = ahead - 0.5 * (w.length + w.length[:, :1])
    mine = (w.active & (w.sec == w.sec[:, :1]) & ((w.lane == w.lane[:, :1]) | (w.lane == w.tlane[:, :1]))
            & (ahead > 0.0) & (gap < LANE_LOOK))
    mine[:, 0] = False
    mine &= ~(blockers.mask & (w.lane == w.lane[:, :1]) & blockers.going_around[:, None])
    margin = np.where(blockers.mask, BLOCKER_MARGIN, LEAD_MARGIN)
    stands = np.where(mine, _stands_at(gap, w.v, w.acc) - margin, np.inf)
    return stands.min(1)


def _meta_speed(core, acc: np.ndarray, blockers: _Blockers):
    """(-1 slower / 0 idle / +1 faster, whether idle is safe) per world."""
    w, c = core.world, core.cfg
    lv, idx = core.levels, core.speed_idx
    v_want = np.maximum(w.v[:, 0] + acc * max(1.0 / c.policy_frequency, LOOK), 0.0)
    # going around a blocker: the driver model still follows it (it occupies both lanes), so crawl
    v_want = np.where(blockers.going_around, np.maximum(v_want, lv[lv > 0].min(initial=5.0)), v_want)
    room = np.minimum(w.ego_stop_gap - STOP_MARGIN, _leader_room(w, blockers))
    ri = w.route_i
    j = w.route_junction[ri]
    to_junction = w.route_cum[np.maximum(j, 0)] - w.route_cum[ri] - w.s[:, 0]  # [m], <= 0 inside it
    near_junction = (j >= 0) & (to_junction < JUNCTION_CARE)
    best = np.zeros(w.n, np.int64)
    best_err = np.full(w.n, np.inf)
    idle_ok = np.ones(w.n, bool)
    for step in (-1, 0, 1):  # three candidate actions
        k = np.clip(idx + step, 0, len(lv) - 1)
        v_end, dist = _level_after(core, lv[k])
        stops = dist + v_end * v_end / (2.0 * STOP_DECEL) <= room
        ok = stops | (step == -1) | ~np.isfinite(room) | (dist < 0.05)  # standing still is safe
        if step == 0:
            idle_ok = ok & (acc > -2.0)
        # the closest level; at junctions (tight turns, whose speed caps lie between the coarse levels)
        # never one above where the driver model is heading by more than OVERSHOOT
        over = near_junction & (lv[k] > v_want + OVERSHOOT)
        err = np.abs(lv[k] - v_want) - 1e-6 * step + np.where(over, 1e3, 0.0)  # ties: the lower level
        take = ok & (err < best_err)
        best = np.where(take, step, best)
        best_err = np.where(take, err, best_err)
    return best, idle_ok


def expert_actions(core) -> np.ndarray:
    """Expert action for every world of ``core`` (a :class:`~.env.DrivingCore`)."""
    w, c = core.world, core.cfg
    r, p = w.road, w.p
    acc, best = w.ego_decisions()
    lane = w.lane[:, 0]
    tl = w.tlane[:, 0]
    settled = (tl == lane) & (np.abs(w.d[:, 0] - r.lane_offset[lane]) < 0.5)
    change = settled & (best != lane)
    if c.action == "meta":
        blockers = _blockers(w)
        speed, idle_ok = _meta_speed(core, acc, blockers)
        a = np.where(speed < 0, 4, np.where(speed > 0, 3, 1))
        # a lane change (which keeps the speed level) when keeping the speed is safe, and never from
        # a standstill closer to a blocker than the crawl around it needs
        change &= idle_ok & (blockers.gap >= AROUND_MIN_GAP)
        a = np.where(change & (r.lane_left[lane] == best), 0, a)
        a = np.where(change & (r.lane_right[lane] == best), 2, a)
        return a
    # direct control: keep a target lane in the world's ego slot
    w.tlane[:, 0] = np.where(change, best, tl)
    e = w.d[:, 0] - r.lane_offset[w.tlane[:, 0]]
    eh = w.h[:, 0] - w.road_h[:, 0]
    if c.action == "continuous":
        steer = held_steer(core, e, eh)
        u = np.stack([steer / p.max_steer, np.clip(acc / p.max_accel, 0, 1), np.clip(-acc / p.max_brake, 0, 1)], -1)
        return u.astype(np.float32)
    # discrete: the combination whose forward play keeps the lane and comes closest to the
    # driver model's speed one period on
    tab = core.discrete_table
    steer_c = np.broadcast_to(tab[None, :, 0] * p.max_steer, (w.n, len(tab)))
    acc_c = np.broadcast_to(tab[None, :, 1] * p.max_accel - tab[None, :, 2] * p.max_brake, (w.n, len(tab)))
    lateral, v_end = _play(core, e, eh, steer_c, acc_c)
    v_ref = np.maximum(w.v[:, 0] + acc * c.substeps * w.dt, 0.0)[:, None]
    return np.argmin(lateral + (v_end - v_ref) ** 2, 1)


def held_steer(core, e: np.ndarray, eh: np.ndarray) -> np.ndarray:
    """Front-wheel angle [rad] per world to hold for one decision period under direct control.

    Up to ``SHORT_HOLD`` per decision, the traffic's lane keeping with the curvature
    feed-forward. Held longer (a second at 1 Hz), that feedback overshoots, so each of
    ``STEER_CANDIDATES`` angles is played forward over the period (:func:`_play`) and the one
    with the least lateral cost is taken.
    """
    w, c = core.world, core.cfg
    p = w.p
    if c.substeps * w.dt <= SHORT_HOLD:
        # held briefly: the traffic's own lane keeping with the curvature feed-forward
        wb = w.wheelbase[:, 0]
        return lateral_steer(e, eh, w.v[:, 0], wb, p.max_steer) + np.arctan(wb * _road_curvature(w))
    cand = np.broadcast_to(np.linspace(-1.0, 1.0, STEER_CANDIDATES)[None, :] * p.max_steer, (w.n, STEER_CANDIDATES))
    lateral, _ = _play(core, e, eh, cand, np.zeros_like(cand))
    return cand[np.arange(w.n), np.argmin(lateral, 1)]


def _road_curvature(w) -> np.ndarray:
    """Signed curvature [1/m] of the ego's road 0.35 s ahead (the physics' feed-forward), per world."""
    wb = w.wheelbase[:, 0]
    return np.array([np.tan(_curve_steer(k, 0, w.I, w.WI, w.tables, w.s[k, 0], w.v[k, 0], wb[k])) / wb[k]
                     for k in range(w.n)])  # worlds, not vehicles


def _play(core, e, eh, steer, acc):
    """Hold each candidate (front-wheel angle ``steer`` [rad], acceleration ``acc`` [m/s^2]),
    both (N, C), for one decision period (:func:`.lookahead.play`, with the road's curvature
    0.35 s ahead). Returns the lateral cost [m^2] and the speed at the end [m/s], both (N, C)."""
    w, c = core.world, core.cfg
    p = w.p
    period = c.substeps * w.dt  # [s]
    return play(np.asarray(e, float), np.asarray(eh, float), w.steer[:, 0], w.v[:, 0], w.wheelbase[:, 0], _road_curvature(w),
                np.asarray(steer, float), np.asarray(acc, float), p.max_steer, p.max_steer_rate, p.max_lateral_accel, p.max_speed,
                w.dt, c.substeps, max(period, 0.5))
