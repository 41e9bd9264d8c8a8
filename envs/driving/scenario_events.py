"""Scenario events: typed triggers and actions (the vocabulary of scenario scripts).

An :class:`Event` is a :class:`Trigger` and an action, one of the parameter dataclasses in
:data:`ACTIONS` (units in brackets, each field with its valid range); :mod:`.scenario` plays
them in a world. See :mod:`.scenario` for what each trigger measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Literal

TRIGGERS = ("start", "time", "ego_distance", "gap", "ttc")
Side = Literal["left", "right"]


def _bounds(lo: float, hi: float):
    """Field metadata: the valid range [lo, hi] of a parameter (checked by the scenario schema)."""
    return {"bounds": (lo, hi)}


def _num(default: float, lo: float, hi: float):
    return field(default=default, metadata=_bounds(lo, hi))


@dataclass(frozen=True)
class Trigger:
    """When an event's action starts."""

    kind: Literal["start", "time", "ego_distance", "gap", "ttc"] = "start"
    value: float = 0.0  # [s] for time/ttc, [m] for ego_distance/gap

    def __post_init__(self):
        if self.kind not in TRIGGERS:
            raise ValueError(f"trigger kind {self.kind!r}: must be one of {TRIGGERS}")


# --------------------------------------------------------------------------- action parameters
@dataclass(frozen=True)
class LeadBrake:
    """A lead vehicle in the ego's lane, ``gap`` ahead at ``speed``, brakes at ``decel`` down to
    ``target_speed`` when triggered (NHTSA "lead vehicle decelerating")."""

    gap: float = _num(30.0, 5.0, 300.0)  # initial bumper gap ahead of the ego [m]
    speed: float = _num(25.0, 0.0, 40.0)  # cruise speed before braking [m/s]
    decel: float = _num(6.0, 0.5, 9.0)  # braking deceleration [m/s^2]
    target_speed: float = _num(0.0, 0.0, 40.0)  # speed it brakes down to [m/s]
    resume: float = _num(math.inf, 0.0, math.inf)  # after reaching the target, drive on as traffic (IDM) after this [s]


@dataclass(frozen=True)
class SlowLead:
    """A slow vehicle ``gap`` ahead in the ego's lane keeps ``speed`` (overtake it)."""

    gap: float = _num(40.0, 5.0, 300.0)  # initial bumper gap [m]
    speed: float = _num(12.0, 0.0, 40.0)  # its constant speed [m/s]


@dataclass(frozen=True)
class StopAndGo:
    """A lead vehicle whose speed oscillates: ``speed + amplitude sin(2 pi t / period)`` (>= 0)."""

    gap: float = _num(30.0, 5.0, 300.0)  # initial bumper gap [m]
    speed: float = _num(10.0, 0.0, 40.0)  # mean speed [m/s]
    amplitude: float = _num(8.0, 0.0, 30.0)  # speed amplitude [m/s]
    period: float = _num(12.0, 2.0, 120.0)  # [s]
    max_decel: float = _num(4.0, 0.5, 9.0)  # its acceleration bound [m/s^2]


@dataclass(frozen=True)
class CutIn:
    """A vehicle in the adjacent lane (``side`` of the ego) keeps ``gap`` ahead of the ego; when
    triggered it changes into the ego's lane, ``gap`` [m] (bumper to bumper) ahead, and drives at
    the ego's speed + ``rel_speed`` (NHTSA "vehicle changing lanes, same direction")."""

    side: Side = "left"
    gap: float = _num(15.0, 0.0, 100.0)  # bumper gap ahead of the ego when it starts to cut in [m]
    rel_speed: float = _num(-2.0, -20.0, 20.0)  # its speed minus the ego's during the cut-in [m/s]
    hold: float = _num(3.0, 0.0, 60.0)  # how long it keeps that speed before driving normally (IDM) [s]


@dataclass(frozen=True)
class AggressiveMerger:
    """A ramp vehicle timed to reach the acceleration lane beside the ego, then forcing its way
    into the ego's lane ``gap`` ahead at the ego's speed + ``rel_speed`` when triggered."""

    gap: float = _num(12.0, 0.0, 100.0)  # bumper gap ahead of the ego when it merges [m]
    rel_speed: float = _num(-3.0, -20.0, 20.0)  # its speed minus the ego's while merging [m/s]
    hold: float = _num(3.0, 0.0, 60.0)  # [s]


@dataclass(frozen=True)
class CutOut:
    """A lead vehicle ``gap`` ahead at ``speed``; a stopped vehicle ``stall_distance`` ahead of the
    ego; when triggered (typically on the ego's gap to the stopped vehicle) the lead changes to
    the ``side`` lane, revealing it (NHTSA "lead vehicle stopped", Euro NCAP cut-out)."""

    side: Side = "left"
    gap: float = _num(20.0, 5.0, 200.0)  # lead's initial bumper gap [m]
    speed: float = _num(22.0, 1.0, 40.0)  # lead's speed [m/s]
    stall_distance: float = _num(250.0, 30.0, 2000.0)  # stopped vehicle ahead of the ego at the start [m]


@dataclass(frozen=True)
class Drift:
    """A vehicle in the adjacent lane ``gap`` ahead of the ego (negative: behind) drifts into the
    ego's lane for ``duration`` seconds, then returns (NHTSA "drifting, same direction")."""

    side: Side = "left"
    gap: float = _num(8.0, -10.0, 100.0)  # its longitudinal bumper offset ahead of the ego [m]
    duration: float = _num(1.5, 0.1, 10.0)  # time spent steering towards the ego's lane [s]


@dataclass(frozen=True)
class Stalled:
    """A stopped vehicle (``kind: vehicle``) or debris (``kind: obstacle``) in a lane ahead."""

    distance: float = _num(150.0, 10.0, 2000.0)  # ahead of the ego along its lane, centre to centre [m]
    lane: Literal["ego", "left", "right"] = "ego"
    kind: Literal["vehicle", "obstacle"] = "vehicle"
    length: float = _num(5.0, 0.3, 30.0)  # [m]
    width: float = _num(2.0, 0.3, 4.0)  # [m]


@dataclass(frozen=True)
class LaneClosure:
    """A closed stretch of a lane (road works: one long static obstacle, ``length`` long)."""

    distance: float = _num(200.0, 20.0, 2000.0)  # ahead of the ego to the closure's start [m]
    length: float = _num(60.0, 5.0, 500.0)  # [m]
    lane: Literal["ego", "left", "right"] = "ego"


@dataclass(frozen=True)
class Tailgater:
    """A vehicle keeping only ``gap`` behind the ego, able to brake at ``max_decel`` at most; a
    hard stop by the ego gets it rear-ended (the follower is at fault, nuPlan's active_rear)."""

    gap: float = _num(8.0, 2.0, 100.0)  # bumper gap behind the ego [m]
    max_decel: float = _num(4.0, 0.5, 9.0)  # its braking limit [m/s^2]


@dataclass(frozen=True)
class RedLightRunner:
    """At a signalized junction: the ego's approach is held green, a crossing vehicle from the
    ``side`` runs its red light at ``speed``, reaching the junction centre ``lead_time`` seconds
    before the ego would at its speed when triggered."""

    side: Side = "left"
    speed: float = _num(12.0, 2.0, 30.0)  # [m/s]
    lead_time: float = _num(1.0, -5.0, 10.0)  # [s]


@dataclass(frozen=True)
class FailureToYield:
    """At a roundabout: a vehicle on the next entry the ego passes enters the ring without
    giving way, reaching the merge point ``lead_time`` seconds before the ego would."""

    speed: float = _num(8.0, 2.0, 20.0)  # [m/s]
    lead_time: float = _num(1.0, -5.0, 10.0)  # [s]


@dataclass(frozen=True)
class LightChange:
    """The light of the ego's approach switches to ``state`` when triggered (an amber dilemma
    when triggered on the ego's distance to the stop line), for ``duration`` seconds."""

    state: Literal["red", "green"] = "red"
    duration: float = _num(10.0, 0.1, 600.0)  # then the timed cycle resumes [s]


ACTIONS: dict[str, type] = {
    "lead_brake": LeadBrake,
    "slow_lead": SlowLead,
    "stop_and_go": StopAndGo,
    "cut_in": CutIn,
    "aggressive_merger": AggressiveMerger,
    "cut_out": CutOut,
    "drift": Drift,
    "stalled": Stalled,
    "lane_closure": LaneClosure,
    "tailgater": Tailgater,
    "red_light_runner": RedLightRunner,
    "failure_to_yield": FailureToYield,
    "light_change": LightChange,
}
#: scripted slots each action uses
_SLOTS = {"cut_out": 2}


def action_bounds(cls: type) -> dict[str, tuple[float, float]]:
    """Valid ranges of an action's numeric parameters."""
    return {f.name: f.metadata["bounds"] for f in fields(cls) if "bounds" in f.metadata}


@dataclass(frozen=True)
class Event:
    """A trigger and an action; ``timeout`` [s] after the trigger the ego must have got past the
    event (CARLA's scenario timeout), ``inf`` for none."""

    action: object  # one of the ACTIONS dataclasses
    trigger: Trigger = Trigger()
    timeout: float = math.inf

    @property
    def slots(self) -> int:
        return _SLOTS.get(action_name(self.action), 1)


def action_name(action: object) -> str:
    for name, cls in ACTIONS.items():
        if type(action) is cls:
            return name
    raise TypeError(f"not a scenario action: {action!r}")
