"""Lights with amber, right of way at conflict zones (roundabout priority, permissive left turns),
merges and splits, and the ego's red-light and failure-to-yield events."""

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
import envs.driving.tables as tables
from envs.driving.junctions import AMBER, CROSSING, GREEN, MERGE, RED, SPLIT, conflict_zones, light_state, zone_kinds
from envs.driving.maps import IntersectionParams, build_intersection, build_roundabout
from envs.driving.world import TRAFFIC, World, WorldParams


def test_light_cycle_with_amber_offset_and_override():
    # green 10 s from t = 5 of a 30 s cycle, then 3 s amber
    states = [light_state(t, 0.0, -1, 5.0, 10.0, 3.0, 30.0) for t in np.arange(0.0, 30.0, 1.0)]
    assert states[5] == GREEN and states[14] == GREEN and states[15] == AMBER and states[17] == AMBER
    assert states[18] == RED and states[4] == RED and states.count(GREEN) == 10 and states.count(AMBER) == 3
    # an offset shifts the cycle
    assert light_state(7.0, 2.0, -1, 5.0, 10.0, 3.0, 30.0) == GREEN and light_state(6.0, 2.0, -1, 5.0, 10.0, 3.0, 30.0) == RED
    # overrides: 0 red, 1 green, 2 amber
    assert [light_state(6.0, 0.0, k, 5.0, 10.0, 3.0, 30.0) for k in (0, 1, 2)] == [RED, GREEN, AMBER]


def _intersection_world(vehicles=0, obstacles=2):
    m = build_intersection(IntersectionParams(turn="straight"))
    w = World(m, 1, WorldParams(vehicles=vehicles, obstacles=obstacles, ego_speed=0.0))
    w.reset([0], np.array([1], np.uint64))
    w.place_obstacle(0, 0, int(m.start_lanes[0]), 5.0, kind=0, speed=0.0)  # ego parked far back
    w.speed_factor[0] = 1.0
    return m, w


def _one_car_at_light(state, start_s=10.0, speed=12.0, seconds=15.0):
    m, w = _intersection_world()
    r = w.road
    lane = int(r.sec_lane[0])  # the east approach, its straight/right lane (light row 0)
    w.place_obstacle(0, 1, lane, start_s, kind=TRAFFIC, speed=speed)
    w.light_override[0, :2] = state
    for _ in range(int(seconds * 15)):
        w.step(np.zeros(1), np.zeros(1))
    return w, r.lane_length[lane], lane


def test_traffic_stops_on_red_and_goes_on_green():
    w, L, lane = _one_car_at_light(RED)
    assert w.lane[0, 1] == lane and w.v[0, 1] < 0.1 and L - 6.0 < w.s[0, 1] < L  # stopped just before the line
    w, L, lane = _one_car_at_light(1)  # override 1: green
    assert w.road.lane_sec[w.lane[0, 1]] != 0 or not w.active[0, 1]  # went through (or left the map)


def test_amber_dilemma():
    """At amber, a car that can stop comfortably stops; one too close to stop comfortably goes on."""
    far, L, lane = _one_car_at_light(2, start_s=10.0, speed=12.0)
    assert far.lane[0, 1] == lane and far.v[0, 1] < 0.1
    near, L, lane = _one_car_at_light(2, start_s=L - 12.0, speed=13.0, seconds=3.0)
    assert near.lane[0, 1] != lane  # past the line


def test_conflict_zones_give_way_to_the_ring_and_left_turns_to_oncoming_traffic():
    r = build_roundabout().road
    conf0, nconf, zones, other, prio = conflict_zones(r)
    entries = [ln for ln in range(r.num_lanes) if r.specs[r.lane_sec[ln]].name == "entry"]
    for ln in entries:  # every entry has a merge zone with the ring, and gives way there
        rows = range(conf0[ln], conf0[ln] + nconf[ln])
        ring = [c for c in rows if r.specs[r.lane_sec[other[c]]].name == "ring"]
        assert ring and all(prio[c] == -1 for c in ring)
        assert all(zones[c, 1] == pytest.approx(r.lane_length[ln], abs=0.6) for c in ring)  # ends where it joins
    ri = build_intersection().road
    conf0, nconf, zones, other, prio = conflict_zones(ri)
    lefts = [ln for ln in range(ri.num_lanes) if ri.specs[ri.lane_sec[ln]].name == "left"]
    straights = {ln for ln in range(ri.num_lanes) if ri.specs[ri.lane_sec[ln]].name == "straight"}
    for ln in lefts:  # each permissive left crosses straight traffic and gives way to it
        rows = range(conf0[ln], conf0[ln] + nconf[ln])
        assert any(other[c] in straights and prio[c] == -1 for c in rows)


def _roundabout_scene(ring_car_s, entry_speed=5.0):
    m = build_roundabout()
    w = World(m, 1, WorldParams(vehicles=0, obstacles=2, ego_speed=0.0))
    w.reset([0], np.array([2], np.uint64))
    r = w.road
    w.place_obstacle(0, 0, int(m.start_lanes[0]), 5.0, kind=0, speed=0.0)  # ego parked far back
    yl = int(m.yield_lanes[0])  # entry of arm 0
    ring_next = int(r.lane_succ[yl, 0])
    ring_before = int(r.lane_pred[ring_next][r.lane_pred[ring_next] != yl][0])  # the ring lane arriving at the merge
    w.place_obstacle(0, 1, yl, 2.0, kind=TRAFFIC, speed=entry_speed)
    if ring_car_s is not None:
        w.place_obstacle(0, 2, ring_before, ring_car_s, kind=TRAFFIC, speed=9.0)
    w.speed_factor[0] = 1.0
    return w, yl, ring_before


def test_roundabout_entry_gives_way_to_ring_traffic():
    w, yl, ring = _roundabout_scene(0.0)
    entered_first = False
    for _ in range(10 * 15):
        w.step(np.zeros(1), np.zeros(1))
        if w.lane[0, 1] != yl and w.lane[0, 2] == ring:
            entered_first = True
    assert not entered_first
    assert w.lane[0, 1] != yl  # and it entered afterwards


def _zone_start(road, lane, other):
    """Where lane ``lane``'s conflict zone with ``other`` starts [m]."""
    conf0, nconf, zones, oth, prio = conflict_zones(road)
    rows = [c for c in range(conf0[lane], conf0[lane] + nconf[lane]) if oth[c] == other]
    return float(zones[rows[0], 0])


def test_ring_traffic_keeps_its_priority():
    """Defect 4: the ring used to yield to any vehicle past its give-way line. A ring car passing
    an entry where a car waits keeps its speed; it brakes only for one actually in its way."""
    w, yl, ring = _roundabout_scene(None, entry_speed=0.0)
    z0 = _zone_start(w.road, yl, ring)
    w.place_obstacle(0, 1, yl, z0 - 1.0 - 2.5, kind=TRAFFIC, speed=0.0)  # waiting at its give-way line
    w.place_obstacle(0, 2, ring, 0.0, kind=TRAFFIC, speed=9.0)
    accs = []
    for _ in range(2 * 15):
        w.step(np.zeros(1), np.zeros(1))
        accs.append(w.acc[0, 2])
    assert min(accs) > -1.0  # no braking for a car that gives way
    # control: the same ring car brakes hard for a car standing in the merge zone
    w2, yl2, ring2 = _roundabout_scene(None, entry_speed=0.0)
    w2.place_obstacle(0, 1, yl2, _zone_start(w2.road, yl2, ring2) + 2.0, kind=TRAFFIC, speed=0.0)
    w2.set_script(0, 1, acc=0.0)
    w2.place_obstacle(0, 2, ring2, 0.0, kind=TRAFFIC, speed=9.0)
    accs2 = []
    for _ in range(2 * 15):
        w2.step(np.zeros(1), np.zeros(1))
        accs2.append(w2.acc[0, 2])
    assert min(accs2) < -2.0


def test_permissive_left_turn_waits_for_oncoming_traffic():
    m = build_intersection(IntersectionParams())
    w = World(m, 1, WorldParams(vehicles=0, obstacles=2, ego_speed=0.0))
    w.reset([0], np.array([4], np.uint64))
    r = w.road
    w.place_obstacle(0, 0, int(r.sec_lane[2]), 5.0, kind=0, speed=0.0)  # ego parked on the north arm
    left_lane = int(r.sec_lane[6]) + 1  # the south approach's left-turn lane (arm 3)
    oncoming = int(r.sec_lane[2])  # the north approach, straight/right lane (arm 1)
    w.light_override[0, :] = 1  # everything green: only the right of way decides
    w.place_obstacle(0, 1, left_lane, r.lane_length[left_lane] - 6.0, kind=TRAFFIC, speed=3.0)
    w.place_obstacle(0, 2, oncoming, r.lane_length[oncoming] - 40.0, kind=TRAFFIC, speed=12.0)
    w.turn[0, 2] = -2  # straight on (successor index 1)
    w.speed_factor[0] = 1.0
    left_went_first = False
    for _ in range(12 * 15):
        w.step(np.zeros(1), np.zeros(1))
        on_connector = r.lane_sec[w.lane[0, 1]] not in (6,) and w.s[0, 1] > 6.0
        oncoming_waiting = r.lane_sec[w.lane[0, 2]] == 2
        if on_connector and oncoming_waiting:
            left_went_first = True
    assert not left_went_first
    assert r.lane_sec[w.lane[0, 1]] != 6  # it turned once the oncoming car had passed


def _drive_through_on(light):
    """Drive straight through the intersection with every light held at ``light``; whether a
    red-light run was reported."""
    env = gym.make("simdrive/Intersection-v0", vehicles=0, action="continuous", turn="straight")
    env.reset(seed=0)
    w = env.unwrapped.world
    w.light_override[0, :] = light
    seen = False
    for _ in range(100):
        _, _, term, trunc, info = env.step(np.array([0.0, 0.6, 0.0], np.float32))
        seen |= info["ran_red_light"]
        if term or trunc or w.route_i[0] > 0:
            break
    return seen


def test_red_light_event_when_the_front_crosses_on_red():
    assert _drive_through_on(RED)
    # control: the same drive on amber is not a red-light run
    assert not _drive_through_on(2)


def _ego_into_ring(ring_car_ahead: float):
    """The ego on its roundabout entry 3 m before the merge zone at 6 m/s, holding its speed; a
    ring car ``ring_car_ahead`` metres before its own zone at 9 m/s. Returns whether the ego
    failed to yield."""
    env = gym.make("simdrive/Roundabout-v0", vehicles=0, obstacles=1, action="continuous", policy_frequency=15.0)
    env.reset(seed=0)
    w = env.unwrapped.world
    r = w.road
    entry = int(r.lane_succ[w.tlane[0, 0], 0])
    ring_next = int(r.lane_succ[entry, 0])
    ring_before = int(r.lane_pred[ring_next][r.lane_pred[ring_next] != entry][0])
    w.place_obstacle(0, 0, entry, _zone_start(r, entry, ring_before) - 3.0 - 2.5, 5.0, 2.0, kind=0, speed=6.0)
    w.route_i[0] = 1
    env.unwrapped.core.prev_progress[0] = w.ego_progress()[0]
    zb = _zone_start(r, ring_before, entry)
    lane, s = _ring_back(r, ring_before, zb - ring_car_ahead - 2.5)
    w.place_obstacle(0, 1, lane, s, kind=TRAFFIC, speed=9.0)
    failed = False
    for _ in range(45):
        _, _, term, trunc, info = env.step(np.array([0.0, 0.0, 0.0], np.float32))  # coasting at 6 m/s
        failed |= info["failed_to_yield"]
        if term or trunc:
            break
    return failed


def test_failure_to_yield_event():
    """An ego driving into the ring in front of a ring car 10 m from the merge fails to yield;
    the same drive with the ring car 80 m away does not."""
    assert _ego_into_ring(10.0)
    assert not _ego_into_ring(80.0)


# --------------------------------------------------------------------------- merges and splits
def test_zone_kinds_merges_splits_and_crossings():
    r = build_roundabout().road
    conf0, nconf, zones, other, prio = conflict_zones(r)
    kind = zone_kinds(r, conf0, nconf, zones, other)
    name = lambda ln: r.specs[r.lane_sec[ln]].name  # noqa: E731
    for ln in range(r.num_lanes):
        for c in range(conf0[ln], conf0[ln] + nconf[ln]):
            pair = {name(ln), name(other[c])}
            # an entry joins the ring (merge); an exit leaves it beside the ring's continuation (split)
            assert kind[c] == {frozenset({"entry", "ring"}): MERGE, frozenset({"exit", "ring"}): SPLIT}[frozenset(pair)]
    ri = build_intersection().road
    conf0, nconf, zones, other, prio = conflict_zones(ri)
    kind = zone_kinds(ri, conf0, nconf, zones, other)
    assert {CROSSING, MERGE, SPLIT} <= set(kind.tolist())  # left turns cross oncoming traffic, turns join lanes


def _all_crossings(monkeypatch):
    """Control: treat every conflict zone as a crossing (the rule before merges and splits)."""
    real = tables.zone_kinds
    monkeypatch.setattr(tables, "zone_kinds", lambda *a, **k: np.full_like(real(*a, **k), CROSSING))


def _ring_back(r, lane, s):
    """(lane, s) ``-s`` metres back along the ring from the start of ``lane`` when s < 0."""
    while s < 0:
        lane = int(r.lane_pred[lane, 0])
        s += r.lane_length[lane]
    return lane, s


def _entry_and_ring_car(entry_s_from_zone, entry_speed, ring_from_merge, seconds, settle=1.0):
    """A car on roundabout entry 0 (its front ``entry_s_from_zone`` m past the start of its merge
    zone, at ``entry_speed``) and a ring car at 9 m/s whose front is ``ring_from_merge`` m
    before the merge point, staying on the ring. Returns (which reached the ring lane after the
    merge first, the ring car's lowest speed [m/s] and acceleration [m/s^2] after ``settle`` [s]
    (placed on the curved ring, it adapts to the curve's speed cap at first), and the closest
    the two cars' centres came [m])."""
    w, yl, ring = _roundabout_scene(None)
    r = w.road
    ring_next = int(r.lane_succ[yl, 0])
    w.place_obstacle(0, 1, yl, _zone_start(r, yl, ring) + entry_s_from_zone - 2.5, kind=TRAFFIC, speed=entry_speed)
    lane, s = _ring_back(r, ring, r.lane_length[ring] - ring_from_merge - 2.5)
    w.place_obstacle(0, 2, lane, s, kind=TRAFFIC, speed=9.0)
    w.turn[0, 2] = -1  # successor 0: the ring's continuation at every exit
    first, vmin, amin, closest = None, np.inf, np.inf, np.inf
    for t in range(int(seconds * 15)):
        w.step(np.zeros(1), np.zeros(1))
        if first is None and ring_next in (w.lane[0, 1], w.lane[0, 2]):
            first = "entry" if w.lane[0, 1] == ring_next else "ring"
        if t >= settle * 15:
            vmin, amin = min(vmin, w.v[0, 2]), min(amin, w.acc[0, 2])
        closest = min(closest, np.hypot(w.x[0, 1] - w.x[0, 2], w.y[0, 1] - w.y[0, 2]))
    return first, vmin, amin, closest


def test_roundabout_entry_accepts_a_critical_headway_of_about_five_seconds(monkeypatch):
    """A car waiting at its give-way line enters in front of a ring car 5.5 s (49.5 m) from the
    merge point (single-lane roundabout entries accept about 5 s, HCM 6th ed. ch. 22), and the
    ring car barely brakes; it waits for one 2 s away."""
    first, vmin, amin, closest = _entry_and_ring_car(-1.0, 0.0, 5.5 * 9.0, 10.0)
    assert first == "entry" and amin > -1.5 and closest > 10.0
    assert _entry_and_ring_car(-1.0, 0.0, 2.0 * 9.0, 10.0)[0] == "ring"
    # control: the crossing rule (clear the zone, then the 3 s critical gap) made it wait, which
    # starved the entries of a busy ring
    _all_crossings(monkeypatch)
    assert _entry_and_ring_car(-1.0, 0.0, 5.5 * 9.0, 10.0)[0] == "ring"


def test_ring_car_follows_a_car_merging_ahead_instead_of_stopping(monkeypatch):
    """A car already inside its merge zone at 5 m/s, a ring car 20 m before the merge point: the
    ring car follows it (IDM) rather than braking to stop before the zone."""
    first, vmin, amin, closest = _entry_and_ring_car(1.0, 5.0, 20.0, 6.0, settle=0.0)
    assert first == "entry" and closest > 5.0 + 2.0  # it joined first, and the ring car kept a gap behind it
    assert vmin > 4.5 and amin > -4.0
    _all_crossings(monkeypatch)  # control: it brakes at its emergency limit for the car in the zone
    _, vmin, amin, _ = _entry_and_ring_car(1.0, 5.0, 20.0, 6.0, settle=0.0)
    assert amin < -7.9 and vmin < 3.0


def _follow_through_split(behind):
    """A car 1 m into a roundabout exit at 5 m/s and a ring car ``behind`` m before the split at
    8 m/s, staying on the ring: its lowest speed [m/s] and acceleration [m/s^2]."""
    w, yl, ring = _roundabout_scene(None)
    r = w.road
    ring_next = int(r.lane_succ[yl, 0])
    succ = [int(x) for x in r.lane_succ[ring_next] if x >= 0]
    exit_lane = next(x for x in succ if r.specs[r.lane_sec[x]].name == "exit")
    ring_on = next(x for x in succ if r.specs[r.lane_sec[x]].name == "ring")
    w.place_obstacle(0, 1, exit_lane, 1.0 + 2.5, kind=TRAFFIC, speed=5.0)
    w.set_script(0, 1, acc=0.0)
    w.place_obstacle(0, 2, ring_next, r.lane_length[ring_next] - behind - 2.5, kind=TRAFFIC, speed=8.0)
    w.turn[0, 2] = -1 - succ.index(ring_on)
    vmin, amin, closest, travelled = np.inf, np.inf, np.inf, 0.0
    for t in range(5 * 15):
        w.step(np.zeros(1), np.zeros(1))
        travelled += w.v[0, 2] * w.dt
        if t > 3:
            vmin, amin = min(vmin, w.v[0, 2]), min(amin, w.acc[0, 2])
        closest = min(closest, np.hypot(w.x[0, 1] - w.x[0, 2], w.y[0, 1] - w.y[0, 2]))
    assert travelled > 20.0 and r.specs[r.lane_sec[w.lane[0, 2]]].name == "ring"  # it went on round the ring
    return vmin, amin, closest


def test_ring_car_follows_an_exiting_car_through_the_split(monkeypatch):
    """Where an exit leaves the ring, the car staying on follows the one leaving until they part,
    instead of stopping before the split until it has left."""
    vmin, amin, closest = _follow_through_split(10.0)
    assert vmin > 5.0 and amin > -3.0 and closest > 5.0 + 2.0  # behind it, at least its minimum gap
    _all_crossings(monkeypatch)  # control: first come, first served: it stops hard for the one inside
    vmin, amin, _ = _follow_through_split(10.0)
    assert amin < -7.9 and vmin < 3.0
