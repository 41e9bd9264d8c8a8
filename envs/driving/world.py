"""The world: N driving worlds over one map, their state arrays, and the Python API around the
physics kernel.

Every per-vehicle quantity is an ``(N, V)`` array view (``world.x``, ``world.v``, ``world.lane``,
...): N worlds (N = 1 for a single env) of V slots; slot 0 is the ego, slots ``1..vehicles``
traffic, the last ``obstacles`` slots free for static obstacles and scripted actors. The
arrays are rows of a few packed arrays (see :mod:`.state`); assigning to a field writes into
it. :meth:`World.step` runs one physics step of every world in the compiled kernel
(:mod:`.physics`, the one copy of the physics); :meth:`World.reset` starts episodes.

Scripted actors: :meth:`World.place_obstacle` puts a static obstacle (a stalled car) or any
kind of vehicle in a slot; :meth:`World.set_script` makes a slot follow a scripted
acceleration / lane (call it every step to play a script); ``ignore_rules`` makes a slot run
red lights and ignore give-way rules. ``light_override`` forces lights per world.
Randomness is counter-based (:mod:`.rng`), so world ``w`` of a batch evolves exactly like a
single world with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .jit import kernel
from . import state as st
from .junctions import GREEN, light_state
from .maps import Map
from .params import P_AMBER, P_CYCLE, P_DT, pack
from .physics import _segments, decide, make_scratch, step_worlds
from .disturbances import clear as clear_disturbance
from .spawning import place, reset_world
from .state import (EGO, HIT_EDGE, HIT_NAMES, HIT_NONE, HIT_OBSTACLE, HIT_VEHICLE, SCRIPTED, STATIC, TRAFFIC)  # noqa: F401
from .tables import build_tables
from .traffic import STYLES

__all__ = ["World", "WorldParams", "EGO", "TRAFFIC", "SCRIPTED", "STATIC", "HIT_NONE", "HIT_VEHICLE", "HIT_EDGE",
           "HIT_OBSTACLE", "HIT_NAMES"]


@dataclass(frozen=True)
class WorldParams:
    """Physics and traffic settings shared by all worlds of a :class:`World`."""

    vehicles: int = 50  # traffic vehicles per world [-]
    obstacles: int = 0  # extra slots for static obstacles / scripted actors [-]
    sim_frequency: float = 15.0  # physics steps per second [Hz]
    vehicle_length: float = 5.0  # [m]
    vehicle_width: float = 2.0  # [m]
    wheelbase: float = 3.0  # [m]
    max_steer: float = 0.6  # front-wheel angle limit [rad]
    max_steer_rate: float = 0.8  # front-wheel angle rate limit [rad/s]
    max_lateral_accel: float = 7.0  # friction limit on lateral acceleration, v^2 tan(steer) / wheelbase [m/s^2]
    max_accel: float = 5.0  # ego throttle limit [m/s^2]
    max_brake: float = 8.0  # ego brake limit [m/s^2]
    emergency_decel: float = 8.0  # traffic's hardest braking (its comfortable braking is per style, 2.5-4) [m/s^2]
    max_speed: float = 40.0  # [m/s]
    ego_speed: float = 25.0  # ego initial speed [m/s]
    style_probs: tuple[float, float, float] = (0.6, 0.2, 0.2)  # normal / aggressive / defensive [-]
    density_range: tuple[float, float] = (0.6, 1.0)  # traffic kept on the map per episode, fraction of `vehicles` [-]
    speed_factor_range: tuple[float, float] = (0.8, 1.0)  # traffic desired-speed factor per episode [-]
    truck_share: float = 0.0  # share of traffic that are trucks: 9 m long, 65% of the desired speed, gentle [-]
    # speed disturbances (disturbances.py): each traffic driver now and then slows to a fraction of its
    # desired speed, braking comfortably, holds it and speeds up again (a stop-and-go wave's seed)
    disturbance_rate: float = 0.0  # disturbances a traffic driver starts per undisturbed second [1/s]
    disturbance_depth: tuple[float, float] = (0.2, 0.5)  # desired-speed factor while disturbed, drawn per disturbance [-]
    disturbance_hold: tuple[float, float] = (3.0, 8.0)  # time held at that factor, drawn per disturbance [s]
    speed_spread: float = 0.4  # each vehicle's desired speed is its style's times U(1 - spread/2, 1 + spread/2) [-]
    ego_start_jitter: float = 10.0  # the ego starts within +-this of the map's start position [m]
    ego_speed_jitter: float = 0.2  # and at ego_speed times U(1 - jitter, 1) [-]
    lane_change_period: float = 1.0  # how often each vehicle reconsiders its lane (MOBIL) [s]
    safe_decel: float = 3.0  # MOBIL: max braking imposed on the new follower [m/s^2]
    ego_safe_decel: float = 1.0  # MOBIL: max braking imposed on the ego when cutting in front of it [m/s^2]
    keep_right_bias: float = 0.1  # MOBIL: incentive for moving right [m/s^2]
    merge_safe_decel: float = 4.0  # MOBIL: max braking (ACC model) imposed on the new follower by a merge from a lane that ends [m/s^2]
    courtesy_decel: float = 4.0  # max braking (ACC model) a polite driver accepts to let a merging vehicle in [m/s^2]
    critical_gap: float = 3.0  # gap acceptance at crossings: time [s] a conflicting vehicle must stay away after one clears (merges: junctions.py)
    spawn_spacing: float = 20.0  # spacing of initial traffic slots along lanes [m]
    spawn_clearance: float = 25.0  # free distance needed in a lane to spawn a vehicle [m]
    ego_clearance: float = 25.0  # no traffic placed within this distance of the ego [m]
    spawn_per_period: int = 3  # respawn attempts per world every lane_change_period [-]
    speed_gain: float = 1.0 / 0.6  # ego speed P-controller gain (meta-actions) [1/s]


def _field(packed: str, idx: int, doc: str):
    def get(self):
        return getattr(self, packed)[idx]

    def put(self, value):
        getattr(self, packed)[idx][...] = value

    return property(get, put, doc=doc)


class World:
    """N worlds over one map. Construct, then :meth:`reset` rows with seeds, then :meth:`step`."""

    def __init__(self, m: Map, n: int = 1, p: WorldParams = WorldParams(), ego_control: str = "direct"):
        if ego_control not in ("direct", "lane"):
            raise ValueError("ego_control must be 'direct' or 'lane'")
        self.map, self.road, self.n, self.p = m, m.road, n, p
        self.ego_control = ego_control
        r = self.road
        self.V = 1 + p.vehicles + p.obstacles
        self.dt = 1.0 / p.sim_frequency
        self.big = 4.0 * (float(r.sec_length.max()) + 100.0)
        # lanes that end (no successor while a neighbour continues): traffic stops at their end
        has_succ = r.lane_nsucc > 0
        nb_succ = np.zeros(r.num_lanes, bool)
        for side in (r.lane_left, r.lane_right):
            nb_succ |= (side >= 0) & has_succ[np.maximum(side, 0)]
        self.lane_ends = ~has_succ & nb_succ
        self.lights = np.asarray(m.lights, np.int64).reshape(-1, 2)
        self.route = np.asarray(m.route, np.int64)
        self.route_cum = np.concatenate([[0.0], np.cumsum(r.sec_length[self.route])[:-1]])
        self.route_length = m.route_length
        self.route_turn, self.route_junction = _route_junctions(r, self.route)
        # curves are taken at half the friction limit (comfort, and room for lane keeping), braking at 3 m/s^2
        self.tables = build_tables(m, self.lane_ends, 0.5 * p.max_lateral_accel, 3.0, p.spawn_spacing, self._make_slots())
        self.P = pack(p, m, ego_control == "lane", self.big)
        shape = (n, self.V)
        self.F = np.zeros((st.NF,) + shape)
        self.I = np.zeros((st.NI,) + shape, np.int64)
        self.B = np.zeros((st.NB,) + shape, bool)
        self.WF = np.zeros((st.NWF, n))
        self.WI = np.zeros((st.NWI, n), np.int64)
        self.WB = np.zeros((st.NWB, n), bool)
        self.F[st.X], self.F[st.Y] = 1e6, 1e6
        self.F[st.SACC] = np.nan
        self.I[st.SLANE] = -1
        self.seed = np.zeros(n, np.uint64)
        #: lights per world: -1 follow the cycle, 0 red, 1 green, 2 amber
        self.light_override = np.full((n, len(self.lights)), -1, np.int64)
        self._scratch = None

    # ------------------------------------------------------------------ fields
    for _array, _names, _doc in (("F", st.FLOAT_FIELDS, "(N, V) float"), ("I", st.INT_FIELDS, "(N, V) int"),
                                 ("B", st.BOOL_FIELDS, "(N, V) bool"), ("WF", st.WORLD_FLOAT_FIELDS, "(N,) float"),
                                 ("WI", st.WORLD_INT_FIELDS, "(N,) int"), ("WB", st.WORLD_BOOL_FIELDS, "(N,) bool")):
        for _i, _name in enumerate(_names):
            locals()[_name] = _field(_array, _i, f"{_doc}: {_name}")
    del _array, _names, _doc, _i, _name

    # ------------------------------------------------------------------ reset
    def _make_slots(self):
        r, m, p = self.road, self.map, self.p
        lanes, ss = [], []
        if m.spawn_mode == "window":
            q = int(self.route[0])
            lo = max(5.0, m.start_s + m.window[0])
            hi = min(r.sec_length[q] - 5.0, m.start_s + m.window[1])
            for ln in range(r.sec_lane[q], r.sec_lane[q + 1]):
                s = np.arange(lo, hi, p.spawn_spacing)
                lanes.append(np.full(len(s), ln)), ss.append(s)
        else:
            weights = np.ones(len(m.populate_lanes)) if m.populate_weights is None else np.asarray(m.populate_weights, float)
            for ln, wt in zip(m.populate_lanes, weights):
                s = np.arange(5.0, r.lane_length[ln] - 5.0, p.spawn_spacing / max(wt, 1e-3))
                lanes.append(np.full(len(s), ln)), ss.append(s)
        return np.concatenate(lanes).astype(np.int64), np.concatenate(ss)

    def reset(self, rows, seeds) -> None:
        """Start new episodes in worlds ``rows`` (int array) with ``seeds`` (uint64 array)."""
        rows = np.asarray(rows, np.int64)
        if rows.size == 0:
            return
        self.seed[rows] = np.asarray(seeds, np.uint64)
        self.light_override[rows] = -1
        for w in rows:  # a handful of rows; the work is compiled
            reset_world(self.F, self.I, self.B, self.WF, self.WI, self.WB, self.seed, self.tables, self.P, int(w))
        # the ego's leader, stop line and decisions as of the start (sensors read them before the first step)
        _ego_decisions(self.F, self.I, self.B, self.WF, self.WI, self.WB, self.tables, self.P, self.light_override, rows)
        self.clear_events(rows)

    def _set_style(self, rows, cols, style) -> None:
        """Give slots a behaviour style (a row of :data:`~.traffic.STYLES`)."""
        par = STYLES[np.asarray(style)]
        for k, idx in enumerate((st.V0F, st.HT, st.AMAX, st.BCOMF, st.S0, st.POL, st.THR)):
            self.F[idx][rows, cols] = par[..., k]
        self.I[st.STYLE][rows, cols] = style

    def clear_events(self, rows=slice(None)) -> None:
        self.WB[:, rows] = False
        self.WI[st.HIT, rows] = HIT_NONE
        self.WI[st.HIT_SLOT, rows] = -1
        self.WI[st.CTYPE, rows] = 0

    # ------------------------------------------------------------------ scripted actors
    def place_obstacle(self, world: int, slot: int, lane: int, s: float, length: float = 4.0, width: float = 2.0,
                       kind: int = STATIC, speed: float = 0.0) -> None:
        """Put a static obstacle (or, with another ``kind``, a vehicle) in ``slot`` on ``lane`` at arc
        length ``s`` [m], ``length`` x ``width`` [m], moving at ``speed`` [m/s]."""
        place(self.F, self.I, self.B, self.tables, int(world), int(slot), int(lane), float(s), float(speed))
        clear_disturbance(self.F, int(world), int(slot))
        self.F[st.LEN, world, slot], self.F[st.WID, world, slot] = length, width
        self.I[st.KIND, world, slot] = kind

    def set_script(self, world: int, slot: int, acc: float | None = None, lane: int | None = None) -> None:
        """Make ``slot`` a scripted actor: it follows ``acc`` [m/s^2] (None = its driver model) and
        keeps to ``lane`` (None = its own choice) until changed; call again every step to play a script."""
        self.I[st.KIND, world, slot] = SCRIPTED
        self.F[st.SACC, world, slot] = np.nan if acc is None else acc
        self.I[st.SLANE, world, slot] = -1 if lane is None else lane

    # ------------------------------------------------------------------ lights
    def light_state(self) -> np.ndarray:
        """(N, G) int: state of every light now (0 red, 1 amber, 2 green)."""
        return _light_states(self.WI, self.WF, self.light_override, self.tables, self.P)

    def light_green(self) -> np.ndarray:
        """(N, G) bool: which lights are green now."""
        return self.light_state() == GREEN

    # ------------------------------------------------------------------ the step
    def step(self, ego_steer=None, ego_acc=None) -> None:
        """Advance all worlds by one physics step of ``dt`` seconds.

        ``ego_steer`` [rad] and ``ego_acc`` [m/s^2], (N,) arrays, drive the ego in "direct"
        mode; in "lane" mode the ego follows ``tlane[:, 0]`` and ``ego_target_speed``.
        """
        z = np.zeros(self.n)
        steer = z if ego_steer is None else np.asarray(ego_steer, float).reshape(self.n)
        acc = z if ego_acc is None else np.asarray(ego_acc, float).reshape(self.n)
        step_worlds(self.F, self.I, self.B, self.WF, self.WI, self.WB, self.seed, self.tables, self.P,
                    self.light_override, steer, acc)

    def ego_decisions(self, rows=None):
        """What the driver model would do in the ego's place now, per world: (IDM acceleration
        against every constraint [m/s^2], MOBIL's lane choice); ``rows`` (int array) limits the
        work to those worlds (the others keep their last figures). Changes no state that the next
        physics step does not recompute."""
        rows = np.arange(self.n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        _ego_decisions(self.F, self.I, self.B, self.WF, self.WI, self.WB, self.tables, self.P, self.light_override, rows)
        return self.F[st.DESIRED][:, 0].copy(), self.I[st.BEST][:, 0].copy()

    # ------------------------------------------------------------------ ego queries
    def ego_progress(self):
        """Distance along the route from the start [m], (N,)."""
        return self.route_cum[self.route_i] + self.s[:, 0] - self.map.start_s

    def max_radius(self) -> float:
        """Largest bounding-circle radius of any vehicle or obstacle [m] (broad phases)."""
        return 0.5 * float(np.hypot(self.length, self.width).max())

    def ego_corners(self):
        from .collision import box_corners

        return box_corners(self.x[:, 0], self.y[:, 0], self.h[:, 0], self.length[:, 0], self.width[:, 0])


def _route_junctions(r, route):
    """Per route index: the heading change [rad] (left positive) through the next run of
    junction sections at or after it, and the route index where that run starts (-1 none)."""
    junction = np.array([sp.junction for sp in r.specs], bool)
    n = len(route)
    turn, start = np.zeros(n), np.full(n, -1, np.int64)
    for i in range(n):  # build time, a handful of sections
        j = i
        while j < n and not junction[route[j]]:
            j += 1
        if j == n:
            continue
        k = j
        while k + 1 < n and junction[route[k + 1]]:
            k += 1
        h0 = r.seg_heading[r.sec_seg[route[j]]]
        h1 = r.seg_heading[r.sec_seg[route[k] + 1] - 1]
        turn[i], start[i] = (h1 - h0 + np.pi) % (2 * np.pi) - np.pi, j
    return turn, start


_T, _LIGHT_T0 = st.T, st.LIGHT_T0


@kernel
def _light_states(WI, WF, override, tabs, P):
    n, g = override.shape
    out = np.zeros((n, g), np.int64)
    for w in range(n):
        t = WI[_T, w] * P[P_DT]
        for k in range(g):
            ph = tabs.LIGHT_PHASE[k]
            out[w, k] = light_state(t, WF[_LIGHT_T0, w], override[w, k], tabs.PHASE_START[ph], tabs.PHASE_GREEN[ph],
                                    P[P_AMBER], P[P_CYCLE])
    return out


@kernel
def _ego_decisions(F, I, B, WF, WI, WB, tabs, P, override, rows):
    scratch = make_scratch(F.shape[2])
    for w in rows:
        _segments(w, F, I, B, tabs, scratch[13])
        decide(w, F, I, B, WF, WI, WB, tabs, P, override, scratch, False, True)
