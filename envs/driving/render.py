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
        nrm = road.boundary(q, road.sec_dmax[q] + 0.6)
        if road.drivable(nrm[:, 0], nrm[:, 1]).mean() > 0.8:
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


def _route_points(world) -> np.ndarray:
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
            parts.append(r.boundary(q, off[np.argmin(score)]))
        pts = np.concatenate(parts)
        world._route_pts = pts
    return pts


def view_matrix(ex, ey, heading, width, height, scale, rotate):
    """2x3 affine matrix world [m] -> view pixels; ego at the centre, heading up if ``rotate``."""
    a = (np.pi / 2 - heading) if rotate else 0.0
    ca, sa = np.cos(a), np.sin(a)
    k = 1.0 / scale
    return np.array(
        [[ca * k, -sa * k, width / 2 - k * (ca * ex - sa * ey)], [-sa * k, -ca * k, height / 2 + k * (sa * ex + ca * ey)]]
    )


def draw_view(world, w: int, width: int, height: int, scale: float, rotate: bool = True, lidar=None) -> np.ndarray:
    """RGB image (height, width, 3) of world ``w`` around its ego at ``scale`` metres per pixel.

    ``lidar``: optional (distances [m] (B,), beam angles relative to heading [rad] (B,)) drawn as rays.
    """
    r = world.road
    ex, ey, eh = float(world.x[w, 0]), float(world.y[w, 0]), float(world.h[w, 0])
    M = view_matrix(ex, ey, eh, width, height, scale, rotate)
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
    near = np.hypot(rp[:, 0] - ex, rp[:, 1] - ey) < scale * (width + height)
    if near.sum() > 1:
        cv2.polylines(img, [tp(rp[near])], False, ROUTE, lw, cv2.LINE_AA, shift)
    # traffic lights at the end of their lanes
    if len(world.lights):
        g = world.light_green()[w]
        ln = world.lights[:, 0].astype(np.int64)
        q = r.lane_sec[ln]
        x, y, h = r.to_world(q, r.sec_length[q], r.lane_offset[ln])
        c, s = np.cos(h), np.sin(h)
        half = 0.5 * r.lane_width[ln]
        p0 = np.stack([x - s * half, y + c * half], -1)
        p1 = np.stack([x + s * half, y - c * half], -1)
        bars = np.stack([tp(p0), tp(p1)], 1)
        for sel, col in ((g, (60, 220, 60)), (~g, (230, 40, 40))):
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
    """Write HUD text lines in the top-left corner (in place) and return the image."""
    y = 16
    for line in lines:
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        y += 17
    return img
