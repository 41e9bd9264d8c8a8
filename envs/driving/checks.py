"""Physical invariants of the traffic, checked after every physics step (property tests and the
expert-quality benchmark share this monitor). numpy only, vectorized over worlds and slots.

Checked per world, over the traffic (the ego is the policy's business):

- **overlap**: no two traffic boxes overlap (separating-axis test);
- **bounded acceleration**: every applied longitudinal acceleration lies in
  [-``emergency_decel``, the vehicle's maximum acceleration] and every lateral acceleration
  within ``max_lateral_accel`` (plus a small tolerance for the discrete step);
- **finite**: every position, heading and speed is finite;
- **no vehicle stopped across a lane line** (speed < 0.1 m/s, centre more than 0.6 m off its
  lane centre) for more than ``straddle_limit`` seconds (scripted actors excepted);
- **no vehicle stopped for ``stuck_limit`` seconds with free road ahead**: nothing within
  ``free_distance`` metres ahead in a corridor of its width, no red or amber light governing
  its lane within that distance, not at the end of a lane that ends, and not giving way to a
  vehicle within 60 m.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .collision import overlap_counts
from .state import SCRIPTED, STATIC, TRAFFIC


@dataclass
class InvariantMonitor:
    """Accumulates invariant violations of a :class:`~.world.World` over physics steps."""

    world: object
    accel_tolerance: float = 1e-6  # [m/s^2]
    lat_tolerance: float = 0.5  # [m/s^2] (the discrete step's lateral acceleration estimate)
    straddle_limit: float = 5.0  # [s]
    stuck_limit: float = 15.0  # [s]
    free_distance: float = 30.0  # [m]
    decel_bound: float | None = None  # checked bound; None: the world's emergency deceleration [m/s^2]
    counts: dict = field(default_factory=lambda: dict(steps=0, vehicle_steps=0, overlaps=0, accel=0, lateral=0,
                                                       nonfinite=0, straddle=0, stuck=0))
    worst: dict = field(default_factory=lambda: dict(decel=0.0, accel=0.0, lateral=0.0, straddle_s=0.0, stuck_s=0.0))

    def __post_init__(self):
        w = self.world
        self._straddle = np.zeros((w.n, w.V))
        self._stuck = np.zeros((w.n, w.V))

    def update(self, alive=None) -> None:
        """Check the world's state after a physics step; ``alive`` (N,) bool masks the worlds
        whose episode is still running (default: all)."""
        w, c, wst = self.world, self.counts, self.worst
        alive = np.ones(w.n, bool) if alive is None else np.asarray(alive, bool)
        traffic = w.active & (w.kind == TRAFFIC) & alive[:, None]
        c["steps"] += 1
        c["vehicle_steps"] += int(traffic.sum())
        c["overlaps"] += int(overlap_counts(w, exclude_ego=True)[alive].sum())
        bound = w.p.emergency_decel if self.decel_bound is None else self.decel_bound
        acc = np.where(traffic, w.acc, 0.0)
        c["accel"] += int(((acc < -bound - self.accel_tolerance) | (acc > w.a + self.accel_tolerance))[traffic].sum())
        c["lateral"] += int((np.abs(w.lat_acc) > w.p.max_lateral_accel + self.lat_tolerance)[traffic].sum())
        wst["decel"] = min(wst["decel"], float(acc.min(initial=0.0)))
        wst["accel"] = max(wst["accel"], float(acc.max(initial=0.0)))
        wst["lateral"] = max(wst["lateral"], float(np.abs(np.where(traffic, w.lat_acc, 0.0)).max(initial=0.0)))
        moving = w.active & (w.kind != STATIC) & alive[:, None]
        finite = np.isfinite(w.x) & np.isfinite(w.y) & np.isfinite(w.h) & np.isfinite(w.v)
        c["nonfinite"] += int((~finite & moving).sum())
        stopped = traffic & (w.v < 0.1)
        r = w.road
        off = np.abs(w.d - r.lane_offset[w.lane])
        self._straddle = np.where(stopped & (off > 0.6), self._straddle + w.dt, 0.0)
        c["straddle"] += int((self._straddle > self.straddle_limit).sum())
        wst["straddle_s"] = max(wst["straddle_s"], float(self._straddle.max(initial=0.0)))
        free = stopped & self._free_road_ahead()
        self._stuck = np.where(free, self._stuck + w.dt, 0.0)
        c["stuck"] += int((self._stuck > self.stuck_limit).sum())
        wst["stuck_s"] = max(wst["stuck_s"], float(self._stuck.max(initial=0.0)))

    def _free_road_ahead(self) -> np.ndarray:
        """(N, V) bool: nothing blocks the vehicle within ``free_distance`` ahead."""
        w, D = self.world, self.free_distance
        c, s = np.cos(w.h), np.sin(w.h)
        dx = w.x[:, None, :] - w.x[:, :, None]  # (N, i, j): j relative to i
        dy = w.y[:, None, :] - w.y[:, :, None]
        fx = dx * c[:, :, None] + dy * s[:, :, None]
        fy = -dx * s[:, :, None] + dy * c[:, :, None]
        half = 0.5 * (w.width[:, :, None] + w.width[:, None, :]) + 0.5
        ahead = w.active[:, None, :] & (fx > 0.0) & (fx < D + 0.5 * (w.length[:, :, None] + w.length[:, None, :])) & (np.abs(fy) < half)
        np.einsum("nii->ni", ahead)[...] = False
        blocked = ahead.any(-1)
        r, tabs = w.road, w.tables
        lane = w.tlane
        to_end = r.lane_length[lane] - w.s - 0.5 * w.length
        g = tabs.LI[lane, 4]
        if len(w.lights):
            st = np.take_along_axis(w.light_state(), np.maximum(g, 0), 1)
            blocked |= (g >= 0) & (st < 2) & (to_end < D)
        blocked |= w.lane_ends[lane] & (to_end < 10.0)
        y = w.yielding_to
        yy = np.maximum(y, 0)
        near = np.hypot(np.take_along_axis(w.x, yy, 1) - w.x, np.take_along_axis(w.y, yy, 1) - w.y) < 60.0
        blocked |= (y >= 0) & near
        blocked |= w.kind == SCRIPTED
        return ~blocked

    def ok(self) -> bool:
        c = self.counts
        return not any(c[k] for k in ("overlaps", "accel", "lateral", "nonfinite", "straddle", "stuck"))
