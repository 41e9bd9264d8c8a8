"""Sensors: each a small class with ``space()`` and ``observe(world)``.

``observe`` returns one array for all N worlds of a :class:`~.world.World` (leading axis N).
``space()`` returns a :class:`SpaceSpec` (low, high, shape, dtype) that the Gymnasium layer
turns into a ``Box``; this module imports numpy only (the camera imports opencv lazily).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .traffic import uniform
from .world import HIT_EDGE, HIT_NONE, HIT_OBSTACLE, HIT_VEHICLE, STATIC

__all__ = ["SpaceSpec", "Lidar", "Kinematics", "OccupancyGrid", "Camera", "ray_boxes", "ray_segments"]


class SpaceSpec(NamedTuple):
    low: float | np.ndarray
    high: float | np.ndarray
    shape: tuple[int, ...]
    dtype: type


def _segments(mask_rows):
    """Starts of runs of equal world index in a sorted index array (for reduceat)."""
    starts = np.concatenate([[0], np.nonzero(np.diff(mask_rows))[0] + 1])
    return starts, mask_rows[starts]


def ray_boxes(ox, oy, ang, bx, by, bh, bl, bw):
    """Distance along rays to oriented boxes (slab method in each box's frame) [m].

    Ray origins ``ox, oy`` [m] and angles ``ang`` [rad] broadcast against boxes ``bx, by, bh,
    bl, bw`` (centre, heading, length, width). Returns inf where a ray misses; 0 inside a box.
    """
    c, s = np.cos(bh), np.sin(bh)
    rx, ry = ox - bx, oy - by
    lx, ly = rx * c + ry * s, -rx * s + ry * c  # origin in box frame
    a = ang - bh
    dx, dy = np.cos(a), np.sin(a)
    dx = np.where(np.abs(dx) < 1e-12, 1e-12, dx)
    dy = np.where(np.abs(dy) < 1e-12, 1e-12, dy)
    hx, hy = 0.5 * bl, 0.5 * bw
    tx1, tx2 = (-hx - lx) / dx, (hx - lx) / dx
    ty1, ty2 = (-hy - ly) / dy, (hy - ly) / dy
    tmin = np.maximum(np.minimum(tx1, tx2), np.minimum(ty1, ty2))
    tmax = np.minimum(np.maximum(tx1, tx2), np.maximum(ty1, ty2))
    hit = (tmax >= np.maximum(tmin, 0.0))
    return np.where(hit, np.maximum(tmin, 0.0), np.inf)


def ray_segments(ox, oy, ang, x0, y0, x1, y1):
    """Distance along rays to line segments [m] (inf where missed), broadcasting."""
    dx, dy = np.cos(ang), np.sin(ang)
    ex, ey = x1 - x0, y1 - y0
    ax, ay = x0 - ox, y0 - oy
    den = dx * ey - dy * ex
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ax * ey - ay * ex) / den
        u = (ax * dy - ay * dx) / den
    hit = (np.abs(den) > 1e-12) & (t >= 0.0) & (u >= 0.0) & (u <= 1.0)
    return np.where(hit, t, np.inf)


@dataclass(frozen=True)
class Lidar:
    """Beams from the ego's centre over a field of view; hits vehicles, obstacles, road edges.

    Observation ``(beams, 2)`` float32: column 0 distance / ``max_range`` in [0, 1] (1 = nothing
    within range), column 1 what was hit (0 none, 1 vehicle, 2 road edge, 3 obstacle).
    """

    beams: int = 64  # number of beams [-]
    fov: float = 2 * np.pi  # field of view centred on the heading [rad]
    max_range: float = 60.0  # [m]
    noise_std: float = 0.0  # Gaussian range noise on hits [m]

    def angles(self) -> np.ndarray:
        """Beam angles relative to the ego heading [rad]."""
        if self.fov >= 2 * np.pi - 1e-9:
            return np.arange(self.beams) * (2 * np.pi / self.beams)
        return np.linspace(-self.fov / 2, self.fov / 2, self.beams)

    def space(self) -> SpaceSpec:
        low = np.zeros((self.beams, 2), np.float32)
        high = np.tile(np.array([1.0, 3.0], np.float32), (self.beams, 1))
        return SpaceSpec(low, high, (self.beams, 2), np.float32)

    def scan(self, world):
        """Distances [m] (N, B) (inf = no hit) and hit codes (N, B) int."""
        n, R = world.n, self.max_range
        ox, oy = world.x[:, 0], world.y[:, 0]
        ang = world.h[:, :1] + self.angles()[None, :]  # (N, B)
        out = np.full((3, n, self.beams), np.inf)  # vehicle, obstacle, edge
        # vehicles and obstacles within reach (broad phase, compacted)
        rad = 0.5 * np.hypot(world.length, world.width)
        dx, dy = world.x - ox[:, None], world.y - oy[:, None]
        near = world.active & (dx * dx + dy * dy <= (R + rad) ** 2)
        near[:, 0] = False
        wi, vi = np.nonzero(near)
        if wi.size:
            self._scan_boxes(world, wi, vi, dx[wi, vi], dy[wi, vi], rad[wi, vi], ang, out)
        # road edges within reach
        e = world.road.edges
        if len(e):
            ax, ay = e[:, 0] - ox[:, None], e[:, 1] - oy[:, None]
            ex, ey = e[:, 2] - e[:, 0], e[:, 3] - e[:, 1]
            t = np.clip(-(ax * ex + ay * ey) / np.maximum(ex * ex + ey * ey, 1e-12), 0.0, 1.0)
            px, py = ax + t * ex, ay + t * ey
            wi, ei = np.nonzero(px * px + py * py <= R * R)
            if wi.size:
                dist = ray_segments(ox[wi, None], oy[wi, None], ang[wi], e[ei, 0, None], e[ei, 1, None], e[ei, 2, None], e[ei, 3, None])
                starts, rows = _segments(wi)
                out[2, rows] = np.minimum.reduceat(dist, starts, axis=0)
        best = np.argmin(out, 0)
        d = np.take_along_axis(out, best[None], 0)[0]
        code = np.array([HIT_VEHICLE, HIT_OBSTACLE, HIT_EDGE])[best]
        code = np.where(d <= R, code, HIT_NONE)
        d = np.minimum(d, R)
        if self.noise_std > 0:
            u1 = uniform(world.seed[:, None], world.t[:, None], np.arange(self.beams)[None, :], 101)
            u2 = uniform(world.seed[:, None], world.t[:, None], np.arange(self.beams)[None, :], 102)
            z = np.sqrt(-2 * np.log(np.maximum(u1, 1e-300))) * np.cos(2 * np.pi * u2)
            d = np.where(code != HIT_NONE, np.clip(d + self.noise_std * z, 0.0, R), d)
        return d, code

    def _scan_boxes(self, world, wi, vi, dx, dy, rad, ang, out) -> None:
        """Min distance per (world, beam) to boxes ``(wi, vi)`` into ``out[0]`` (vehicles) and
        ``out[1]`` (static obstacles).

        Boxes at least two radii away subtend at most 60 degrees, so only a window of ``K``
        beams around their bearing can hit them; the others (near boxes) test every beam.
        Both give exactly the full beams x boxes result.
        """
        B = self.beams
        table = self.angles()
        full = self.fov >= 2 * np.pi - 1e-9
        step = 2 * np.pi / B if full else self.fov / max(B - 1, 1)
        K = 2 * int(np.ceil((np.pi / 6) / step)) + 3
        static = world.kind[wi, vi] == STATIC
        far = (dx * dx + dy * dy >= 4 * rad * rad) if K < B else np.zeros(len(wi), bool)
        box = lambda j: (world.x[wi[j], vi[j], None], world.y[wi[j], vi[j], None], world.h[wi[j], vi[j], None],  # noqa: E731
                         world.length[wi[j], vi[j], None], world.width[wi[j], vi[j], None])
        ox, oy = world.x[:, 0], world.y[:, 0]
        nj = np.nonzero(~far)[0]
        if nj.size:  # every beam
            dist = ray_boxes(ox[wi[nj], None], oy[wi[nj], None], ang[wi[nj]], *box(nj))
            starts, rows = _segments(wi[nj])
            st = static[nj, None]
            for k, sel in ((0, ~st), (1, st)):
                out[k, rows] = np.minimum(out[k, rows], np.minimum.reduceat(np.where(sel, dist, np.inf), starts, axis=0))
        fj = np.nonzero(far)[0]
        if fj.size:  # a window of K beams around the bearing
            a0 = table[0]
            bearing = np.arctan2(dy[fj], dx[fj]) - world.h[wi[fj], 0] - a0
            c = np.floor(bearing / step + 0.5).astype(np.int64)
            idx = c[:, None] + (np.arange(K) - K // 2)
            if full:
                idx %= B
                valid = np.ones(idx.shape, bool)
            else:
                valid = (idx >= 0) & (idx < B)
                idx = np.clip(idx, 0, B - 1)
            a = world.h[wi[fj], :1] + table[idx]
            dist = ray_boxes(ox[wi[fj], None], oy[wi[fj], None], a, *box(fj))
            dist = np.where(valid, dist, np.inf)
            flat = wi[fj, None] * B + idx
            st = static[fj, None]
            for k, sel in ((0, ~st), (1, st)):
                np.minimum.at(out[k].reshape(-1), flat.ravel(), np.where(sel, dist, np.inf).ravel())

    def observe(self, world) -> np.ndarray:
        d, code = self.scan(world)
        return np.stack([d / self.max_range, code], -1).astype(np.float32)


@dataclass(frozen=True)
class Kinematics:
    """The ego, what its road tells it, and its ``vehicles`` nearest neighbours, normalized.

    Rows ``(2 + vehicles, 8)`` float32, all in [-1, 1]:

    ======  =========================================================================================
    row 0   the ego: ``1, lateral offset from its lane centre / lane width, leader gap / range, speed /
            max_speed, leader relative speed / max_speed, cos, sin`` of its heading relative to the road,
            ``acceleration / accel_scale``; the leader is the nearest vehicle ahead in the ego's lane
            (straddling ones included) as of the last physics step, its gap bumper to bumper (1 when
            none within range) and its relative speed its speed minus the ego's (negative while closing
            in; 0 when none)
    row 1   its road: ``light`` (1 if a traffic light governs its lane, else 0), ``light state``
            (+1 green, 0 amber, -1 red; 0 without a light), ``distance to that light's stop line
            / range``, ``route turn`` at the next junction (heading change / pi: +0.5 left, 0
            straight, -0.5 right), ``distance to that junction / range`` (0 inside it),
            ``speed limit / max_speed``, ``distance to the end of its lane / range`` if the lane
            ends (1 otherwise), 0
    rows 2+ the nearest vehicles within ``range``: ``presence, x, y, vx, vy, cos_h, sin_h, ax``
            with position / ``range`` and velocity / ``max_speed`` relative to the ego in its
            frame, heading relative to the ego's, and its own commanded acceleration along its
            heading / ``accel_scale`` (what brake lights and a tracker show: a leader that starts
            braking is seen before the gap closes; a stopped car may still read negative); absent
            rows are 0
    ======  =========================================================================================

    Distances are clipped to ``range``.
    """

    vehicles: int = 5  # neighbours listed [-]
    range: float = 100.0  # position normalization and visibility radius [m]
    max_speed: float = 40.0  # velocity normalization [m/s]
    accel_scale: float = 8.0  # acceleration normalization, the env passes traffic's hardest braking [m/s^2]

    def space(self) -> SpaceSpec:
        return SpaceSpec(-1.0, 1.0, (2 + self.vehicles, 8), np.float32)

    def road_row(self, world) -> np.ndarray:
        """(N, 8) row 1 of the observation (see the class docstring)."""
        r, n = world.road, world.n
        lane = world.tlane[:, 0]
        s, L = world.s[:, 0], world.length[:, 0]
        tabs = world.tables
        g = tabs.LI[lane, 4]  # the light governing the lane, -1 none
        has = g >= 0
        if len(world.lights):
            st = world.light_state()[np.arange(n), np.maximum(g, 0)]
            state = np.where(has, st - 1.0, 0.0)  # red 0 -> -1, amber 1 -> 0, green 2 -> +1
        else:
            state = np.zeros(n)
        to_end = r.lane_length[lane] - s - 0.5 * L
        stop = np.where(has, to_end, self.range)
        ri = world.route_i
        turn = world.route_turn[ri] / np.pi
        j = world.route_junction[ri]
        to_junction = np.where(j >= 0, world.route_cum[np.maximum(j, 0)] - world.route_cum[ri] - s, self.range)
        ends = world.lane_ends[lane]
        row = np.stack([has.astype(float), state, stop / self.range, turn, np.maximum(to_junction, 0.0) / self.range,
                        r.lane_speed[lane] / self.max_speed, np.where(ends, to_end, self.range) / self.range, np.zeros(n)], -1)
        return np.clip(row, -1.0, 1.0)

    def observe(self, world) -> np.ndarray:
        r = world.road
        n, K = world.n, self.vehicles
        h0 = world.h[:, :1]
        c, s = np.cos(h0), np.sin(h0)
        dx, dy = world.x - world.x[:, :1], world.y - world.y[:, :1]
        fx, fy = dx * c + dy * s, -dx * s + dy * c
        vx, vy = world.v * np.cos(world.h), world.v * np.sin(world.h)
        dvx, dvy = vx - vx[:, :1], vy - vy[:, :1]
        rvx, rvy = dvx * c + dvy * s, -dvx * s + dvy * c
        dist = np.hypot(dx, dy)
        vis = world.active & (dist <= self.range)
        vis[:, 0] = False
        key = np.where(vis, dist, np.inf)
        idx = np.argsort(key, axis=1, kind="stable")[:, :K]  # the ego's key is inf: never among them
        take = lambda a: np.take_along_axis(a, idx, 1)  # noqa: E731
        pres = np.isfinite(take(key))
        dh = world.h - h0
        rows = np.stack([pres, take(fx) / self.range, take(fy) / self.range, take(rvx) / self.max_speed,
                         take(rvy) / self.max_speed, np.cos(take(dh)), np.sin(take(dh)), take(world.acc) / self.accel_scale], -1)
        rows = np.where(pres[..., None], rows, 0.0)
        if rows.shape[1] < K:
            rows = np.concatenate([rows, np.zeros((n, K - rows.shape[1], 8))], 1)
        e = (world.d[:, 0] - r.lane_offset[world.lane[:, 0]]) / r.lane_width[world.lane[:, 0]]
        eh = world.h[:, 0] - world.road_h[:, 0]
        # the leader in the ego's lane (straddlers included), as a radar behind an ACC reads it: the learned
        # policies rear-ended slowing cars while the leader's row sat somewhere among the neighbours
        gap = world.ego_lead_gap
        seen = np.isfinite(gap) & (gap < self.range)
        lead_gap = np.where(seen, np.maximum(gap, 0.0) / self.range, 1.0)
        lead_dv = np.where(seen, -world.ego_lead_dv / self.max_speed, 0.0)  # negative: closing in
        ego = np.stack([np.ones(n), e, lead_gap, world.v[:, 0] / self.max_speed, lead_dv, np.cos(eh), np.sin(eh),
                        world.acc[:, 0] / self.accel_scale], -1)
        out = np.concatenate([ego[:, None], self.road_row(world)[:, None], rows], 1)
        return np.clip(out, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class OccupancyGrid:
    """Ego-centred grid aligned with the ego's heading (rows forward, columns left).

    ``(2, cells, cells)`` float32: channel 0 vehicles (1 where a vehicle's centre falls),
    channel 1 road (1 where the cell centre is drivable).
    """

    cells: int = 21  # grid side [cells]
    cell_size: float = 2.5  # [m]

    def space(self) -> SpaceSpec:
        return SpaceSpec(0.0, 1.0, (2, self.cells, self.cells), np.float32)

    def observe(self, world) -> np.ndarray:
        n, G, cs = world.n, self.cells, self.cell_size
        out = np.zeros((n, 2, G, G), np.float32)
        h0 = world.h[:, :1]
        c, s = np.cos(h0), np.sin(h0)
        dx, dy = world.x - world.x[:, :1], world.y - world.y[:, :1]
        fwd, left = dx * c + dy * s, -dx * s + dy * c
        # row 0 is the far front; column 0 the far left
        row = np.floor(G / 2 - fwd / cs).astype(np.int64)
        col = np.floor(G / 2 - left / cs).astype(np.int64)
        ok = world.active & (row >= 0) & (row < G) & (col >= 0) & (col < G)
        ok[:, 0] = False
        wi, vi = np.nonzero(ok)
        out[wi, 0, row[wi, vi], col[wi, vi]] = 1.0
        k = (G / 2 - np.arange(G) - 0.5) * cs  # cell centre offsets
        F, L = k[:, None], k[None, :]  # forward by row, left by column
        cx = world.x[:, 0, None, None] + F * c[:, :, None] - L * s[:, :, None]
        cy = world.y[:, 0, None, None] + F * s[:, :, None] + L * c[:, :, None]
        out[:, 1] = world.road.drivable(cx, cy)
        return out


@dataclass(frozen=True)
class Camera:
    """Top-down RGB image around the ego, rotated so the ego points up, drawn with opencv:
    road, lane markings and edges, the ego's route, traffic lights, vehicles (ego green).

    The ego sits at the horizontal centre, ``ahead`` x ``height`` pixels from the top, so the
    image shows ``ahead * height * scale`` metres in front of the ego's centre and
    ``(1 - ahead) * height * scale`` metres behind it.
    """

    width: int = 84  # [px]
    height: int = 84  # [px]
    scale: float = 0.5  # metres per pixel [m/px]
    ahead: float = 0.5  # the ego's height in the image from the top [fraction of the height]: 0.5 centres it

    def space(self) -> SpaceSpec:
        return SpaceSpec(0, 255, (self.height, self.width, 3), np.uint8)

    def observe(self, world) -> np.ndarray:
        from .render import draw_view

        return np.stack([draw_view(world, w, self.width, self.height, self.scale, rotate=True, ahead=self.ahead) for w in range(world.n)])
