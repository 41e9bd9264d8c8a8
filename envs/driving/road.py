"""Road geometry: sections of parallel lanes, the lane graph, Frenet projection, road edges.

A *section* is a reference polyline (straight lines and circular arcs are sampled into it,
smooth curves too) with one or more lanes at fixed lateral offsets from it. All lanes of a
section share the section's longitudinal coordinate ``s`` [m], so neighbouring lanes are
compared by ``s`` directly, and a lane is ``(section, offset)``. The lateral coordinate ``d``
[m] is positive to the left of the direction of travel.

Everything is precomputed into flat numpy arrays at build time (:class:`Road`); the queries
(:meth:`Road.project`, :meth:`Road.to_world`, :meth:`Road.drivable`) are vectorized over any
array shape of query points. Coordinates: x east, y north [m]; headings counter-clockwise
from +x [rad]. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SectionSpec", "Road", "RoadBuilder", "straight", "arc", "bezier", "smooth_closed", "smooth_open"]


# --------------------------------------------------------------------------- geometry helpers
def straight(p0, p1, step: float = 0.0) -> np.ndarray:
    """Points of a straight line from ``p0`` to ``p1`` [m]; ``step`` > 0 subdivides it [m]."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    n = 1 if step <= 0 else max(1, int(np.ceil(np.linalg.norm(p1 - p0) / step)))
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    return p0 + t * (p1 - p0)


def arc(center, radius: float, a0: float, a1: float, step: float = 2.0) -> np.ndarray:
    """Points of a circular arc [m] from angle ``a0`` to ``a1`` [rad] (a1 < a0: clockwise)."""
    n = max(2, int(np.ceil(abs(a1 - a0) * radius / step)))
    a = np.linspace(a0, a1, n + 1)
    return np.stack([center[0] + radius * np.cos(a), center[1] + radius * np.sin(a)], axis=1)


def bezier(p0, heading0: float, p1, heading1: float, step: float = 1.0) -> np.ndarray:
    """Cubic Bezier from ``p0`` (leaving at ``heading0`` [rad]) to ``p1`` (arriving at ``heading1``),
    handles 0.39 x chord (a quarter circle for 90 degree turns); sampled every ~``step`` m."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    k = 0.39 * np.linalg.norm(p1 - p0)
    c0 = p0 + k * np.array([np.cos(heading0), np.sin(heading0)])
    c1 = p1 - k * np.array([np.cos(heading1), np.sin(heading1)])
    n = max(4, int(np.ceil(1.2 * np.linalg.norm(p1 - p0) / step)))
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c0 + 3 * (1 - t) * t**2 * c1 + t**3 * p1


def _catmull_rom(ctrl: np.ndarray, samples_per_span: int, closed: bool) -> np.ndarray:
    c = np.asarray(ctrl, float)
    if closed:
        p = np.concatenate([c[-1:], c, c[:2]])
    else:
        p = np.concatenate([2 * c[:1] - c[1:2], c, 2 * c[-1:] - c[-2:-1]])
    t = np.linspace(0.0, 1.0, samples_per_span, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):  # build time only
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    pts = np.concatenate(out)
    return np.concatenate([pts, pts[:1]]) if closed else np.concatenate([pts, c[-1:]])


def smooth_closed(ctrl, step: float = 2.0) -> np.ndarray:
    """Closed smooth curve (Catmull-Rom) through control points [m]; first point repeated last."""
    c = np.asarray(ctrl, float)
    span = np.linalg.norm(np.diff(np.concatenate([c, c[:1]]), axis=0), axis=1).mean()
    return _catmull_rom(c, max(4, int(span / step)), closed=True)


def smooth_open(ctrl, step: float = 2.0) -> np.ndarray:
    """Open smooth curve (Catmull-Rom) through control points [m]."""
    c = np.asarray(ctrl, float)
    span = np.linalg.norm(np.diff(c, axis=0), axis=1).mean()
    return _catmull_rom(c, max(4, int(span / step)), closed=False)


# --------------------------------------------------------------------------- specs and builder
@dataclass(frozen=True)
class SectionSpec:
    """One section: a reference polyline and its lanes."""

    points: np.ndarray = field(repr=False)  # (P, 2) reference polyline [m]
    offsets: tuple[float, ...]  # lateral offset of each lane centre, ascending (lane 0 = rightmost) [m]
    lane_width: float  # [m]
    speed_limit: float  # [m/s]
    name: str = ""  # for debugging and drawing
    lane_change: bool = True  # whether traffic may change lanes inside this section
    junction: bool = False  # inside an intersection/roundabout connector (no lane markings)
    priority: int = 2  # right of way where junction lanes cross or merge: the lower rank yields [-]


class RoadBuilder:
    """Collects sections and lane links, then :meth:`build` makes the array-based :class:`Road`."""

    def __init__(self) -> None:
        self.sections: list[SectionSpec] = []
        self.links: list[tuple[int, int, int, int]] = []  # (sec_from, lane_from, sec_to, lane_to)
        self.areas: list[np.ndarray] = []  # extra drivable convex polygons (junction plazas)

    def add(self, points, offsets, lane_width=4.0, speed_limit=30.0, name="", lane_change=True, junction=False, priority=2) -> int:
        pts = np.asarray(points, float)
        keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-6])
        self.sections.append(
            SectionSpec(pts[keep], tuple(float(o) for o in offsets), float(lane_width), float(speed_limit), name, lane_change, junction,
                        int(priority))
        )
        return len(self.sections) - 1

    def link(self, sec_from: int, lane_from: int, sec_to: int, lane_to: int) -> None:
        """Lane ``lane_from`` of ``sec_from`` continues into lane ``lane_to`` of ``sec_to``."""
        self.links.append((sec_from, lane_from, sec_to, lane_to))

    def area(self, polygon) -> None:
        """Mark a convex polygon [m] drivable (e.g. the box of an intersection)."""
        self.areas.append(np.asarray(polygon, float))

    def build(self, resolution: float = 0.25, margin: float = 5.0) -> "Road":
        return Road(self.sections, self.links, resolution, margin, self.areas)


# --------------------------------------------------------------------------- the road
class Road:
    """Array form of a road network.

    Per section ``q``: ``sec_length[q]`` [m], segments ``sec_seg[q]:sec_seg[q+1]``, lanes
    ``sec_lane[q]:sec_lane[q+1]``. Per segment ``j``: start point ``seg_p0[j]`` [m], unit
    direction ``seg_dir[j]``, length ``seg_len[j]`` [m], arc length at its start ``seg_s0[j]``
    [m], heading ``seg_heading[j]`` [rad]. Per lane ``l``: ``lane_sec``, ``lane_offset`` [m],
    ``lane_width`` [m], ``lane_speed`` [m/s], ``lane_left``/``lane_right`` (neighbour lane or
    -1), ``lane_succ`` (L, K) successors padded with -1 and ``lane_nsucc``.
    Road edges: ``edges`` (E, 4) segments ``x0, y0, x1, y1`` [m]. Drivable raster:
    ``raster[iy, ix]`` with cell size ``resolution`` [m] and origin ``raster_origin`` [m].
    """

    def __init__(self, sections, links, resolution=0.25, margin=5.0, areas=()):
        self.specs = list(sections)
        self.areas = list(areas)
        ns = len(self.specs)
        pts, seg_sec = [], []
        self.sec_seg = np.zeros(ns + 1, np.int64)
        self.sec_lane = np.zeros(ns + 1, np.int64)
        for q, sp in enumerate(self.specs):
            pts.append(sp.points)
            seg_sec.append(np.full(len(sp.points) - 1, q))
            self.sec_seg[q + 1] = self.sec_seg[q] + len(sp.points) - 1
            self.sec_lane[q + 1] = self.sec_lane[q] + len(sp.offsets)
        p0 = np.concatenate([p[:-1] for p in pts])
        p1 = np.concatenate([p[1:] for p in pts])
        self.seg_sec = np.concatenate(seg_sec)
        v = p1 - p0
        self.seg_len = np.linalg.norm(v, axis=1)
        self.seg_p0 = p0
        self.seg_p1 = p1
        self.seg_dir = v / self.seg_len[:, None]
        self.seg_heading = np.arctan2(v[:, 1], v[:, 0])
        self.seg_s0 = np.zeros(len(p0))
        self.sec_length = np.zeros(ns)
        for q in range(ns):
            a, b = self.sec_seg[q], self.sec_seg[q + 1]
            cs = np.cumsum(self.seg_len[a:b])
            self.seg_s0[a:b] = np.concatenate([[0.0], cs[:-1]])
            self.sec_length[q] = cs[-1]
        # global key for searchsorted: sections laid end to end with a 1 m gap
        self.sec_gbase = np.concatenate([[0.0], np.cumsum(self.sec_length + 1.0)[:-1]])
        self.seg_gs = self.sec_gbase[self.seg_sec] + self.seg_s0
        # extrapolation beyond the first/last segment of each section
        self.seg_tmin = np.zeros(len(p0))
        self.seg_tmax = self.seg_len.copy()
        self.seg_tmin[self.sec_seg[:-1]] = -np.inf
        self.seg_tmax[self.sec_seg[1:] - 1] = np.inf
        # lanes
        nl = int(self.sec_lane[-1])
        self.num_lanes = nl
        self.lane_sec = np.zeros(nl, np.int64)
        self.lane_index = np.zeros(nl, np.int64)  # index of the lane inside its section (0 = rightmost)
        self.lane_offset = np.zeros(nl)
        self.lane_width = np.zeros(nl)
        self.lane_speed = np.zeros(nl)
        self.lane_left = np.full(nl, -1, np.int64)
        self.lane_right = np.full(nl, -1, np.int64)
        self.sec_lane_change = np.array([sp.lane_change for sp in self.specs], bool)
        for q, sp in enumerate(self.specs):
            base = self.sec_lane[q]
            n = len(sp.offsets)
            for k in range(n):
                ll = base + k
                self.lane_sec[ll], self.lane_index[ll] = q, k
                self.lane_offset[ll] = sp.offsets[k]
                self.lane_width[ll] = sp.lane_width
                self.lane_speed[ll] = sp.speed_limit
                if k > 0:
                    self.lane_right[ll] = ll - 1
                if k < n - 1:
                    self.lane_left[ll] = ll + 1
        self.lane_length = self.sec_length[self.lane_sec]
        succ: list[list[int]] = [[] for _ in range(nl)]
        pred: list[list[int]] = [[] for _ in range(nl)]
        for qa, la, qb, lb in links:
            a, b = int(self.sec_lane[qa] + la), int(self.sec_lane[qb] + lb)
            succ[a].append(b)
            pred[b].append(a)
        k = max(1, max(len(s) for s in succ))
        self.lane_succ = np.full((nl, k), -1, np.int64)
        self.lane_nsucc = np.array([len(s) for s in succ], np.int64)
        for ll, s in enumerate(succ):
            self.lane_succ[ll, : len(s)] = s
        kp = max(1, max(len(p) for p in pred))
        self.lane_pred = np.full((nl, kp), -1, np.int64)
        for ll, p in enumerate(pred):
            self.lane_pred[ll, : len(p)] = p
        # drivable half-widths of each section (right/left bound of the lateral span)
        self.sec_dmin = np.array([min(sp.offsets) - sp.lane_width / 2 for sp in self.specs])
        self.sec_dmax = np.array([max(sp.offsets) + sp.lane_width / 2 for sp in self.specs])
        self._single_seg = bool(np.all(np.diff(self.sec_seg) == 1))
        first = self.sec_seg[:-1]  # per-section copies of the first segment (fast path of project)
        self._sec_x0, self._sec_y0 = self.seg_p0[first, 0].copy(), self.seg_p0[first, 1].copy()
        self._sec_dx, self._sec_dy = self.seg_dir[first, 0].copy(), self.seg_dir[first, 1].copy()
        self._sec_h = self.seg_heading[first].copy()
        self._sec_s0 = self.seg_s0[first].copy()
        # per-section first lane, its offset and width, last lane index (lane_at's lookups)
        lane0 = self.sec_lane[:-1]
        self._sec_lane0 = lane0.copy()
        self._sec_off0, self._sec_w0 = self.lane_offset[lane0], self.lane_width[lane0]
        self._sec_nm1 = np.diff(self.sec_lane) - 1
        # straight, non-junction sections with no extra areas: the lateral span test is exact there
        self.sec_simple = (np.diff(self.sec_seg) == 1) & ~np.array([sp.junction for sp in self.specs], bool) & (len(self.areas) == 0)
        self._build_raster(resolution, margin)
        self._build_edges()

    # ------------------------------------------------------------------ queries
    @property
    def single_segment(self) -> bool:
        """Whether every section is one straight segment (then :meth:`project` ignores ``s_guess``)."""
        return self._single_seg

    def project(self, sec, s_guess, x, y, window: int = 2):
        """Project points onto their section's reference line, searching near ``s_guess``.

        Args: ``sec`` section ids (int array), ``s_guess`` [m] (unused, may be None, when
        :attr:`single_segment`), ``x``, ``y`` [m], all the same shape.
        Returns ``(s, d, heading)``: arc length [m] (may be < 0 or > length, extrapolated past
        the ends), signed lateral offset [m] (left positive) and reference heading [rad].
        """
        sec = np.asarray(sec)
        if self._single_seg:  # every section is one straight segment
            dx, dy = self._sec_dx[sec], self._sec_dy[sec]
            rx = x - self._sec_x0[sec]
            ry = y - self._sec_y0[sec]
            return rx * dx + ry * dy, dx * ry - dy * rx, self._sec_h[sec]
        gs = self.sec_gbase[sec] + np.minimum(np.maximum(s_guess, 0.0), self.sec_length[sec])
        k = np.searchsorted(self.seg_gs, gs, side="right") - 1
        off = np.arange(-window, window + 1)
        ks = np.minimum(np.maximum(k[..., None] + off, self.sec_seg[sec][..., None]), self.sec_seg[sec + 1][..., None] - 1)
        p0 = self.seg_p0[ks]
        dv = self.seg_dir[ks]
        dvx, dvy = dv[..., 0], dv[..., 1]
        rx = x[..., None] - p0[..., 0]
        ry = y[..., None] - p0[..., 1]
        t = rx * dvx + ry * dvy
        tc = np.minimum(np.maximum(t, self.seg_tmin[ks]), self.seg_tmax[ks])
        ex = rx - tc * dvx
        ey = ry - tc * dvy
        j = np.argmin(ex * ex + ey * ey, axis=-1)
        flat = np.arange(j.size) * len(off) + j.ravel()
        kk = ks.reshape(-1)[flat].reshape(j.shape)
        tt = tc.reshape(-1)[flat].reshape(j.shape)
        d = (dvx.reshape(-1)[flat] * ry.reshape(-1)[flat] - dvy.reshape(-1)[flat] * rx.reshape(-1)[flat]).reshape(j.shape)
        return self.seg_s0[kk] + tt, d, self.seg_heading[kk]

    def project_global(self, x, y):
        """Project points onto the nearest section (brute force over all segments; for resets).

        Returns ``(sec, s, d, heading)``. Points are flattened to 1-D first.
        """
        x = np.ravel(np.asarray(x, float))
        y = np.ravel(np.asarray(y, float))
        rx = x[:, None] - self.seg_p0[None, :, 0]
        ry = y[:, None] - self.seg_p0[None, :, 1]
        t = np.clip(rx * self.seg_dir[:, 0] + ry * self.seg_dir[:, 1], 0.0, self.seg_len)
        ex = rx - t * self.seg_dir[:, 0]
        ey = ry - t * self.seg_dir[:, 1]
        j = np.argmin(ex * ex + ey * ey, axis=1)
        sec = self.seg_sec[j]
        s, d, h = self.project(sec, self.seg_s0[j], x, y)
        return sec, s, d, h

    def to_world(self, sec, s, d):
        """Frenet ``(sec, s, d)`` -> ``(x, y, heading)`` [m, m, rad], vectorized."""
        sec = np.asarray(sec)
        s = np.asarray(s, float)
        if self._single_seg:  # every section is one straight segment: k is its first segment
            t = s - self._sec_s0[sec]
            dx, dy = self._sec_dx[sec], self._sec_dy[sec]
            return self._sec_x0[sec] + t * dx - d * dy, self._sec_y0[sec] + t * dy + d * dx, self._sec_h[sec]
        gs = self.sec_gbase[sec] + np.clip(s, 0.0, self.sec_length[sec])
        k = np.clip(np.searchsorted(self.seg_gs, gs, side="right") - 1, self.sec_seg[sec], self.sec_seg[sec + 1] - 1)
        t = s - self.seg_s0[k]
        dv = self.seg_dir[k]
        x = self.seg_p0[k, 0] + t * dv[..., 0] - d * dv[..., 1]
        y = self.seg_p0[k, 1] + t * dv[..., 1] + d * dv[..., 0]
        return x, y, self.seg_heading[k]

    def lane_at(self, sec, d):
        """Nearest lane id of section ``sec`` to lateral offset ``d`` [m]."""
        sec = np.asarray(sec)
        k = np.minimum(np.maximum(np.rint((d - self._sec_off0[sec]) / self._sec_w0[sec]), 0), self._sec_nm1[sec])
        return self._sec_lane0[sec] + k.astype(np.int64)

    def drivable(self, x, y):
        """Whether points are on the drivable surface (raster lookup), vectorized."""
        ix = np.floor((np.asarray(x) - self.raster_origin[0]) / self.resolution).astype(np.int64)
        iy = np.floor((np.asarray(y) - self.raster_origin[1]) / self.resolution).astype(np.int64)
        h, w = self.raster.shape
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        return inside & self.raster[np.minimum(np.maximum(iy, 0), h - 1), np.minimum(np.maximum(ix, 0), w - 1)]

    # ------------------------------------------------------------------ build-time helpers
    def boundary(self, q: int, d: float) -> np.ndarray:
        """Polyline [m] parallel to section ``q``'s reference at offset ``d`` (vertex normals)."""
        pts = self.specs[q].points
        a, b = self.sec_seg[q], self.sec_seg[q + 1]
        dirs = self.seg_dir[a:b]
        vd = np.concatenate([dirs[:1], dirs[:-1] + dirs[1:], dirs[-1:]])
        vd /= np.maximum(np.linalg.norm(vd, axis=1, keepdims=True), 1e-9)
        cosang = np.concatenate([[1.0], np.sum(dirs[:-1] * dirs[1:], axis=1), [1.0]])
        scale = 1.0 / np.sqrt(np.clip((1 + cosang) / 2, 0.25, 1.0))  # miter length
        nrm = np.stack([-vd[:, 1], vd[:, 0]], axis=1) * scale[:, None]
        return pts + d * nrm

    def _build_raster(self, res: float, margin: float) -> None:
        allp = np.concatenate([self.boundary(q, d) for q in range(len(self.specs)) for d in (self.sec_dmin[q], self.sec_dmax[q])])
        lo = allp.min(axis=0) - margin
        hi = allp.max(axis=0) + margin
        w, h = (np.ceil((hi - lo) / res).astype(int) + 1).tolist()
        self.resolution = float(res)
        self.raster_origin = lo
        self.raster = np.zeros((h, w), bool)
        for q in range(len(self.specs)):  # build time only: one quad per segment
            pad = 0.75 if self.specs[q].junction else 0.0  # junction connectors: no slivers between strips
            left = self.boundary(q, self.sec_dmax[q] + pad)
            right = self.boundary(q, self.sec_dmin[q] - pad)
            for i in range(len(left) - 1):
                quad = np.array([right[i], right[i + 1], left[i + 1], left[i]])
                self._fill_convex(quad)
        for poly in self.areas:
            self._fill_convex(poly)

    def _fill_convex(self, poly: np.ndarray) -> None:
        res, o = self.resolution, self.raster_origin
        h, w = self.raster.shape
        lo = np.floor((poly.min(axis=0) - o) / res).astype(int)
        hi = np.ceil((poly.max(axis=0) - o) / res).astype(int)
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0] + 1, w), min(hi[1] + 1, h)
        if x1 <= x0 or y1 <= y0:
            return
        cx = o[0] + (np.arange(x0, x1) + 0.5) * res
        cy = o[1] + (np.arange(y0, y1) + 0.5) * res
        X, Y = np.meshgrid(cx, cy)
        nxt = np.roll(poly, -1, axis=0)
        cr = (nxt[:, 0] - poly[:, 0])[:, None, None] * (Y - poly[:, 1, None, None]) - (nxt[:, 1] - poly[:, 1])[
            :, None, None
        ] * (X - poly[:, 0, None, None])
        area = np.sum(poly[:, 0] * nxt[:, 1] - nxt[:, 0] * poly[:, 1])
        tol = 1e-9
        inside = np.all(cr >= -tol, axis=0) if area > 0 else np.all(cr <= tol, axis=0)
        self.raster[y0:y1, x0:x1] |= inside

    def _build_edges(self, tolerance: float | None = None, min_hole: float = 2.0) -> None:
        """Road edges: the outline of the drivable raster, simplified to straight pieces.

        Every place where the drivable surface ends gets an edge (section sides, road ends,
        the ring's island and outer side, junction boxes), and the edges are where
        :meth:`drivable` (the off-road test) changes value: each edge point lies within
        ``tolerance`` of the raster's boundary (the staircase outline of its cells) and every
        boundary point within ``tolerance`` of an edge. ``tolerance`` [m] defaults to 1.2 raster
        cells (0.3 m at the default resolution). Holes in the surface smaller than ``min_hole``
        [m^2] (slivers where the quads of joining sections or connectors meet) are filled in
        the raster first. Sets ``edges`` (E, 4) ``x0, y0, x1, y1`` [m], drivable on the left.
        """
        tol = 1.2 * self.resolution if tolerance is None else float(tolerance)
        loops = raster_outline(self.raster)
        small = [loop for loop in loops if -min_hole / self.resolution**2 < _signed_area(loop) < 0]
        if small:
            for loop in small:  # build time: a few slivers per map at most
                _fill_loop(self.raster, loop)
            loops = raster_outline(self.raster)
        segs = []
        for loop in loops:  # build time: one closed loop per outline (few per map)
            pts = simplify_closed(loop, tol / self.resolution)
            segs.append(np.concatenate([pts, np.roll(pts, -1, axis=0)], axis=1))
        e = np.concatenate(segs) if segs else np.zeros((0, 4))
        e = e * self.resolution + np.tile(self.raster_origin, 2)
        self.edges = np.ascontiguousarray(e)


# --------------------------------------------------------------------------- raster outline (build time)
# Marching squares over the raster's cell centres: square (i, j) has corners bl = (i, j),
# br = (i, j+1), tr = (i+1, j+1), tl = (i+1, j) of the padded raster (row i = y up); its centre
# is the grid vertex where those four cells meet. Its sides in counter-clockwise order are bottom,
# right, top, left; a side whose two corners differ is a cell boundary of the drivable set. Each
# crossed side where the counter-clockwise walk leaves the drivable set starts a directed piece
# through the square's centre that ends at the next crossed side counter-clockwise, so the
# outline keeps the drivable cells on its left, and drivable cells touching diagonally are joined.
# The outline's vertices are those square centres: the exact staircase boundary of the cells.


def raster_outline(raster: np.ndarray) -> list[np.ndarray]:
    """Closed outlines of the ``True`` cells of a boolean raster, in cell units.

    Returns a list of (K, 2) arrays of ``(x, y)`` = (column, row) vertices (cell ``[r, c]``
    spans ``[c, c+1] x [r, r+1]``) tracing the exact staircase boundary of the ``True`` cells,
    counter-clockwise around ``True`` regions (clockwise around holes), first vertex not
    repeated. Vectorized (no Python loop over cells or vertices).
    """
    v = np.zeros((raster.shape[0] + 2, raster.shape[1] + 2), bool)
    v[1:-1, 1:-1] = raster
    H, W = v.shape
    bl, br, tr, tl = v[:-1, :-1], v[:-1, 1:], v[1:, 1:], v[1:, :-1]
    mixed = (bl != br) | (br != tr) | (tr != tl)
    si, sj = np.nonzero(mixed)
    if si.size == 0:
        return []
    c = [bl[si, sj], br[si, sj], tr[si, sj], tl[si, sj]]
    # side ids: horizontal sides (i, j)-(i, j+1) -> i*W + j; vertical (i, j)-(i+1, j) -> H*W + i*W + j
    side = [si * W + sj, H * W + si * W + sj + 1, (si + 1) * W + sj, H * W + si * W + sj]
    crossed = [c[k] != c[(k + 1) % 4] for k in range(4)]
    src, dst, sq = [], [], []
    for k in range(4):  # 4 sides x 3 candidates: fixed small loops over array ops
        start = c[k] & ~c[(k + 1) % 4]
        end = np.full(si.shape, -1, np.int64)
        for m in (3, 2, 1):  # the first crossed side after k, counter-clockwise, wins
            kk = (k + m) % 4
            end = np.where(crossed[kk], side[kk], end)
        src.append(side[k][start])
        dst.append(end[start])
        sq.append(np.nonzero(start)[0])
    src, dst, sq = np.concatenate(src), np.concatenate(dst), np.concatenate(sq)
    order = np.argsort(src)
    src, dst, sq = src[order], dst[order], sq[order]
    nxt = np.searchsorted(src, dst)  # every crossed side starts exactly one piece and ends one
    n = src.size
    rounds = int(np.ceil(np.log2(max(n, 2)))) + 1
    # label every loop by its smallest piece index (pointer jumping), then rank pieces along it
    label, p = np.arange(n), nxt.copy()
    for _ in range(rounds):
        label = np.minimum(label, label[p])
        p = p[p]
    head = label == np.arange(n)
    q = np.where(head, np.arange(n), nxt)
    steps = (~head).astype(np.int64)  # pieces to walk to the loop's head
    for _ in range(rounds):
        steps = steps + steps[q]
        q = q[q]
    length = np.bincount(label, minlength=n)
    pos = (length[label] - steps) % length[label]
    order = np.lexsort((pos, label))
    # the centre of padded square (i, j) is the raster's grid vertex (x, y) = (j, i)
    xy = np.stack([sj[sq[order]], si[sq[order]]], axis=1).astype(float)
    cuts = np.nonzero(np.diff(label[order]))[0] + 1
    return np.split(xy, cuts)


def _signed_area(loop: np.ndarray) -> float:
    """Area enclosed by a closed polyline (first point not repeated): > 0 counter-clockwise."""
    x, y = loop[:, 0], loop[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _fill_loop(raster: np.ndarray, loop: np.ndarray) -> None:
    """Set the cells of ``raster`` whose centres lie inside ``loop`` (cell units; even-odd rule)."""
    lo = np.maximum(np.floor(loop.min(axis=0)).astype(int), 0)
    hi = np.minimum(np.ceil(loop.max(axis=0)).astype(int), [raster.shape[1], raster.shape[0]])
    cx, cy = np.meshgrid(np.arange(lo[0], hi[0]) + 0.5, np.arange(lo[1], hi[1]) + 0.5)
    a, b = loop, np.roll(loop, -1, axis=0)
    crosses = ((a[:, 1, None, None] > cy) != (b[:, 1, None, None] > cy)) & (
        cx < a[:, 0, None, None] + (cy - a[:, 1, None, None]) * (b[:, 0, None, None] - a[:, 0, None, None])
        / np.where(b[:, 1] == a[:, 1], 1.0, b[:, 1] - a[:, 1])[:, None, None]
    )
    raster[lo[1] : hi[1], lo[0] : hi[0]] |= (crosses.sum(0) % 2).astype(bool)


def simplify_closed(loop: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker simplification of a closed polyline (first point not repeated): the
    kept vertices, in order, such that every dropped point is within ``tol`` of the result."""
    n = len(loop)
    if n <= 3:
        return loop
    far = int(np.argmax(np.sum((loop - loop[0]) ** 2, axis=1)))
    closed = np.concatenate([loop, loop[:1]])
    keep = np.zeros(n + 1, bool)
    keep[[0, far, n]] = True
    stack = [(0, far), (far, n)]
    while stack:  # build time: one iteration per kept vertex
        a, b = stack.pop()
        if b - a < 2:
            continue
        p0, d = closed[a], closed[b] - closed[a]
        rel = closed[a + 1 : b] - p0
        dd = float(d @ d)
        t = np.clip(rel @ d / dd, 0.0, 1.0) if dd > 0 else np.zeros(len(rel))
        err = np.sum((rel - t[:, None] * d) ** 2, axis=1)
        m = int(np.argmax(err))
        if err[m] > tol * tol:
            m += a + 1
            keep[m] = True
            stack += [(a, m), (m, b)]
    return closed[:-1][keep[:-1]]
