"""Traffic behaviour as array functions: IDM, MOBIL, lateral lane keeping, lane occupancy
queries, traffic lights, behaviour styles and a counter-based random generator. numpy only.

All functions work elementwise on arrays of any (broadcastable) shape; nothing loops over
vehicles in Python.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STYLES",
    "idm_accel",
    "lateral_steer",
    "bicycle_step",
    "Occupancy",
    "light_is_green",
    "uniform",
]

#: behaviour styles: desired-speed factor [-], time headway T [s], max accel a [m/s^2],
#: comfortable decel b [m/s^2], jam distance s0 [m], MOBIL politeness p [-], MOBIL threshold [m/s^2]
STYLES = np.array(
    [
        # v0f   T    a    b    s0   p    thr
        [1.00, 1.5, 3.0, 5.0, 2.0, 0.3, 0.2],  # 0 normal
        [1.15, 1.0, 4.0, 6.0, 1.5, 0.0, 0.1],  # 1 aggressive
        [0.85, 2.0, 2.0, 4.0, 3.0, 0.6, 0.4],  # 2 defensive
    ]
)
STYLE_NAMES = ("normal", "aggressive", "defensive")


def idm_accel(v, v0, gap, dv, a, b, T, s0, delta: float = 4.0):
    """Intelligent Driver Model acceleration [m/s^2].

    Args: speed ``v`` [m/s], desired speed ``v0`` [m/s], bumper gap to the leader ``gap`` [m]
    (np.inf when free), approach rate ``dv = v - v_leader`` [m/s], max accel ``a`` and
    comfortable decel ``b`` [m/s^2], time headway ``T`` [s], jam distance ``s0`` [m].
    """
    s_star = s0 + np.maximum(0.0, v * T + v * dv / (2.0 * np.sqrt(a * b)))
    g = np.maximum(gap, 0.1)
    return a * (1.0 - (v / np.maximum(v0, 0.1)) ** delta - (s_star / g) ** 2)


def idm_equilibrium_gap(v, v0, T, s0, delta: float = 4.0):
    """Gap [m] at which IDM keeps speed ``v`` [m/s] behind a leader at the same speed."""
    return (s0 + v * T) / np.sqrt(1.0 - (v / v0) ** delta)


def wrap_angle(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def lateral_steer(e, dh_road, v, wheelbase, max_steer, tau_lat: float = 0.6, tau_heading: float = 0.2):
    """Steering angle [rad] that brings a vehicle onto a lane centre.

    Args: lateral error ``e = d - d_target`` [m] (left positive), heading error relative to the
    road ``dh_road = heading - road_heading`` [rad], speed ``v`` [m/s], wheelbase [m].
    Cascade of a lateral position P-loop and a heading P-loop (as in highway-env).
    """
    vv = np.maximum(v, 1.0)
    h_cmd = np.arcsin(np.clip(-e / tau_lat / vv, -1.0, 1.0))
    h_err = np.clip(h_cmd, -np.pi / 4, np.pi / 4) - wrap_angle(dh_road)
    rate = h_err / tau_heading
    slip = np.arcsin(np.clip(wheelbase / 2 / vv * rate, -1.0, 1.0))
    return np.clip(np.arctan(2 * np.tan(slip)), -max_steer, max_steer)


def bicycle_step(x, y, h, v, steer, acc, wheelbase, dt, v_max):
    """One Euler step of the kinematic bicycle model (reference point at the centre, lr = lf).

    Args: position ``x, y`` [m], heading ``h`` [rad], speed ``v`` [m/s], front-wheel angle
    ``steer`` [rad], acceleration ``acc`` [m/s^2], ``wheelbase`` [m], ``dt`` [s], ``v_max`` [m/s].
    Returns the new ``(x, y, h, v)``; speed is clipped to [0, v_max] (no reversing).
    """
    beta = np.arctan(0.5 * np.tan(steer))
    hb = h + beta
    x = x + v * np.cos(hb) * dt
    y = y + v * np.sin(hb) * dt
    h = wrap_angle(h + v * np.sin(beta) / (0.5 * wheelbase) * dt)
    v = np.clip(v + acc * dt, 0.0, v_max)
    return x, y, h, v


class Occupancy:
    """Vehicles sorted by (world, lane, s) for leader/follower queries with ``searchsorted``.

    ``world`` and ``lane`` are int arrays (lane -1 = not on the road), ``s`` [m]; all (N, V).
    """

    def __init__(self, lane, s, num_lanes: int, big: float):
        n, v = lane.shape
        self.big, self.num_lanes = big, num_lanes
        self.world = np.arange(n)[:, None]
        base = (self.world * num_lanes + lane) * big
        key = np.where(lane >= 0, base + np.clip(s, -big / 4, big / 2) + big / 4, np.inf).ravel()
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]
        self.count = n * v

    def _base(self, lane, world=None):
        w = self.world if world is None else world
        return (w * self.num_lanes + lane) * self.big

    def leader(self, lane, s, world=None):
        """Index (flat, into (N*V)) of the first vehicle strictly ahead of ``s`` in ``lane``, or -1."""
        base = self._base(lane, world)
        q = base + np.clip(s, -self.big / 4, self.big / 2) + self.big / 4
        j = np.searchsorted(self.keys, q, side="right")
        jc = np.minimum(j, self.count - 1)
        ok = (j < self.count) & (self.keys[jc] < base + self.big) & (lane >= 0)
        return np.where(ok, self.order[jc], -1)

    def follower(self, lane, s, world=None):
        """Index of the last vehicle strictly behind ``s`` in ``lane``, or -1."""
        base = self._base(lane, world)
        q = base + np.clip(s, -self.big / 4, self.big / 2) + self.big / 4
        j = np.searchsorted(self.keys, q, side="left") - 1
        jc = np.maximum(j, 0)
        ok = (j >= 0) & (self.keys[jc] >= base) & (lane >= 0)
        return np.where(ok, self.order[jc], -1)

    def first(self, lane, world=None):
        """Index of the rearmost vehicle in ``lane``, or -1."""
        return self.leader(lane, np.full(np.shape(lane), -self.big / 4), world)

    def count_between(self, lane, s0, s1, world=None):
        """Number of vehicles in ``lane`` with s0 < s < s1."""
        base = self._base(lane, world) + self.big / 4
        lo = np.searchsorted(self.keys, base + np.clip(s0, -self.big / 4, self.big / 2), side="right")
        hi = np.searchsorted(self.keys, base + np.clip(s1, -self.big / 4, self.big / 2), side="left")
        return np.where(lane >= 0, np.maximum(hi - lo, 0), 0)


def light_is_green(t, cycle, green_start, green_end):
    """Whether a light on a fixed cycle is green at time ``t`` [s] (all times in seconds)."""
    ph = np.mod(t, cycle)
    return (ph >= green_start) & (ph < green_end)


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


def uniform(seed, counter, index, purpose: int):
    """Counter-based uniform random numbers in [0, 1) (splitmix64 hash).

    ``uniform(seed, t, i, p)`` depends only on its arguments, so world ``w`` of a batch draws
    exactly what a single world with the same seed draws, whatever the batch size.
    ``seed`` uint64 array (N, 1) or (N,), ``counter`` int, ``index`` int array.
    """
    with np.errstate(over="ignore"):
        z = np.asarray(seed, np.uint64) + _GOLD * (np.asarray(counter, np.uint64) + np.uint64(1))
        z = _mix(z)
        z = _mix(z ^ (np.asarray(index, np.uint64) * _M2 + np.uint64(purpose) * _GOLD))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
