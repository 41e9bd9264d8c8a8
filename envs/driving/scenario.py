"""Scenario scripts: scripted actors and events (trigger -> action) applied to a world. numpy only.

A :class:`ScenarioScript` is what ``env.reset(options={"scenario": script})`` plays during one
episode of a single driving env: :meth:`ScenarioScript.reset` runs right after the world's
reset (it places the scripted actors in the world's last ``obstacles`` slots and clears the
traffic around them), :meth:`ScenarioScript.before_physics_step` before every physics step
(it tests the triggers and drives the actors through the world's scripting API:
``place_obstacle``, ``set_script``, ``ignore_rules``, ``light_override``).

An :class:`Event` is a trigger and an action. Triggers (:class:`Trigger`): ``start`` (at once),
``time`` [s] since the reset, ``ego_distance`` [m] of route progress, ``gap`` [m] (the ego's
bumper gap to the event's reference: its actor, or the stop line for light events) and
``ttc`` [s] (that gap over the closing speed). Actions are the typed parameter dataclasses in
:data:`ACTIONS` (units in brackets); each documents what it promises, e.g. the lead vehicle's
deceleration or the gap of a cut-in. The engine knows no YAML: ``simdrive.evaluation`` turns
scenario files into these objects, sampling parameter ranges per repetition.

All scripted actors keep accelerations within ``[-decel, max_accel]`` of the action (the lead
vehicle's braking is the action's ``decel``); a careful driver can avoid every event: the
parameter ranges of the shipped suites leave a gap a driver braking at 6 m/s^2 after a 1 s
reaction can stop in.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .scenario_events import (ACTIONS, TRIGGERS, AggressiveMerger, CutIn, CutOut, Drift, Event, FailureToYield, LaneClosure,
                              LeadBrake, LightChange, RedLightRunner, SlowLead, Stalled, StopAndGo, Tailgater, Trigger,
                              action_bounds, action_name)
from .world import SCRIPTED, STATIC, TRAFFIC

__all__ = [
    "Trigger",
    "Event",
    "ScenarioScript",
    "ACTIONS",
    "TRIGGERS",
    "LeadBrake",
    "SlowLead",
    "StopAndGo",
    "CutIn",
    "AggressiveMerger",
    "CutOut",
    "Drift",
    "Stalled",
    "LaneClosure",
    "Tailgater",
    "RedLightRunner",
    "FailureToYield",
    "LightChange",
]

_GAIN = 1.5  # speed-tracking gain of scripted actors [1/s]
_POS_GAIN = 0.5  # position-keeping gain [1/s^2]
_VEH_L, _VEH_W = 5.0, 2.0  # scripted vehicle size [m]


# --------------------------------------------------------------------------- the script
class _Ctx:
    """Geometry helpers over world ``w`` (numpy only)."""

    def __init__(self, core, w: int):
        self.core, self.world, self.w = core, core.world, w
        self.road = core.world.road

    @property
    def t(self) -> float:
        return float(self.world.t[self.w] * self.world.dt)

    def ego(self):
        W, w = self.world, self.w
        return int(W.sec[w, 0]), float(W.s[w, 0]), int(W.lane[w, 0]), float(W.v[w, 0])

    def progress(self) -> float:
        return float(self.world.ego_progress()[self.w])

    def neighbour(self, lane: int, which: str) -> int:
        r = self.road
        out = {"ego": lane, "left": int(r.lane_left[lane]), "right": int(r.lane_right[lane])}[which]
        if out < 0:
            raise ValueError(f"the ego's lane has no {which} neighbour here")
        return out

    def lane_pos(self, lane: int, s: float) -> tuple[int, float]:
        """Walk the lane graph until ``s`` lies on the lane [m]: forwards through the successor on
        the ego's route (else the first), backwards through the first predecessor."""
        r = self.road
        route = set(int(q) for q in self.world.route)
        for _ in range(64):  # lanes along a path, not vehicles
            L = float(r.lane_length[lane])
            if s > L and r.lane_nsucc[lane] > 0:
                succ = [int(x) for x in r.lane_succ[lane] if x >= 0]
                on_route = [x for x in succ if int(r.lane_sec[x]) in route]
                lane, s = (on_route or succ)[0], s - L
            elif s < 0 and r.lane_pred[lane, 0] >= 0:
                lane = int(r.lane_pred[lane, 0])
                s += float(r.lane_length[lane])
            else:
                break
        return lane, float(min(max(s, 0.0), float(r.lane_length[lane])))

    def place(self, slot: int, lane: int, s: float, speed: float, kind: int, length=_VEH_L, width=_VEH_W) -> None:
        lane, s = self.lane_pos(lane, s)
        self.world.place_obstacle(self.w, slot, lane, s, length, width, kind=kind, speed=speed)
        if kind == SCRIPTED:
            self.world.set_script(self.w, slot, acc=0.0, lane=lane)

    def route_position(self, slot: int) -> float:
        """Route progress [m] of a slot's centre (as the ego's progress), or nan off the route."""
        W, w = self.world, self.w
        hit = np.nonzero(W.route == W.sec[w, slot])[0]
        if hit.size == 0:
            return math.nan
        i = hit[hit >= min(int(W.route_i[w]), hit[-1])][0] if hit.size > 1 else hit[0]
        return float(W.route_cum[i] + W.s[w, slot] - W.map.start_s)

    def gap_to(self, slot: int) -> float:
        """The ego's bumper gap to a slot [m]: along the route when it is on it, else the centre
        distance minus both half lengths (negative behind)."""
        W, w = self.world, self.w
        half = 0.5 * (W.length[w, 0] + W.length[w, slot])
        rp = self.route_position(slot)
        if not math.isnan(rp):
            return rp - self.progress() - half
        return float(np.hypot(W.x[w, slot] - W.x[w, 0], W.y[w, slot] - W.y[w, 0]) - half)

    def stop_line(self) -> float:
        """Route progress of the stop line of the ego's next signalized section end [m] (inf: none)."""
        W, w = self.world, self.w
        lit = set(self.road.lane_sec[W.lights[:, 0]].tolist())
        for i in range(int(W.route_i[w]), len(W.route)):
            if int(W.route[i]) in lit:
                return float(W.route_cum[i] + self.road.sec_length[W.route[i]] - W.map.start_s)
        return math.inf

    def clear_traffic(self, x: float, y: float, radius: float) -> None:
        """Remove traffic within ``radius`` [m] of a point (it respawns elsewhere later)."""
        W, w = self.world, self.w
        near = (W.kind[w] == TRAFFIC) & W.active[w] & (np.hypot(W.x[w] - x, W.y[w] - y) < radius)
        W.active[w, near] = False
        W.x[w, near] = 1e6
        W.y[w, near] = 1e6

    def clear_lane(self, lane: int, s0: float, s1: float) -> None:
        """Remove traffic in ``lane`` between ``s0`` and ``s1`` [m] of its section."""
        W, w = self.world, self.w
        sec = self.road.lane_sec[lane]
        near = (W.kind[w] == TRAFFIC) & W.active[w] & (W.sec[w] == sec) & ((W.lane[w] == lane) | (W.tlane[w] == lane))
        near &= (W.s[w] > s0 - 8.0) & (W.s[w] < s1 + 8.0)
        W.active[w, near] = False
        W.x[w, near] = 1e6
        W.y[w, near] = 1e6

    def track(self, slot: int, v_target: float, lo: float = 6.0, hi: float = 3.0, lane: int | None = None) -> None:
        """Drive a scripted slot towards ``v_target`` [m/s], acceleration in [-lo, hi] [m/s^2]."""
        v = float(self.world.v[self.w, slot])
        acc = float(np.clip(_GAIN * (v_target - v), -lo, hi))
        self.world.set_script(self.w, slot, acc=acc, lane=lane)

    def keep_gap(self, slot: int, gap: float, lo: float = 4.0, hi: float = 3.0, lane: int | None = None, behind=False) -> None:
        """Hold a slot ``gap`` [m] ahead of (``behind``: behind) the ego at the ego's speed."""
        W, w = self.world, self.w
        ds = float(W.s[w, slot] - W.s[w, 0]) if W.sec[w, slot] == W.sec[w, 0] else math.nan
        half = 0.5 * float(W.length[w, 0] + W.length[w, slot])
        dv = float(W.v[w, 0] - W.v[w, slot])
        if math.isnan(ds):
            acc = _GAIN * dv
        else:
            err = (-ds - half - gap) if behind else (ds - half - gap)  # > 0: too far (behind) / too far ahead
            acc = (_POS_GAIN * err if behind else -_POS_GAIN * err) + _GAIN * dv
        self.world.set_script(w, slot, acc=float(np.clip(acc, -lo, hi)), lane=lane)


class _Running:
    """One event during an episode: its slots, trigger state and log."""

    def __init__(self, event: Event, slots: list[int]):
        self.event, self.a, self.slots = event, event.action, slots
        self.name = action_name(event.action)
        self.fired_at: float | None = None
        self.passed = False
        self.timed_out = False
        self.memo: dict = {}

    # reference of the gap/ttc triggers
    def reference_gap(self, c: _Ctx) -> tuple[float, float]:
        """(bumper gap [m], closing speed [m/s]) from the ego to this event's reference."""
        W, w = c.world, c.w
        if self.name == "light_change":
            g = c.stop_line() - c.progress() - 0.5 * float(W.length[w, 0])
            return g, float(W.v[w, 0])
        ref = self.slots[-1]  # cut_out: the stopped vehicle
        if not W.active[w, ref] or W.x[w, ref] > 1e5:
            return math.inf, 0.0
        return c.gap_to(ref), float(W.v[w, 0] - W.v[w, ref])

    def due(self, c: _Ctx) -> bool:
        k, val = self.event.trigger.kind, self.event.trigger.value
        if k == "start":
            return True
        if k == "time":
            return c.t >= val
        if k == "ego_distance":
            return c.progress() >= val
        gap, closing = self.reference_gap(c)
        if k == "gap":
            return gap <= val
        return closing > 1e-6 and gap / closing <= val

    def got_past(self, c: _Ctx) -> bool:
        """The ego is past the event (CARLA's scenario is over)."""
        if self.name in ("light_change", "red_light_runner"):
            return c.progress() > c.stop_line() if self.name == "light_change" else c.world.route_i[c.w] >= 2
        if self.name == "failure_to_yield":
            return "merge_progress" in self.memo and c.progress() > self.memo["merge_progress"]
        if self.name == "tailgater":
            return True
        gap, _ = self.reference_gap(c)
        return gap < -0.5 * float(c.world.length[c.w, 0]) - 5.0 or math.isinf(gap)


class ScenarioScript:
    """Scripted actors and events for one episode of a single driving env.

    Args: ``events`` (:class:`Event` list, parameters already sampled), ``ego_lane`` (index into
    the map's start lanes, None: the env's draw), ``traffic_speed`` ((lo, hi) factor applied to
    the desired speed of the traffic present at the start, None: unchanged), ``seed`` (for
    that factor). Needs ``obstacles >= slots_needed(events)`` in the env's config.
    After the episode, :meth:`outcomes` tells when each event fired and whether it timed out.
    """

    def __init__(self, events: Sequence[Event] = (), ego_lane: int | None = None,
                 traffic_speed: tuple[float, float] | None = None, seed: int = 0):
        self.events = tuple(events)
        self.ego_lane = ego_lane
        self.traffic_speed = traffic_speed
        self.seed = int(seed)
        self.running: list[_Running] = []
        self._ctx: _Ctx | None = None

    @staticmethod
    def slots_needed(events: Sequence[Event]) -> int:
        return sum(e.slots for e in events)

    # ------------------------------------------------------------------ hooks
    def reset(self, core, rows) -> None:
        rows = np.asarray(rows)
        if core.n != 1 or len(rows) != 1:
            raise ValueError("a ScenarioScript drives one world: use it with the single driving env")
        W = core.world
        need = self.slots_needed(self.events)
        if need > W.p.obstacles:
            raise ValueError(f"the scenario needs {need} scripted slots; build the env with obstacles >= {need}")
        c = self._ctx = _Ctx(core, int(rows[0]))
        # the scenario fixes the ego's start: its lane, the map's start position and the configured speed
        k = self.ego_lane
        if k is None:
            k = int(np.nonzero(W.map.start_lanes == W.lane[c.w, 0])[0][0]) if W.lane[c.w, 0] in W.map.start_lanes else 0
        self._place_ego(c, k, core.cfg.ego_speed)
        if self.traffic_speed is not None:
            lo, hi = self.traffic_speed
            rng = np.random.default_rng(self.seed)
            traffic = W.kind[c.w] == TRAFFIC
            W.v0f[c.w, traffic] *= rng.uniform(lo, hi, int(traffic.sum()))
        first = W.V - W.p.obstacles
        self.running = []
        for ev in self.events:
            r = _Running(ev, list(range(first, first + ev.slots)))
            first += ev.slots
            self._setup(c, r)
            self.running.append(r)
        # no traffic overlapping the ego or a scripted actor
        for slot in [0] + [s for r in self.running for s in r.slots]:
            if W.active[c.w, slot] and W.x[c.w, slot] < 1e5:
                c.clear_traffic(float(W.x[c.w, slot]), float(W.y[c.w, slot]), 12.0)
        self.before_physics_step(core)  # actions triggered at start act from the first step

    def before_physics_step(self, core) -> None:
        c = self._ctx
        if c is None:
            return
        for r in self.running:
            if r.fired_at is None and r.due(c):
                r.fired_at = c.t
                self._fire(c, r)
            self._control(c, r)
            if r.fired_at is not None and not r.passed:
                r.passed = r.got_past(c)
                if not r.passed and c.t - r.fired_at > r.event.timeout:
                    r.timed_out, r.passed = True, True

    def outcomes(self) -> list[dict]:
        """Per event: action name, trigger time [s] (None: never), scenario timeout (bool)."""
        return [{"action": r.name, "triggered_at": r.fired_at, "timed_out": r.timed_out} for r in self.running]

    # ------------------------------------------------------------------ placement
    @staticmethod
    def _place_ego(c: _Ctx, k: int, speed: float) -> None:
        W, m, w = c.world, c.world.map, c.w
        if not 0 <= k < len(m.start_lanes):
            raise ValueError(f"ego lane {k} out of range: the map has {len(m.start_lanes)} start lanes")
        W.place_obstacle(w, 0, int(m.start_lanes[k]), float(m.start_s), float(W.length[w, 0]), float(W.width[w, 0]),
                         kind=0, speed=float(speed))

    def _setup(self, c: _Ctx, r: _Running) -> None:
        a, W, w = r.a, c.world, c.w
        sec, s, lane, v = c.ego()
        half = 0.5 * (float(W.length[w, 0]) + _VEH_L)
        if isinstance(a, (LeadBrake, SlowLead, StopAndGo)):
            c.clear_lane(lane, s, s + a.gap + 2 * half + 30.0)
            c.place(r.slots[0], lane, s + a.gap + half, a.speed, SCRIPTED)
        elif isinstance(a, (CutIn, Drift)):
            nb = c.neighbour(lane, a.side)
            c.clear_lane(nb, s + a.gap - 30.0, s + a.gap + 40.0)
            c.place(r.slots[0], nb, s + a.gap + half, v, SCRIPTED)
            r.memo["lane"] = nb
        elif isinstance(a, AggressiveMerger):
            self._setup_merger(c, r)
        elif isinstance(a, CutOut):
            c.neighbour(lane, a.side)  # checked now: the lead needs somewhere to go
            c.clear_lane(lane, s, s + a.stall_distance + 10.0)
            c.place(r.slots[0], lane, s + a.gap + half, a.speed, SCRIPTED)
            c.place(r.slots[1], lane, s + a.stall_distance, 0.0, SCRIPTED)
        elif isinstance(a, Stalled):
            ln = c.neighbour(lane, a.lane)
            c.clear_lane(ln, s + a.distance - 20.0, s + a.distance + 20.0)
            kind = SCRIPTED if a.kind == "vehicle" else STATIC
            c.place(r.slots[0], ln, s + a.distance, 0.0, kind, a.length, a.width)
        elif isinstance(a, LaneClosure):
            ln = c.neighbour(lane, a.lane)
            c.clear_lane(ln, s + a.distance, s + a.distance + a.length)
            c.place(r.slots[0], ln, s + a.distance + 0.5 * a.length, 0.0, STATIC, a.length, 0.8 * float(c.road.lane_width[ln]))
        elif isinstance(a, Tailgater):
            c.clear_lane(lane, s - a.gap - 30.0, s)
            c.place(r.slots[0], lane, s - a.gap - half, v, SCRIPTED)
        elif isinstance(a, RedLightRunner):
            if len(np.asarray(W.map.lights).reshape(-1, 4)) == 0:
                raise ValueError("red_light_runner needs a map with traffic lights (the intersection)")
        elif isinstance(a, FailureToYield):
            if len(W.map.yield_lanes) == 0:
                raise ValueError("failure_to_yield needs a map with give-way entries (the roundabout)")
        # LightChange: nothing to place

    def _setup_merger(self, c: _Ctx, r: _Running) -> None:
        """Put the merger on the on-ramp, timed to reach the acceleration lane with the ego."""
        W, m, rd, w = c.world, c.world.map, c.road, c.w
        ramps = [int(ln) for ln in m.spawn_lanes if ln not in set(m.start_lanes.tolist()) and rd.lane_pred[ln, 0] < 0]
        if not ramps:
            raise ValueError("aggressive_merger needs a map with an on-ramp (the merge)")
        ramp = ramps[0]
        sec, s, lane, v = c.ego()
        to_zone = float(rd.sec_length[sec]) - s  # ego's distance to the end of its section [m]
        t_e = to_zone / max(v, 1.0)
        speed = max(v + r.a.rel_speed, 5.0)
        s_r = float(rd.lane_length[ramp]) - (speed * t_e - r.a.gap - 10.0)
        c.place(r.slots[0], ramp, max(s_r, 5.0), speed, SCRIPTED)
        r.memo["speed"] = speed

    # ------------------------------------------------------------------ triggers and control
    def _fire(self, c: _Ctx, r: _Running) -> None:
        a, W, w = r.a, c.world, c.w
        sec, s, lane, v = c.ego()
        if isinstance(a, (CutIn, AggressiveMerger)):
            r.memo.update(target=lane, speed=max(v + a.rel_speed, 0.0))
        elif isinstance(a, Drift):
            r.memo["target"] = lane
        elif isinstance(a, CutOut):
            r.memo["target"] = int(c.road.lane_left[W.lane[w, r.slots[0]]] if a.side == "left" else c.road.lane_right[W.lane[w, r.slots[0]]])
        elif isinstance(a, RedLightRunner):
            self._fire_runner(c, r)
        elif isinstance(a, FailureToYield):
            self._fire_yield(c, r)
        elif isinstance(a, LightChange):
            li = self._ego_lights(c)
            W.light_override[w, li] = 1 if a.state == "green" else 0

    def _control(self, c: _Ctx, r: _Running) -> None:
        a, W, w = r.a, c.world, c.w
        slot = r.slots[0]
        fired = r.fired_at is not None
        since = c.t - r.fired_at if fired else 0.0
        if isinstance(a, LeadBrake):
            if not fired:
                c.track(slot, a.speed, 3.0, 2.0)
            elif "reached" in r.memo and c.t - r.memo["reached"] >= a.resume:
                W.set_script(w, slot, acc=None, lane=None)  # drives on as traffic (IDM)
            else:
                below = W.v[w, slot] <= a.target_speed + 1e-9
                W.set_script(w, slot, acc=0.0 if below else -a.decel)
                if below:
                    W.v[w, slot] = a.target_speed
                    r.memo.setdefault("reached", c.t)
        elif isinstance(a, SlowLead):
            c.track(slot, a.speed, 3.0, 2.0)
        elif isinstance(a, StopAndGo):
            target = max(0.0, a.speed + a.amplitude * math.sin(2 * math.pi * c.t / a.period))
            c.track(slot, target, a.max_decel, 2.0)
        elif isinstance(a, (CutIn, AggressiveMerger)):
            if not fired:
                if isinstance(a, CutIn):
                    c.keep_gap(slot, a.gap, lane=r.memo["lane"])
                elif W.sec[w, slot] == W.sec[w, 0]:
                    c.keep_gap(slot, a.gap, lane=int(W.lane[w, slot]))
                else:
                    c.track(slot, r.memo["speed"], 3.0, 3.0)
            elif since < a.hold:
                c.track(slot, r.memo["speed"], 6.0, 3.0, lane=r.memo["target"])
            else:
                W.set_script(w, slot, acc=None, lane=None)  # drives on as traffic (IDM)
        elif isinstance(a, Drift):
            if not fired:
                c.keep_gap(slot, a.gap, lane=r.memo["lane"])
            else:
                back = since >= a.duration
                c.keep_gap(slot, a.gap, lane=r.memo["lane"] if back else r.memo["target"])
        elif isinstance(a, CutOut):
            if fired and r.memo.get("target", -1) >= 0:
                c.track(slot, a.speed, 3.0, 2.0, lane=r.memo["target"])
            else:
                c.track(slot, a.speed, 3.0, 2.0)
            W.set_script(w, r.slots[1], acc=0.0)
        elif isinstance(a, Stalled) and a.kind == "vehicle":
            W.set_script(w, slot, acc=0.0)
        elif isinstance(a, Tailgater):
            c.keep_gap(slot, a.gap, lo=a.max_decel, hi=3.0, behind=True)
        elif isinstance(a, (RedLightRunner, FailureToYield)) and fired and "speed" in r.memo:
            c.track(slot, r.memo["speed"], 3.0, 2.0)
            W.ignore_rules[w, slot] = True
            if "turn" in r.memo:
                W.turn[w, slot] = -1 - r.memo["turn"]  # a negative draw forces successor index -turn-1 (straight on)
        elif isinstance(a, LightChange) and fired and since >= a.duration and not r.memo.get("restored"):
            W.light_override[w, self._ego_lights(c)] = -1
            r.memo["restored"] = True

    # ------------------------------------------------------------------ junction events
    @staticmethod
    def _ego_lights(c: _Ctx) -> np.ndarray:
        """Light rows governing the ego's approach (the signalized section on its route)."""
        W = c.world
        secs = c.road.lane_sec[W.lights[:, 0]]
        return np.nonzero(np.isin(secs, W.route))[0]

    def _fire_runner(self, c: _Ctx, r: _Running) -> None:
        a, W, w, rd = r.a, c.world, c.w, c.road
        lights = W.lights
        ego_rows = self._ego_lights(c)
        W.light_override[w, ego_rows] = 1  # the ego has green ...
        ego_sec = int(rd.lane_sec[int(lights[ego_rows[0], 0])])
        h_ego = self._end_heading(rd, ego_sec)
        # ... the crossing approach (its heading 90 degrees off the ego's) has red and runs it
        want = h_ego + (-np.pi / 2 if a.side == "left" else np.pi / 2)
        best, err = -1, np.inf
        for row, ln in enumerate(lights[:, 0].astype(np.int64)):  # a handful of lights
            q = int(rd.lane_sec[ln])
            if rd.lane_index[ln] != 0 or q == ego_sec:
                continue
            e = abs((self._end_heading(rd, q) - want + np.pi) % (2 * np.pi) - np.pi)
            if e < err:
                best, err = row, e
        ln = int(lights[best, 0])
        W.light_override[w, np.nonzero(rd.lane_sec[lights[:, 0].astype(np.int64)] == rd.lane_sec[ln])[0]] = 0
        # straight on: the successor whose end heading equals its approach heading
        succ = [int(x) for x in rd.lane_succ[ln] if x >= 0]
        h_in = self._end_heading(rd, int(rd.lane_sec[ln]))
        turn = int(np.argmin([abs((self._end_heading(rd, int(rd.lane_sec[q])) - h_in + np.pi) % (2 * np.pi) - np.pi) for q in succ]))
        # timing: reach the junction centre lead_time before the ego
        ego_to_line = c.stop_line() - c.progress()
        half_box = 0.5 * float(rd.sec_length[rd.lane_sec[succ[turn]]])
        t_e = (ego_to_line + half_box) / max(float(W.v[w, 0]), 1.0)
        d_r = a.speed * max(t_e - a.lead_time, 0.0) - half_box  # its distance to its stop line [m]
        s = float(rd.lane_length[ln]) - max(d_r, 2.0)
        c.place(r.slots[0], ln, s, a.speed, SCRIPTED)
        W.ignore_rules[w, r.slots[0]] = True
        r.memo.update(speed=a.speed, turn=turn)

    def _fire_yield(self, c: _Ctx, r: _Running) -> None:
        a, W, w, rd = r.a, c.world, c.w, c.road
        ri = int(W.route_i[w])
        route = [int(q) for q in W.route]
        for yl in W.map.yield_lanes:  # a handful of entries
            ring = int(rd.lane_sec[rd.lane_succ[yl, 0]])
            if ring in route[ri + 1 :] and int(rd.lane_sec[yl]) not in route:
                break
        else:
            raise ValueError("failure_to_yield: no entry ahead of the ego on its route (take a later exit)")
        idx = route.index(ring, ri + 1)
        merge = float(W.route_cum[idx] - W.map.start_s)  # route progress of the merge point [m]
        t_e = (merge - c.progress()) / max(float(W.v[w, 0]), 1.0)
        d_r = a.speed * max(t_e - a.lead_time, 0.0)  # its distance to the merge point [m]
        ln, s = int(yl), float(rd.lane_length[yl]) - d_r
        c.place(r.slots[0], ln, s, a.speed, SCRIPTED)
        W.ignore_rules[w, r.slots[0]] = True
        r.memo.update(speed=a.speed, merge_progress=merge)

    @staticmethod
    def _end_heading(rd, q: int) -> float:
        return float(rd.seg_heading[rd.sec_seg[q + 1] - 1])
