"""The world state as arrays and one step of physics + traffic, for N worlds at once.

Every per-vehicle quantity is an ``(N, V)`` array: N worlds (N = 1 for a single env) of V
vehicle slots. Slot 0 is the ego, slots ``1..vehicles`` are traffic, the last ``obstacles``
slots are static obstacles / scripted actors. All worlds share one :class:`~.road.Road`.
A step (:meth:`World.step`) is a fixed sequence of array operations: lane occupancy sort,
IDM (+ lane-end and red-light stops), MOBIL (once per ``lane_change_period`` per world),
lateral lane keeping, the kinematic bicycle model, Frenet update and lane-graph
transitions, ego collision/off-road/red-light events, recycling of traffic. numpy only.

Traffic stops at the end of lanes that end (merges), at red lights (fixed cycles, see
``Map.lights``; ``light_override`` forces a light per world) and at give-way lines of
``Map.yield_lanes`` while the ring near the merge point is busy; ring traffic in turn lets a
vehicle that already crossed its give-way line in.

Scripted actors: :meth:`World.place_obstacle` puts a static obstacle (a stalled car) or any
kind of vehicle in a slot; :meth:`World.set_script` makes a slot follow a scripted
acceleration / lane instead of IDM/MOBIL (call it every step to play a script).
Randomness is counter-based (:func:`~.traffic.uniform` of seed, step, slot), so world ``w``
of a batch evolves exactly like a single world with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import collision
from .maps import Map
from .traffic import STYLES, Occupancy, bicycle_step, idm_accel, lateral_slip, light_is_green, slip_from_steer, uniform

EGO, TRAFFIC, SCRIPTED, STATIC = 0, 1, 2, 3
#: what a lidar beam or the ego hit
HIT_NONE, HIT_VEHICLE, HIT_EDGE, HIT_OBSTACLE = 0, 1, 2, 3
HIT_NAMES = ("none", "vehicle", "road_edge", "obstacle")

_P_START, _P_SPAWN, _P_STYLE, _P_TURN, _P_SPEED, _P_SIDE, _P_LANE, _P_POS = range(8)
_SPAWN_PURPOSES = np.array([_P_LANE, _P_SIDE, _P_POS, _P_STYLE, _P_SPEED, _P_TURN], np.uint64)


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
    max_accel: float = 5.0  # ego throttle limit [m/s^2]
    max_brake: float = 8.0  # ego brake limit [m/s^2]
    max_speed: float = 40.0  # [m/s]
    ego_speed: float = 25.0  # ego initial speed [m/s]
    style_probs: tuple[float, float, float] = (0.6, 0.2, 0.2)  # normal / aggressive / defensive [-]
    lane_change_period: float = 1.0  # how often traffic reconsiders lanes (MOBIL) [s]
    safe_decel: float = 4.0  # MOBIL: max braking imposed on the new follower [m/s^2]
    ego_safe_decel: float = 1.0  # MOBIL: max braking imposed on the ego when cutting in front of it [m/s^2]
    keep_right_bias: float = 0.1  # MOBIL: incentive for moving right [m/s^2]
    spawn_spacing: float = 20.0  # spacing of initial traffic slots along lanes [m]
    spawn_clearance: float = 25.0  # free distance needed in a lane to spawn a vehicle [m]
    ego_clearance: float = 25.0  # no traffic placed within this distance of the ego [m]
    spawn_per_period: int = 3  # respawn attempts per world every lane_change_period [-]
    speed_gain: float = 1.0 / 0.6  # ego speed P-controller gain (meta-actions) [1/s]


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
        self.lc_steps = max(1, int(round(p.lane_change_period * p.sim_frequency)))
        self.big = 4.0 * (float(r.sec_length.max()) + 100.0)
        # lanes that end (no successor while a neighbour continues): traffic stops at their end
        has_succ = r.lane_nsucc > 0
        nb_succ = np.zeros(r.num_lanes, bool)
        for nb in (r.lane_left, r.lane_right):
            nb_succ |= (nb >= 0) & has_succ[np.maximum(nb, 0)]
        self.lane_ends = ~has_succ & nb_succ
        # traffic lights: lane -> light row
        self.lane_light = np.full(r.num_lanes, -1, np.int64)
        lights = np.asarray(m.lights, float).reshape(-1, 4)
        self.lights = lights
        self.lane_light[lights[:, 0].astype(np.int64)] = np.arange(len(lights))
        # give-way lanes (roundabout entries): the ring lane merging at the same point, and the one before it
        yl = np.asarray(m.yield_lanes, np.int64)
        self.yield_succ = r.lane_succ[yl, 0] if len(yl) else np.zeros(0, np.int64)
        preds = r.lane_pred[self.yield_succ] if len(yl) else np.zeros((0, 1), np.int64)
        other = np.where((preds >= 0) & (preds != yl[:, None]), preds, -1).max(axis=1) if len(yl) else np.zeros(0, np.int64)
        self.yield_conflict = other
        self.yield_conflict_prev = np.where(other >= 0, r.lane_pred[np.maximum(other, 0), 0], -1)
        self.lane_yield = np.full(r.num_lanes, -1, np.int64)
        self.lane_yield[yl] = np.arange(len(yl))
        self.yield_lanes = yl
        self.lane_conflict_of = np.full(r.num_lanes, -1, np.int64)  # ring lane -> give-way index merging at its end
        ok = other >= 0
        self.lane_conflict_of[other[ok]] = np.arange(len(yl))[ok]
        self.yield_distance = 35.0  # look-back along the ring for give-way decisions [m]
        # give-way line: the last point of the entry lane whose centre is >= `clear` from the ring lanes
        self.yield_setback = np.zeros(len(yl))
        for i, ln in enumerate(yl):  # build time, a handful of lanes
            q = r.lane_sec[ln]
            a, b = r.sec_seg[q], r.sec_seg[q + 1]
            s_pts = np.append(r.seg_s0[a:b], r.sec_length[q])
            pts = r.boundary(q, r.lane_offset[ln])
            others = [c for c in (other[i], self.yield_succ[i]) if c >= 0]
            ref = np.concatenate([r.boundary(r.lane_sec[c], r.lane_offset[c]) for c in others])
            dist = np.min(np.hypot(pts[:, None, 0] - ref[None, :, 0], pts[:, None, 1] - ref[None, :, 1]), axis=1)
            far = np.nonzero(dist >= 3.5)[0]
            self.yield_setback[i] = r.sec_length[q] - (s_pts[far[-1]] if len(far) else 0.0)
        self._sab2 = None  # cached 2 sqrt(a b) [m/s^2] of the IDM, reset by _set_style
        self._style_cp = np.cumsum(p.style_probs) / np.sum(p.style_probs)  # style CDF [-]
        self._max_rad = None
        self._no_lights = np.zeros((n, 0), bool)
        self._no_lights.flags.writeable = False
        self._stop_lines = bool(self.lane_ends.any() or len(lights) or len(yl))
        self._has_links = bool(r.lane_nsucc.any())
        self._any_scripted = False
        self.route = np.asarray(m.route, np.int64)
        self.route_cum = np.concatenate([[0.0], np.cumsum(r.sec_length[self.route])[:-1]])
        self.route_length = m.route_length
        shape = (n, self.V)
        f = lambda val=0.0, dt=np.float64: np.full(shape, val, dt)  # noqa: E731
        self.x, self.y, self.h, self.v = f(1e6), f(1e6), f(), f()
        self.sec, self.lane, self.tlane = f(0, np.int64), f(0, np.int64), f(0, np.int64)
        self.s, self.d, self.road_h = f(), f(), f()
        self.length, self.width, self.wheelbase = f(p.vehicle_length), f(p.vehicle_width), f(p.wheelbase)
        self.kind = f(TRAFFIC, np.int64)
        self.kind[:, 0] = EGO
        self.kind[:, 1 + p.vehicles :] = STATIC
        self.active = f(False, bool)
        self.style = f(0, np.int64)
        self.turn = f(0, np.int64)
        self.v0f, self.T, self.a, self.b, self.s0, self.polite, self.thr = (f(c) for c in STYLES[0])
        self.sin_beta, self.acc = f(), f()  # sine of the slip angle [-], acceleration [m/s^2]
        #: scripted actors: acceleration [m/s^2] (NaN = use IDM) and target lane (-1 = keep)
        self.script_acc = f(np.nan)
        self.script_lane = f(-1, np.int64)
        #: scripted actors that ignore red lights and give-way rules (a red-light runner, a failure to yield)
        self.ignore_rules = f(False, bool)
        # per-world state
        self.seed = np.zeros(n, np.uint64)
        self.t = np.zeros(n, np.int64)  # physics steps since reset
        self.route_i = np.zeros(n, np.int64)
        self.travelled = np.zeros(n)  # [m]
        self.ego_target_speed = np.full(n, p.ego_speed)
        #: timed lights override per world and light: -1 cycle, 0 red, 1 green
        self.light_override = np.full((n, len(lights)), -1, np.int64)
        # events since the last clear_events()
        self.crashed = np.zeros(n, bool)
        self.hit = np.zeros(n, np.int64)
        self.hit_slot = np.full(n, -1, np.int64)  # slot the ego hit first (-1: none)
        self.collision_type = np.zeros(n, np.int64)  # collision.COLLISION_TYPES code of that hit
        self.at_fault = np.zeros(n, bool)  # the ego is at fault for that hit (nuPlan's classification)
        self.offroad = np.zeros(n, bool)
        self.ran_red = np.zeros(n, bool)
        # initial traffic slots
        self._slots = self._make_slots()

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
            for ln in m.populate_lanes:
                L = r.lane_length[ln]
                s = np.arange(5.0, L - 5.0, p.spawn_spacing)
                lanes.append(np.full(len(s), ln)), ss.append(s)
        lanes, ss = np.concatenate(lanes).astype(np.int64), np.concatenate(ss)
        return lanes, ss

    def reset(self, rows, seeds) -> None:
        """Start new episodes in worlds ``rows`` (int array) with ``seeds`` (uint64 array)."""
        rows = np.asarray(rows, np.int64)
        if rows.size == 0:
            return
        seeds = np.asarray(seeds, np.uint64)[:, None]
        r, m, p = self.road, self.map, self.p
        nr = len(rows)
        self.seed[rows] = seeds[:, 0]
        self.t[rows] = 0
        self.route_i[rows] = 0
        self.travelled[rows] = 0.0
        self.light_override[rows] = -1
        self.script_acc[rows] = np.nan
        self.script_lane[rows] = -1
        self.ignore_rules[rows] = False
        vidx = np.arange(self.V)[None, :]
        # styles and parameters
        u = uniform(seeds, 0, vidx, _P_STYLE)
        style = np.minimum(np.searchsorted(self._style_cp, u, side="right"), 2)
        style[:, 0] = 0
        self._set_style(rows, slice(None), style)
        self.turn[rows] = (uniform(seeds, 0, vidx, _P_TURN) * 1024).astype(np.int64)
        self.length[rows], self.width[rows], self.wheelbase[rows] = p.vehicle_length, p.vehicle_width, p.wheelbase
        kind = np.full(self.V, TRAFFIC)
        kind[0] = EGO
        kind[1 + p.vehicles :] = STATIC
        self.kind[rows] = kind
        # ego
        u0 = uniform(seeds[:, 0], 0, 0, _P_START)
        ego_lane = m.start_lanes[np.minimum((u0 * len(m.start_lanes)).astype(np.int64), len(m.start_lanes) - 1)]
        q0 = np.full(nr, int(self.route[0]))
        ex, ey, eh = r.to_world(q0, np.full(nr, m.start_s), r.lane_offset[ego_lane])
        # traffic from the slots: random subset away from the ego
        sl, ss = self._slots
        sx, sy, sh = r.to_world(r.lane_sec[sl], ss, r.lane_offset[sl])
        dist = np.hypot(sx[None, :] - ex[:, None], sy[None, :] - ey[:, None])
        key = uniform(seeds, 0, np.arange(len(sl))[None, :], _P_POS)
        key = np.where(dist > p.ego_clearance, key, 2.0)
        order = np.argsort(key, axis=1, kind="stable")
        nt = p.vehicles
        pick = order[:, :nt]
        ok = np.take_along_axis(key, pick, 1) < 1.5
        if pick.shape[1] < nt:  # fewer slots than vehicles: the rest wait to spawn
            pad = nt - pick.shape[1]
            pick = np.concatenate([pick, np.zeros((nr, pad), np.int64)], 1)
            ok = np.concatenate([ok, np.zeros((nr, pad), bool)], 1)
        ts = slice(1, 1 + nt)
        tl = sl[pick]
        jitter = (uniform(seeds, 0, vidx[:, ts], _P_SIDE) - 0.5) * 2.0
        tss = ss[pick] + jitter
        lane = np.zeros((nr, self.V), np.int64)
        s = np.zeros((nr, self.V))
        lane[:, 0], s[:, 0] = ego_lane, m.start_s
        lane[:, ts], s[:, ts] = tl, tss
        lane[:, 1 + nt :] = ego_lane[:, None]
        sec = r.lane_sec[lane]
        d = r.lane_offset[lane]
        x, y, h = r.to_world(sec, s, d)
        v0 = r.lane_speed[lane] * self.v0f[rows]
        v = v0 * (0.8 + 0.2 * uniform(seeds, 0, vidx, _P_SPEED))
        v[:, 0] = p.ego_speed
        active = np.zeros((nr, self.V), bool)
        active[:, 0] = True
        active[:, ts] = ok
        for name, val in dict(x=x, y=y, h=h, v=v, sec=sec, lane=lane, tlane=lane, s=s, d=d, road_h=h, active=active).items():
            getattr(self, name)[rows] = val
        self.x[rows] = np.where(active, x, 1e6)
        self.y[rows] = np.where(active, y, 1e6)
        self.v[rows, 1 + nt :] = 0.0
        self.sin_beta[rows] = 0.0
        self.acc[rows] = 0.0
        self.ego_target_speed[rows] = p.ego_speed
        self._dead = None
        self._any_scripted = bool((self.kind == SCRIPTED).any())
        self._max_rad = None
        self.clear_events(rows)

    def _set_style(self, rows, cols, style):
        self._sab2 = None
        par = STYLES[style]
        for i, name in enumerate(("v0f", "T", "a", "b", "s0", "polite", "thr")):
            arr = getattr(self, name)
            if isinstance(cols, slice):
                arr[rows] = par[..., i]
            else:
                arr[rows, cols] = par[..., i]
        if isinstance(cols, slice):
            self.style[rows] = style
        else:
            self.style[rows, cols] = style

    def clear_events(self, rows=slice(None)) -> None:
        self.crashed[rows] = False
        self.hit[rows] = HIT_NONE
        self.hit_slot[rows] = -1
        self.collision_type[rows] = 0
        self.at_fault[rows] = False
        self.offroad[rows] = False
        self.ran_red[rows] = False

    # ------------------------------------------------------------------ scripted actors
    def place_obstacle(self, world: int, slot: int, lane: int, s: float, length: float = 4.0, width: float = 2.0,
                       kind: int = STATIC, speed: float = 0.0) -> None:
        """Put a static obstacle (or, with ``kind=SCRIPTED``, a scripted actor) in ``slot``."""
        r = self.road
        q = r.lane_sec[lane]
        x, y, h = r.to_world(np.array([q]), np.array([s]), np.array([r.lane_offset[lane]]))
        w, i = world, slot
        self.kind[w, i], self.active[w, i] = kind, True
        self._any_scripted = bool((self.kind == SCRIPTED).any())
        self.x[w, i], self.y[w, i], self.h[w, i], self.v[w, i] = x[0], y[0], h[0], speed
        self.sec[w, i], self.lane[w, i], self.tlane[w, i], self.s[w, i] = q, lane, lane, s
        self.d[w, i], self.road_h[w, i] = r.lane_offset[lane], h[0]
        self.length[w, i], self.width[w, i] = length, width
        self._max_rad = None

    def set_script(self, world: int, slot: int, acc: float | None = None, lane: int | None = None) -> None:
        """Make ``slot`` a scripted actor: it follows ``acc`` [m/s^2] (None = its IDM) and keeps to
        ``lane`` (None = its lane) until changed; call again every step to play a script."""
        self.kind[world, slot] = SCRIPTED
        self.script_acc[world, slot] = np.nan if acc is None else acc
        self.script_lane[world, slot] = -1 if lane is None else lane
        self._any_scripted = True

    def light_green(self):
        """(N, G) bool: which lights are green now."""
        if len(self.lights) == 0:
            return self._no_lights
        L = self.lights
        t = (self.t * self.dt)[:, None]
        g = light_is_green(t, L[:, 1], L[:, 2], L[:, 3])
        return np.where(self.light_override >= 0, self.light_override == 1, g)

    # ------------------------------------------------------------------ traffic decisions
    def _gather(self, arr, j):
        return arr.ravel()[np.maximum(j, 0)]

    def _idm_all(self, occ: Occupancy, green):
        """IDM acceleration of every vehicle against its binding constraint [m/s^2]."""
        r = self.road
        s, v, L = self.s, self.v, self.length
        lane, tlane = self.lane, self.tlane
        v0 = r.lane_speed[lane] * self.v0f
        lane_len = r.lane_length[lane] if (self._has_links or self._stop_lines) else None
        # leader in the current lane
        j1 = occ.own_leader
        sf, vf, Lf = s.ravel(), v.ravel(), L.ravel()
        j1c = np.maximum(j1, 0)
        g1 = np.where(j1 >= 0, sf[j1c] - s - 0.5 * (Lf[j1c] + L), np.inf)
        dv1 = v - vf[j1c]
        # no leader in lane: first vehicle of the successor lane
        if self._has_links:
            j2 = np.where(j1 < 0, occ.first(self._succ_choice(tlane)), -1)
            j2c = np.maximum(j2, 0)
            gap = np.where(j1 >= 0, g1, np.where(j2 >= 0, lane_len - s + sf[j2c] - 0.5 * (Lf[j2c] + L), np.inf))
            dv = np.where(j1 >= 0, dv1, v - vf[j2c])
        else:
            gap, dv = g1, dv1
        # leader in the target lane while changing lanes (few vehicles: compacted)
        changing = tlane != lane
        if changing.any():
            fi = changing.ravel().nonzero()[0]  # flat indices
            sfi = sf[fi]
            j3 = occ.leader(tlane.ravel()[fi], sfi, fi // self.V)
            j3c = np.maximum(j3, 0)
            g3 = np.where(j3 >= 0, sf[j3c] - sfi - 0.5 * (Lf[j3c] + Lf[fi]), np.inf)
            gf, dvf = gap.ravel(), dv.ravel()  # views: gap and dv are fresh contiguous arrays
            closer = g3 < gf[fi]
            fc = fi[closer]
            gf[fc] = g3[closer]
            dvf[fc] = vf[fc] - vf[j3c[closer]]
        self.ego_lead_gap, self.ego_lead_dv = gap[:, 0].copy(), dv[:, 0].copy()  # the ego's leader: bumper gap [m], closing speed [m/s]
        if self._sab2 is None:  # 2 sqrt(a b) of every slot, cached until the styles change
            self._sab2 = 2.0 * np.sqrt(self.a * self.b)
        acc = idm_accel(v, v0, gap, dv, self.a, self.b, self.T, self.s0, two_sqrt_ab=self._sab2)
        if not self._stop_lines:  # no lane ends, lights or give-way lanes on this map
            return acc
        # stop line: lane end, or red light the vehicle can still stop for
        gstop = lane_len - s - 0.5 * L
        stop = self.lane_ends[tlane]
        if green.shape[1]:
            li = self.lane_light[tlane]
            red = (li >= 0) & ~np.take_along_axis(green, np.maximum(li, 0), 1) & ~self.ignore_rules
            stop = stop | (red & (gstop > v * v / (2 * 7.0) - 0.5))
        if len(self.yield_succ):  # give way: wait `yield_setback` before the merge point
            yi = self.lane_yield[tlane]
            gy = gstop - np.where(yi >= 0, self.yield_setback[np.maximum(yi, 0)], 0.0)
            wait = self._must_yield(occ, tlane, gy, v) & ~stop & (gy > -1.0) & ~self.ignore_rules
            gstop = np.where(wait, gy, gstop)
            stop = stop | wait
            # ring traffic lets a vehicle that already crossed the give-way line merge
            ci = self.lane_conflict_of[tlane]
            if (ci >= 0).any():
                wi = np.arange(self.n)[:, None]
                yl = self.yield_lanes[None, :]
                Ly = r.lane_length[yl]
                front = occ.follower(yl, Ly + 50.0, wi)
                intr = (front >= 0) & (sf[np.maximum(front, 0)] > Ly - self.yield_setback[None, :] - 0.5)
                block = (ci >= 0) & np.take_along_axis(intr, np.maximum(ci, 0), 1)
                gm = lane_len - s - 0.5 * L - 2.0 - self.yield_setback[np.maximum(ci, 0)]
                block &= gm > -1.0
                if block.any():
                    acc = np.where(block, np.minimum(acc, idm_accel(v, v0, gm, v, self.a, self.b, self.T, self.s0, two_sqrt_ab=self._sab2)), acc)
        stop &= gstop > -1.0
        if stop.any():
            acc = np.where(stop, np.minimum(acc, idm_accel(v, v0, gstop, v, self.a, self.b, self.T, self.s0, two_sqrt_ab=self._sab2)), acc)
        return acc

    def _must_yield(self, occ: Occupancy, tlane, gstop, v):
        """Vehicles on a give-way lane that must wait: the ring near the merge point is busy."""
        r, D = self.road, self.yield_distance
        wi = np.arange(self.n)[:, None]
        c, cp, sc = self.yield_conflict[None, :], self.yield_conflict_prev[None, :], self.yield_succ[None, :]
        Lc = r.lane_length[np.maximum(c, 0)]
        Lp = r.lane_length[np.maximum(cp, 0)]
        busy = occ.count_between(c, Lc - D, Lc + 5.0, wi) + occ.count_between(sc, -5.0, 8.0, wi)
        busy = busy + np.where(cp >= 0, occ.count_between(cp, Lp - (D - Lc), Lp + 5.0, wi), 0)
        yi = self.lane_yield[tlane]
        blocked = np.take_along_axis(busy > 0, np.maximum(yi, 0), 1)
        return (yi >= 0) & blocked & (gstop > v * v / (2 * 9.0) - 0.5)

    def _succ_choice(self, lane):
        """The successor each vehicle will take from ``lane`` (by its ``turn`` draw), or -1."""
        r = self.road
        ns = r.lane_nsucc[lane]
        if r.lane_succ.shape[1] == 1:
            return r.lane_succ[lane, 0]
        return np.where(ns > 0, r.lane_succ[lane, self.turn % np.maximum(ns, 1)], -1)

    def _mobil(self, occ: Occupancy, acc_now, rows, apply: bool = True, all_rows: bool = False):
        """MOBIL lane-change decisions for the traffic in worlds ``rows``; sets ``tlane``.
        ``all_rows``: ``rows`` is ``arange(n)`` (then views replace the gathered copies)."""
        r, p = self.road, self.p
        wi = rows[:, None]
        sel = slice(None) if all_rows else rows
        g = lambda a: a[sel]  # noqa: E731
        lane, s, v, L = g(self.lane), g(self.s), g(self.v), g(self.length)
        T, a, b, s0, pol, thr = g(self.T), g(self.a), g(self.b), g(self.s0), g(self.polite), g(self.thr)
        v0 = r.lane_speed[lane] * g(self.v0f)
        kind = g(self.kind)
        steady = (lane == g(self.tlane)) & (np.abs(g(self.d) - r.lane_offset[lane]) < 0.3)
        can = g(self.active) & ((kind == TRAFFIC) | (kind == EGO)) & steady & r.sec_lane_change[r.lane_sec[lane]]
        sflat, vflat, Lflat = self.s.ravel(), self.v.ravel(), self.length.ravel()
        par = [arr.ravel() for arr in (self.T, self.a, self.b, self.s0, self.v0f, self.lane)]

        def idm_of(j, lead_s, lead_v, lead_L):
            """IDM accel of vehicle j (flat idx) behind a leader at (lead_s, lead_v, lead_L)."""
            jj = np.maximum(j, 0)
            Tj, aj, bj, s0j, v0fj, lj = (q[jj] for q in par)
            gap = lead_s - sflat[jj] - 0.5 * (Lflat[jj] + lead_L)
            return idm_accel(vflat[jj], r.lane_speed[lj] * v0fj, gap, vflat[jj] - lead_v, aj, bj, Tj, s0j)

        def lead_vals(j):
            ok = j >= 0
            jj = np.maximum(j, 0)
            return np.where(ok, sflat[jj], np.inf), np.where(ok, vflat[jj], 0.0), np.where(ok, Lflat[jj], 0.0)

        # both directions at once on a leading axis: 0 = left, 1 = right
        tl = np.stack([r.lane_left[lane], r.lane_right[lane]])
        ok = can & (tl >= 0)
        tlq = np.where(ok, tl, -1)
        nl, nf = occ.neighbours(tlq, s, wi)
        of = g(occ.own_follower)
        ol = g(occ.own_leader)
        nls, nlv, nlL = lead_vals(nl)
        ols, olv, olL = lead_vals(ol)
        me = np.broadcast_to
        # followers' IDM, one call: new follower behind me / behind its leader; old follower behind me / my leader
        J = np.concatenate([nf, nf, of[None], of[None]])
        sh = (2,) + s.shape
        LS = np.concatenate([me(s, sh), nls, s[None], ols[None]])
        LV = np.concatenate([me(v, sh), nlv, v[None], olv[None]])
        LL = np.concatenate([me(L, sh), nlL, L[None], olL[None]])
        af = np.where(J >= 0, idm_of(J, LS, LV, LL), 0.0)
        a_nf_new, a_nf_old, a_of_old, a_of_new = af[:2], af[2:4], af[4], af[5]
        gap_lead = nls - s - 0.5 * (L + nlL)
        a_me_new = idm_accel(v, v0, gap_lead, v - nlv, a, b, T, s0)
        nfc = np.maximum(nf, 0)
        gap_fol = np.where(nf >= 0, s - sflat[nfc] - 0.5 * (L + Lflat[nfc]), np.inf)
        # traffic cuts in front of the ego only when the ego need barely brake (it may be slow to react)
        lim = np.where((nf >= 0) & (nf % self.V == 0), -p.ego_safe_decel, -p.safe_decel)
        v_nf = np.where(nf >= 0, vflat[nfc], 0.0)
        safe = (a_nf_new >= lim) & (gap_lead > 2.0 + 0.3 * v) & (gap_fol > 2.0 + 0.3 * v_nf)
        gain = a_me_new - g(acc_now) + pol * (a_nf_new - a_nf_old + a_of_new - a_of_old)
        gain = gain + np.array([-p.keep_right_bias, p.keep_right_bias])[:, None, None]
        ends = self.lane_ends[lane]
        gain = gain + np.where(ends & ~self.lane_ends[np.maximum(tl, 0)], 10.0, 0.0)  # mandatory: leave an ending lane
        gain = np.where(ok & safe & (gain > thr), gain, -np.inf)
        k = np.argmax(gain, 0)  # left wins ties
        best_gain = np.maximum(gain[0], gain[1])
        take = best_gain > 0
        best = np.where(take, np.where(k == 0, tl[0], tl[1]), lane)
        best_gain = np.where(take, best_gain, 0.0)
        if apply:
            self.tlane[sel] = np.where(kind == TRAFFIC, best, g(self.tlane))
        return best, best_gain

    # ------------------------------------------------------------------ the step
    def step(self, ego_steer=None, ego_acc=None) -> None:
        """Advance all worlds by one physics step of ``dt`` seconds.

        ``ego_steer`` [rad] and ``ego_acc`` [m/s^2], (N,) arrays, drive the ego in "direct"
        mode; in "lane" mode the ego follows ``tlane[:, 0]`` and ``ego_target_speed``.
        """
        r, p, dt = self.road, self.p, self.dt
        act = self.active
        occ = Occupancy(self.lane, self.s, r.num_lanes, self.big, on_road=act)  # lane_at gives lanes >= 0
        green = self.light_green()
        acc = self._idm_all(occ, green)
        due = (self.t % self.lc_steps == 0).nonzero()[0]
        if due.size:
            self._mobil(occ, acc, due, all_rows=due.size == self.n)  # due: sorted, unique
        # scripted actors
        if self._any_scripted:
            scripted = self.kind == SCRIPTED
            acc = np.where(scripted & ~np.isnan(self.script_acc), np.nan_to_num(self.script_acc), acc)
            self.tlane = np.where(scripted & (self.script_lane >= 0), self.script_lane, self.tlane)
        e = self.d - r.lane_offset[self.tlane]
        sinb = lateral_slip(e, self.h - self.road_h, self.v, self.wheelbase, p.max_steer)
        if self.ego_control == "lane":
            acc[:, 0] = np.minimum(np.maximum(p.speed_gain * (self.ego_target_speed - self.v[:, 0]), -p.max_brake), p.max_accel)
        else:
            sinb[:, 0] = slip_from_steer(np.minimum(np.maximum(ego_steer, -p.max_steer), p.max_steer))
            acc[:, 0] = np.minimum(np.maximum(ego_acc, -p.max_brake), p.max_accel)
        moving = act & (self.kind != STATIC)
        frozen = ~moving
        sinb[frozen] = 0.0
        acc[frozen] = -100.0
        self.sin_beta, self.acc = sinb, acc
        self.travelled += self.v[:, 0] * dt  # the Euler step moves the ego exactly v * dt
        self.x, self.y, self.h, self.v = bicycle_step(self.x, self.y, self.h, self.v, sinb, acc, self.wheelbase, dt, p.max_speed)
        # Frenet update
        s_guess = None if r.single_segment else self.s + self.v * dt  # straight sections need no guess
        s, d, rh = r.project(self.sec, s_guess, self.x, self.y, window=1)
        self.s, self.d, self.road_h = s, d, rh
        self._transitions(green, moving)  # active and kind are unchanged since `moving`
        self.lane = r.lane_at(self.sec, self.d)
        self.t += 1
        # ego events
        found = collision.ego_collisions(self)
        if found is not None:  # None: no ego hit anything
            hit, slot = found
            new = (hit != HIT_NONE) & ~self.crashed
            if new.any():
                rows = new.nonzero()[0]
                kind, fault = collision.classify_ego_collisions(self, rows, slot[rows])
                self.hit[rows] = hit[rows]
                self.hit_slot[rows] = slot[rows]
                self.collision_type[rows] = kind
                self.at_fault[rows] = fault
            self.crashed |= hit != HIT_NONE
        off = collision.ego_offroad(self)
        if off is not None:  # None: every ego is on the road
            self.offroad |= off
        self._recycle(due)

    def _transitions(self, green, moving) -> None:
        """Move vehicles past their section's end to the next lane (``moving``: active, not static)."""
        r = self.road
        over = moving & (self.s > r.sec_length[self.sec])
        if not over.any():
            self._dead = None
            return
        tl = self.tlane
        ns = r.lane_nsucc[tl]
        nxt = np.where(ns > 0, r.lane_succ[tl, self.turn % np.maximum(ns, 1)], -1)
        # the ego follows its route
        ri = np.minimum(self.route_i + 1, len(self.route) - 1)
        want = self.route[ri]
        cand = r.lane_succ[self.lane[:, 0]]
        okc = (cand >= 0) & (r.lane_sec[np.maximum(cand, 0)] == want[:, None]) & (self.route_i < len(self.route) - 1)[:, None]
        ego_next = np.where(okc.any(1), cand[np.arange(self.n), np.argmax(okc, 1)], -1)
        # ego changing sections without a linked lane (e.g. a wrong lane): keep d, nearest lane of next section
        ego_free = (ego_next < 0) & (self.route_i < len(self.route) - 1)
        ego_next = np.where(ego_free, r.lane_at(want, self.d[:, 0]), ego_next)
        nxt[:, 0] = ego_next
        moved = over & (nxt >= 0)
        if green.shape[1]:
            li = self.lane_light[self.lane[:, 0]]
            red = (li >= 0) & ~np.take_along_axis(green, np.maximum(li, 0)[:, None], 1)[:, 0]
            self.ran_red |= moved[:, 0] & red
        nn = np.maximum(nxt, 0)
        free = (np.arange(self.V) == 0)[None, :] & ego_free[:, None]
        src = tl.copy()
        src[:, 0] = self.lane[:, 0]  # the ego's link is taken from the lane it is in
        old_off = np.where(free, 0.0, r.lane_offset[src])
        new_off = np.where(free, 0.0, r.lane_offset[nn])
        self.d = np.where(moved, self.d - old_off + new_off, self.d)
        self.s = np.where(moved, self.s - r.sec_length[self.sec], self.s)
        self.sec = np.where(moved, r.lane_sec[nn], self.sec)
        self.tlane = np.where(moved, nn, self.tlane)
        self.route_i += moved[:, 0]
        wi, vi = moved.nonzero()
        self.turn[wi, vi] = (uniform(self.seed[wi], self.t[wi], vi, _P_TURN) * 1024).astype(np.int64)
        self._dead = over & ~moved

    def _recycle(self, due) -> None:
        """Remove traffic that left; respawn at most one vehicle per world, once per
        ``lane_change_period`` (worlds ``due``), where one is missing."""
        m, p = self.map, self.p
        dead = self._dead
        self._dead = None
        if dead is None and due.size == 0:
            return
        traffic = self.kind == TRAFFIC
        if dead is not None:  # reached a dead end: gone at once
            self.active &= ~(dead & traffic)
        if due.size == 0:
            return
        need = np.zeros_like(self.active)
        need[due] = True
        need &= traffic & ~self.active
        if m.spawn_mode == "window":
            es, esec = self.s[:, :1], self.sec[:, :1]
            ds = self.s - es
            far = (self.sec != esec) | (ds < m.window[0]) | (ds > m.window[1])
            need[due] |= (traffic & self.active & far)[due]
        else:
            far = np.hypot(self.x - self.x[:, :1], self.y - self.y[:, :1]) > 2000.0
            need[due] |= (traffic & self.active & far)[due]
        # vehicles that must go are removed now; up to `spawn_per_period` per world are re-placed
        self.active &= ~need
        self.x = np.where(need, 1e6, self.x)
        self.y = np.where(need, 1e6, self.y)
        for attempt in range(p.spawn_per_period):  # attempts, not vehicles
            need &= ~self.active
            if not self._spawn(need, attempt):
                return

    def _spawn(self, need, attempt: int) -> bool:
        """Place the first needed vehicle of every world where its random spot is free."""
        r, m, p = self.road, self.map, self.p
        rows = need.any(1).nonzero()[0]
        if rows.size == 0:
            return False
        col = need[rows].argmax(1)
        # one draw per purpose: lane, side, position, style, speed, turn
        U = uniform(self.seed[rows, None], (self.t[rows] * 8 + attempt)[:, None], col[:, None], _SPAWN_PURPOSES[None, :])
        if m.spawn_mode == "window":
            q = self.sec[rows, 0]
            base, nl = r.sec_lane[q], r.sec_lane[q + 1] - r.sec_lane[q]
            lane = base + np.minimum((U[:, 0] * nl).astype(np.int64), nl - 1)
            w0, w1 = m.window
            off = np.where(U[:, 1] < 0.5, w1 - 60.0 + 55.0 * U[:, 2], w0 + 5.0 + 55.0 * U[:, 2])
            s = self.s[rows, 0] + off
            ok = (s > 5.0) & (s < r.sec_length[q] - 5.0)
        else:
            sl = m.spawn_lanes
            lane = sl[np.minimum((U[:, 0] * len(sl)).astype(np.int64), len(sl) - 1)]
            s = 5.0 * U[:, 2]
            ok = np.ones(len(rows), bool)
        taken = self.active[rows] & (self.lane[rows] == lane[:, None]) & (np.abs(self.s[rows] - s[:, None]) < p.spawn_clearance)
        ok &= ~taken.any(1)
        q = r.lane_sec[lane]
        x, y, h = r.to_world(q, s, r.lane_offset[lane])
        ok &= np.hypot(x - self.x[rows, 0], y - self.y[rows, 0]) > p.ego_clearance
        if not ok.all():
            rows, col, lane, s, q, x, y, h, U = (a[ok] for a in (rows, col, lane, s, q, x, y, h, U))
            if rows.size == 0:
                return True
        style = np.minimum(np.searchsorted(self._style_cp, U[:, 3], side="right"), 2)
        self._set_style(rows, col, style)
        v0 = r.lane_speed[lane] * self.v0f[rows, col]
        idx = (rows, col)
        self.active[idx] = True
        self.x[idx], self.y[idx], self.h[idx], self.road_h[idx] = x, y, h, h
        self.v[idx] = v0 * (0.8 + 0.2 * U[:, 4])
        self.sec[idx], self.s[idx], self.d[idx] = q, s, r.lane_offset[lane]
        self.lane[idx], self.tlane[idx] = lane, lane
        self.turn[idx] = (U[:, 5] * 1024).astype(np.int64)
        return True

    # ------------------------------------------------------------------ ego queries
    def ego_progress(self):
        """Distance along the route from the start [m], (N,)."""
        return self.route_cum[self.route_i] + self.s[:, 0] - self.map.start_s

    def max_radius(self) -> float:
        """Largest bounding-circle radius of any vehicle or obstacle [m] (broad phases); cached,
        updated by :meth:`reset` and :meth:`place_obstacle`."""
        if self._max_rad is None:
            self._max_rad = 0.5 * float(np.hypot(self.length, self.width).max())
            self._ego_reach = self._max_rad + 0.5 * np.hypot(self.length[:, :1], self.width[:, :1])
            # conservative on-road test of collision.ego_offroad (+ 1e-6 m against rounding):
            # lateral half extent <= (W + L |dh|) / 2 + 0.05, longitudinal <= the half diagonal
            r, L0, W0 = self.road, self.length[:, 0], self.width[:, 0]
            hw = 0.5 * float(W0.max()) + 0.05 + 1e-6
            hr = 0.5 * float(np.hypot(L0, W0).max()) + 1e-6
            self._offroad_fast = (np.where(r.sec_simple, r.sec_dmin + hw, np.inf),
                                  np.where(r.sec_simple, r.sec_dmax - hw, -np.inf),
                                  r.sec_length - hr, hr, 0.5 * float(L0.max()))
        return self._max_rad

    def offroad_fast(self):
        """Bounds of the ego's centre within which its footprint is surely on the road (see
        :func:`.collision.ego_offroad`): per section ``dmin``, ``dmax``, ``smax`` [m], then
        ``smin`` [m] and half the longest ego length [m]."""
        if self._max_rad is None:
            self.max_radius()
        return self._offroad_fast

    def ego_reach(self):
        """(N, 1) distance [m] within which some box can touch the ego: the largest bounding
        radius plus the ego's own; cached like :meth:`max_radius`."""
        if self._max_rad is None:
            self.max_radius()
        return self._ego_reach

    def ego_corners(self):
        return collision.box_corners(self.x[:, 0], self.y[:, 0], self.h[:, 0], self.length[:, 0], self.width[:, 0])
