"""The bird's-eye raster on constructed scenes: every channel gives the pixels the geometry
predicts (ego-centred, heading up, ``look_ahead`` metres in front, left to the left)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.birdseye import AMBER, GREEN, RED, VEHICLES, BirdsEye, channel_names
from envs.driving.maps import HighwayParams, IntersectionParams, build_highway, build_intersection
from envs.driving.world import World, WorldParams

S = 1.0  # [m/px]
W = H = 32
AHEAD = 16.25  # the ego's centre sits at row 15.75, column 15.5 (between pixel centres)


def _scene(ego_d=4.25, lead_dx=10.0, lead_dd=0.0):
    """One world on a 4-lane highway along +x: ego at x=100 (heading 0), one vehicle ahead."""
    m = build_highway(HighwayParams(lanes=4, length=400.0, lane_width=4.0, start_s=50.0, route_length=300.0))
    w = World(m, 1, WorldParams(vehicles=2, obstacles=0))
    w.reset(np.array([0]), np.array([7], np.uint64))
    w.active[0] = [True, True, False]
    w.x[0, :2] = [100.0, 100.0 + lead_dx]
    w.y[0, :2] = [ego_d, ego_d + lead_dd]
    w.h[0, :2] = 0.0
    w.length[0, :2], w.width[0, :2] = 5.0, 2.0
    w.t[0] = 0
    return w


def _pixel_world(ego_x, ego_y):
    """World coordinates of every pixel centre of the view (heading 0: up = +x, left = +y)."""
    rows, cols = np.mgrid[0:H, 0:W]
    fwd = (AHEAD / S - 0.5 - rows) * S
    left = (W / 2 - 0.5 - cols) * S
    return ego_x + fwd, ego_y + left


def test_channel_table():
    sensor = BirdsEye(W, H, S, AHEAD, history=2)
    assert sensor.space().shape == (7 + 3, H, W)
    assert channel_names(2) == ("road", "lane_lines", "route", "speed_limit", "traffic_lights", "ego", "ego_speed",
                                "vehicles_t-0", "vehicles_t-1", "vehicles_t-2")
    assert channel_names(2)[VEHICLES] == "vehicles_t-0"


def test_boxes_road_route_speed_on_a_constructed_scene():
    w = _scene()
    sensor = BirdsEye(W, H, S, AHEAD, history=1, speed_norm=40.0)
    obs = sensor.observe(w)[0]
    # vehicle 10 m ahead in the same lane: forward 7.5..12.5 m -> rows 3.25..8.25, left -1..1 m -> cols 14.5..16.5
    expected = np.zeros((H, W), np.uint8)
    expected[4:9, 15:17] = 255
    np.testing.assert_array_equal(obs[VEHICLES], expected)
    # the ego's own box at the centre, in the ego channel only (not among the vehicles)
    ego = np.zeros((H, W), np.uint8)
    ego[14:19, 15:17] = 255
    np.testing.assert_array_equal(obs[5], ego)
    # a fresh episode: the past frame is the present
    np.testing.assert_array_equal(obs[VEHICLES + 1], expected)
    # road: |d - 6| <= 8 (lanes d = 0, 4, 8, 12, 4 m wide); pixels a whole pixel inside / outside are exact
    x, y = _pixel_world(100.0, 4.25)
    inside, outside = (y > -2 + S) & (y < 14 - S), (y < -2 - S) | (y > 14 + S)
    assert (obs[0][inside] == 255).all() and (obs[0][outside] == 0).all()
    # speed limit 30 m/s of 40 -> 191 on the road, 0 off it
    assert (obs[3][inside] == round(255 * 30 / 40)).all() and (obs[3][outside] == 0).all()
    # lane lines: road edges at d = -2 and 14 (255), dividers at d = 2, 6, 10 (128), 1 px wide, within
    # half a map pixel of column 15.5 - (d - 4.25); lane centres carry no line
    line_cols = np.nonzero(obs[1].any(0))[0]
    assert len(line_cols) == 5
    for d, val in ((-2.0, 255), (14.0, 255), (2.0, 128), (6.0, 128), (10.0, 128)):
        col = line_cols[np.argmin(np.abs(line_cols - (15.5 - (d - 4.25))))]
        assert abs(col - (15.5 - (d - 4.25))) <= 1.0 and (obs[1][:, col] == val).all(), (d, col)
    assert not obs[1][:, [8, 12, 16, 20]].any()
    # route: a band half a lane wide around the centre line of lane d = 4 (column 15.75)
    assert (obs[2][outside] == 0).all()
    route_cols = np.nonzero(obs[2].any(0))[0]
    assert 2 <= len(route_cols) <= 3 and obs[2][:, route_cols].all() and abs(route_cols.mean() - 15.75) <= 1.0
    # no light on a highway
    assert not obs[4].any()


@pytest.mark.parametrize("speed, code", [(30.0, round(255 * 30 / 40)), (10.0, round(255 * 10 / 40)), (0.0, 0), (55.0, 255)])
def test_ego_speed_fills_the_ego_box(speed, code):
    w = _scene()
    w.v[0, 0] = speed
    w.v[0, 1] = 12.0  # another vehicle's speed never shows in this channel
    obs = BirdsEye(W, H, S, AHEAD, history=1, speed_norm=40.0).observe(w)[0]
    expected = np.zeros((H, W), np.uint8)
    expected[14:19, 15:17] = code  # the ego's box, as in the ego channel
    np.testing.assert_array_equal(obs[6], expected)


def test_ego_speed_tells_speeds_apart_that_the_pose_trail_cannot():
    """Control for the channel's reason: two egos alone on the road at 22 and 30 m/s, one
    decision (1 s) after a reset, differ in no other channel of a view 20 m behind (their
    previous poses are out of it)."""
    views = []
    for speed in (22.0, 30.0):
        w = _scene()
        w.active[0, 1] = False
        sensor = BirdsEye(64, 64, 1.0, 44.0, history=3)
        sensor.observe(w)
        w.t[0], w.v[0, 0] = 15, speed
        w.x[0, 0] += speed
        views.append(sensor.observe(w)[0])
    differs = [c for c in range(views[0].shape[0]) if not np.array_equal(views[0][c], views[1][c])]
    assert differs == [6]


def test_view_rotates_with_the_ego_and_left_is_left():
    w = _scene(lead_dx=0.0, lead_dd=4.0)  # a vehicle 4 m to the ego's left
    w.x[0, 1] = 100.0
    sensor = BirdsEye(W, H, S, AHEAD, history=0)
    cols = np.nonzero(sensor.observe(w)[0, VEHICLES].any(0))[0]
    assert cols.max() < 15  # left of the ego's column
    # turn the whole scene by 90 degrees about the ego: the raster does not change
    before = sensor.observe(w)[0]
    ex, ey = w.x[0, 0], w.y[0, 0]
    dx, dy = w.x[0] - ex, w.y[0] - ey
    rotated = _scene(lead_dx=0.0, lead_dd=4.0)
    rotated.x[0, :2] = (ex - dy)[:2]
    rotated.y[0, :2] = (ey + dx)[:2]
    rotated.h[0, :2] = np.pi / 2
    after = BirdsEye(W, H, S, AHEAD, history=0).observe(rotated)[0]
    np.testing.assert_array_equal(after[5:], before[5:])


def test_history_ring_buffer():
    w = _scene()
    sensor = BirdsEye(W, H, S, AHEAD, history=2)
    first = sensor.observe(w)[0, VEHICLES].copy()
    w.t[0] = 15
    w.x[0, 1] += 3.0  # the vehicle moves 3 m forward, the ego stays
    second = sensor.observe(w)[0]
    np.testing.assert_array_equal(second[VEHICLES + 1], first)  # one frame ago
    np.testing.assert_array_equal(second[VEHICLES + 2], first)  # two frames ago: the start of the episode
    np.testing.assert_array_equal(np.roll(first, -3, axis=0)[:-3], second[VEHICLES][:-3])
    assert not (second[VEHICLES] == first).all()
    # observing again at the same time pushes nothing
    again = sensor.observe(w)[0]
    np.testing.assert_array_equal(again, second)
    # the ego's past pose: the ego moved 2 m forward, its old box fades (2/3 of 255) behind it
    w.t[0] = 30
    w.x[0, 0] += 2.0
    ego = sensor.observe(w)[0, 5]
    assert ego[14:19, 15:17].min() == 255
    assert (ego[19:21, 15:17] == round(255 * (1 - 1 / 3))).all()
    # a reset (clock back to 0) refills every past frame with the present
    w.t[0] = 0
    fresh = sensor.observe(w)[0]
    np.testing.assert_array_equal(fresh[VEHICLES + 1], fresh[VEHICLES])
    np.testing.assert_array_equal(fresh[VEHICLES + 2], fresh[VEHICLES])


def test_traffic_light_states_per_lane():
    m = build_intersection(IntersectionParams())
    w = World(m, 1, WorldParams(vehicles=0))
    w.reset(np.array([0]), np.array([3], np.uint64))
    sensor = BirdsEye(64, 64, 1.0, 40.0, history=0)
    lights = w.lights[:, 0].astype(int)
    w.light_override[0] = 0  # every light red
    red = sensor.observe(w)[0, 4]
    assert red.any() and set(np.unique(red)) <= {0, RED}
    w.light_override[0] = 1  # every light green
    green = sensor.observe(w)[0, 4]
    np.testing.assert_array_equal(green > 0, red > 0)
    assert set(np.unique(green)) <= {0, GREEN}
    # the ego's approach lane is the one it stands in: its light covers the ego's pixel
    own = sensor.observe(w)[0, 4][40, 32]
    assert w.lane[0, 0] in lights and own == GREEN
    assert AMBER not in np.unique(green)


@pytest.mark.parametrize("env_id", ["simdrive/Highway-v0", "simdrive/Merge-v0"])
def test_registered_sensor_in_envs(env_id):
    env = gym.make(env_id, observation="birdseye", birdseye_history=2)
    try:
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs) and obs.shape == (10, 128, 64)
        obs2, *_ = env.step(env.unwrapped.expert_action())
        assert obs2[0].any() and obs2[5].any()
    finally:
        env.close()


def test_vector_env_matches_single_env():
    vec = gym.make_vec("simdrive/Highway-v0", num_envs=2, observation="birdseye")
    single = gym.make("simdrive/Highway-v0", observation="birdseye")
    try:
        vo, _ = vec.reset(seed=5)
        so, _ = single.reset(seed=6)
        np.testing.assert_array_equal(vo[1], so)
        for _ in range(3):
            vo, *_ = vec.step(np.array([1, 1]))
            so, *_ = single.step(1)
        np.testing.assert_array_equal(vo[1], so)
    finally:
        vec.close()
        single.close()
