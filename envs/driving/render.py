"""Drawing a world to an RGB image with opencv (no pygame here; the human view only shows it).

The static map (road surface, lane markings, edges) is rendered once per road into a large
image; a view is one ``cv2.warpAffine`` of it plus the dynamic things (vehicles, lights,
route, lidar rays, HUD text).
"""

from __future__ import annotations

import cv2
import numpy as np

from .collision import box_corners
from .world import SCRIPTED, STATIC, TRAFFIC

BACKGROUND = (46, 82, 46)
ROAD = (95, 95, 95)
MARK = (230, 230, 230)
EGO_COLOR = (60, 200, 80)
COLORS = {TRAFFIC: (70, 130, 230), STATIC: (200, 70, 60), SCRIPTED: (190, 90, 200)}
ROUTE = (120, 200, 255)
LIGHT_COLORS = {0: (230, 40, 40), 1: (245, 170, 20), 2: (60, 220, 60)}  # red, amber, green


def map_image(road) -> np.ndarray:
    """The road drawn at the raster's resolution; cached on the road object."""
    img = getattr(road, "_map_img", None)
    if img is not None:
        return img
    h, w = road.raster.shape
    img = np.empty((h, w, 3), np.uint8)
    img[:] = BACKGROUND
    img[road.raster[::-1]] = ROAD
    res = road.resolution

    def px(p):
        p = np.asarray(p)
        col = (p[..., 0] - road.raster_origin[0]) / res
        row = h - (p[..., 1] - road.raster_origin[1]) / res
        return np.stack([col, row], -1)

    shift = 2
    f = 1 << shift
    for q, sp in enumerate(road.specs):  # build time: dashed dividers between lanes
        if sp.junction or len(sp.offsets) < 2:
            continue
        for a, b in zip(sp.offsets[:-1], sp.offsets[1:]):
            line = road.boundary(q, 0.5 * (a + b))
            seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
            cum = np.concatenate([[0], np.cumsum(seg)])
            for s0 in np.arange(0.0, cum[-1], 9.0):
                pts = np.stack([np.interp([s0, min(s0 + 3.0, cum[-1])], cum, line[:, i]) for i in (0, 1)], -1)
                p = np.round(px(pts) * f).astype(np.int32)
                cv2.line(img, tuple(p[0].tolist()), tuple(p[1].tolist()), MARK, max(1, int(0.15 / res)), cv2.LINE_AA, shift)
    for q, sp in enumerate(road.specs):  # centre lines of two-way roads: a section's left side borders another road
        if sp.junction:
            continue
        line = road.boundary(q, road.sec_dmax[q])
        probe = _densify(road.boundary(q, road.sec_dmax[q] + 0.6), 2.0)[1:-1]  # inside the section, not its ends
        if len(probe) and road.drivable(probe[:, 0], probe[:, 1]).mean() > 0.8:
            p = np.round(px(line) * f).astype(np.int32)
            cv2.polylines(img, [p], False, (220, 200, 90), max(1, int(0.15 / res)), cv2.LINE_AA, shift)
    e = road.edges
    if len(e):
        p0 = np.round(px(e[:, :2]) * f).astype(np.int32)
        p1 = np.round(px(e[:, 2:]) * f).astype(np.int32)
        lines = np.stack([p0, p1], 1)
        cv2.polylines(img, list(lines), False, MARK, max(1, int(0.2 / res)), cv2.LINE_AA, shift)
    road._map_img = img
    return img


def _densify(line: np.ndarray, step: float) -> np.ndarray:
    """A polyline [m] with points added so that no piece is longer than ``step`` [m]."""
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.union1d(cum, np.arange(0.0, cum[-1], step))
    return np.stack([np.interp(s, cum, line[:, 0]), np.interp(s, cum, line[:, 1])], -1)


def _route_points(world) -> np.ndarray:
    """The ego's route as one polyline [m] (P, 2), cached on the world: for each route section
    a lane that continues into the next one (else the middle lane), pieces at most 2 m long."""
    r = world.road
    pts = getattr(world, "_route_pts", None)
    if pts is None:
        parts = []
        route = list(world.route)
        for i, q in enumerate(route):  # a lane that continues along the route, else the middle one
            lanes = np.arange(r.sec_lane[q], r.sec_lane[q + 1])
            off = r.lane_offset[lanes]
            mid = 0.5 * (r.sec_dmin[q] + r.sec_dmax[q])
            score = np.abs(off - mid)
            if i + 1 < len(route):
                succ = r.lane_succ[lanes]
                cont = ((succ >= 0) & (r.lane_sec[np.maximum(succ, 0)] == route[i + 1])).any(1)
                score = score + 1e3 * ~cont
            parts.append(_densify(r.boundary(q, off[np.argmin(score)]), 2.0))
        pts = np.concatenate(parts)
        world._route_pts = pts
    return pts


def _runs(points: np.ndarray, keep: np.ndarray) -> list[np.ndarray]:
    """The pieces of polyline ``points`` (P, 2) made of consecutive kept points: drawing only
    those never joins two distant parts of the line with a chord."""
    idx = np.flatnonzero(keep)
    if idx.size < 2:
        return []
    if idx[-1] - idx[0] + 1 == idx.size:  # one run (the usual case)
        return [points[idx[0] : idx[-1] + 1]]
    cuts = np.flatnonzero(np.diff(idx) > 1) + 1
    return [points[i] for i in np.split(idx, cuts) if i.size > 1]


def view_matrix(ex, ey, heading, width, height, scale, rotate, ahead: float = 0.5):
    """2x3 affine matrix world [m] -> view pixels; heading up if ``rotate``. The ego is at the
    horizontal centre and ``ahead`` x ``height`` pixels from the top (0.5: the image centre;
    0.8: low in the image, so that 80% of the image lies in front of a rotated ego)."""
    a = (np.pi / 2 - heading) if rotate else 0.0
    ca, sa = np.cos(a), np.sin(a)
    k = 1.0 / scale
    return np.array(
        [[ca * k, -sa * k, width / 2 - k * (ca * ex - sa * ey)], [-sa * k, -ca * k, ahead * height + k * (sa * ex + ca * ey)]]
    )


def draw_view(world, w: int, width: int, height: int, scale: float, rotate: bool = True, lidar=None,
              ahead: float = 0.5) -> np.ndarray:
    """RGB image (height, width, 3) of world ``w`` around its ego at ``scale`` metres per pixel.

    ``lidar``: optional (distances [m] (B,), beam angles relative to heading [rad] (B,)) drawn as rays.
    ``ahead``: the ego's height in the image as a fraction from the top (see :func:`view_matrix`).
    """
    r = world.road
    ex, ey, eh = float(world.x[w, 0]), float(world.y[w, 0]), float(world.h[w, 0])
    M = view_matrix(ex, ey, eh, width, height, scale, rotate, ahead)
    # map pixel -> world
    res = r.resolution
    H = r.raster.shape[0]
    A = np.array([[res, 0.0, r.raster_origin[0] + 0.5 * res], [0.0, -res, r.raster_origin[1] + (H - 0.5) * res], [0, 0, 1]])
    Mm = M @ A
    img = cv2.warpAffine(map_image(r), Mm, (width, height), flags=cv2.INTER_LINEAR, borderValue=BACKGROUND)
    shift = 3
    f = 1 << shift

    def tp(p):
        return np.round((p @ M[:, :2].T + M[:, 2]) * f).astype(np.int32)

    lw = max(1, int(round(0.3 / scale)))
    # route
    rp = _route_points(world)
    reach = scale * (width + height)
    runs = _runs(rp, (rp[:, 0] - ex) ** 2 + (rp[:, 1] - ey) ** 2 < reach * reach)
    if runs:
        cv2.polylines(img, [tp(p) for p in runs], False, ROUTE, lw, cv2.LINE_AA, shift)
    # traffic lights at the end of their lanes
    if len(world.lights):
        if hasattr(world, "light_state"):  # 0 red, 1 amber, 2 green
            state = world.light_state()[w]
        else:
            state = np.where(world.light_green()[w], 2, 0)
        ln = world.lights[:, 0].astype(np.int64)
        q = r.lane_sec[ln]
        x, y, h = r.to_world(q, r.sec_length[q], r.lane_offset[ln])
        c, s = np.cos(h), np.sin(h)
        half = 0.5 * r.lane_width[ln]
        p0 = np.stack([x - s * half, y + c * half], -1)
        p1 = np.stack([x + s * half, y - c * half], -1)
        bars = np.stack([tp(p0), tp(p1)], 1)
        for code, col in LIGHT_COLORS.items():
            sel = state == code
            if sel.any():
                cv2.polylines(img, bars[sel], False, col, 2 * lw, cv2.LINE_AA, shift)
    # lidar rays
    if lidar is not None:
        dist, ang = lidar
        a = eh + np.asarray(ang)
        ends = np.stack([ex + dist * np.cos(a), ey + dist * np.sin(a)], -1)
        o = tp(np.array([[ex, ey]]))[0]
        e2 = tp(ends)
        rays = np.stack([np.broadcast_to(o, e2.shape), e2], 1)
        cv2.polylines(img, rays, False, (250, 210, 80), 1, cv2.LINE_AA, shift)
    # vehicles
    act = world.active[w]
    corners = box_corners(world.x[w], world.y[w], world.h[w], world.length[w], world.width[w])
    vis = act & (np.hypot(world.x[w] - ex, world.y[w] - ey) < scale * (width + height))
    kinds = world.kind[w]
    for kd, col in COLORS.items():
        sel = vis & (kinds == kd)
        sel[0] = False
        if sel.any():
            cv2.fillPoly(img, tp(corners[sel]), col, cv2.LINE_AA, shift)
    cv2.fillPoly(img, [tp(corners[0])], EGO_COLOR, cv2.LINE_AA, shift)
    # windscreen marks show headings
    front = 0.5 * (corners[:, 0] + corners[:, 1])
    centre = np.stack([world.x[w], world.y[w]], -1)
    shown = vis | (np.arange(len(act)) == 0)
    marks = np.stack([tp(0.5 * (front + centre)[shown]), tp(front[shown])], 1)
    cv2.polylines(img, marks, False, (20, 20, 20), 1, cv2.LINE_AA, shift)
    return img


def draw_hud(img: np.ndarray, lines: list[str]) -> np.ndarray:
    """Write HUD text lines in the top-left corner (in place) on a dark translucent panel (so
    the text reads on any background; no thicker shadow glyphs) and return the image."""
    if not lines:
        return img
    font, size, step = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 17
    width = max(cv2.getTextSize(line, font, size, 1)[0][0] for line in lines)
    x1, y1 = min(img.shape[1], 6 + width + 6), min(img.shape[0], 4 + step * len(lines) + 2)
    panel = img[0:y1, 0:x1]
    panel[:] = (0.45 * panel).astype(np.uint8)
    y = 16
    for line in lines:
        cv2.putText(img, line, (6, y), font, size, (255, 255, 255), 1, cv2.LINE_AA)
        y += step
    return img
