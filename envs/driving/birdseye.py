"""A ChauffeurNet-style bird's-eye raster: separate channels for what a driver needs to see.

Bansal, Krizhevsky, Ogale (2018), "ChauffeurNet: Learning to Drive by Imitating the Best and
Synthesizing the Worst", feed their network a stack of top-down images, one per kind of
information (roadmap, traffic lights, speed limit, route, the agent's current box and past
poses, the other agents' boxes now and in the past). :class:`BirdsEye` renders the same
mid-level representation from a :class:`~.world.World`: ego-centred, rotated so that the ego
points up, ``look_ahead`` metres of road visible in front of it.

Channel table (``uint8``, 0 = nothing), observation shape ``(C, height, width)`` with
``C = 7 + (history + 1)``; row 0 is the far front, column 0 the far left:

====  ===============  ==================================================================
 ch   name             content
====  ===============  ==================================================================
 0    road             255 where the pixel centre is drivable
 1    lane_lines       255 on road edges, 128 on dividers between lanes (solid lines)
 2    route            255 on the ego's route (the centre line of a lane that continues
                       along it), drawn half a lane wide
 3    speed_limit      the lane's speed limit / ``speed_norm`` x 255 over its surface
 4    traffic_lights   lanes governed by a light, whole lane drawn half a lane wide:
                       85 green, 170 amber, 255 red
 5    ego              the ego's box now (255) and its past ``history`` poses, fading:
                       pose ``i`` frames ago at 255 (1 - i / (history + 1))
 6    ego_speed        the ego's box now, filled with its speed / ``speed_norm`` x 255
 7+i  vehicles_t-i     every other vehicle and obstacle box ``i`` frames ago (255),
                       i = 0 .. history
====  ===============  ==================================================================

A box covers the pixels whose centre lies inside it (a box smaller than a pixel still
marks one pixel).

Why ``ego_speed``: ChauffeurNet reads the agent's speed from its trail of past poses, 0.2 s
apart. Here a frame is a decision (1 s at the default ``policy_frequency``), so at highway
speeds the previous pose lies 20-30 m behind, at or past the view's rear edge (28 m behind
the ego by default); without this channel a policy on the raster cannot tell 22 m/s from
30 m/s, nor how fast it closes on the car ahead (behavioural cloning on the highway suite,
in a 64 x 64 px view 20 m behind, drove at 14 m/s mean against the expert's 22 and scored
half the expert's driving score; with the channel, 20.5 m/s and 77% of it).

A *frame* is one observation (one env step). The past frames come from a small ring
buffer of every slot's pose kept in the sensor; :meth:`BirdsEye.observe` pushes the
current state once per physics time of each world (calling it again at the same time
overwrites the newest frame with the present) and restarts the history of a world whose clock went back (a reset), filling
it with the current poses: a new episode starts with a car that "has been standing".

Static layers (road, lane lines, route, speed limit) are drawn once per road at the
sensor's resolution and cut out with one ``cv2.warpAffine`` (nearest neighbour); boxes and
lights are drawn with ``cv2.fillPoly`` / ``cv2.polylines`` over arrays of polygons, so no
Python loop runs over vehicles, lanes or lights per step (only over worlds, as the camera).
numpy + opencv.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .collision import box_corners
from .render import _route_points

__all__ = ["BirdsEye", "CHANNELS", "VEHICLES", "channel_names"]

#: names of the fixed channels (then one ``vehicles_t-i`` channel per frame)
CHANNELS = ("road", "lane_lines", "route", "speed_limit", "traffic_lights", "ego", "ego_speed")
VEHICLES = len(CHANNELS)  # index of the first vehicles_t-i channel
EDGE, DIVIDER = 255, 128
GREEN, AMBER, RED = 85, 170, 255
_SHIFT = 4  # fixed-point bits of polygon vertices (sub-pixel accuracy)


def channel_names(history: int) -> tuple[str, ...]:
    """Names of all channels of a raster with ``history`` past frames."""
    return CHANNELS + tuple(f"vehicles_t-{i}" for i in range(history + 1))


@dataclass
class _History:
    """Ring buffer of the last ``k + 1`` frames of every slot's pose, per world."""

    x: np.ndarray  # (k+1, N, V) [m]
    y: np.ndarray  # (k+1, N, V) [m]
    h: np.ndarray  # (k+1, N, V) [rad]
    length: np.ndarray  # (k+1, N, V) [m]
    width: np.ndarray  # (k+1, N, V) [m]
    active: np.ndarray  # (k+1, N, V) bool
    head: np.ndarray  # (N,) index of the newest frame
    t: np.ndarray  # (N,) world clock of the newest frame [physics steps]


@dataclass(frozen=True)
class BirdsEye:
    """Ego-centred, heading-up multi-channel raster (see the module's channel table).

    Observation ``(C, height, width)`` uint8, ``C = 7 + history + 1``.
    """

    width: int = 64  # [px]
    height: int = 128  # [px]
    scale: float = 1.0  # metres per pixel [m/px]
    look_ahead: float = 100.0  # distance from the ego's centre to the top edge [m]
    history: int = 3  # past frames of vehicles and ego poses [frames]
    speed_norm: float = 40.0  # speed that maps to 255 in the speed_limit and ego_speed channels [m/s]
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def channels(self) -> int:
        return len(CHANNELS) + self.history + 1

    def space(self):
        from .sensors import SpaceSpec

        return SpaceSpec(0, 255, (self.channels, self.height, self.width), np.uint8)

    # ------------------------------------------------------------------ static layers
    def _static(self, world) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 4) uint8 image of road, lane lines, route, speed limit in map pixels, and
        the origin [m] of its pixel (0, 0) corner; pixel (col i, row j) has its centre at
        ``origin + ((i + 0.5) s, (j + 0.5) s)`` (rows grow with y)."""
        key = (id(world.road), tuple(np.asarray(world.route).tolist()))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        r, s = world.road, self.scale
        origin = np.asarray(r.raster_origin, float)
        extent = np.asarray(r.raster.shape[::-1], float) * r.resolution
        w, h = (np.ceil(extent / s).astype(int) + 1).tolist()
        img = np.zeros((h, w, 4), np.uint8)
        cx = origin[0] + (np.arange(w) + 0.5) * s
        cy = origin[1] + (np.arange(h) + 0.5) * s
        img[..., 0] = 255 * r.drivable(cx[None, :], cy[:, None])

        def px(p):
            return np.round(((np.asarray(p) - origin) / s - 0.5) * (1 << _SHIFT)).astype(np.int32)

        lines = img[..., 1].copy()
        for q, sp in enumerate(r.specs):  # build time: dividers between lanes
            if sp.junction or len(sp.offsets) < 2:
                continue
            for a, b in zip(sp.offsets[:-1], sp.offsets[1:]):
                cv2.polylines(lines, [px(r.boundary(q, 0.5 * (a + b)))], False, DIVIDER, 1, cv2.LINE_8, _SHIFT)
        e = r.edges
        if len(e):
            segs = np.stack([px(e[:, :2]), px(e[:, 2:])], 1)
            cv2.polylines(lines, list(segs), False, EDGE, 1, cv2.LINE_8, _SHIFT)
        img[..., 1] = lines
        route = img[..., 2].copy()
        lane_w = float(np.median(r.lane_width))
        cv2.polylines(route, [px(_route_points(world))], False, 255, max(1, int(round(0.5 * lane_w / s))), cv2.LINE_8, _SHIFT)
        img[..., 2] = route
        speed = img[..., 3].copy()
        for ln in range(r.num_lanes):  # build time: one strip of quads per lane
            q, off, hw = r.lane_sec[ln], r.lane_offset[ln], 0.5 * r.lane_width[ln]
            left, right = r.boundary(q, off + hw), r.boundary(q, off - hw)
            quads = np.stack([right[:-1], right[1:], left[1:], left[:-1]], 1)
            val = int(np.clip(round(255 * r.lane_speed[ln] / self.speed_norm), 1, 255))
            cv2.fillPoly(speed, list(px(quads)), val, cv2.LINE_8, _SHIFT)
        img[..., 3] = np.where(img[..., 0] > 0, speed, 0)
        # polylines of lanes with a light, for the dynamic light channel (map pixels, fixed point)
        light_lanes = np.asarray(world.lights[:, 0], np.int64) if len(world.lights) else np.zeros(0, np.int64)
        light_lines = [r.boundary(r.lane_sec[ln], r.lane_offset[ln]) for ln in light_lanes]
        self._cache[key] = (img, origin, light_lines)
        return self._cache[key]

    # ------------------------------------------------------------------ history
    def _push(self, world) -> _History:
        n, V, k1 = world.n, world.V, self.history + 1
        hist = self._cache.get("history")
        if hist is None or hist.x.shape[1:] != (n, V):
            z = lambda dt=float: np.zeros((k1, n, V), dt)  # noqa: E731
            hist = _History(z(), z(), z(), z(), z(), z(bool), np.zeros(n, np.int64), np.full(n, -1, np.int64))
            self._cache["history"] = hist
        t = np.asarray(world.t, np.int64)
        restart = (t == 0) | (t < hist.t) | (hist.t < 0)  # a (re)started episode
        new = restart | (t != hist.t)  # worlds whose clock moved since the last frame
        cur = dict(x=world.x, y=world.y, h=world.h, length=world.length, width=world.width, active=world.active)
        if restart.any():  # a new episode: every past frame is the present
            for name, val in cur.items():
                getattr(hist, name)[:, restart] = val[restart]
        adv = new & ~restart
        hist.head[adv] = (hist.head[adv] + 1) % k1
        # the newest frame is always the present (a state changed between physics steps, e.g. a
        # scripted perturbation, shows in every channel at once)
        rows = np.arange(n)
        for name, val in cur.items():
            getattr(hist, name)[hist.head, rows] = val
        hist.t[new] = t[new]
        return hist

    def _light_codes(self, world) -> np.ndarray:
        """(N, G) channel value of every light: green, amber or red."""
        state = getattr(world, "light_state", None)
        if callable(state):  # World.light_state(): 0 red, 1 amber, 2 green
            st = np.asarray(state())
            return np.select([st == 2, st == 1], [GREEN, AMBER], RED).astype(np.int64)
        return np.where(world.light_green(), GREEN, RED).astype(np.int64)

    # ------------------------------------------------------------------ observation
    def view_matrix(self, ex: float, ey: float, heading: float) -> np.ndarray:
        """2x3 affine map world [m] -> view pixel index (column, row); centres at integers."""
        s = self.scale
        c, si = np.cos(heading), np.sin(heading)
        # column = W/2 - 0.5 - left/s, row = look_ahead/s - 0.5 - forward/s
        a = np.array([[si / s, -c / s], [-c / s, -si / s]])
        b = np.array([self.width / 2 - 0.5, self.look_ahead / s - 0.5]) - a @ np.array([ex, ey])
        return np.concatenate([a, b[:, None]], 1)

    def observe(self, world) -> np.ndarray:
        hist = self._push(world)
        static, origin, light_lines = self._static(world)
        n, W, H, k1 = world.n, self.width, self.height, self.history + 1
        out = np.zeros((n, self.channels, H, W), np.uint8)
        s = self.scale
        src = np.array([[s, 0.0, origin[0] + 0.5 * s], [0.0, s, origin[1] + 0.5 * s], [0.0, 0.0, 1.0]])  # map px -> world
        order = (hist.head[None, :] - np.arange(k1)[:, None]) % k1  # (k1, N): frame i ago
        # fillPoly fills every pixel from the rounded first to the rounded last vertex coordinate:
        # boxes shrunk by one pixel (half on each side) fill the pixels whose centre is inside
        corners = box_corners(hist.x, hist.y, hist.h, np.maximum(hist.length - s, 1e-3), np.maximum(hist.width - s, 1e-3))
        codes = self._light_codes(world) if light_lines else None
        lw = max(1, int(round(0.25 * float(np.median(world.road.lane_width)) / s)))
        speed_codes = np.clip(np.round(255 * np.abs(world.v[:, 0]) / self.speed_norm), 0, 255).astype(np.int64)
        for w in range(n):  # worlds, not vehicles
            M = self.view_matrix(float(world.x[w, 0]), float(world.y[w, 0]), float(world.h[w, 0]))
            warped = cv2.warpAffine(static, M @ src, (W, H), flags=cv2.INTER_NEAREST, borderValue=0)
            out[w, :4] = np.moveaxis(warped, -1, 0)

            def tp(p):
                return np.round((p @ M[:, :2].T + M[:, 2]) * (1 << _SHIFT)).astype(np.int32)

            if codes is not None:
                layer = out[w, 4].copy()
                pts = [tp(line) for line in light_lines]
                for val in (GREEN, AMBER, RED):  # three states, not lights
                    sel = [p for p, c in zip(pts, codes[w]) if c == val]
                    if sel:
                        cv2.polylines(layer, sel, False, int(val), 2 * lw, cv2.LINE_8, _SHIFT)
                out[w, 4] = layer
            frames = order[:, w]
            reach = 0.75 * (W + H) * s  # boxes farther than this from the ego cannot show
            ego = out[w, 5].copy()
            for i in range(k1 - 1, -1, -1):  # frames, oldest first so that newer poses draw on top
                f = frames[i]
                cv2.fillPoly(ego, [tp(corners[f, w, 0])], int(round(255 * (1 - i / k1))), cv2.LINE_8, _SHIFT)
                act = hist.active[f, w].copy()
                act[0] = False
                act &= np.hypot(hist.x[f, w] - world.x[w, 0], hist.y[f, w] - world.y[w, 0]) < reach
                if act.any():
                    layer = out[w, VEHICLES + i].copy()
                    cv2.fillPoly(layer, list(tp(corners[f, w, act])), 255, cv2.LINE_8, _SHIFT)
                    out[w, VEHICLES + i] = layer
            out[w, 5] = ego
            speed = out[w, 6].copy()
            cv2.fillPoly(speed, [tp(corners[frames[0], w, 0])], int(speed_codes[w]), cv2.LINE_8, _SHIFT)
            out[w, 6] = speed
        return out
