"""Map builders: each takes typed frozen parameters and returns a :class:`Map` (road + ego route
+ where traffic lives). numpy only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .road import Road, RoadBuilder, arc, bezier, smooth_closed, straight

__all__ = [
    "Map",
    "HighwayParams",
    "RacetrackParams",
    "MergeParams",
    "IntersectionParams",
    "RoundaboutParams",
    "build_highway",
    "build_racetrack",
    "build_merge",
    "build_intersection",
    "build_roundabout",
]


@dataclass
class Map:
    """A road plus everything a scenario needs to place the ego and the traffic."""

    road: Road
    route: np.ndarray  # (R,) section ids the ego drives through, in order
    start_lanes: np.ndarray  # lanes (of route[0]) the ego may start in
    start_s: float  # ego start arc length on route[0] [m]
    goal_s: float  # arc length on route[-1] where the route is completed [m]
    populate_lanes: np.ndarray  # lanes where traffic is placed at reset
    spawn_lanes: np.ndarray  # lanes where recycled traffic re-enters ("entries" mode)
    spawn_mode: str = "window"  # "window": around the ego on its section; "entries": at spawn_lanes' starts
    spawn_weights: np.ndarray | None = None  # relative inflow of each spawn lane ("entries" mode); None: equal [-]
    populate_weights: np.ndarray | None = None  # relative initial density of each populate lane; None: equal [-]
    link_weights: dict = field(default_factory=dict)  # (lane, successor lane) -> relative choice weight (default 1) [-]
    window: tuple[float, float] = (-150.0, 350.0)  # traffic placement window around the ego, "window" mode [m]
    lights: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # (G, 2): lane it governs (at its end), phase
    phases: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (P, 2): green start within the cycle [s], green time [s]
    amber: float = 3.0  # amber time after each green [s]
    cycle: float = 1.0  # light cycle [s]
    yield_lanes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # lanes that give way where they merge (entries)

    @property
    def route_length(self) -> float:
        """Arc length from the ego start to the goal along the route [m]."""
        L = self.road.sec_length[self.route]
        return float(L[:-1].sum() - self.start_s + self.goal_s)


@dataclass(frozen=True)
class HighwayParams:
    """A straight multi-lane highway."""

    lanes: int = 4  # number of lanes [-]
    length: float = 2000.0  # road length [m]
    lane_width: float = 4.0  # [m]
    speed_limit: float = 30.0  # [m/s]
    start_s: float = 150.0  # ego start position along the road [m]
    route_length: float = 1500.0  # distance to drive to complete the route [m]

    def __post_init__(self):
        _check(self, lanes=(1, 8), length=(200.0, 1e5), lane_width=(2.0, 6.0), speed_limit=(1.0, 70.0))
        if self.start_s + self.route_length > self.length - 10:
            raise ValueError("HighwayParams: start_s + route_length must be < length - 10")


def _check(obj, **ranges):
    for k, (lo, hi) in ranges.items():
        v = getattr(obj, k)
        if not lo <= v <= hi:
            raise ValueError(f"{type(obj).__name__}.{k}={v!r} is out of range [{lo}, {hi}]")


def build_highway(p: HighwayParams = HighwayParams()) -> Map:
    b = RoadBuilder()
    offs = [k * p.lane_width for k in range(p.lanes)]
    b.add(straight((0.0, 0.0), (p.length, 0.0)), offs, p.lane_width, p.speed_limit, name="highway")
    road = b.build()
    lanes = np.arange(p.lanes)
    return Map(road, np.array([0]), lanes, p.start_s, p.start_s + p.route_length, lanes, lanes, "window")


@dataclass(frozen=True)
class RacetrackParams:
    """A closed, curvy two-lane track; the route is one lap."""

    lanes: int = 2  # [-]
    lane_width: float = 5.0  # [m]
    speed_limit: float = 20.0  # [m/s]
    scale: float = 1.5  # size multiplier of the track's control points [-]

    def __post_init__(self):
        _check(self, lanes=(1, 4), lane_width=(2.0, 8.0), speed_limit=(1.0, 50.0), scale=(0.5, 4.0))


_TRACK = [(0, 0), (120, 0), (200, 30), (230, 100), (190, 160), (120, 150), (80, 128), (30, 150), (-50, 140), (-80, 70), (-60, 15)]


def build_racetrack(p: RacetrackParams = RacetrackParams()) -> Map:
    b = RoadBuilder()
    pts = smooth_closed(np.asarray(_TRACK, float) * p.scale, step=2.0)
    offs = [(k - (p.lanes - 1) / 2) * p.lane_width for k in range(p.lanes)]
    q = b.add(pts, offs, p.lane_width, p.speed_limit, name="track")
    for k in range(p.lanes):
        b.link(q, k, q, k)
    road = b.build()
    lanes = np.arange(p.lanes)
    start = 10.0
    return Map(road, np.array([0, 0]), lanes, start, start, lanes, lanes, "entries")


@dataclass(frozen=True)
class MergeParams:
    """A two-lane highway with an on-ramp joining from the right through an acceleration lane."""

    lanes: int = 2  # main-road lanes [-]
    lane_width: float = 4.0  # [m]
    speed_limit: float = 30.0  # main road [m/s]
    ramp_speed_limit: float = 20.0  # on-ramp [m/s]
    before: float = 300.0  # main road before the merge zone [m]
    merge_length: float = 200.0  # acceleration lane length [m]
    after: float = 500.0  # main road after the merge zone [m]
    ramp_share: float = 0.15  # share of the entering traffic that comes from the ramp [-]

    def __post_init__(self):
        _check(self, lanes=(1, 6), lane_width=(2.0, 6.0), speed_limit=(1.0, 70.0), ramp_speed_limit=(1.0, 70.0),
               before=(150.0, 5000.0), merge_length=(40.0, 1000.0), after=(100.0, 5000.0), ramp_share=(0.0, 0.9))


def build_merge(p: MergeParams = MergeParams()) -> Map:
    """Ego starts on the main road; ramp traffic must merge in front of or behind it."""
    b = RoadBuilder()
    w = p.lane_width
    main = [k * w for k in range(p.lanes)]
    x0, x1, x2 = 0.0, p.before, p.before + p.merge_length
    s_before = b.add(straight((x0, 0), (x1, 0)), main, w, p.speed_limit, "before")
    s_zone = b.add(straight((x1, 0), (x2, 0)), [-w] + main, w, p.speed_limit, "merge zone")
    s_after = b.add(straight((x2, 0), (x2 + p.after, 0)), main, w, p.speed_limit, "after")
    # ramp: a straight approach then a gentle S joining the acceleration lane (centre y = -w)
    ramp_len = 160.0
    ramp_pts = np.concatenate(
        [
            straight((x1 - ramp_len, -w - 24.0), (x1 - 80.0, -w - 24.0), step=5.0),
            arc((x1 - 80.0, -w - 24.0 + 200.0), 200.0, -np.pi / 2, -np.pi / 2 + 0.2, 2.0)[1:],
        ]
    )
    # finish with a reverse curve ending tangent to y = -w at x1
    end = ramp_pts[-1]
    ctrl_x = np.linspace(end[0], x1, 20)[1:]
    frac = (ctrl_x - end[0]) / (x1 - end[0])
    ctrl_y = end[1] + (-w - end[1]) * (3 * frac**2 - 2 * frac**3)
    ramp_pts = np.concatenate([ramp_pts, np.stack([ctrl_x, ctrl_y], 1)])
    s_ramp = b.add(ramp_pts, [0.0], w, p.ramp_speed_limit, "ramp", lane_change=False)
    b.link(s_ramp, 0, s_zone, 0)
    for k in range(p.lanes):
        b.link(s_before, k, s_zone, k + 1)
        b.link(s_zone, k + 1, s_after, k)
    road = b.build()
    base_before = road.sec_lane[s_before]
    start_lanes = base_before + np.arange(p.lanes)
    populate = np.arange(road.num_lanes)
    spawn = np.concatenate([start_lanes, [road.sec_lane[s_ramp]]])
    ramp_weight = p.ramp_share * p.lanes / (1.0 - p.ramp_share)  # per ramp lane, relative to a main lane
    weights = np.concatenate([np.ones(p.lanes), [ramp_weight]])
    ramp_lanes = [road.sec_lane[s_ramp], road.sec_lane[s_zone]]  # the ramp and the acceleration lane
    populate_weights = np.where(np.isin(populate, ramp_lanes), ramp_weight, 1.0)
    return Map(road, np.array([s_before, s_zone, s_after]), start_lanes, 60.0, p.after - 50.0, populate, spawn, "entries",
               spawn_weights=weights, populate_weights=populate_weights)


_TURNS = ("right", "straight", "left")
EGO_APPROACH_DENSITY = 4.0  # initial traffic density on the ego's own approach, relative to the other lanes [-]
RING_DENSITY = 2.0  # initial traffic density on a roundabout's ring, relative to the arms [-]
RING_STAY = 0.7  # probability that traffic on a roundabout's ring passes an exit by (a busy ring: it passes 2.3 exits on average) [-]


@dataclass(frozen=True)
class IntersectionParams:
    """A four-way signalized intersection of two-lane roads (one lane each way).

    Two phases: north-south, then east-west, each ``green`` seconds of green, ``amber`` of
    amber and ``clearance`` of all-red. Left turns are permissive: they give way to oncoming
    straight and right-turning traffic (see :mod:`.junctions`). The world shifts the cycle by a
    seeded offset per episode.
    """

    lane_width: float = 4.0  # [m]
    arm_length: float = 80.0  # length of each approach [m]
    box: float = 10.0  # half size of the intersection box [m]
    speed_limit: float = 13.0  # on the approaches [m/s]
    turn_speed: float = 8.0  # inside the intersection [m/s]
    green: float = 12.0  # green time per phase [s]
    amber: float = 3.0  # amber after each green [s]
    clearance: float = 2.0  # all-red after each amber [s]
    turn: str = "left"  # the ego's manoeuvre: left, straight or right

    def __post_init__(self):
        _check(self, lane_width=(2.0, 6.0), arm_length=(30.0, 1000.0), box=(5.0, 40.0), speed_limit=(1.0, 40.0),
               turn_speed=(1.0, 40.0), green=(1.0, 120.0), amber=(0.0, 10.0), clearance=(0.0, 30.0))
        if self.turn not in _TURNS:
            raise ValueError(f"IntersectionParams.turn={self.turn!r}: must be one of {_TURNS}")


def build_intersection(p: IntersectionParams = IntersectionParams()) -> Map:
    """Arms at 0, 90, 180, 270 degrees (east, north, west, south); the ego comes from the south.

    Each approach has two lanes: the right one for straight on and right turns, the left one a
    left-turn lane; each road has one outgoing lane.
    """
    b = RoadBuilder()
    w, L = p.lane_width, p.arm_length
    A = max(p.box, 2 * w + 2.0)
    angles = np.array([0.0, 0.5, 1.0, 1.5]) * np.pi
    inc, out = [], []
    for th in angles:
        u = np.array([np.cos(th), np.sin(th)])
        n = np.array([-u[1], u[0]])
        # inbound: lane 0 (outer, straight/right) at 1.5 w from the centre line, lane 1 (left turns) next to it
        inc.append(b.add(straight(u * (A + L) + n * 1.5 * w, u * A + n * 1.5 * w), [0.0, w], w, p.speed_limit, "in", lane_change=False))
        out.append(b.add(straight(u * A - n * w / 2, u * (A + L) - n * w / 2), [0.0], w, p.speed_limit, "out", lane_change=False))
    conn = {}
    for k, th in enumerate(angles):
        for turn, dk, ln in (("right", 1, 0), ("straight", 2, 0), ("left", 3, 1)):
            j = (k + dk) % 4
            u = np.array([np.cos(th), np.sin(th)])
            n = np.array([-u[1], u[0]])
            p0 = b.sections[inc[k]].points[-1] - n * w * ln  # lane offsets grow to the left of travel (-n)
            p1 = b.sections[out[j]].points[0]
            pts = bezier(p0, th + np.pi, p1, angles[j], step=1.0)
            q = b.add(pts, [0.0], w, p.turn_speed, f"{turn}", lane_change=False, junction=True, priority=1 if turn == "left" else 2)
            b.link(inc[k], ln, q, 0)
            b.link(q, 0, out[j], 0)
            conn[(k, turn)] = q
    b.area(np.array([[-A, -A], [A, -A], [A, A], [-A, A]]))
    road = b.build()
    period = p.green + p.amber + p.clearance
    ego_arm = 3
    # phase 0: north-south (arms 1, 3); phase 1: east-west (arms 0, 2); both lanes of an approach together
    lights = np.array([[road.sec_lane[inc[k]] + ln, k % 2 == 0] for k in range(4) for ln in (0, 1)], np.int64)
    phases = np.array([[0.0, p.green], [period, p.green]])
    route = np.array([inc[ego_arm], conn[(ego_arm, p.turn)], out[(ego_arm + {"right": 1, "straight": 2, "left": 3}[p.turn]) % 4]])
    inc_l = np.concatenate([road.sec_lane[q] + np.arange(2) for q in inc])
    out_l = road.sec_lane[np.array(out)]
    ego_lane = road.sec_lane[inc[ego_arm]] + (1 if p.turn == "left" else 0)
    populate = np.concatenate([inc_l, out_l])
    # vehicles queue ahead of the ego in its own lane more often: the ego must see them
    populate_weights = np.where(populate == ego_lane, EGO_APPROACH_DENSITY, 1.0)
    return Map(road, route, np.array([ego_lane]), 20.0, L - 20.0, populate, inc_l, "entries", lights=lights,
               phases=phases, amber=p.amber, cycle=2 * period, populate_weights=populate_weights)


@dataclass(frozen=True)
class RoundaboutParams:
    """A one-lane roundabout with four two-lane arms; entering traffic gives way to the ring."""

    lane_width: float = 4.0  # [m]
    radius: float = 22.0  # ring lane centre radius [m]
    arm_length: float = 80.0  # [m]
    speed_limit: float = 13.0  # on the arms [m/s]
    ring_speed: float = 9.0  # on the ring [m/s]
    exit: int = 2  # the ego leaves at the 1st, 2nd or 3rd exit [-]

    def __post_init__(self):
        _check(self, lane_width=(2.0, 6.0), radius=(10.0, 100.0), arm_length=(30.0, 1000.0), speed_limit=(1.0, 40.0),
               ring_speed=(1.0, 40.0), exit=(1, 3))


def build_roundabout(p: RoundaboutParams = RoundaboutParams()) -> Map:
    """Arms at 0, 90, 180, 270 degrees; counter-clockwise ring (right-hand traffic); ego from the south."""
    b = RoadBuilder()
    w, R, L = p.lane_width, p.radius, p.arm_length
    A = R + 14.0  # where the arms meet the connectors
    delta = np.arcsin(min(0.9, (w / 2 + 6.0) / R))  # angular offset of entries/exits from the arm axis
    angles = np.array([0.0, 0.5, 1.0, 1.5]) * np.pi
    # ring nodes counter-clockwise: exit X_k = th_k - delta, entry E_k = th_k + delta;
    # ring[2k] runs X_k -> E_k (past arm k), ring[2k+1] runs E_k -> X_{k+1}
    nodes = np.stack([angles - delta, angles + delta], 1).ravel()
    ring = []
    for i in range(8):
        a0, a1 = nodes[i], nodes[(i + 1) % 8]
        while a1 <= a0:
            a1 += 2 * np.pi
        ring.append(b.add(arc((0.0, 0.0), R, a0, a1, step=1.5), [0.0], w, p.ring_speed, "ring", lane_change=False, junction=True,
                          priority=2))
    for i in range(8):
        b.link(ring[i], 0, ring[(i + 1) % 8], 0)
    inc, out, entry, exitc = [], [], [], []
    for k, th in enumerate(angles):
        u = np.array([np.cos(th), np.sin(th)])
        n = np.array([-u[1], u[0]])
        qi = b.add(straight(u * (A + L) + n * w / 2, u * A + n * w / 2), [0.0], w, p.speed_limit, "in", lane_change=False)
        qo = b.add(straight(u * A - n * w / 2, u * (A + L) - n * w / 2), [0.0], w, p.speed_limit, "out", lane_change=False)
        ea = th + delta
        ep = R * np.array([np.cos(ea), np.sin(ea)])
        qe = b.add(bezier(b.sections[qi].points[-1], th + np.pi, ep, ea + np.pi / 2, 1.0), [0.0], w, 0.6 * p.ring_speed, "entry",
                   lane_change=False, junction=True, priority=1)  # entering traffic gives way to the ring
        xa = th - delta
        xp = R * np.array([np.cos(xa), np.sin(xa)])
        qx = b.add(bezier(xp, xa + np.pi / 2, b.sections[qo].points[0], th, 1.0), [0.0], w, p.ring_speed, "exit",
                   lane_change=False, junction=True)
        b.link(qi, 0, qe, 0)
        b.link(qe, 0, ring[2 * k + 1], 0)  # merges at E_k, where ring[2k] ends
        b.link(ring[(2 * k - 1) % 8], 0, qx, 0)  # leaves at X_k, where ring[2k-1] ends
        b.link(qx, 0, qo, 0)
        inc.append(qi), out.append(qo), entry.append(qe), exitc.append(qx)
    road = b.build()
    ego_arm = 3
    k = ego_arm
    route = [inc[k], entry[k], ring[2 * k + 1]]
    for _ in range(p.exit - 1):
        k = (k + 1) % 4
        route += [ring[2 * k], ring[2 * k + 1]]
    k = (k + 1) % 4
    route += [exitc[k], out[k]]
    inc_l = road.sec_lane[np.array(inc)]
    out_l = road.sec_lane[np.array(out)]
    ring_l = road.sec_lane[np.array(ring)]
    # traffic stays on the ring past an exit more often than it takes it
    link_weights = {(int(road.sec_lane[ring[(2 * k - 1) % 8]]), int(road.sec_lane[ring[2 * k]])): RING_STAY / (1.0 - RING_STAY)
                    for k in range(4)}
    populate = np.concatenate([inc_l, out_l, ring_l])
    ego_lane = road.sec_lane[inc[ego_arm]]
    # a busy ring: more vehicles start on it, and on the ego's approach (queues it must see)
    populate_weights = np.where(populate == ego_lane, EGO_APPROACH_DENSITY, np.where(np.isin(populate, ring_l), RING_DENSITY, 1.0))
    return Map(road, np.array(route), np.array([ego_lane]), 20.0, L - 20.0, populate, inc_l, "entries",
               yield_lanes=road.sec_lane[np.array(entry)], populate_weights=populate_weights, link_weights=link_weights)
