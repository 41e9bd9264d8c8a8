"""Physics and traffic parameters packed into one float vector for the kernel.

:class:`~.world.WorldParams` is the typed, documented configuration; :func:`pack` turns it
(plus a few map values) into the vector the numba kernel reads with the constants below.
"""

from __future__ import annotations

import numpy as np

(P_DT, P_VMAX, P_EMERG, P_LATACC, P_STEER_RATE, P_MAX_STEER, P_EGO_ACCEL, P_EGO_BRAKE, P_SAFE_DECEL, P_EGO_SAFE_DECEL,
 P_KEEP_RIGHT, P_SPEED_GAIN, P_CRIT_GAP, P_COURTESY, P_SPAWN_CLEAR, P_EGO_CLEAR, P_LC_STEPS, P_SPAWN_TRIES, P_BIG,
 P_AMBER, P_CYCLE, P_WIN0, P_WIN1, P_WINDOW_MODE, P_START_S, P_LANE_MODE, P_STYLE_C0, P_STYLE_C1, P_DENS_LO, P_DENS_HI,
 P_SPEEDF_LO, P_SPEEDF_HI, P_EGO_SPEED, P_VEHICLES, P_VEH_LEN, P_VEH_WID, P_WHEELBASE, P_MERGE_LOOK, P_SPREAD,
 P_START_JITTER, P_EGO_SPEED_JITTER, P_MERGE_SAFE_DECEL, P_TRUCK_SHARE, P_DIST_RATE, P_DIST_DEPTH_LO, P_DIST_DEPTH_HI,
 P_DIST_HOLD_LO, P_DIST_HOLD_HI) = range(48)
NP = 48


def pack(p, m, lane_mode: bool, big: float) -> np.ndarray:
    """The kernel's parameter vector from WorldParams ``p`` and map ``m``."""
    out = np.zeros(NP)
    cdf = np.cumsum(p.style_probs) / np.sum(p.style_probs)
    values = {
        P_DT: 1.0 / p.sim_frequency, P_VMAX: p.max_speed, P_EMERG: p.emergency_decel, P_LATACC: p.max_lateral_accel,
        P_STEER_RATE: p.max_steer_rate, P_MAX_STEER: p.max_steer, P_EGO_ACCEL: p.max_accel, P_EGO_BRAKE: p.max_brake,
        P_SAFE_DECEL: p.safe_decel, P_EGO_SAFE_DECEL: p.ego_safe_decel, P_KEEP_RIGHT: p.keep_right_bias,
        P_SPEED_GAIN: p.speed_gain, P_CRIT_GAP: p.critical_gap, P_COURTESY: p.courtesy_decel,
        P_SPAWN_CLEAR: p.spawn_clearance, P_EGO_CLEAR: p.ego_clearance,
        P_LC_STEPS: max(1, int(round(p.lane_change_period * p.sim_frequency))), P_SPAWN_TRIES: p.spawn_per_period, P_BIG: big,
        P_AMBER: m.amber, P_CYCLE: max(m.cycle, 1e-6), P_WIN0: m.window[0], P_WIN1: m.window[1],
        P_WINDOW_MODE: float(m.spawn_mode == "window"), P_START_S: m.start_s, P_LANE_MODE: float(lane_mode),
        P_STYLE_C0: cdf[0], P_STYLE_C1: cdf[1], P_DENS_LO: p.density_range[0], P_DENS_HI: p.density_range[1],
        P_SPEEDF_LO: p.speed_factor_range[0], P_SPEEDF_HI: p.speed_factor_range[1], P_EGO_SPEED: p.ego_speed,
        P_VEHICLES: p.vehicles, P_VEH_LEN: p.vehicle_length, P_VEH_WID: p.vehicle_width, P_WHEELBASE: p.wheelbase,
        P_MERGE_LOOK: 80.0, P_SPREAD: p.speed_spread, P_START_JITTER: p.ego_start_jitter, P_EGO_SPEED_JITTER: p.ego_speed_jitter,
        P_MERGE_SAFE_DECEL: p.merge_safe_decel, P_TRUCK_SHARE: p.truck_share,
        P_DIST_RATE: p.disturbance_rate, P_DIST_DEPTH_LO: p.disturbance_depth[0], P_DIST_DEPTH_HI: p.disturbance_depth[1],
        P_DIST_HOLD_LO: p.disturbance_hold[0], P_DIST_HOLD_HI: p.disturbance_hold[1],
    }
    for k, v in values.items():
        out[k] = v
    return out
