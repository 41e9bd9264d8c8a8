"""What an episode records at every physics step, for metrics that need a trace (nuPlan's
comfort, time to collision, speed-limit and driving-direction compliance, CARLA's distance off
the route lanes) and for the frames of failure clips.

:class:`Probe` stands where the engine expects a scenario script (``env.reset(options=
{"scenario": probe})``): it samples the ego before each physics step, then hands the step to
the wrapped :class:`~envs.driving.scenario.ScenarioScript` (if any). It reads the world's
public arrays only.
"""

from __future__ import annotations

import math

import numpy as np

from envs.driving.collision import boxes_overlap

from . import metrics as M

_COLUMNS = ("t", "progress", "v", "h", "a_lon", "a_lat", "limit", "ds", "outside", "ttc")


class Probe:
    """Ego trace of one episode of a single driving env (world row 0), at the physics rate.

    Columns: time ``t`` [s], route ``progress`` [m], speed ``v`` [m/s], heading ``h`` [rad],
    accelerations ``a_lon``/``a_lat`` [m/s^2] (signed, of the last physics step), ``limit`` (the
    ego lane's speed limit [m/s]), ``ds`` (progress along the current lane's baseline since the
    last sample [m], 0 on a section change), ``outside`` (1 when the ego's centre is outside its
    route section's lanes), ``ttc`` (nuPlan's projected time to collision [s], inf for none).
    ``frame_every`` > 0 also keeps a rendered frame every that many physics steps (clips).
    """

    def __init__(self, script=None, frame_every: int = 0, frame_size: tuple[int, int] = (256, 160), frame_scale: float = 0.35):
        self.script = script
        self.frame_every = int(frame_every)
        self.frame_size = frame_size
        self.frame_scale = frame_scale
        self.rows: list[tuple] = []
        self.frames: list[np.ndarray] = []
        self._last = None
        self._core = None

    # ------------------------------------------------------------------ engine hooks
    def reset(self, core, rows) -> None:
        self._core = core
        if self.script is not None:
            self.script.reset(core, rows)
        self.rows, self.frames, self._last = [], [], None

    def before_physics_step(self, core) -> None:
        self.sample(core)
        if self.script is not None:
            self.script.before_physics_step(core)

    # ------------------------------------------------------------------ sampling
    def sample(self, core=None) -> None:
        """Record the ego now (called before each physics step and once at the episode's end)."""
        core = core or self._core
        W, r = core.world, core.world.road
        sec, s, d = int(W.sec[0, 0]), float(W.s[0, 0]), float(W.d[0, 0])
        k = int(W.t[0])
        ds = 0.0 if self._last is None or self._last[0] != sec else s - self._last[1]
        self._last = (sec, s)
        lane = int(W.lane[0, 0])
        outside = float(d < r.sec_dmin[sec] or d > r.sec_dmax[sec])
        self.rows.append((k * W.dt, float(W.ego_progress()[0]), float(W.v[0, 0]), float(W.h[0, 0]),
                          float(core.dyn.alon[0]), float(core.dyn.alat[0]), float(r.lane_speed[lane]), ds, outside,
                          self._ttc(W)))
        if self.frame_every and k % self.frame_every == 0:
            self.frames.append(self._frame(W))

    def _frame(self, W) -> np.ndarray:
        from envs.driving.render import draw_view

        w, h = self.frame_size
        return draw_view(W, 0, w, h, self.frame_scale, rotate=False)

    @staticmethod
    def _ttc(W) -> float:
        """nuPlan's time to collision for the ego now: boxes of the ego and of the relevant tracks
        (ahead within 30 degrees; also beside when the ego straddles lanes or is in a junction;
        never behind, 150 degrees) projected at constant speed and heading in 0.1 s steps up
        to 3 s; the first step at which they overlap [s], inf for none or a stopped ego."""
        v0 = float(W.v[0, 0])
        if v0 <= 5e-3:
            return math.inf
        act = W.active[0].copy()
        act[0] = False
        idx = np.nonzero(act & (W.x[0] < 1e5))[0]
        if idx.size == 0:
            return math.inf
        x0, y0, h0 = float(W.x[0, 0]), float(W.y[0, 0]), float(W.h[0, 0])
        x, y, h, v = W.x[0, idx], W.y[0, idx], W.h[0, idx], W.v[0, idx]
        reach = (v0 + v) * M.TTC_HORIZON + 0.5 * (np.hypot(W.length[0, idx], W.width[0, idx]) + math.hypot(W.length[0, 0], W.width[0, 0]))
        near = np.hypot(x - x0, y - y0) <= reach
        if not near.any():
            return math.inf
        idx, x, y, h, v = idx[near], x[near], y[near], h[near], v[near]
        rel = np.abs((np.arctan2(y - y0, x - x0) - h0 + np.pi) % (2 * np.pi) - np.pi)
        r = W.road
        lane, sec = int(W.lane[0, 0]), int(W.sec[0, 0])
        straddle = abs(float(W.d[0, 0]) - r.lane_offset[lane]) + 0.5 * float(W.width[0, 0]) > 0.5 * r.lane_width[lane]
        lateral_too = straddle or bool(r.specs[sec].junction)
        keep = (rel < np.deg2rad(30.0)) | (lateral_too & (rel <= np.deg2rad(150.0)))
        if not keep.any():
            return math.inf
        idx, x, y, h, v = idx[keep], x[keep], y[keep], h[keep], v[keep]
        steps = np.arange(M.TTC_STEP, M.TTC_HORIZON, M.TTC_STEP)[:, None]  # nuPlan: np.arange(step, horizon, step)
        ex = x0 + np.cos(h0) * v0 * steps
        ey = y0 + np.sin(h0) * v0 * steps
        tx = x[None, :] + np.cos(h)[None, :] * v[None, :] * steps
        ty = y[None, :] + np.sin(h)[None, :] * v[None, :] * steps
        hit = boxes_overlap(ex, ey, h0, float(W.length[0, 0]), float(W.width[0, 0]), tx, ty, h[None, :],
                            W.length[0, idx][None, :], W.width[0, idx][None, :])
        rows = np.nonzero(hit.any(1))[0]
        return float(steps[rows[0], 0]) if rows.size else math.inf

    # ------------------------------------------------------------------ results
    def trace(self) -> dict[str, np.ndarray]:
        arr = np.array(self.rows, float).reshape(-1, len(_COLUMNS))
        return {c: arr[:, i] for i, c in enumerate(_COLUMNS)}


def resample(trace: dict[str, np.ndarray], dt: float = M.NUPLAN_DT) -> dict[str, np.ndarray]:
    """The trace linearly interpolated at nuPlan's sampling interval ``dt`` [s] (heading unwrapped)."""
    t = trace["t"]
    if t.size < 2:
        return dict(trace)
    tn = np.arange(t[0], t[-1] + 1e-9, dt)
    out = {"t": tn}
    for k, v in trace.items():
        if k == "t":
            continue
        src = np.unwrap(v) if k == "h" else v
        out[k] = np.interp(tn, t, src)
    return out


def trace_summary(trace: dict[str, np.ndarray], route_length: float, at_fault: bool, dt: float) -> dict:
    """Per-episode quantities derived from a trace (pure; see :mod:`.metrics`)."""
    t = trace["t"]
    duration = float(t[-1] - t[0]) if t.size > 1 else 0.0
    overspeed = np.maximum(trace["v"] - trace["limit"], 0.0)
    ttc = trace["ttc"].copy()
    if at_fault and ttc.size:
        ttc[-1] = 0.0  # nuPlan: TTC is 0 at an at-fault collision
    rs = resample(trace)
    comfort = M.nuplan_comfort(rs["a_lon"], rs["a_lat"], rs["h"]) if rs["t"].size >= 3 else {"ego_is_comfortable": True}
    dir_score, dir_min = M.nuplan_direction_score(trace["ds"], dt)
    outside_m = float((trace["outside"][1:] * np.abs(np.diff(trace["progress"]))).sum()) if t.size > 1 else 0.0
    return {
        "mean_speed": float(trace["v"].mean()) if t.size else 0.0,
        "max_speed": float(trace["v"].max()) if t.size else 0.0,
        "nuplan_min_ttc": float(ttc.min()) if ttc.size else math.inf,
        "ttc_within_bound": bool(np.all(ttc > M.TTC_LEAST)),
        "speed_limit_compliance": M.nuplan_speed_score(overspeed, dt, duration),
        "overspeed_seconds": float((overspeed > 0).sum() * dt),
        "driving_direction_compliance": dir_score,
        "min_direction_progress": dir_min,
        "outside_route_percentage": 100.0 * outside_m / max(route_length, 1e-9),
        **{("comfort_" + k if k != "ego_is_comfortable" else k): v for k, v in comfort.items()},
    }
