"""Playing driving episodes and turning them into :class:`~.records.EpisodeRecord` s.

:func:`play_episode` is the one episode loop of every driving evaluation (``simdrive eval``
on a driving env, the evaluation after ``train``, and scenario suites); :func:`run_scenario`
plays every repetition of one scenario for one policy and is the unit of work that the
sequential and the parallel (Ray) runners share, so both give identical numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .probe import Probe, trace_summary
from .records import EpisodeRecord
from .schema import Sampled, ScenarioSpec, SuiteSpec, sample

MAX_STEPS = 100_000
CLIP_SECONDS = 8.0  # a failure clip shows the last seconds of the episode [s]
CLIP_FPS = 5.0  # [frames/s]


def is_driving_env(env) -> bool:
    from envs.driving.env import DrivingEnv

    return isinstance(getattr(env, "unwrapped", env), DrivingEnv)


def _seed_policy(agent, seed: int) -> None:
    """Policies with their own randomness (the random policy) draw it from the episode's seed."""
    hook = getattr(agent, "seed_episode", None)
    if hook is not None:
        hook(seed)
    reset_hook = getattr(agent, "reset_episode", None)
    if reset_hook is not None:
        reset_hook()


def play_episode(agent, env, seed: int, policy: str, script=None, blocked_after: float | None = None,
                 frames: bool = False) -> tuple[EpisodeRecord, list[np.ndarray]]:
    """One episode of ``agent`` on the single driving env ``env`` from ``reset(seed=seed)``,
    with an optional scenario ``script``; ends on termination, truncation, or no route progress
    for ``blocked_after`` seconds (blocked). Returns the record and, with ``frames``, the
    rendered frames of its last ``CLIP_SECONDS`` seconds."""
    from simdrive.agents_registry import bind_to_env

    u = env.unwrapped
    cfg = u.config
    every = max(1, int(round(cfg.sim_frequency / CLIP_FPS))) if frames else 0
    probe = Probe(script, frame_every=every)
    bind_to_env(agent, env)
    _seed_policy(agent, seed)
    obs, _ = env.reset(seed=seed, options={"scenario": probe})
    period = 1.0 / cfg.policy_frequency  # [s] per env step
    route_length = float(u.world.route_length)
    hist: list[float] = [0.0]
    acc = dict(ret=0.0, alon=0.0, alat=0.0, jlon=0.0, jlat=0.0, ttc=math.inf, red=0, yld=0)
    info: dict = {}
    outcome, steps = "timeout", 0
    first_hit: dict | None = None
    offroad = False
    while steps < MAX_STEPS:
        action = agent.act(obs, explore=False)
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        acc["ret"] += float(reward)
        acc["alon"] = max(acc["alon"], info["max_accel_lon"])
        acc["alat"] = max(acc["alat"], info["max_accel_lat"])
        acc["jlon"] = max(acc["jlon"], info["max_jerk_lon"])
        acc["jlat"] = max(acc["jlat"], info["max_jerk_lat"])
        acc["ttc"] = min(acc["ttc"], info["min_ttc"])
        acc["red"] += int(bool(info["ran_red_light"]))
        acc["yld"] += int(bool(info.get("failed_to_yield", False)))  # once the engine reports it
        offroad |= bool(info["offroad"])
        if info["crashed"] and first_hit is None:
            first_hit = {"hit": info["hit"], "at_fault": bool(info["at_fault"]), "type": info["collision_type"]}
        hist.append(float(info["route_completion"]) * route_length)
        if terminated:
            outcome = "collision" if info["crashed"] else ("offroad" if info["offroad"] else "completed")
            break
        if truncated:
            break
        if blocked_after is not None:
            back = int(round(blocked_after / period))
            if len(hist) > back and hist[-1] - hist[-1 - back] < 0.5:
                outcome = "blocked"
                break
    probe.sample()
    trace = probe.trace()
    at_fault = bool(first_hit and first_hit["at_fault"])
    summary = trace_summary(trace, route_length, at_fault, u.world.dt)
    hit = first_hit["hit"] if first_hit else "none"
    obstacle = hit == "obstacle"
    timeouts = 0
    events: tuple = ()
    if script is not None and hasattr(script, "outcomes"):
        events = tuple(script.outcomes())
        timeouts = sum(bool(e["timed_out"]) for e in events)
    rec = EpisodeRecord(
        policy=policy, env_id=u.spec.id if u.spec else type(u).__name__, seed=int(seed), steps=steps,
        duration=steps * period, outcome=outcome,
        route_completion=float(info.get("route_completion", 0.0)), route_length=route_length,
        distance=float(info.get("distance", 0.0)), episode_return=acc["ret"],
        collisions_vehicle=int(first_hit is not None and not obstacle), collisions_obstacle=int(obstacle),
        at_fault_vehicle=int(at_fault and not obstacle), at_fault_object=int(at_fault and obstacle),
        collision_type=first_hit["type"] if first_hit else "none", offroad=offroad, red_light_runs=acc["red"],
        failures_to_yield=acc["yld"],
        scenario_timeouts=timeouts, max_accel_lon=acc["alon"], max_accel_lat=acc["alat"], max_jerk_lon=acc["jlon"],
        max_jerk_lat=acc["jlat"], min_ttc=acc["ttc"], trace=summary, events=events,
    )
    clip: list[np.ndarray] = []
    if frames:
        keep = int(CLIP_SECONDS * CLIP_FPS)
        clip = probe.frames[-keep:]
    return rec, clip


# --------------------------------------------------------------------------- policies
@dataclass(frozen=True)
class PolicyRef:
    """A policy to evaluate: ``expert``, ``random`` or a checkpoint path (rebuilt in each worker)."""

    source: str

    @property
    def name(self) -> str:
        return self.source


_POLICY_CACHE: dict[tuple, Any] = {}


def policy_for(ref: PolicyRef, env_id: str):
    """(agent, the policy's own env kwargs) for ``env_id``, cached per process."""
    from simdrive.agents_registry import resolve_policy

    key = (ref.source, env_id)
    if key not in _POLICY_CACHE:
        src = resolve_policy(ref.source, env_id, 0, None)
        _POLICY_CACHE[key] = (src.agent, dict(src.env_kwargs))
    return _POLICY_CACHE[key]


def make_scenario_env(sampled: Sampled, policy_kwargs: dict):
    """The single env of one repetition: the scenario's config, then the policy's own settings
    (action and observation kinds, decision rate) on top; the time limit from the scenario."""
    import gymnasium as gym

    import envs  # noqa: F401
    from simdrive.errors import UserError

    from envs.driving.config import make_config
    from .schema import _config_class

    sc = sampled.scenario
    kw = dict(sampled.env_kwargs)
    kw.update({k: v for k, v in policy_kwargs.items() if k not in ("vehicles", "spawn_spacing", "obstacles", "ego_speed")})
    try:
        cfg = make_config(_config_class(sc.map), None, kw)
    except (TypeError, ValueError) as error:
        raise UserError(f"scenario {sc.name}: {error}") from None
    steps = max(1, int(math.ceil(sc.time_limit * cfg.policy_frequency)))
    return gym.make(sc.env_id, max_episode_steps=steps, config=cfg)


@dataclass
class ScenarioResult:
    """All repetitions of one scenario for one policy; clips as encoded animations by record index."""

    policy: str
    scenario: str
    records: list[EpisodeRecord]
    clips: dict[int, bytes] = field(default_factory=dict)


def run_scenario(policy: PolicyRef, suite: SuiteSpec, scenario: ScenarioSpec, repeats: int | None = None,
                 clips: bool = True) -> ScenarioResult:
    """Play every repetition of ``scenario``; replay each failed one to render its clip."""
    from .clips import encode_clip

    records: list[EpisodeRecord] = []
    out = ScenarioResult(policy.name, scenario.name, records)
    for rep in range(suite.repetitions_of(scenario, repeats)):
        sp = sample(suite, scenario, rep)
        agent, pkw = policy_for(policy, scenario.env_id)
        env = make_scenario_env(sp, pkw)
        try:
            rec, _ = play_episode(agent, env, sp.seed, policy.name, sp.script(), scenario.blocked_after)
            if clips and rec.failed:  # same seed, same episode: replay it with frames
                again, frames = play_episode(agent, env, sp.seed, policy.name, sp.script(), scenario.blocked_after, frames=True)
                if again.steps == rec.steps and frames:
                    out.clips[len(records)] = encode_clip(frames, CLIP_FPS)
        finally:
            env.close()
        records.append(replace(rec, suite=suite.name, scenario=scenario.name, type=scenario.type, repetition=rep,
                               params=sp.params))
    return out


# --------------------------------------------------------------------------- plain driving evaluations
_RATES = {"success": "success_rate", "crash": "crash_rate", "out_of_road": "out_of_road_rate",
          "collision_at_fault": "at_fault_collision_rate", "timeout": "timeout_rate", "red_light": "red_light_runs"}


def driving_summary(records: list[EpisodeRecord]) -> dict[str, Any]:
    """Flat driving metrics of episodes (mean over episodes, ``_std`` for the scores) for run summaries."""
    from .records import aggregate

    agg = aggregate(records)
    out: dict[str, Any] = {}
    for key in ("driving_score", "route_completion", "infraction_penalty", "nuplan_score"):
        out[key] = agg[key]["mean"]
        out[f"{key}_std"] = agg[key]["std"]
    for key, name in _RATES.items():
        out[name] = agg[key]["mean"]
    for key in ("mean_speed", "min_ttc", "max_accel_lon", "max_accel_lat", "max_jerk_lon", "max_jerk_lat"):
        out[key] = agg[key]["mean"]
    out["infractions_per_km"] = agg["carla"].get("infractions_per_km", {})
    return out


def evaluate_driving(agent, env, episodes: int, seed: int, policy: str = "") -> tuple[list[float], list[int], list[EpisodeRecord]]:
    """``episodes`` greedy episodes (seeds ``seed``, ``seed + 1``, ...) on a single driving env:
    returns, lengths and the episode records (driving metrics)."""
    records = [play_episode(agent, env, seed + k, policy)[0] for k in range(episodes)]
    return [r.episode_return for r in records], [r.steps for r in records], records
