import numpy as np

from envs.driving.collision import boxes_overlap, colliding_pairs
from envs.driving.maps import build_highway
from envs.driving.world import TRAFFIC, World, WorldParams


def ov(a, b):
    return bool(boxes_overlap(*a, *b))


def test_separated_touching_overlapping_axis_aligned():
    a = (0.0, 0.0, 0.0, 4.0, 2.0)
    assert ov(a, (4.0, 0.0, 0.0, 4.0, 2.0))  # touching front-to-back
    assert ov(a, (3.9, 0.5, 0.0, 4.0, 2.0))
    assert not ov(a, (4.01, 0.0, 0.0, 4.0, 2.0))
    assert ov(a, (0.0, 2.0, 0.0, 4.0, 2.0))  # touching side-by-side
    assert not ov(a, (0.0, 2.05, 0.0, 4.0, 2.0))


def test_rotated_boxes():
    a = (0.0, 0.0, 0.0, 2.0, 2.0)
    # a unit-diamond (square rotated 45 deg, half-diagonal sqrt(2)) near a corner
    d = np.sqrt(2.0)
    assert ov(a, (1.0 + d - 0.01, 0.0, np.pi / 4, 2.0, 2.0))
    assert not ov(a, (1.0 + d + 0.01, 0.0, np.pi / 4, 2.0, 2.0))
    # corner-to-corner diagonal case: the circles overlap but the boxes do not
    assert not ov(a, (2.05, 2.05, 0.0, 2.0, 2.0))
    # perpendicular long boxes crossing in a T
    assert ov((0.0, 0.0, 0.0, 10.0, 1.0), (0.0, 3.0, np.pi / 2, 7.0, 1.0))


def test_vectorized_matches_scalar():
    rng = np.random.default_rng(0)
    n = 500
    b1 = [rng.uniform(-3, 3, n), rng.uniform(-3, 3, n), rng.uniform(-3, 3, n), rng.uniform(1, 5, n), rng.uniform(1, 3, n)]
    b2 = [rng.uniform(-3, 3, n), rng.uniform(-3, 3, n), rng.uniform(-3, 3, n), rng.uniform(1, 5, n), rng.uniform(1, 3, n)]
    vec = boxes_overlap(*b1, *b2)
    scal = [ov([q[i] for q in b1], [q[i] for q in b2]) for i in range(n)]
    assert vec.tolist() == scal
    assert 0 < vec.sum() < n


def test_colliding_pairs_and_ego_collision_event():
    w = World(build_highway(), 1, WorldParams(vehicles=0, obstacles=3))
    w.reset([0], np.array([1], np.uint64))
    w.place_obstacle(0, 1, 0, w.s[0, 0] + 3.0)  # overlaps the ego if the ego is in lane 0
    w.place_obstacle(0, 2, 2, 600.0)
    w.place_obstacle(0, 3, 2, 603.0, kind=TRAFFIC)
    pairs = colliding_pairs(w).tolist()
    assert [2, 3] in pairs
    assert ([0, 1] in pairs) == (w.lane[0, 0] == 0)
