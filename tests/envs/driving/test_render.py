"""What the driving renderer shows (issue 8, defect 9): the route never leaves the road, the HUD
text has no ghost glyphs, the camera looks ahead, and the render modes show every physics step
at a rate that makes a video play in real time."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.driving.render import COLORS, ROUTE, draw_hud, view_matrix
from envs.driving.sensors import Camera
from envs.driving.world import STATIC


def _route_pixels_on_grass(env_id, positions, width=84, height=84, scale=0.5, ahead=0.8):
    """Over ego poses along the route: how many route-coloured camera pixels lie off the road."""
    env = gym.make(env_id, vehicles=0)
    env.reset(seed=0)
    w = env.unwrapped.world
    r = w.road
    cam = Camera(width, height, scale, ahead)
    off = total = 0
    for q, s, d in positions:
        x, y, h = r.to_world(np.array([q]), np.array([s]), np.array([d]))
        w.x[0, 0], w.y[0, 0], w.h[0, 0] = x[0], y[0], h[0]
        img = cam.observe(w)[0].astype(int)
        route = (np.abs(img - np.array(ROUTE)).sum(-1) < 60)  # the route line's own colour
        rows, cols = np.nonzero(route)
        M = view_matrix(x[0], y[0], h[0], width, height, scale, True, ahead)
        world = np.linalg.solve(M[:, :2], np.stack([cols + 0.5, rows + 0.5]) - M[:, 2:]).T
        off += int((~r.drivable(world[:, 0], world[:, 1])).sum())
        total += len(rows)
    env.close()
    return off, total


def test_racetrack_route_stays_on_the_road():
    """The lap route is one section twice; drawing only the points near the ego used to join its
    near pieces with a ~160 m chord across the grass."""
    env = gym.make("simdrive/Racetrack-v0")
    r = env.unwrapped.world.road
    L = float(r.sec_length[0])
    positions = [(0, s, float(r.lane_offset[0])) for s in np.arange(0.0, L, 40.0)]
    off, total = _route_pixels_on_grass("simdrive/Racetrack-v0", positions)
    assert total > 20 * len(positions) and off == 0


def test_roundabout_route_stays_on_the_road():
    env = gym.make("simdrive/Roundabout-v0")
    w = env.unwrapped.world
    r = w.road
    positions = [(q, s, float(r.lane_offset[r.sec_lane[q]])) for q in w.route for s in np.linspace(0, r.sec_length[q], 4)]
    off, total = _route_pixels_on_grass("simdrive/Roundabout-v0", positions)
    assert total > 0 and off == 0


def test_hud_text_has_no_ghost_glyphs():
    """The text is drawn once, 1 px strokes, on a dimmed panel: nothing darker than the panel
    (the old black shadow, 3 px wide and spaced differently, showed as ghost characters)."""
    img = np.full((80, 320, 3), 120, np.uint8)
    draw_hud(img, ["speed  97.2 km/h  reward +0.84", "route   5.2%  dist   42.2 m"])
    panel = int(0.45 * 120)
    assert img.min() >= panel  # no shadow strokes
    assert (img.min(-1) > 200).sum() > 150  # white text
    assert (img[:, 300:] == 120).all()  # the panel ends after the text


def test_camera_sees_ahead_of_the_ego():
    env = gym.make("simdrive/Highway-v0", observation=("camera",), vehicles=0, obstacles=1)
    env.reset(seed=0)
    w = env.unwrapped.world
    r = w.road
    lane = int(w.lane[0, 0])
    s0, _, _ = r.project(np.array([r.lane_sec[lane]]), None, w.x[0, :1], w.y[0, :1])
    w.place_obstacle(0, 1, lane, float(s0[0]) + 30.0, 4.0, 2.0, kind=STATIC)  # 30 m ahead
    c = env.unwrapped.config
    assert c.camera_ahead == 0.8 and c.camera_height * c.camera_scale * c.camera_ahead > 33.0
    static = np.array(COLORS[STATIC])
    for ahead, visible in ((c.camera_ahead, True), (0.5, False)):  # centred (before): 21 m ahead
        img = Camera(c.camera_width, c.camera_height, c.camera_scale, ahead).observe(w)[0].astype(int)
        assert ((np.abs(img - static).sum(-1) < 40).sum() > 10) == visible
        ego = np.nonzero((np.abs(img - np.array([60, 200, 80])).sum(-1) < 40))[0]
        assert abs(ego.mean() - ahead * c.camera_height) < 2  # the ego's row
    with pytest.raises(ValueError, match="camera_ahead"):
        gym.make("simdrive/Highway-v0", camera_ahead=1.5)


@pytest.mark.parametrize("env_id", ["simdrive/Highway-v0", "simdrive/Roundabout-v0"])
def test_rgb_array_list_gives_every_physics_frame(env_id):
    env = gym.make(env_id, render_mode="rgb_array_list")
    twin = gym.make(env_id, render_mode="rgb_array")
    cfg = env.unwrapped.config
    substeps = cfg.substeps
    assert env.metadata["render_fps"] == cfg.sim_frequency  # one frame per physics step
    assert twin.metadata["render_fps"] == pytest.approx(cfg.sim_frequency / substeps)  # one per decision
    env.reset(seed=3)
    twin.reset(seed=3)
    first = env.render()
    assert len(first) == 1 and np.array_equal(first[0], twin.render())
    assert env.render() == []  # frames since the last render
    for _ in range(2):
        action = env.unwrapped.expert_action()
        env.step(action)
        twin.step(action)
        frames = env.render()
        assert len(frames) == substeps
        assert np.array_equal(frames[-1], twin.render())  # the last one is the state after the step
        assert all(not np.array_equal(a, b) for a, b in zip(frames[:-1], frames[1:]))  # they move


def test_human_mode_shows_every_physics_step(monkeypatch):
    import pygame

    env = gym.make("simdrive/Merge-v0", render_mode="human")
    flips = []
    monkeypatch.setattr(pygame.display, "flip", lambda: flips.append(1))
    env.reset(seed=0)
    assert len(flips) == 1
    env.step(1)
    assert len(flips) == 1 + env.unwrapped.config.substeps
    assert env.metadata["render_fps"] == env.unwrapped.config.sim_frequency  # real time
    env.close()
