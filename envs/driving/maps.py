"""Map builders: each takes typed frozen parameters and returns a :class:`Map` (road + ego route
+ where traffic lives). numpy only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .road import Road, RoadBuilder, arc, smooth_closed, straight

__all__ = ["Map", "HighwayParams", "RacetrackParams", "MergeParams", "build_highway", "build_racetrack", "build_merge"]


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
    window: tuple[float, float] = (-150.0, 350.0)  # traffic placement window around the ego, "window" mode [m]
    lights: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # (G, 4): lane, cycle [s], green start [s], green end [s]

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
    merge_length: float = 120.0  # acceleration lane length [m]
    after: float = 500.0  # main road after the merge zone [m]

    def __post_init__(self):
        _check(self, lanes=(1, 6), lane_width=(2.0, 6.0), speed_limit=(1.0, 70.0), ramp_speed_limit=(1.0, 70.0),
               before=(150.0, 5000.0), merge_length=(40.0, 1000.0), after=(100.0, 5000.0))


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
    return Map(road, np.array([s_before, s_zone, s_after]), start_lanes, 60.0, p.after - 50.0, populate, spawn, "entries")
