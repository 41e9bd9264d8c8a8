"""Scenario and suite files: YAML read with a safe loader, validated into typed specs.

A suite file::

    name: highway                     # suite name
    description: ...
    repetitions: 3                    # default repetitions of each scenario
    seed: 0                           # base seed (repetition i of a scenario uses its own seed, see episode_seed)
    scenarios:
      - file: highway/cut_in.yaml     # a scenario file, relative to the suite file
      - name: free_flow               # or a scenario inline
        type: free_flow
        map: highway                  # highway | merge | intersection | roundabout
        map_params: {lanes: 3}        # the environment's map keys (see `simdrive envs`)
        ego: {lane: 1, speed: [20, 25]}
        traffic: {vehicles: 30, spacing: 25, styles: [0.6, 0.2, 0.2], speed_factor: [0.9, 1.1]}
                                      # (also disturbances: speed disturbances per driver [1/s], default 0)
        events:
          - action: cut_in
            trigger: {time: [3, 5]}   # start | time | ego_distance | gap | ttc
            params: {side: left, gap: [12, 20], rel_speed: [-4, -1]}
            timeout: 30               # [s] CARLA scenario timeout (optional)
        time_limit: 40                # [s]
        blocked_after: 30             # [s] without progress ends the episode as blocked
        repetitions: 5                # overrides the suite's

A number parameter is a value, a range ``[lo, hi]`` (uniform) or ``{choice: [...]}``; ranges
are sampled per repetition from the repetition's seed (as Scenic samples its ranges). Any
mistake (unknown key, wrong type, value out of range, missing file) raises
:class:`ScenarioError`, one line naming the file, the key path and the valid choices.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Mapping, get_args, get_origin, get_type_hints

import numpy as np

from envs.driving import scenario as S
from simdrive.errors import UserError

MAPS = {"highway": "simdrive/Highway-v0", "merge": "simdrive/Merge-v0", "intersection": "simdrive/Intersection-v0",
        "roundabout": "simdrive/Roundabout-v0"}
MAX_FILE_BYTES = 1_000_000  # scenario files are small; refuse anything bigger
STYLE_KEYS = ("normal", "aggressive", "defensive")


class ScenarioError(UserError):
    """A scenario or suite file that does not validate (one line: file, key path, what is valid)."""


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    """A parameter: ``lo == hi`` fixed, ``lo < hi`` uniform, or ``choices``."""

    lo: float = 0.0
    hi: float = 0.0
    choices: tuple = ()

    def sample(self, rng: np.random.Generator):
        if self.choices:
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.lo == self.hi:
            rng.random()  # one draw per parameter either way: adding a range keeps the others' draws
            return self.lo
        return float(self.lo + (self.hi - self.lo) * rng.random())

    def describe(self):
        if self.choices:
            return {"choice": list(self.choices)}
        return self.lo if self.lo == self.hi else [self.lo, self.hi]


@dataclass(frozen=True)
class EventSpec:
    action: str  # one of envs.driving.scenario.ACTIONS
    params: tuple[tuple[str, Param], ...]  # (name, parameter) in the action's field order
    trigger: str = "start"  # envs.driving.scenario.TRIGGERS
    trigger_value: Param = Param()  # [s] or [m]
    timeout: float = math.inf  # [s]


@dataclass(frozen=True)
class TrafficSpec:
    vehicles: int | None = None  # traffic vehicles [-] (None: the env's default)
    spacing: float | None = None  # placement slot spacing, the density [m]
    styles: tuple[float, float, float] | None = None  # normal / aggressive / defensive probabilities [-]
    speed_factor: Param | None = None  # factor on each starting vehicle's desired speed [-]
    # speed disturbances per traffic driver (envs/driving/disturbances.py); 0 unless the scenario asks,
    # so that a scenario's traffic does only what it describes [1/s]
    disturbances: float = 0.0


@dataclass(frozen=True)
class EgoSpec:
    lane: int | None = None  # index into the map's start lanes
    speed: Param | None = None  # initial speed [m/s]


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    type: str  # scenario type (for the breakdown by type)
    map: str  # key of MAPS
    description: str = ""
    map_params: tuple[tuple[str, Any], ...] = ()
    ego: EgoSpec = EgoSpec()
    traffic: TrafficSpec = TrafficSpec()
    events: tuple[EventSpec, ...] = ()
    time_limit: float = 60.0  # [s]
    blocked_after: float = 45.0  # [s]
    repetitions: int | None = None
    source: str = ""

    @property
    def env_id(self) -> str:
        return MAPS[self.map]


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    description: str
    scenarios: tuple[ScenarioSpec, ...]
    repetitions: int = 3
    seed: int = 0
    source: str = ""

    def repetitions_of(self, scenario: ScenarioSpec, override: int | None = None) -> int:
        return int(override or scenario.repetitions or self.repetitions)


@dataclass(frozen=True)
class Sampled:
    """One repetition of a scenario with its parameters drawn."""

    scenario: ScenarioSpec
    repetition: int
    seed: int  # the episode's seed
    env_kwargs: tuple[tuple[str, Any], ...]
    events: tuple[S.Event, ...]
    ego_lane: int | None
    traffic_speed: tuple[float, float] | None
    params: dict = field(default_factory=dict)  # what was drawn, for the report

    def script(self) -> S.ScenarioScript:
        return S.ScenarioScript(self.events, self.ego_lane, self.traffic_speed, seed=self.seed)


def episode_seed(base: int, scenario: str, repetition: int) -> int:
    """Seed of repetition ``repetition`` of scenario ``scenario`` in a suite with base seed ``base``."""
    return (zlib.crc32(scenario.encode()) % 1_000_000) * 1000 + int(base) * 100_003 % 1_000_000_007 + int(repetition)


def sample(suite: SuiteSpec, sc: ScenarioSpec, repetition: int) -> Sampled:
    seed = episode_seed(suite.seed, sc.name, repetition)
    rng = np.random.default_rng([seed, 7])
    params: dict = {}
    kw = dict(sc.map_params)
    if sc.ego.speed is not None:
        kw["ego_speed"] = params["ego.speed"] = float(sc.ego.speed.sample(rng))
    t = sc.traffic
    if t.vehicles is not None:
        kw["vehicles"] = t.vehicles
    if t.spacing is not None:
        kw["spawn_spacing"] = t.spacing
    if t.styles is not None:
        kw["style_probs"] = tuple(t.styles)
    kw["disturbance_rate"] = t.disturbances
    events = []
    for i, e in enumerate(sc.events):
        cls = S.ACTIONS[e.action]
        values = {name: p.sample(rng) for name, p in e.params}
        tv = float(e.trigger_value.sample(rng))
        params.update({f"events[{i}].{k}": v for k, v in values.items()})
        params[f"events[{i}].trigger.{e.trigger}"] = tv
        events.append(S.Event(cls(**values), S.Trigger(e.trigger, tv), e.timeout))
    kw["obstacles"] = max(int(dict(sc.map_params).get("obstacles", 0)), S.ScenarioScript.slots_needed(events))
    speed = None
    if t.speed_factor is not None:
        speed = (t.speed_factor.lo, t.speed_factor.hi)
    return Sampled(sc, repetition, seed, tuple(sorted(kw.items())), tuple(events), sc.ego.lane, speed, params)


# --------------------------------------------------------------------------- validation
class _V:
    """Validation context: the file and the key path, for one-line errors."""

    def __init__(self, source: str, path: str = ""):
        self.source, self.path = source, path

    def at(self, key) -> "_V":
        p = f"{self.path}[{key}]" if isinstance(key, int) else (f"{self.path}.{key}" if self.path else str(key))
        return _V(self.source, p)

    def fail(self, msg: str):
        where = f"{self.source}: {self.path}: " if self.path else f"{self.source}: "
        raise ScenarioError(where + msg)

    def mapping(self, val, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(val, Mapping):
            self.fail(f"expected a mapping with keys {', '.join(allowed)}, got {type(val).__name__}")
        for k in val:
            if k not in allowed:
                self.fail(f"unknown key {k!r}; valid keys: {', '.join(allowed)}")
        for k in required:
            if k not in val:
                self.fail(f"missing key {k!r} (required: {', '.join(required)})")
        return dict(val)

    def number(self, val, lo=-math.inf, hi=math.inf, integer=False) -> float:
        if isinstance(val, bool) or not isinstance(val, (int, float)) or (integer and not isinstance(val, int)):
            self.fail(f"expected {'an integer' if integer else 'a number'}, got {val!r}")
        if not (lo <= val <= hi) or (isinstance(val, float) and not math.isfinite(val) and hi != math.inf):
            self.fail(f"{val!r} is out of range [{lo}, {hi}]")
        return val

    def text(self, val, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(val, str):
            self.fail(f"expected a string, got {val!r}")
        if choices is not None and val not in choices:
            self.fail(f"{val!r} is not valid; choose one of {', '.join(choices)}")
        return val

    def param(self, val, lo=-math.inf, hi=math.inf, choices: tuple | None = None) -> Param:
        """A value, [lo, hi] or {choice: [...]} within [lo, hi] (or among ``choices``)."""
        if choices is not None:
            if isinstance(val, Mapping):
                self.mapping(val, ("choice",), ("choice",))
                opts = val["choice"]
                if not isinstance(opts, list) or not opts:
                    self.at("choice").fail("expected a non-empty list")
                return Param(choices=tuple(self.at("choice").at(i).text(o, choices) for i, o in enumerate(opts)))
            return Param(choices=(self.text(val, choices),))
        if isinstance(val, Mapping):
            self.mapping(val, ("choice",), ("choice",))
            opts = val["choice"]
            if not isinstance(opts, list) or not opts:
                self.at("choice").fail("expected a non-empty list")
            return Param(choices=tuple(float(self.at("choice").at(i).number(o, lo, hi)) for i, o in enumerate(opts)))
        if isinstance(val, list):
            if len(val) != 2:
                self.fail(f"a range is [lo, hi], got {val!r}")
            a, b = (float(self.at(i).number(x, lo, hi)) for i, x in enumerate(val))
            if a > b:
                self.fail(f"range [{a}, {b}] has lo > hi")
            return Param(a, b)
        x = float(self.number(val, lo, hi))
        return Param(x, x)


_SCENARIO_KEYS = ("name", "type", "description", "map", "map_params", "ego", "traffic", "events", "time_limit",
                  "blocked_after", "repetitions")
_SUITE_KEYS = ("name", "description", "repetitions", "seed", "scenarios")


def _map_keys(map_name: str) -> tuple[str, ...]:
    """Config keys a scenario may set under ``map_params``: the map's own keys, and ``obstacles``."""
    from envs.driving.config import DrivingConfig

    base = {f.name for f in dataclasses.fields(DrivingConfig)}
    own = [f.name for f in dataclasses.fields(_config_class(map_name)) if f.name not in base]
    return tuple(own) + ("obstacles",)


def _config_class(map_name: str) -> type:
    from envs.driving import config as C

    return {"highway": C.HighwayConfig, "merge": C.MergeConfig, "intersection": C.IntersectionConfig,
            "roundabout": C.RoundaboutConfig}[map_name]


def _event(v: _V, raw) -> EventSpec:
    d = v.mapping(raw, ("action", "trigger", "params", "timeout"), ("action",))
    action = v.at("action").text(d["action"], tuple(S.ACTIONS))
    cls = S.ACTIONS[action]
    hints = get_type_hints(cls)
    bounds = S.action_bounds(cls)
    names = tuple(f.name for f in dataclasses.fields(cls))
    raw_params = v.at("params").mapping(d.get("params", {}) or {}, names)
    params = []
    for f in dataclasses.fields(cls):
        if f.name not in raw_params:
            continue
        pv = v.at("params").at(f.name)
        hint = hints[f.name]
        if get_origin(hint) is Literal:
            params.append((f.name, pv.param(raw_params[f.name], choices=tuple(get_args(hint)))))
        else:
            lo, hi = bounds[f.name]
            params.append((f.name, pv.param(raw_params[f.name], lo, hi)))
    trig = d.get("trigger", "start")
    tv = v.at("trigger")
    if trig == "start" or trig is None:
        kind, val = "start", Param()
    else:
        t = tv.mapping(trig, S.TRIGGERS)
        if len(t) != 1:
            tv.fail(f"one trigger per event, got {', '.join(t)}")
        kind = next(iter(t))
        val = Param() if kind == "start" else tv.at(kind).param(t[kind], 0.0, 1e5)
    timeout = float(v.at("timeout").number(d["timeout"], 0.1, 1e5)) if "timeout" in d else math.inf
    return EventSpec(action, tuple(params), kind, val, timeout)


def _scenario(v: _V, raw, source: str) -> ScenarioSpec:
    d = v.mapping(raw, _SCENARIO_KEYS, ("name", "type", "map"))
    name = v.at("name").text(d["name"])
    stype = v.at("type").text(d["type"])
    map_name = v.at("map").text(d["map"], tuple(MAPS))
    mkeys = _map_keys(map_name)
    mp = v.at("map_params").mapping(d.get("map_params", {}) or {}, mkeys)
    ego_raw = v.at("ego").mapping(d.get("ego", {}) or {}, ("lane", "speed"))
    ego = EgoSpec(
        int(v.at("ego").at("lane").number(ego_raw["lane"], 0, 16, integer=True)) if "lane" in ego_raw else None,
        v.at("ego").at("speed").param(ego_raw["speed"], 0.0, 60.0) if "speed" in ego_raw else None,
    )
    tr = v.at("traffic").mapping(d.get("traffic", {}) or {}, ("vehicles", "spacing", "styles", "speed_factor", "disturbances"))
    tv = v.at("traffic")
    styles = None
    if "styles" in tr:
        st = tr["styles"]
        if isinstance(st, Mapping):
            st = tv.at("styles").mapping(st, STYLE_KEYS)
            st = [st.get(k, 0.0) for k in STYLE_KEYS]
        if not isinstance(st, list) or len(st) != 3:
            tv.at("styles").fail("expected [normal, aggressive, defensive] probabilities or a mapping of them")
        styles = tuple(float(tv.at("styles").at(i).number(x, 0.0, 1.0)) for i, x in enumerate(st))
        if sum(styles) <= 0:
            tv.at("styles").fail("probabilities must have a positive sum")
    traffic = TrafficSpec(
        int(tv.at("vehicles").number(tr["vehicles"], 0, 400, integer=True)) if "vehicles" in tr else None,
        float(tv.at("spacing").number(tr["spacing"], 6.0, 500.0)) if "spacing" in tr else None,
        styles,
        tv.at("speed_factor").param(tr["speed_factor"], 0.2, 2.0) if "speed_factor" in tr else None,
        float(tv.at("disturbances").number(tr["disturbances"], 0.0, 1.0)) if "disturbances" in tr else 0.0,
    )
    evs = d.get("events", []) or []
    if not isinstance(evs, list):
        v.at("events").fail("expected a list of events")
    events = tuple(_event(v.at("events").at(i), e) for i, e in enumerate(evs))
    spec = ScenarioSpec(
        name=name, type=stype, map=map_name,
        description=v.at("description").text(d.get("description", "")),
        map_params=tuple(sorted(mp.items())), ego=ego, traffic=traffic, events=events,
        time_limit=float(v.at("time_limit").number(d.get("time_limit", 60.0), 1.0, 3600.0)),
        blocked_after=float(v.at("blocked_after").number(d.get("blocked_after", 45.0), 1.0, 3600.0)),
        repetitions=int(v.at("repetitions").number(d["repetitions"], 1, 10_000, integer=True)) if "repetitions" in d else None,
        source=source,
    )
    _check_env_config(v, spec)
    return spec


def _check_env_config(v: _V, spec: ScenarioSpec) -> None:
    """Build the env's config once so that a bad map value fails now, naming the key."""
    from envs.driving.config import make_config

    kw = dict(spec.map_params)
    if spec.traffic.vehicles is not None:
        kw["vehicles"] = spec.traffic.vehicles
    if spec.traffic.spacing is not None:
        kw["spawn_spacing"] = spec.traffic.spacing
    try:
        cfg = make_config(_config_class(spec.map), None, kw)
        start_lanes = int(getattr(cfg, "lanes", 1))  # the ego starts in any lane of a multi-lane road, else in one
    except (ValueError, TypeError) as error:
        v.at("map_params").fail(str(error).splitlines()[0])
    if spec.ego.lane is not None:
        if spec.ego.lane >= start_lanes:
            v.at("ego").at("lane").fail(f"{spec.ego.lane} is out of range: this map has start lanes 0..{start_lanes - 1}")


def _read_yaml(path: Path, v: _V):
    import yaml

    try:
        size = path.stat().st_size
    except OSError:
        v.fail(f"no such file {path}")
    if size > MAX_FILE_BYTES:
        v.fail(f"file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}")
    from simdrive.config import StrictLoader

    try:
        with open(path, encoding="utf-8") as fh:
            # safe tags only, no anchors or aliases (no alias expansion), bounded nesting
            return yaml.load(fh.read(MAX_FILE_BYTES + 1), Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        v.fail("nested too deeply")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        v.fail(f"not valid YAML{where}: {getattr(error, 'problem', None) or error}")
    except UnicodeDecodeError:
        v.fail("not a UTF-8 text file")


def load_suite_file(path: str | Path, display: str | None = None) -> SuiteSpec:
    path = Path(path)
    shown = display or str(path)
    v = _V(shown)
    raw = _read_yaml(path, v)
    d = v.mapping(raw, _SUITE_KEYS, ("name", "scenarios"))
    scen = d["scenarios"]
    if not isinstance(scen, list) or not scen:
        v.at("scenarios").fail("expected a non-empty list of scenarios (inline or {file: PATH})")
    specs = []
    for i, item in enumerate(scen):
        vi = v.at("scenarios").at(i)
        if isinstance(item, Mapping) and set(item) == {"file"}:
            rel = vi.at("file").text(item["file"])
            fp = (path.parent / rel).resolve()
            fshown = str(Path(shown).parent / rel)
            if not fp.is_file():
                vi.at("file").fail(f"no such scenario file {fshown}")
            specs.append(_scenario(_V(fshown), _read_yaml(fp, _V(fshown)), fshown))
        else:
            specs.append(_scenario(vi, item, shown))
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        v.at("scenarios").fail(f"scenario names must be unique; repeated: {', '.join(dup)}")
    return SuiteSpec(
        name=v.at("name").text(d["name"]),
        description=v.at("description").text(d.get("description", "")),
        scenarios=tuple(specs),
        repetitions=int(v.at("repetitions").number(d.get("repetitions", 3), 1, 10_000, integer=True)),
        seed=int(v.at("seed").number(d.get("seed", 0), 0, 2**31 - 1, integer=True)),
        source=shown,
    )


def shipped_suites() -> dict[str, Path]:
    """Suites shipped with the package: name -> file."""
    root = resources.files("scenarios")
    return {p.name[:-5]: Path(str(p)) for p in root.iterdir() if p.name.endswith(".yaml")}


def load_suite(name_or_file: str) -> SuiteSpec:
    """A shipped suite by name (``highway``) or a suite file by path."""
    shipped = shipped_suites()
    if name_or_file in shipped:
        return load_suite_file(shipped[name_or_file], f"scenarios/{name_or_file}.yaml")
    p = Path(name_or_file)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ScenarioError(f"{name_or_file}: no such suite file")
        return load_suite_file(p)
    raise ScenarioError(f"unknown suite '{name_or_file}'; shipped suites: {', '.join(sorted(shipped))} (or give a suite file path)")
