import numpy as np
import pytest

from envs.driving.maps import HighwayParams, build_highway
from envs.driving.sensors import Camera, Kinematics, Lidar, OccupancyGrid, ray_boxes, ray_segments
from envs.driving.world import EGO, HIT_EDGE, HIT_NONE, HIT_OBSTACLE, HIT_VEHICLE, STATIC, TRAFFIC, World, WorldParams


@pytest.fixture
def world():
    m = build_highway(HighwayParams(lanes=2, length=1000.0, lane_width=4.0, route_length=500.0))
    w = World(m, 1, WorldParams(vehicles=0, obstacles=3))
    w.reset([0], np.array([3], np.uint64))
    w.place_obstacle(0, 0, 0, 300.0, 5.0, 2.0, kind=EGO, speed=20.0)  # ego at (300, 0) heading east
    return w


def test_ray_box_known_distance_and_angle():
    th = np.arctan2(4.0, 10.0)
    d = ray_boxes(0.0, 0.0, th, 10.0, 4.0, 0.0, 4.0, 2.0)
    assert d == pytest.approx(8.0 / np.cos(th))
    # rotated box: a 2x2 square turned 45 deg at distance 10 is hit at its corner, 10 - sqrt(2)
    assert ray_boxes(0.0, 0.0, 0.0, 10.0, 0.0, np.pi / 4, 2.0, 2.0) == pytest.approx(10 - np.sqrt(2))
    assert np.isinf(ray_boxes(0.0, 0.0, np.pi, 10.0, 0.0, 0.0, 2.0, 2.0))  # pointing away
    assert ray_boxes(10.0, 0.0, 1.0, 10.0, 0.0, 0.0, 2.0, 2.0) == 0.0  # origin inside


def test_ray_segment():
    assert ray_segments(0.0, 0.0, np.pi / 2, -1.0, 5.0, 1.0, 5.0) == pytest.approx(5.0)
    assert np.isinf(ray_segments(0.0, 0.0, np.pi / 2, 1.0, 5.0, 2.0, 5.0))


def test_lidar_hits_obstacle_vehicle_and_road_edges(world):
    world.place_obstacle(0, 1, 0, 320.0, 4.0, 2.0, kind=STATIC)  # 20 m ahead, same lane
    world.place_obstacle(0, 2, 1, 290.0, 5.0, 2.0, kind=TRAFFIC)  # behind-left
    lid = Lidar(beams=4, max_range=60.0)  # beams at 0, 90, 180, 270 deg
    d, code = lid.scan(world)
    assert d[0, 0] == pytest.approx(18.0) and code[0, 0] == HIT_OBSTACLE
    assert d[0, 1] == pytest.approx(6.0) and code[0, 1] == HIT_EDGE  # left edge y = 6
    assert d[0, 3] == pytest.approx(2.0) and code[0, 3] == HIT_EDGE  # right edge y = -2
    assert code[0, 2] == HIT_NONE and d[0, 2] == pytest.approx(60.0)
    # the traffic car at (290, 4) is seen by a beam pointing at it
    lid8 = Lidar(beams=1, fov=1e-3 + 0 * np.pi, max_range=60.0)
    world.h[0, 0] = np.arctan2(4.0, -10.0) + 5e-4  # aim the (single, -fov/2) beam at the car's centre
    d, code = lid8.scan(world)
    assert code[0, 0] == HIT_VEHICLE and d[0, 0] == pytest.approx(7.5 / np.cos(np.arctan2(4, 10)), rel=1e-3)
    obs = Lidar(beams=4).observe(world)
    assert obs.shape == (4, 2) or obs.shape == (1, 4, 2)


def test_lidar_noise_is_seeded_and_only_on_hits(world):
    a = Lidar(beams=32, noise_std=0.5).observe(world)
    b = Lidar(beams=32, noise_std=0.5).observe(world)
    c = Lidar(beams=32).observe(world)
    assert np.array_equal(a, b)
    hit = c[0, :, 1] > 0
    assert not np.allclose(a[0, hit, 0], c[0, hit, 0])
    assert np.array_equal(a[0, ~hit], c[0, ~hit])


def test_kinematics_shows_a_braking_neighbour_before_the_gap_closes(world):
    """The neighbours' acceleration column (brake lights): a car ahead braking at 4 m/s^2 reads
    -0.5 after one physics step, while its speed has barely changed."""
    world.place_obstacle(0, 1, 1, 310.0, 5.0, 2.0, kind=TRAFFIC, speed=25.0)
    world.set_script(0, 1, acc=-4.0)
    world.step()
    k = Kinematics(vehicles=3, range=100.0, max_speed=40.0).observe(world)[0]
    assert k[2, 7] == pytest.approx(-0.5)
    world.set_script(0, 1, acc=0.0)
    world.step()
    assert Kinematics(vehicles=3).observe(world)[0][2, 7] == pytest.approx(0.0)


def test_kinematics_ego_row_reads_the_leader_in_its_lane_not_a_neighbour_beside_it(world):
    """The ego row's leader columns (gap / range, its speed minus the ego's / max_speed), as of the
    last physics step: a car 30 m ahead in the ego's lane at 15 m/s (the ego at 20); control: the
    same car one lane over is a neighbour, not a leader."""
    lane = int(world.lane[0, 0])
    world.place_obstacle(0, 1, lane, 335.0, 5.0, 2.0, kind=TRAFFIC, speed=15.0)  # bumper gap 30 m
    world.set_script(0, 1, acc=0.0)
    world.step()
    k = Kinematics(vehicles=3, range=100.0, max_speed=40.0).observe(world)[0]
    assert k[0, 2] == pytest.approx(0.30, abs=0.01) and k[0, 4] == pytest.approx(-5.0 / 40.0, abs=0.01)
    world.place_obstacle(0, 1, 1 - lane, 335.0, 5.0, 2.0, kind=TRAFFIC, speed=15.0)  # the other lane
    world.set_script(0, 1, acc=0.0)
    world.step()
    k = Kinematics(vehicles=3, range=100.0, max_speed=40.0).observe(world)[0]
    assert k[0, 2] == 1.0 and k[0, 4] == 0.0  # no leader
    assert k[2, 0] == 1.0  # but a neighbour


def test_kinematics_presence_and_relative_position(world):
    world.place_obstacle(0, 1, 1, 310.0, 5.0, 2.0, kind=TRAFFIC, speed=25.0)
    k = Kinematics(vehicles=3, range=100.0, max_speed=40.0).observe(world)[0]
    assert k.shape == (5, 8)
    assert k[2, 0] == 1 and k[2, 1] == pytest.approx(0.1) and k[2, 2] == pytest.approx(0.04)
    assert k[2, 3] == pytest.approx(5.0 / 40.0)
    assert (k[3:] == 0).all()
    # the road row on a plain highway: no light, no junction, the lane's limit, no lane end
    assert k[1].tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0, 1.0, 30.0 / 40.0, 1.0, 0.0])


def test_kinematics_road_row_light_stop_line_and_route_turn():
    """What a driver needs to see (defect 8): the light governing its lane, the distance to the
    stop line, and the route's turn at the next junction."""
    import gymnasium as gym

    import envs  # noqa: F401

    env = gym.make("simdrive/Intersection-v0", vehicles=0, turn="left")
    env.reset(seed=0)
    w = env.unwrapped.world
    for state, code in ((0, -1.0), (2, 0.0), (1, 1.0)):  # red, amber, green overrides
        w.light_override[0, :] = state
        row = env.unwrapped.core.sensors["kinematics"].observe(w)[0, 1]
        assert row[0] == 1.0 and row[1] == pytest.approx(code)
    lane = w.tlane[0, 0]
    to_line = w.road.lane_length[lane] - w.s[0, 0] - 0.5 * w.length[0, 0]
    assert row[2] == pytest.approx(to_line / 100.0, abs=1e-6)
    assert row[3] == pytest.approx(0.5, abs=0.05)  # a left turn: +90 deg / 180 deg
    right = gym.make("simdrive/Intersection-v0", vehicles=0, turn="right")
    right.reset(seed=0)
    assert right.unwrapped.core.sensors["kinematics"].observe(right.unwrapped.world)[0, 1, 3] == pytest.approx(-0.5, abs=0.05)


def test_occupancy_grid_road_and_vehicles(world):
    world.place_obstacle(0, 1, 0, 310.0, 5.0, 2.0, kind=TRAFFIC)
    g = OccupancyGrid(cells=11, cell_size=2.0).observe(world)[0]
    assert g.shape == (2, 11, 11)
    # 10 m ahead = 5 cells forward of the centre row (5): row 0; same column as the ego (5)
    assert g[0, 0, 5] == 1 and g[0].sum() == 1
    # road spans y in [-2, 6]: columns left of centre are road up to 6 m, right only to 2 m
    assert g[1, 5, 5] == 1 and g[1, 5, 3] == 1 and g[1, 5, 8] == 0


def test_camera_image(world):
    img = Camera(width=64, height=48, scale=0.5).observe(world)[0]
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    centre = img[24, 32]
    assert centre[1] > 150 and centre[0] < 120  # the ego (green) is drawn at the centre


def test_lidar_beam_windows_equal_brute_force():
    """The windowed box test gives exactly the all-beams x all-boxes minimum."""
    import gymnasium as gym

    import envs  # noqa: F401

    venv = gym.make_vec("simdrive/Roundabout-v0", num_envs=4, vehicles=20)
    venv.reset(seed=0)
    w = venv.core.world
    for _ in range(8):
        venv.step(venv.action_space.sample())
        for lid in (Lidar(64, max_range=500.0), Lidar(37, fov=2.0, max_range=500.0)):
            d, code = lid.scan(w)
            ang = w.h[:, :1] + lid.angles()[None, :]
            full = ray_boxes(w.x[:, 0, None, None], w.y[:, 0, None, None], ang[:, None, :], w.x[..., None], w.y[..., None],
                             w.h[..., None], w.length[..., None], w.width[..., None])
            full = np.where(w.active[..., None], full, np.inf)
            full[:, 0] = np.inf
            best = full.min(1)
            hit_box = (code == HIT_VEHICLE) | (code == HIT_OBSTACLE)
            np.testing.assert_array_equal(d[hit_box], best[hit_box])
            assert (best[~hit_box] >= d[~hit_box]).all()  # elsewhere an edge (or nothing) is nearer
