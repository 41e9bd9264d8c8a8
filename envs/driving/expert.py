"""The built-in expert: a rule-based autopilot that drives the ego with the traffic's own driver
model and privileged information (the whole world state).

Longitudinal: the IDM acceleration against the ego's leader (straddling vehicles included),
lane ends, the lights it must respect, and the junction lines where it must give way
(:meth:`World.ego_decisions`, the same kernel code as the traffic). Lateral: MOBIL's lane
choice (never into a lane that ends), the route through the lane graph, and the traffic's lane
keeping. :func:`expert_actions` turns that into one action per world in the env's own action
space (meta, discrete or continuous). Use from an env: ``env.unwrapped.expert_action()``
(vector env: ``expert_actions()``).
"""

from __future__ import annotations

import numpy as np

from .traffic import lateral_steer


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
        a = np.full(w.n, 1, np.int64)
        a = np.where(change & (r.lane_left[lane] == best), 0, a)
        a = np.where(change & (r.lane_right[lane] == best), 2, a)
        # the speed level that tracks the driver model: where its acceleration leads within the
        # next decision period (at least 2 s ahead, as speed levels are coarse)
        lv = core.levels
        period = max(1.0 / c.policy_frequency, 2.0)
        v_next = np.maximum(w.v[:, 0] + acc * period, 0.0)
        cur = lv[core.speed_idx]
        step = np.diff(lv).min() if len(lv) > 1 else 1.0
        faster = (v_next > cur + 0.5 * step) & (core.speed_idx < len(lv) - 1)
        slower = ((v_next < cur - 0.25 * step) | (acc < -1.0)) & (core.speed_idx > 0)
        a = np.where((a == 1) & slower, 4, a)
        a = np.where((a == 1) & faster & ~slower, 3, a)
        return a
    # direct control: keep a target lane in the world's ego slot
    w.tlane[:, 0] = np.where(change, best, tl)
    e = w.d[:, 0] - r.lane_offset[w.tlane[:, 0]]
    steer = lateral_steer(e, w.h[:, 0] - w.road_h[:, 0], w.v[:, 0], w.wheelbase[:, 0], p.max_steer)
    u = np.stack([steer / p.max_steer, np.clip(acc / p.max_accel, 0, 1), np.clip(-acc / p.max_brake, 0, 1)], -1)
    if c.action == "continuous":
        return u.astype(np.float32)
    # discrete: nearest of the seven combinations
    tab = core.discrete_table
    cost = ((tab[None, :, :] - u[:, None, :]) ** 2).sum(-1)
    return np.argmin(cost, 1)
