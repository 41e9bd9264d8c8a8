"""The ego's dynamics over one env step, for comfort and safety metrics. numpy only.

Per physics step of ``dt`` seconds: longitudinal acceleration ``a_lon = dv/dt`` [m/s^2],
lateral acceleration ``a_lat = v * yaw_rate`` [m/s^2], their jerks [m/s^3] (finite differences
of the accelerations), and the time to collision with the ego's leader [s] (bumper gap over
closing speed; the leader is the vehicle ahead in the ego's lane, or in the lane it is moving
into). An env step reports the maxima of the absolute values and the minimum TTC over its
physics steps (``info["max_accel_lon"]`` ...).
"""

from __future__ import annotations

import numpy as np


class EgoDynamics:
    """Running maxima of the ego's |acceleration| and |jerk| and the minimum TTC, per world."""

    def __init__(self, n: int):
        self.n = n
        z = lambda: np.zeros(n)  # noqa: E731
        self.prev_v, self.prev_h, self.prev_alon, self.prev_alat = z(), z(), z(), z()
        self.fresh = np.ones(n, bool)  # no previous physics step yet (after a reset): no acceleration
        self.max_alon, self.max_alat, self.max_jlon, self.max_jlat = z(), z(), z(), z()
        self.alon, self.alat = z(), z()  # signed accelerations of the last physics step [m/s^2]
        self.min_ttc = np.full(n, np.inf)

    def reset(self, world, rows) -> None:
        self.prev_v[rows] = world.v[rows, 0]
        self.prev_h[rows] = world.h[rows, 0]
        self.prev_alon[rows] = 0.0
        self.prev_alat[rows] = 0.0
        self.alon[rows] = 0.0
        self.alat[rows] = 0.0
        self.fresh[rows] = True

    def start_step(self) -> None:
        """Clear the maxima at the start of an env step."""
        for a in (self.max_alon, self.max_alat, self.max_jlon, self.max_jlat):
            a[:] = 0.0
        self.min_ttc[:] = np.inf

    def update(self, world) -> None:
        """Account for the physics step just taken."""
        dt = world.dt
        v, h = world.v[:, 0], world.h[:, 0]
        alon = (v - self.prev_v) / dt
        dh = (h - self.prev_h + np.pi) % (2 * np.pi) - np.pi
        alat = v * dh / dt
        fresh = self.fresh
        jlon = np.where(fresh, 0.0, (alon - self.prev_alon) / dt)
        jlat = np.where(fresh, 0.0, (alat - self.prev_alat) / dt)
        np.maximum(self.max_alon, np.abs(alon), out=self.max_alon)
        np.maximum(self.max_alat, np.abs(alat), out=self.max_alat)
        np.maximum(self.max_jlon, np.abs(jlon), out=self.max_jlon)
        np.maximum(self.max_jlat, np.abs(jlat), out=self.max_jlat)
        gap, dv = world.ego_lead_gap, world.ego_lead_dv
        with np.errstate(divide="ignore", invalid="ignore"):
            ttc = np.where((dv > 1e-6) & np.isfinite(gap), np.maximum(gap, 0.0) / dv, np.inf)
        np.minimum(self.min_ttc, ttc, out=self.min_ttc)
        self.prev_v, self.prev_h = v.copy(), h.copy()
        self.prev_alon, self.prev_alat = alon, alat
        self.alon, self.alat = alon, alat
        self.fresh[:] = False
