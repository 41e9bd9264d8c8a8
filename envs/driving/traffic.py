"""Driver and vehicle models as scalar numba functions: IDM, lane keeping, the kinematic bicycle
with its steering-rate and friction limits, behaviour styles. numpy + numba only.

Each model exists once, as a compiled scalar function the physics kernel calls per vehicle;
the numpy-callable versions (``idm_accel``, ``lateral_slip``, ...) are ufuncs or wrappers
built from the same functions, for tests, the expert and the docs.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .jit import no_alloc
from .rng import uniform

__all__ = [
    "STYLES",
    "STYLE_NAMES",
    "idm",
    "acc_model",
    "idm_accel",
    "idm_equilibrium_gap",
    "lateral_slip",
    "lateral_steer",
    "slip_from_steer",
    "steer_from_slip",
    "limit_slip",
    "bicycle_step",
    "speed_command",
    "wrap_angle",
    "uniform",
]

#: behaviour styles, one row each: desired-speed factor v0f [-], time headway T [s], max
#: acceleration a [m/s^2], comfortable deceleration b [m/s^2], jam distance s0 [m], MOBIL
#: politeness p [-] (also: makes room for merging vehicles when > 0.1), MOBIL threshold [m/s^2]
STYLES = np.array(
    [
        # v0f   T    a    b    s0   p    thr
        [1.00, 1.5, 2.0, 3.0, 2.0, 0.3, 0.2],  # 0 normal
        [1.10, 1.1, 3.0, 4.0, 1.5, 0.0, 0.1],  # 1 aggressive
        [0.85, 2.0, 1.5, 2.5, 3.0, 0.6, 0.4],  # 2 defensive
    ]
)
STYLE_NAMES = ("normal", "aggressive", "defensive")


@no_alloc
def idm(v, v0, gap, dv, a, b, T, s0):
    """Intelligent Driver Model acceleration [m/s^2] (Treiber, Hennecke & Helbing 2000), unbounded.

    Speed ``v`` [m/s], desired speed ``v0`` [m/s], bumper gap to the leader ``gap`` [m] (inf when
    free), approach rate ``dv = v - v_leader`` [m/s], max acceleration ``a`` and comfortable
    deceleration ``b`` [m/s^2], time headway ``T`` [s], jam distance ``s0`` [m]; exponent 4.
    The caller bounds the result to the vehicle's acceleration limits.
    """
    s_star = s0 + max(0.0, v * T + v * dv / (2.0 * np.sqrt(a * b)))
    r = s_star / max(gap, 0.1)
    x = v / max(v0, 0.1)
    x2 = x * x
    return a * (1.0 - x2 * x2 - r * r)


@no_alloc
def acc_model(v, v0, gap, v_lead, a_lead, a, b, T, s0, coolness=0.99):
    """The ACC model (enhanced IDM) of Kesting, Treiber & Helbing (2010), Treiber & Kesting,
    *Traffic Flow Dynamics* (2013), section 11.3.7 [m/s^2].

    IDM blended with the constant-acceleration heuristic (CAH): when the gap is short but the
    leader is not closing in (e.g. a vehicle just cut in ahead at a similar speed), it brakes
    mildly instead of hard. ``v_lead`` [m/s] and ``a_lead`` [m/s^2] are the leader's speed and
    acceleration; the other arguments as in :func:`idm`; ``coolness`` c = 0.99 as published.
    """
    a_idm = idm(v, v0, gap, v - v_lead, a, b, T, s0)
    if gap <= 0.1 or not gap < np.inf:
        return a_idm
    al = min(a_lead, a)
    dv = v - v_lead
    if v_lead * dv <= -2.0 * gap * al:
        den = v_lead * v_lead - 2.0 * gap * al
        a_cah = v * v * al / den if den > 1e-9 else -v * v / (2.0 * gap)  # the limit for a stopped leader
    else:
        a_cah = al - (dv * dv if dv > 0.0 else 0.0) / (2.0 * gap)
    if a_idm >= a_cah:
        return a_idm
    return (1.0 - coolness) * a_idm + coolness * (a_cah + b * np.tanh((a_idm - a_cah) / b))


@nb.vectorize(["float64(float64, float64, float64, float64, float64, float64, float64, float64)"], cache=True)
def idm_accel(v, v0, gap, dv, a, b, T, s0):
    """:func:`idm` over arrays (a numpy ufunc of the same function)."""
    return idm(v, v0, gap, dv, a, b, T, s0)


def idm_equilibrium_gap(v, v0, T, s0, delta: float = 4.0):
    """Gap [m] at which IDM keeps speed ``v`` [m/s] behind a leader at the same speed."""
    return (s0 + v * T) / np.sqrt(1.0 - (v / v0) ** delta)


@no_alloc
def wrap_angle(a):
    """Angle wrapped to [-pi, pi) [rad]."""
    return (a + np.pi) % (2 * np.pi) - np.pi


LANE_CHANGE_SPEED = 2.0  # lateral speed of lane keeping and lane changes, at most [m/s]
SIN_LANE_CHANGE = np.sin(np.deg2rad(15.0))  # and a heading at most 15 deg off the lane [-] ...
SIN_LANE_CHANGE_SLOW = np.sin(np.deg2rad(35.0))  # ... or 35 deg when slow enough to move sideways at that speed [-]


@no_alloc
def lateral_slip(e, dh_road, v, wheelbase, max_sin_beta, long_vehicle=False, tau_lat=1.0, tau_heading=0.4):
    """Lane keeping: sine of the slip angle [-] that steers a vehicle onto a lane centre.

    Lateral error ``e = d - d_target`` [m] (left positive), heading error relative to the road
    ``dh_road`` [rad], speed ``v`` [m/s], ``wheelbase`` [m], limit ``max_sin_beta`` [-]. A
    lateral-position P-loop commands a heading relative to the road: at speed at most 15 deg (a
    4 m lane change then takes about 2 s or more), at low speed up to the angle at which the
    vehicle moves sideways at ``LANE_CHANGE_SPEED`` (at most 35 deg, so a stopped merger can turn
    in within a few metres; a ``long_vehicle`` (truck) keeps 15 deg, or its body would sweep the
    next lane); a heading P-loop commands a yaw rate (as in highway-env's controller).
    The steering-rate and friction limits are applied by :func:`limit_slip`.
    """
    vv = max(v, 1.0)
    lim = SIN_LANE_CHANGE if long_vehicle else min(SIN_LANE_CHANGE_SLOW, max(SIN_LANE_CHANGE, LANE_CHANGE_SPEED / vv))
    h_cmd = np.arcsin(min(max(-e / (tau_lat * vv), -lim), lim))
    h_err = h_cmd - wrap_angle(dh_road)
    sb = wheelbase / (2 * tau_heading) / vv * h_err
    return min(max(sb, -max_sin_beta), max_sin_beta)


@no_alloc
def slip_from_steer(steer):
    """Sine of the slip angle [-] for a front-wheel angle ``steer`` [rad] (centre reference, lr = lf)."""
    return np.sin(np.arctan(0.5 * np.tan(steer)))


@no_alloc
def steer_from_slip(sin_beta):
    """Front-wheel angle [rad] for a slip angle of sine ``sin_beta`` [-] (lr = lf)."""
    return np.arctan(2.0 * np.tan(np.arcsin(sin_beta)))


@no_alloc
def limit_slip(steer_prev, steer_cmd, v, wheelbase, max_steer, steer_rate, lat_accel, dt):
    """Front-wheel angle [rad] after one step of ``dt`` [s] towards ``steer_cmd`` [rad] under the
    vehicle's limits: |angle| <= ``max_steer`` [rad], |rate| <= ``steer_rate`` [rad/s], and the
    friction limit on lateral acceleration ``v^2 tan(angle) / wheelbase <= lat_accel`` [m/s^2].
    Returns ``(steer, sin_beta)``."""
    cmd = min(max(steer_cmd, -max_steer), max_steer)
    step = steer_rate * dt
    steer = min(max(cmd, steer_prev - step), steer_prev + step)
    if v > 0.1:
        tmax = lat_accel * wheelbase / (v * v)
        if np.tan(abs(steer)) > tmax:
            steer = np.arctan(tmax) * (1.0 if steer > 0 else -1.0)
    return steer, slip_from_steer(steer)


@no_alloc
def speed_command(v, target, gain, max_brake, max_accel):
    """Acceleration [m/s^2] of the meta-action speed controller: a P-controller with ``gain``
    [1/s] from speed ``v`` towards ``target`` [m/s], within [-``max_brake``, ``max_accel``]."""
    return min(max(gain * (target - v), -max_brake), max_accel)


@no_alloc
def bicycle_step(x, y, h, v, sin_beta, acc, wheelbase, dt, v_max):
    """One Euler step of the kinematic bicycle model (reference point at the centre, lr = lf).

    Position ``x, y`` [m], heading ``h`` [rad] (not wrapped), speed ``v`` [m/s], sine of the
    slip angle [-], acceleration ``acc`` [m/s^2], ``wheelbase`` [m], ``dt`` [s]. Lateral
    acceleration is ``v^2 * 2 sin_beta / wheelbase``. Returns the new ``(x, y, h, v)``; the speed
    is clipped to [0, ``v_max``] (no reversing).
    """
    cb = np.sqrt(1.0 - sin_beta * sin_beta)
    ch, sh = np.cos(h), np.sin(h)
    vdt = v * dt
    x = x + vdt * (ch * cb - sh * sin_beta)
    y = y + vdt * (sh * cb + ch * sin_beta)
    h = h + vdt * sin_beta / (0.5 * wheelbase)
    v = min(max(v + acc * dt, 0.0), v_max)
    return x, y, h, v


def lateral_steer(e, dh_road, v, wheelbase, max_steer):
    """Front-wheel angle [rad] of :func:`lateral_slip`'s lane keeping (numpy arrays)."""
    e, dh, v, wb = np.broadcast_arrays(*(np.asarray(a, float) for a in (e, dh_road, v, wheelbase)))
    sb_max = float(slip_from_steer(max_steer))
    out = np.empty(e.shape)
    for idx in np.ndindex(e.shape):  # a few ego values per decision, not the hot path
        out[idx] = steer_from_slip(lateral_slip(e[idx], dh[idx], v[idx], wb[idx], sb_max))
    return out
