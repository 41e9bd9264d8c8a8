"""Driving metrics as pure functions of episode data, reproducing their published definitions.

CARLA Leaderboard 2.0 (``leaderboard/utils/statistics_manager.py``, carla-simulator/leaderboard,
master aec8131): per route, ``score_route`` = route completion [%], ``score_penalty`` = the
product over infractions of ``PENALTY_VALUE_DICT`` (pedestrian 0.5, vehicle 0.6, static object
0.65, red light 0.7, stop sign 0.8, scenario timeout 0.7, failure to yield 0.7) times
``1 - (1 - 0) * outside_route_percentage / 100`` (``PENALTY_PERC_DICT`` "increases" rule for
OUTSIDE_ROUTE_LANES_INFRACTION), ``score_composed = max(score_route * score_penalty, 0)``
(the driving score). The global record averages each score over routes, its standard
deviation divides by ``n - 1``, and infractions are counted per km driven, where
``km_driven = sum(route_length / 1000 * score_route / 100)`` (at least 0.001).

nuPlan closed-loop score (motional/nuplan-devkit e924167,
``metrics/aggregator/weighted_average_metric_aggregator.py`` with
``closed_loop_reactive_agents_weighted_average.yaml``): per scenario,
``score = prod(multiple_metrics) * sum(w_i s_i) / sum(w_i)`` with the multipliers
no_ego_at_fault_collisions (``prod max(0, 1 - n / (threshold + 1))``, thresholds VRU 0,
vehicle 0, object 1), drivable_area_compliance (0/1), ego_is_making_progress (progress ratio
>= 0.2) and driving_direction_compliance (1 below 2 m of backward progress in any 1 s, 0.5
below 6 m, else 0), and the weighted metrics ego_progress_along_expert_route (5),
time_to_collision_within_bound (5: every TTC > 0.95 s, projected 3 s ahead in 0.1 s steps),
speed_limit_compliance (4: ``max(0, 1 - sum(overspeed) dt / (2.23 m/s * duration))``) and
ego_is_comfortable (2: Savitzky-Golay filtered accelerations, jerks and yaw rates within
nuPlan's bounds). The final score is the mean over scenarios.

MetaDrive: success rate (route completed: ``arrive_dest``), crash rate and out-of-road rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

# ---------------------------------------------------------------- CARLA Leaderboard 2.0
CARLA_PENALTY = {
    "collisions_pedestrian": 0.5,
    "collisions_vehicle": 0.6,
    "collisions_layout": 0.65,
    "red_light": 0.7,
    "stop_infraction": 0.8,
    "scenario_timeouts": 0.7,
    "yield_emergency_vehicle_infractions": 0.7,
}
#: our infraction counters -> CARLA's infraction names
CARLA_NAMES = {
    "collisions_vehicle": "collisions_vehicle",
    "collisions_obstacle": "collisions_layout",
    "red_light_runs": "red_light",
    "scenario_timeouts": "scenario_timeouts",
    "failures_to_yield": "yield_emergency_vehicle_infractions",
}


@dataclass(frozen=True)
class CarlaRoute:
    """CARLA's three route scores (percent and [0, 1] penalty)."""

    score_route: float  # route completion [%]
    score_penalty: float  # infraction penalty [-]
    score_composed: float  # driving score [%]


def carla_route_scores(route_completion: float, infractions: Mapping[str, int], outside_route_percentage: float = 0.0) -> CarlaRoute:
    """One route's scores. ``route_completion`` in [0, 1]; ``infractions`` counts by our names
    (:data:`CARLA_NAMES`) or CARLA's; ``outside_route_percentage`` [%] of the route driven
    outside the route's lanes."""
    penalty = 1.0
    for name, count in infractions.items():
        key = CARLA_NAMES.get(name, name)
        if key not in CARLA_PENALTY:
            raise KeyError(f"unknown CARLA infraction {name!r}; valid: {sorted(CARLA_NAMES) + sorted(CARLA_PENALTY)}")
        penalty *= CARLA_PENALTY[key] ** int(count)
    penalty *= 1.0 - (1.0 - 0.0) * outside_route_percentage / 100.0  # PENALTY_PERC_DICT: [0, 'increases']
    route = 100.0 * float(route_completion)
    return CarlaRoute(round(route, 6), round(penalty, 6), round(max(route * penalty, 0.0), 6))


def carla_global(routes: Sequence[CarlaRoute], route_lengths: Sequence[float], infraction_counts: Sequence[Mapping[str, int]]) -> dict:
    """CARLA's global record: mean and (n-1) standard deviation of each score over routes, and
    each infraction per km driven."""
    n = len(routes)
    out: dict = {"routes": n}
    for key in ("score_composed", "score_route", "score_penalty"):
        vals = np.array([getattr(r, key) for r in routes], float)
        mean = float(vals.mean()) if n else math.nan
        out[f"{key}_mean"] = round(mean, 6) if n else math.nan
        out[f"{key}_std"] = 0.0 if n == 1 else (round(float(np.sqrt(((vals - round(mean, 6)) ** 2).sum() / (n - 1))), 3) if n else math.nan)
    km = sum(L / 1000.0 * r.score_route / 100.0 for r, L in zip(routes, route_lengths))
    km = max(km, 0.001)
    totals: dict[str, float] = {}
    for counts in infraction_counts:
        for name, c in counts.items():
            totals[name] = totals.get(name, 0) + c
    out["km_driven"] = km
    out["infractions_per_km"] = {k: round(v / km, 3) for k, v in sorted(totals.items())}
    return out


# ---------------------------------------------------------------- nuPlan
NUPLAN_WEIGHTS = {"ego_progress_along_expert_route": 5.0, "time_to_collision_within_bound": 5.0,
                  "speed_limit_compliance": 4.0, "ego_is_comfortable": 2.0}
NUPLAN_MULTIPLIERS = ("no_ego_at_fault_collisions", "drivable_area_compliance", "ego_is_making_progress",
                      "driving_direction_compliance")
#: nuPlan's comfort bounds (simulation_metric/low_level/*.yaml)
COMFORT_BOUNDS = {
    "ego_lon_acceleration": (-4.05, 2.40),  # [m/s^2]
    "ego_lat_acceleration": (-4.89, 4.89),  # [m/s^2]
    "ego_jerk": (-8.37, 8.37),  # magnitude jerk [m/s^3]
    "ego_lon_jerk": (-4.13, 4.13),  # [m/s^3]
    "ego_yaw_acceleration": (-1.93, 1.93),  # [rad/s^2]
    "ego_yaw_rate": (-0.95, 0.95),  # [rad/s]
}
NUPLAN_DT = 0.1  # nuPlan's sampling interval [s]
TTC_LEAST = 0.95  # least_min_ttc [s]
TTC_HORIZON, TTC_STEP = 3.0, 0.1  # [s]
OVERSPEED_THRESHOLD = 2.23  # max_overspeed_value_threshold [m/s]
PROGRESS_THRESHOLD = 2.0  # score_progress_threshold [m]
MIN_PROGRESS_RATIO = 0.2  # ego_is_making_progress min_progress_threshold [-]
DIRECTION_COMPLIANCE, DIRECTION_VIOLATION, DIRECTION_HORIZON = 2.0, 6.0, 1.0  # [m], [m], [s]


def nuplan_collision_score(at_fault_vehicle: int, at_fault_object: int, at_fault_vru: int = 0) -> float:
    """no_ego_at_fault_collisions: 1 without at-fault collisions, else the product of
    ``max(0, 1 - n / (threshold + 1))`` over VRUs (0), vehicles (0) and objects (1)."""
    if at_fault_vehicle + at_fault_object + at_fault_vru == 0:
        return 1.0
    f = lambda n, thr: max(0.0, 1.0 - n / (thr + 1))  # noqa: E731
    return f(at_fault_vru, 0) * f(at_fault_vehicle, 0) * f(at_fault_object, 1)


def nuplan_progress_ratio(ego_progress: float, expert_progress: float) -> float:
    """ego_progress_along_expert_route: ``min(1, max(ego, 2) / max(expert, 2))``, 0 when the ego
    went more than 2 m backwards. Our expert progress is the route's length."""
    if ego_progress < -PROGRESS_THRESHOLD:
        return 0.0
    return min(1.0, max(ego_progress, PROGRESS_THRESHOLD) / max(expert_progress, PROGRESS_THRESHOLD))


def nuplan_direction_score(progress_along_baseline: np.ndarray, dt: float) -> tuple[float, float]:
    """driving_direction_compliance from per-sample progress along the lane baseline [m]: the
    sum over the last ``1 s / dt`` samples (and the current one); returns (score, min progress)."""
    p = np.asarray(progress_along_baseline, float)
    if p.size == 0:
        return 1.0, 0.0
    n = int(DIRECTION_HORIZON / dt)
    c = np.concatenate([[0.0], np.cumsum(p)])
    idx = np.arange(p.size)
    window = c[idx + 1] - c[np.maximum(0, idx - n)]
    worst = abs(min(float(window.min()), 0.0))
    score = 1.0 if worst < DIRECTION_COMPLIANCE else (0.5 if worst < DIRECTION_VIOLATION else 0.0)
    return score, -worst


def nuplan_speed_score(overspeed: np.ndarray, dt: float, duration: float) -> float:
    """speed_limit_compliance from over-speed samples [m/s] (0 where within the limit)."""
    o = np.asarray(overspeed, float)
    if not (o > 0).any():
        return 1.0
    if duration <= 0:
        return 1.0
    thr = max(OVERSPEED_THRESHOLD, 1e-3)
    return float(max(0.0, 1.0 - o.sum() * dt / (thr * duration)))


def _savgol(y: np.ndarray, window: int, poly: int, deriv: int = 0, delta: float = 1.0) -> np.ndarray:
    from scipy.signal import savgol_filter

    window = min(window, len(y))
    if poly >= window:
        raise ValueError(f"{poly} < {window} does not hold!")
    return savgol_filter(y, window_length=window, polyorder=poly, deriv=deriv, delta=delta)


def nuplan_comfort(a_lon: np.ndarray, a_lat: np.ndarray, heading: np.ndarray, dt: float = NUPLAN_DT) -> dict:
    """ego_is_comfortable from samples every ``dt`` seconds, as nuPlan's state extractors do:
    accelerations Savitzky-Golay filtered (window 8, order 2), jerks their derivative (window 15,
    order 2), yaw rate the derivative of the unwrapped heading (window 5, order 2), yaw
    acceleration its second derivative (window 5, order 3); each within its bound, strictly.
    Returns the extreme of each signal and ``ego_is_comfortable`` (bool)."""
    a_lon, a_lat, heading = (np.asarray(a, float) for a in (a_lon, a_lat, heading))
    out: dict = {}
    if a_lon.size < 3:
        return {"ego_is_comfortable": True}
    acc = {"x": _savgol(a_lon, 8, 2), "y": _savgol(a_lat, 8, 2), "magnitude": _savgol(np.hypot(a_lon, a_lat), 8, 2)}
    acc = {k: np.round(v, 8) for k, v in acc.items()}
    sig = {
        "ego_lon_acceleration": acc["x"],
        "ego_lat_acceleration": acc["y"],
        "ego_jerk": np.round(_savgol(acc["magnitude"], 15, 2, 1, dt), 8),
        "ego_lon_jerk": np.round(_savgol(acc["x"], 15, 2, 1, dt), 8),
        "ego_yaw_rate": np.round(_savgol(np.unwrap(heading), 5, 2, 1, dt), 8),
        "ego_yaw_acceleration": np.round(_savgol(np.unwrap(heading), 5, 3, 2, dt), 8),
    }
    ok = True
    for name, values in sig.items():
        lo, hi = COMFORT_BOUNDS[name]
        within = bool(np.all((values > lo) & (values < hi)))
        ok &= within
        out[name + "_max_abs"] = float(np.abs(values).max())
    out["ego_is_comfortable"] = ok
    return out


def nuplan_score(metrics: Mapping[str, float]) -> float:
    """The closed-loop scenario score from the four multipliers and four weighted metrics."""
    mult = 1.0
    for k in NUPLAN_MULTIPLIERS:
        mult *= float(metrics[k])
    total = sum(w * float(metrics[k]) for k, w in NUPLAN_WEIGHTS.items())
    return mult * total / sum(NUPLAN_WEIGHTS.values())


# ---------------------------------------------------------------- aggregation
def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and standard deviation (population, ``ddof = 0``) over episodes; nan when empty."""
    v = np.array([x for x in values if x is not None], float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std())
