"""The built-in expert: a rule-based autopilot driving the ego like the traffic does.

Longitudinal: IDM against the ego's leader, lane ends and red lights. Lateral: MOBIL lane
choice (including leaving a lane that ends), route following through the lane graph, and
the traffic's lane-keeping controller. :func:`expert_actions` returns one action per world in
the env's own action space, so it works for meta, discrete and continuous actions.
Use from an env: ``env.unwrapped.expert_action()`` (vector env: ``expert_actions()``).
"""

from __future__ import annotations

import numpy as np

from .traffic import Occupancy, lateral_steer


def _decisions(core):
    w = core.world
    r = w.road
    occ = Occupancy(np.where(w.active, w.lane, -1), w.s, r.num_lanes, w.big)
    acc = w._idm_all(occ, w.light_green())
    # the ego reconsiders lanes only when settled in its target lane
    best, _ = w._mobil(occ, acc, np.arange(w.n), apply=False)
    return acc[:, 0], best[:, 0]


def expert_actions(core) -> np.ndarray:
    """Expert action for every world of ``core`` (a :class:`~.env.DrivingCore`)."""
    w, c = core.world, core.cfg
    r, p = w.road, w.p
    acc, best = _decisions(core)
    lane = w.lane[:, 0]
    tl = w.tlane[:, 0]
    settled = tl == lane
    if c.action == "meta":
        a = np.full(w.n, 1, np.int64)
        change = settled & (best != lane)
        a = np.where(change & (r.lane_left[lane] == best), 0, a)
        a = np.where(change & (r.lane_right[lane] == best), 2, a)
        lv = core.levels
        cur = lv[core.speed_idx]
        faster = (acc > 0.3) & (core.speed_idx < len(lv) - 1) & (w.v[:, 0] > cur - 2.0)
        slower = (acc < -0.5) & (core.speed_idx > 0)
        a = np.where((a == 1) & faster, 3, a)
        a = np.where((a == 1) & slower, 4, a)
        return a
    # direct control: keep a target lane in the world's ego slot
    w.tlane[:, 0] = np.where(settled & (best != lane), best, tl)
    e = w.d[:, 0] - r.lane_offset[w.tlane[:, 0]]
    steer = lateral_steer(e, w.h[:, 0] - w.road_h[:, 0], w.v[:, 0], w.wheelbase[:, 0], p.max_steer)
    u = np.stack([steer / p.max_steer, np.clip(acc / p.max_accel, 0, 1), np.clip(-acc / p.max_brake, 0, 1)], -1)
    if c.action == "continuous":
        return u.astype(np.float32)
    # discrete: nearest of the seven combinations
    tab = core.discrete_table
    cost = (tab[None, :, 0] - u[:, None, 0]) ** 2 + (tab[None, :, 1] - u[:, None, 1]) ** 2 + (tab[None, :, 2] - u[:, None, 2]) ** 2
    return np.argmin(cost, 1)
