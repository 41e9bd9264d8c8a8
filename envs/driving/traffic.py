"""Traffic behaviour as array functions: IDM, MOBIL, lateral lane keeping, lane occupancy
queries, traffic lights, behaviour styles and a counter-based random generator. numpy only.

All functions work elementwise on arrays of any (broadcastable) shape; nothing loops over
vehicles in Python.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "STYLES",
    "idm_accel",
    "lateral_slip",
    "lateral_steer",
    "slip_from_steer",
    "steer_from_slip",
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


def idm_accel(v, v0, gap, dv, a, b, T, s0, delta: float = 4.0, two_sqrt_ab=None):
    """Intelligent Driver Model acceleration [m/s^2].

    Args: speed ``v`` [m/s], desired speed ``v0`` [m/s], bumper gap to the leader ``gap`` [m]
    (np.inf when free), approach rate ``dv = v - v_leader`` [m/s], max accel ``a`` and
    comfortable decel ``b`` [m/s^2], time headway ``T`` [s], jam distance ``s0`` [m];
    optionally ``two_sqrt_ab = 2 * sqrt(a * b)`` [m/s^2] precomputed by the caller.
    """
    if two_sqrt_ab is None:
        two_sqrt_ab = 2.0 * np.sqrt(a * b)
    s_star = s0 + np.maximum(0.0, v * (T + dv / two_sqrt_ab))
    r = s_star / np.maximum(gap, 0.1)
    x = v / np.maximum(v0, 0.1)
    free = x * x * x * x if delta == 4.0 else x**delta
    return a * (1.0 - free - r * r)


def idm_equilibrium_gap(v, v0, T, s0, delta: float = 4.0):
    """Gap [m] at which IDM keeps speed ``v`` [m/s] behind a leader at the same speed."""
    return (s0 + v * T) / np.sqrt(1.0 - (v / v0) ** delta)


def _clip(a, lo, hi):
    """np.clip without its Python-level overhead."""
    return np.minimum(np.maximum(a, lo), hi)


def wrap_angle(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def lateral_slip(e, dh_road, v, wheelbase, max_steer, tau_lat: float = 0.6, tau_heading: float = 0.2):
    """Lane keeping: sine of the slip angle ``beta`` [-] that brings a vehicle onto a lane centre.

    Args: lateral error ``e = d - d_target`` [m] (left positive), heading error relative to the
    road ``dh_road = heading - road_heading`` [rad], speed ``v`` [m/s], ``wheelbase`` [m],
    front-wheel limit ``max_steer`` [rad]. A lateral-position P-loop commands a heading
    (at most 45 deg off the road), a heading P-loop commands a yaw rate (as in highway-env).
    The front-wheel angle is ``steer_from_slip(result)``.
    """
    vv = np.maximum(v, 1.0)
    h_cmd = np.arcsin(_clip(e / (-tau_lat * vv), -_SIN45, _SIN45))  # = -e / (tau_lat vv), exactly
    h_err = h_cmd - wrap_angle(dh_road)
    sb = _slip_limit(max_steer) if isinstance(max_steer, float) else slip_from_steer(max_steer)
    return _clip(wheelbase / (2 * tau_heading) / vv * h_err, -sb, sb)


@functools.lru_cache(maxsize=64)
def _slip_limit(max_steer: float):
    """``slip_from_steer(max_steer)`` for a scalar limit, computed once (same numpy arithmetic)."""
    return np.sin(np.arctan(0.5 * np.tan(max_steer)))


_SIN45 = np.sin(np.pi / 4)


def slip_from_steer(steer):
    """Sine of the slip angle [-] for a front-wheel angle ``steer`` [rad] (lr = lf)."""
    return np.sin(np.arctan(0.5 * np.tan(steer)))


def steer_from_slip(sin_beta):
    """Front-wheel angle [rad] for a slip angle with sine ``sin_beta`` (lr = lf)."""
    return np.arctan(2.0 * np.tan(np.arcsin(sin_beta)))


def lateral_steer(e, dh_road, v, wheelbase, max_steer, tau_lat: float = 0.6, tau_heading: float = 0.2):
    """Front-wheel angle [rad] of :func:`lateral_slip`'s lane keeping."""
    return steer_from_slip(lateral_slip(e, dh_road, v, wheelbase, max_steer, tau_lat, tau_heading))


def bicycle_step(x, y, h, v, sin_beta, acc, wheelbase, dt, v_max):
    """One Euler step of the kinematic bicycle model (reference point at the centre, lr = lf).

    Args: position ``x, y`` [m], heading ``h`` [rad] (not wrapped), speed ``v`` [m/s], sine of
    the slip angle ``sin_beta = sin(arctan(tan(steer) / 2))`` [-] (see :func:`slip_from_steer`),
    acceleration ``acc`` [m/s^2], ``wheelbase`` [m], ``dt`` [s], ``v_max`` [m/s].
    Returns the new ``(x, y, h, v)``; speed is clipped to [0, v_max] (no reversing).
    """
    cb = np.sqrt(1.0 - sin_beta * sin_beta)  # cos(beta), |beta| < pi/2
    ch, sh = np.cos(h), np.sin(h)
    vdt = v * dt
    x = x + vdt * (ch * cb - sh * sin_beta)  # v dt cos(h + beta)
    y = y + vdt * (sh * cb + ch * sin_beta)  # v dt sin(h + beta)
    h = h + vdt * sin_beta / (0.5 * wheelbase)
    v = _clip(v + acc * dt, 0.0, v_max)
    return x, y, h, v


class Occupancy:
    """Vehicles sorted by (world, lane, s) for leader/follower queries with ``searchsorted``.

    ``lane`` int (N, V) (-1 = not on the road), ``s`` [m] (N, V); optionally ``on_road`` bool
    (N, V) marks the vehicles on the road instead (then ``lane`` must be >= 0 there). Vehicle
    indices returned are flat indices into the (N*V) arrays, -1 for none.
    """

    def __init__(self, lane, s, num_lanes: int, big: float, on_road=None):
        n, v = lane.shape
        self.big, self.num_lanes, self.count = big, num_lanes, n * v
        self.world, wbase, spare = _index_tables(n, v, num_lanes)
        # vehicles off the road get a group of their own each, after all (world, lane) groups,
        # so no two of them are ever neighbours
        group = np.where(lane >= 0 if on_road is None else on_road, wbase + lane, spare).ravel()
        key = group * big + (np.minimum(np.maximum(s.ravel(), -big / 4), big / 2) + big / 4)
        self.order = order = key.argsort(kind="stable")
        self.keys = key[order]
        self._gs = gs = group[order]
        # leader in the own lane = next vehicle in sorted order within the same group
        same = gs[1:] == gs[:-1]
        self._back, self._front = order[:-1][same], order[1:][same]
        own = np.full(self.count, -1, np.int64)
        own[self._back] = self._front
        self.own_leader = own.reshape(n, v)
        self._first_tab = None

    @property
    def own_follower(self):
        """Follower in the own lane (previous vehicle in sorted order, same group), or -1."""
        own = np.full(self.count, -1, np.int64)
        own[self._front] = self._back
        return own.reshape(self.own_leader.shape)

    def neighbours(self, lane, s, world=None):
        """(leader, follower) in ``lane`` around ``s`` with one search; for vehicles that are not
        in ``lane`` themselves (no key equals the query)."""
        base, q = self._q(lane, s, world)
        j = self._search(q, "right")
        jc = np.minimum(j, self.count - 1)
        ok = (j < self.count) & (self.keys[jc] < base + self.big) & (lane >= 0)
        lead = np.where(ok, self.order[jc], -1)
        jf = np.maximum(j - 1, 0)
        okf = (j >= 1) & (self.keys[jf] >= base) & (lane >= 0)
        return lead, np.where(okf, self.order[jf], -1)

    def _search(self, q, side: str):
        """``searchsorted`` of the sorted keys; many queries are sorted first (3x faster: no
        branch mispredictions, cache-friendly), the answer is the same."""
        if q.size <= 256:
            return np.searchsorted(self.keys, q, side=side)
        flat = q.ravel()
        o = np.argsort(flat)
        j = np.empty(flat.size, np.int64)
        j[o] = np.searchsorted(self.keys, flat[o], side=side)
        return j.reshape(q.shape)

    def _q(self, lane, s, world):
        w = self.world if world is None else world
        base = (w * self.num_lanes + lane) * self.big
        return base, base + (np.minimum(np.maximum(s, -self.big / 4), self.big / 2) + self.big / 4)

    def leader(self, lane, s, world=None):
        """Index of the first vehicle strictly ahead of ``s`` in ``lane``, or -1."""
        base, q = self._q(lane, s, world)
        j = self._search(q, "right")
        jc = np.minimum(j, self.count - 1)
        ok = (j < self.count) & (self.keys[jc] < base + self.big) & (lane >= 0)
        return np.where(ok, self.order[jc], -1)

    def follower(self, lane, s, world=None):
        """Index of the last vehicle strictly behind ``s`` in ``lane``, or -1."""
        base, q = self._q(lane, s, world)
        j = self._search(q, "left") - 1
        jc = np.maximum(j, 0)
        ok = (j >= 0) & (self.keys[jc] >= base) & (lane >= 0)
        return np.where(ok, self.order[jc], -1)

    @property
    def first_tab(self):
        """Rearmost vehicle of every (world, lane) group (last entry: -1), built on first use."""
        if self._first_tab is None:
            gs = self._gs
            g = np.arange(len(self.world) * self.num_lanes + 1)
            j = np.minimum(np.searchsorted(gs, g, side="left"), self.count - 1)
            tab = np.where(gs[j] == g, self.order[j], -1)
            tab[-1] = -1
            self._first_tab = tab
        return self._first_tab

    def first(self, lane, world=None):
        """Index of the rearmost vehicle in ``lane``, or -1."""
        w = self.world if world is None else world
        g = np.where(lane >= 0, w * self.num_lanes + lane, len(self.first_tab) - 1)
        return self.first_tab[g]

    def count_between(self, lane, s0, s1, world=None):
        """Number of vehicles in ``lane`` with s0 < s < s1."""
        _, q0 = self._q(lane, s0, world)
        _, q1 = self._q(lane, s1, world)
        lo = np.searchsorted(self.keys, q0, side="right")
        hi = np.searchsorted(self.keys, q1, side="left")
        return np.where(lane >= 0, np.maximum(hi - lo, 0), 0)


@functools.lru_cache(maxsize=32)
def _index_tables(n: int, v: int, num_lanes: int):
    """Constant index arrays of :class:`Occupancy` for n worlds of v slots (read-only): world
    column (n, 1), first group of each world (n, 1), and the spare groups of off-road slots (n, v)."""
    world = np.arange(n)[:, None]
    wbase = world * num_lanes
    spare = n * num_lanes + np.arange(n * v).reshape(n, v)
    for a in (world, wbase, spare):
        a.flags.writeable = False
    return world, wbase, spare


def light_is_green(t, cycle, green_start, green_end):
    """Whether a light on a fixed cycle is green at time ``t`` [s] (all times in seconds)."""
    return np.mod(t - green_start, cycle) < (green_end - green_start)


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


_S30, _S27, _S31, _S11, _ONE = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11), np.uint64(1)


def _mix(z):
    z = z ^ (z >> _S30)
    z = z * _M1
    z = z ^ (z >> _S27)
    z = z * _M2
    return z ^ (z >> _S31)


def uniform(seed, counter, index, purpose):
    """Counter-based uniform random numbers in [0, 1) (splitmix64 hash).

    ``uniform(seed, t, i, p)`` depends only on its arguments, so world ``w`` of a batch draws
    exactly what a single world with the same seed draws, whatever the batch size.
    ``seed`` uint64 array (N, 1) or (N,), ``counter`` int, ``index`` int array.
    """
    with np.errstate(over="ignore"):
        z = np.asarray(seed, np.uint64) + _GOLD * (np.asarray(counter, np.uint64) + _ONE)
        z = _mix(z)
        z = _mix(z ^ (np.asarray(index, np.uint64) * _M2 + np.asarray(purpose, np.uint64) * _GOLD))
    return (z >> _S11).astype(np.float64) * (1.0 / 9007199254740992.0)
