"""Each published metric formula on constructed cases (CARLA Leaderboard 2.0, nuPlan, MetaDrive)."""

import math

import numpy as np
import pytest

from simdrive.evaluation import metrics as M
from simdrive.evaluation.records import EpisodeRecord, aggregate, score


def _rec(**kw):
    base = dict(policy="p", env_id="simdrive/Highway-v0", seed=0, steps=10, duration=10.0, outcome="completed",
                route_completion=1.0, route_length=1000.0, distance=1000.0, episode_return=0.0)
    base.update(kw)
    return EpisodeRecord(**base)


# ------------------------------------------------------------------ CARLA
def test_carla_route_scores_multiply_penalties():
    r = M.carla_route_scores(0.5, {"collisions_vehicle": 1})
    assert (r.score_route, r.score_penalty, r.score_composed) == (50.0, 0.6, 30.0)
    r = M.carla_route_scores(1.0, {"red_light_runs": 2, "collisions_obstacle": 1, "scenario_timeouts": 1, "failures_to_yield": 1})
    assert r.score_penalty == pytest.approx(0.7 * 0.7 * 0.65 * 0.7 * 0.7)
    # outside the route lanes: 1 - (1 - 0) * pct / 100
    assert M.carla_route_scores(0.8, {}, outside_route_percentage=10.0).score_composed == pytest.approx(72.0)
    # CARLA's own names are accepted; an unknown infraction is an error
    assert M.carla_route_scores(1.0, {"collisions_pedestrian": 1, "stop_infraction": 1}).score_penalty == pytest.approx(0.4)
    with pytest.raises(KeyError):
        M.carla_route_scores(1.0, {"honking": 1})


def test_carla_global_record_mean_std_and_per_km():
    routes = [M.carla_route_scores(1.0, {}), M.carla_route_scores(0.5, {"collisions_vehicle": 1})]
    g = M.carla_global(routes, [2000.0, 1000.0], [{"collisions_vehicle": 0}, {"collisions_vehicle": 1}])
    assert g["score_composed_mean"] == pytest.approx(65.0)
    assert g["score_composed_std"] == pytest.approx(round(math.sqrt(((100 - 65) ** 2 + (30 - 65) ** 2) / 1), 3))  # n - 1
    assert g["km_driven"] == pytest.approx(2.0 + 0.5)  # route length x completion
    assert g["infractions_per_km"]["collisions_vehicle"] == pytest.approx(round(1 / 2.5, 3))
    single = M.carla_global(routes[:1], [100.0], [{}])
    assert single["score_composed_std"] == 0.0


# ------------------------------------------------------------------ nuPlan
def test_nuplan_collision_score_thresholds():
    assert M.nuplan_collision_score(0, 0) == 1.0
    assert M.nuplan_collision_score(1, 0) == 0.0  # vehicles: threshold 0
    assert M.nuplan_collision_score(0, 1) == 0.5  # objects: threshold 1 -> 1 - 1/2
    assert M.nuplan_collision_score(0, 2) == 0.0


def test_nuplan_progress_direction_speed():
    assert M.nuplan_progress_ratio(50.0, 100.0) == 0.5
    assert M.nuplan_progress_ratio(1.0, 100.0) == pytest.approx(2.0 / 100.0)  # floored at the 2 m threshold
    assert M.nuplan_progress_ratio(-3.0, 100.0) == 0.0  # backwards beyond 2 m
    assert M.nuplan_progress_ratio(0.0, 1.0) == 1.0  # the expert did not move either
    dt = 0.1
    forward = np.full(50, 1.0)
    assert M.nuplan_direction_score(forward, dt)[0] == 1.0
    back3 = np.zeros(50)
    back3[20:23] = -1.0  # stopped, then 3 m backwards within one second
    assert M.nuplan_direction_score(back3, dt) == (0.5, -3.0)
    assert M.nuplan_direction_score(forward + back3, dt)[0] == 1.0  # net forward over every second
    back7 = np.zeros(50)
    back7[20:27] = -1.0
    assert M.nuplan_direction_score(back7, dt)[0] == 0.0
    # speed limit: the whole episode 2.23 m/s too fast -> 0; half of it -> 0.5; never -> 1
    assert M.nuplan_speed_score(np.full(101, 2.23), 0.1, 10.0) == pytest.approx(max(0.0, 1 - 2.23 * 101 * 0.1 / (2.23 * 10)))
    half = np.zeros(100)
    half[:50] = 2.23
    assert M.nuplan_speed_score(half, 0.1, 10.0) == pytest.approx(0.5)
    assert M.nuplan_speed_score(np.zeros(10), 0.1, 1.0) == 1.0


def test_nuplan_comfort_filters_and_bounds():
    t = np.arange(0, 8, 0.1)
    heading = np.zeros_like(t)
    gentle = M.nuplan_comfort(np.full_like(t, 1.0), np.zeros_like(t), heading)
    assert gentle["ego_is_comfortable"]
    assert gentle["ego_lon_acceleration_max_abs"] == pytest.approx(1.0)
    hard = M.nuplan_comfort(np.full_like(t, -5.0), np.zeros_like(t), heading)  # below -4.05 m/s^2
    assert not hard["ego_is_comfortable"]
    # a linear acceleration ramp: jerk is its slope (up to nuPlan's even 8-sample window, which
    # shifts the interior by half a sample against the edges)
    ramp = M.nuplan_comfort(0.5 * t - 1.0, np.zeros_like(t), heading)
    assert ramp["ego_lon_jerk_max_abs"] == pytest.approx(0.5, rel=0.15)
    steep = M.nuplan_comfort(5.0 * t / 8 - 2.0, np.zeros_like(t), heading)  # 0.625 m/s^3
    assert steep["ego_lon_jerk_max_abs"] > ramp["ego_lon_jerk_max_abs"]
    # yaw rate 1 rad/s is above nuPlan's 0.95 bound
    turning = M.nuplan_comfort(np.zeros_like(t), np.zeros_like(t), 1.0 * t)
    assert turning["ego_yaw_rate_max_abs"] == pytest.approx(1.0, abs=1e-6) and not turning["ego_is_comfortable"]


def test_nuplan_scenario_score_weights_and_multipliers():
    ones = {k: 1.0 for k in list(M.NUPLAN_WEIGHTS) + list(M.NUPLAN_MULTIPLIERS)}
    assert M.nuplan_score(ones) == 1.0
    assert M.nuplan_score({**ones, "ego_is_comfortable": 0.0}) == pytest.approx(14 / 16)
    assert M.nuplan_score({**ones, "time_to_collision_within_bound": 0.0, "speed_limit_compliance": 0.5}) == pytest.approx((5 + 2 + 4 * 0.5) / 16)
    assert M.nuplan_score({**ones, "no_ego_at_fault_collisions": 0.5}) == 0.5
    assert M.nuplan_score({**ones, "drivable_area_compliance": 0.0}) == 0.0


# ------------------------------------------------------------------ records
def test_episode_scores_known_collision_red_light_partial_route():
    crash = score(_rec(outcome="collision", route_completion=0.4, collisions_vehicle=1, at_fault_vehicle=1,
                       collision_type="active_front"))
    assert crash["driving_score"] == pytest.approx(40 * 0.6)
    assert crash["nuplan_score"] == 0.0 and crash["crash"] == 1.0 and crash["success"] == 0.0
    not_ours = score(_rec(outcome="collision", route_completion=0.4, collisions_vehicle=1, collision_type="active_rear"))
    assert not_ours["driving_score"] == pytest.approx(24.0)  # CARLA counts every collision ...
    assert not_ours["nuplan.no_ego_at_fault_collisions"] == 1.0  # ... nuPlan only at-fault ones
    red = score(_rec(red_light_runs=1))
    assert red["driving_score"] == pytest.approx(70.0) and red["success"] == 1.0
    partial = score(_rec(outcome="timeout", route_completion=0.25))
    assert partial["driving_score"] == pytest.approx(25.0) and partial["timeout"] == 1.0
    assert partial["nuplan.ego_progress_along_expert_route"] == pytest.approx(0.25)


def test_record_json_round_trip_rescores_identically():
    r = _rec(outcome="collision", route_completion=0.3, collisions_obstacle=1, at_fault_object=1, min_ttc=math.inf,
             trace={"outside_route_percentage": 5.0, "ego_is_comfortable": False})
    d = r.to_dict()
    assert d["min_ttc"] is None  # JSON has no inf
    again = EpisodeRecord.from_dict(d)
    assert score(again) == score(r) and d["scores"] == score(r) | {"min_ttc": None}


def test_aggregate_rates_and_per_km():
    rs = [_rec(), _rec(outcome="collision", route_completion=0.5, collisions_vehicle=1), _rec(offroad=True, outcome="offroad",
                                                                                              route_completion=0.1)]
    a = aggregate(rs)
    assert a["success"]["mean"] == pytest.approx(1 / 3) and a["crash"]["mean"] == pytest.approx(1 / 3)
    assert a["out_of_road"]["mean"] == pytest.approx(1 / 3)
    assert a["carla"]["infractions_per_km"]["collisions_vehicle"] == pytest.approx(round(1 / 1.6, 3))
    assert a["failures"] == 2
