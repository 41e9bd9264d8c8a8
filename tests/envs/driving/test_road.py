import numpy as np
import pytest

from envs.driving.maps import build_highway, build_merge, build_racetrack, HighwayParams
from envs.driving.road import RoadBuilder, arc, straight


def _circle_road(radius=50.0):
    b = RoadBuilder()
    b.add(arc((0.0, 0.0), radius, 0.0, np.pi, step=1.0), [0.0, 4.0], 4.0, 20.0)
    return b.build()


def test_straight_arc_length_and_round_trip():
    road = build_highway(HighwayParams(lanes=3, length=500.0, route_length=300.0)).road
    assert road.sec_length[0] == pytest.approx(500.0)
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 500, 200)
    d = rng.uniform(-2, 10, 200)
    sec = np.zeros(200, int)
    x, y, h = road.to_world(sec, s, d)
    np.testing.assert_allclose(x, s)
    np.testing.assert_allclose(y, d)
    s2, d2, h2 = road.project(sec, s + rng.uniform(-3, 3, 200), x, y)
    np.testing.assert_allclose(s2, s, atol=1e-9)
    np.testing.assert_allclose(d2, d, atol=1e-9)


def test_arc_length_matches_circle():
    road = _circle_road(50.0)
    # polyline chords of a 1 m-spaced arc are within 1e-4 of the true arc length
    assert road.sec_length[0] == pytest.approx(50.0 * np.pi, rel=1e-4)


def test_arc_projection_round_trip():
    road = _circle_road(50.0)
    rng = np.random.default_rng(1)
    s = rng.uniform(1, road.sec_length[0] - 1, 300)
    d = rng.uniform(-1.5, 5.5, 300)
    sec = np.zeros(300, int)
    x, y, _ = road.to_world(sec, s, d)
    s2, d2, _ = road.project(sec, s + rng.uniform(-1, 1, 300), x, y)
    # a point at offset d from the polyline: exact d, s within d * (segment angle)
    np.testing.assert_allclose(d2, d, atol=1e-3)
    np.testing.assert_allclose(s2, s, atol=0.15)
    # lateral offset = radius difference (left of a counter-clockwise arc is the inside)
    r = np.hypot(x, y)
    np.testing.assert_allclose(50.0 - r, d, atol=0.02)


def test_project_global_finds_section_and_lane():
    m = build_merge()
    r = m.road
    lane = int(r.sec_lane[2]) + 1  # "after" section, left lane
    x, y, _ = r.to_world(np.array([2]), np.array([100.0]), np.array([r.lane_offset[lane]]))
    sec, s, d, _ = r.project_global(x, y)
    assert sec[0] == 2 and s[0] == pytest.approx(100.0) and r.lane_at(sec, d)[0] == lane


def test_lane_graph_neighbours_and_successors():
    m = build_merge()
    r = m.road
    zone = int(r.sec_lane[1])
    # merge zone lanes: 0 = acceleration lane (ends), 1..2 main lanes
    assert r.lane_left[zone] == zone + 1 and r.lane_right[zone] == -1
    assert r.lane_nsucc[zone] == 0  # the acceleration lane ends
    ramp = int(r.sec_lane[3])
    assert r.lane_succ[ramp, 0] == zone
    assert r.lane_succ[int(r.sec_lane[0]), 0] == zone + 1


def test_racetrack_is_closed_loop():
    r = build_racetrack().road
    assert r.lane_succ[0, 0] == 0 and r.lane_succ[1, 0] == 1
    p0 = r.seg_p0[0]
    p_end = r.seg_p1[-1]
    assert np.linalg.norm(p0 - p_end) < 1e-6


def test_drivable_raster_and_edges_highway():
    r = build_highway(HighwayParams(lanes=2, length=400.0, lane_width=4.0, route_length=200.0)).road
    # lanes centred at 0 and 4: road spans y in [-2, 6]
    assert r.drivable(np.array([100.0, 100.0]), np.array([0.0, 5.5])).all()
    assert not r.drivable(np.array([100.0, 100.0]), np.array([-2.6, 6.6])).any()
    long_edges = r.edges[np.abs(r.edges[:, 2] - r.edges[:, 0]) > 100]
    assert sorted(np.round(long_edges[:, 1], 6).tolist()) == [-2.0, 6.0]
