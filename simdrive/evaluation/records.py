"""Episode records and the scores computed from them (pure functions).

An :class:`EpisodeRecord` is what one driving episode leaves: what happened (collisions with
kind and fault, off-road, red-light runs, scenario timeouts, how it ended), how far it got,
and the summary of its ego trace. :func:`score` turns a record into every published score, so
a saved report can be re-scored without running anything.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import metrics as M

OUTCOMES = ("completed", "collision", "offroad", "timeout", "blocked")


@dataclass(frozen=True)
class EpisodeRecord:
    policy: str  # expert, random or a checkpoint path
    env_id: str
    seed: int  # the episode's reset seed
    steps: int  # env steps [-]
    duration: float  # simulated time [s]
    outcome: str  # one of OUTCOMES
    route_completion: float  # [0, 1]
    route_length: float  # [m]
    distance: float  # driven [m]
    episode_return: float  # sum of rewards [-]
    collisions_vehicle: int = 0
    collisions_obstacle: int = 0
    at_fault_vehicle: int = 0  # nuPlan's at-fault rule
    at_fault_object: int = 0
    collision_type: str = "none"  # nuPlan's collision type of the first collision
    offroad: bool = False
    red_light_runs: int = 0
    failures_to_yield: int = 0
    scenario_timeouts: int = 0
    max_accel_lon: float = 0.0  # max |longitudinal acceleration|, raw finite differences [m/s^2]
    max_accel_lat: float = 0.0  # [m/s^2]
    max_jerk_lon: float = 0.0  # [m/s^3]
    max_jerk_lat: float = 0.0  # [m/s^3]
    min_ttc: float = math.inf  # leader time to collision, minimum [s]
    trace: Mapping[str, Any] = field(default_factory=dict)  # trace summary (probe.trace_summary)
    # scenario context (suites)
    suite: str = ""
    scenario: str = ""
    type: str = ""
    repetition: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)  # sampled parameters
    events: tuple = ()  # per scripted event: action, triggered_at [s], timed_out
    clip: str | None = None  # file of the failure clip in the report folder

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["events"] = list(self.events)
        d["scores"] = score(self)
        return _finite(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EpisodeRecord":
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if kw.get("min_ttc") is None:
            kw["min_ttc"] = math.inf
        kw["events"] = tuple(kw.get("events", ()))
        return cls(**kw)

    @property
    def infractions(self) -> dict[str, int]:
        """Counts in CARLA's penalized categories (our names, see ``metrics.CARLA_NAMES``)."""
        return {"collisions_vehicle": self.collisions_vehicle, "collisions_obstacle": self.collisions_obstacle,
                "red_light_runs": self.red_light_runs, "scenario_timeouts": self.scenario_timeouts,
                "failures_to_yield": self.failures_to_yield}

    @property
    def failed(self) -> bool:
        """Not a perfect run: the route unfinished, or any infraction on the way (CARLA's status
        other than "Perfect"), or off the road."""
        return self.outcome != "completed" or self.offroad or any(self.infractions.values())


def _finite(obj):
    """JSON has no inf/nan: None in their place."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def score(r: EpisodeRecord) -> dict[str, float]:
    """Every score of one episode: CARLA's route scores, nuPlan's metrics and scenario score,
    MetaDrive's success / crash / out-of-road indicators, and the infraction counts."""
    tr = r.trace
    outside = float(tr.get("outside_route_percentage", 0.0) or 0.0)
    carla = M.carla_route_scores(r.route_completion, r.infractions, outside)
    progress = r.route_completion * r.route_length
    nu = {
        "no_ego_at_fault_collisions": M.nuplan_collision_score(r.at_fault_vehicle, r.at_fault_object),
        "drivable_area_compliance": 0.0 if r.offroad else 1.0,
        "ego_progress_along_expert_route": M.nuplan_progress_ratio(progress, r.route_length),
        "driving_direction_compliance": float(tr.get("driving_direction_compliance", 1.0)),
        "time_to_collision_within_bound": 1.0 if tr.get("ttc_within_bound", True) else 0.0,
        "speed_limit_compliance": float(tr.get("speed_limit_compliance", 1.0)),
        "ego_is_comfortable": 1.0 if tr.get("ego_is_comfortable", True) else 0.0,
    }
    nu["ego_is_making_progress"] = 1.0 if nu["ego_progress_along_expert_route"] >= M.MIN_PROGRESS_RATIO else 0.0
    collided = r.collisions_vehicle + r.collisions_obstacle > 0
    return {
        "driving_score": carla.score_composed,
        "route_completion": carla.score_route,
        "infraction_penalty": carla.score_penalty,
        "nuplan_score": M.nuplan_score(nu),
        **{f"nuplan.{k}": v for k, v in nu.items()},
        "success": 1.0 if r.outcome == "completed" and not collided and not r.offroad else 0.0,
        "crash": 1.0 if collided else 0.0,
        "out_of_road": 1.0 if r.offroad else 0.0,
        "collision_at_fault": 1.0 if r.at_fault_vehicle + r.at_fault_object > 0 else 0.0,
        "timeout": 1.0 if r.outcome == "timeout" else 0.0,
        "blocked": 1.0 if r.outcome == "blocked" else 0.0,
        "red_light": float(r.red_light_runs),
        "scenario_timeouts": float(r.scenario_timeouts),
        "mean_speed": float(tr.get("mean_speed", 0.0)),
        "min_ttc": r.min_ttc,
        "max_accel_lon": r.max_accel_lon,
        "max_accel_lat": r.max_accel_lat,
        "max_jerk_lon": r.max_jerk_lon,
        "max_jerk_lat": r.max_jerk_lat,
    }


#: aggregated per group: (score key, label)
SUMMARY_KEYS = (
    ("driving_score", "driving score (CARLA)"),
    ("route_completion", "route completion [%]"),
    ("infraction_penalty", "infraction penalty"),
    ("nuplan_score", "nuPlan score"),
    ("success", "success rate"),
    ("crash", "crash rate"),
    ("out_of_road", "out-of-road rate"),
    ("collision_at_fault", "at-fault collisions"),
    ("timeout", "timeouts"),
    ("blocked", "blocked"),
    ("red_light", "red-light runs"),
    ("mean_speed", "mean speed [m/s]"),
    ("min_ttc", "min TTC [s]"),
    ("max_accel_lon", "max |a_lon| [m/s^2]"),
    ("max_accel_lat", "max |a_lat| [m/s^2]"),
    ("max_jerk_lon", "max |jerk_lon| [m/s^3]"),
    ("max_jerk_lat", "max |jerk_lat| [m/s^3]"),
)


def aggregate(records: list[EpisodeRecord]) -> dict[str, Any]:
    """Mean and standard deviation of every score over episodes, CARLA's global record
    (infractions per km) and MetaDrive's rates."""
    scores = [score(r) for r in records]
    out: dict[str, Any] = {"episodes": len(records)}
    for key, _ in SUMMARY_KEYS + tuple((k, k) for k in scores[0] if k.startswith("nuplan.")) if scores else ():
        mean, std = M.mean_std(s[key] for s in scores)
        out[key] = {"mean": mean, "std": std}
    routes = [M.carla_route_scores(r.route_completion, r.infractions, float(r.trace.get("outside_route_percentage", 0.0) or 0.0))
              for r in records]
    counts = [dict(r.infractions, blocked=int(r.outcome == "blocked"), route_timeout=int(r.outcome == "timeout"),
                   offroad=int(r.offroad)) for r in records]
    out["carla"] = M.carla_global(routes, [r.route_length for r in records], counts) if records else {}
    out["failures"] = sum(r.failed for r in records)
    return _finite(out)
