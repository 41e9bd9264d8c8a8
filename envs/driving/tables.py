"""A map's road, lights and junctions packed into flat arrays for the physics kernel.

Built once per :class:`~.world.World` from its :class:`~.maps.Map`; read-only afterwards.
Column constants name the columns of the lane, section and segment tables.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .junctions import conflict_zones, zone_kinds

# lane floats
LF_OFF, LF_WIDTH, LF_SPEED, LF_LENGTH = 0, 1, 2, 3
# lane ints
LI_SEC, LI_LEFT, LI_RIGHT, LI_NSUCC, LI_LIGHT, LI_ENDS, LI_JUNCTION, LI_CHANGE, LI_CONF0, LI_NCONF = range(10)
# section floats
SF_LENGTH, SF_DMIN, SF_DMAX, SF_SIMPLE, SF_GBASE = range(5)
# segment floats
SG_X0, SG_Y0, SG_DX, SG_DY, SG_LEN, SG_S0, SG_HEAD, SG_TMIN, SG_TMAX, SG_GS, SG_VCAP, SG_KAPPA = range(12)


class Tables(NamedTuple):
    """Read-only arrays describing one map (see the column constants)."""

    LF: np.ndarray  # (L, 4) lane floats
    LI: np.ndarray  # (L, 10) lane ints
    SUCC: np.ndarray  # (L, K) successor lanes, -1 padded
    PRED: np.ndarray  # (L, KP) predecessor lanes, -1 padded
    SUCC_CDF: np.ndarray  # (L, K) cumulative probability of taking each successor
    SF: np.ndarray  # (Q, 5) section floats
    SEC_SEG: np.ndarray  # (Q+1,) first segment of each section
    SEC_LANE: np.ndarray  # (Q+1,) first lane of each section
    SG: np.ndarray  # (S, 12) segment floats
    RASTER: np.ndarray  # (H, W) drivable cells
    RASTER_GEO: np.ndarray  # (3,) origin x, y [m], cell size [m]
    ZONES: np.ndarray  # (C, 4) conflict zones: own start, end, other's start, end [m]
    ZONE_OTHER: np.ndarray  # (C,) the other lane of each conflict
    ZONE_PRIO: np.ndarray  # (C,) +1 right of way, -1 give way, 0 first come
    ZONE_KIND: np.ndarray  # (C,) CROSSING, MERGE (both lanes run into one) or SPLIT (both leave one)
    LIGHT_LANE: np.ndarray  # (G,) lane each light governs (at its end)
    LIGHT_PHASE: np.ndarray  # (G,) phase of each light
    PHASE_START: np.ndarray  # (P,) when each phase turns green within the cycle [s]
    PHASE_GREEN: np.ndarray  # (P,) green duration of each phase [s]
    ROUTE: np.ndarray  # (R,) the ego's route: section ids
    ROUTE_CUM: np.ndarray  # (R,) route distance at the start of each section [m]
    SLOT_LANE: np.ndarray  # initial traffic slots: lane
    SLOT_S: np.ndarray  # and arc length [m]
    SPAWN_LANES: np.ndarray  # lanes where recycled traffic re-enters ("entries" mode)
    SPAWN_CDF: np.ndarray  # cumulative share of the entering traffic per spawn lane
    START_LANES: np.ndarray  # lanes the ego may start in


def curvature_speed_caps(road, lat_accel: float, decel: float) -> np.ndarray:
    """Per segment, the highest speed [m/s] from which a vehicle can still take the curves ahead
    in its section within ``lat_accel`` [m/s^2], braking at ``decel`` [m/s^2] (inf on straights).
    Closed sections (linked to themselves) look ahead across their start."""
    caps = np.full(len(road.seg_len), np.inf)
    for q in range(len(road.specs)):  # build time
        a, b = int(road.sec_seg[q]), int(road.sec_seg[q + 1])
        if b - a < 2:
            continue
        h = road.seg_heading[a:b]
        dh = np.abs((np.diff(h) + np.pi) % (2 * np.pi) - np.pi)
        ds = 0.5 * (road.seg_len[a:b - 1] + road.seg_len[a + 1:b])
        kappa = np.concatenate([[0.0], dh / np.maximum(ds, 1e-6)])  # curvature at each segment start [1/m]
        kappa = np.maximum(kappa, np.concatenate([kappa[1:], [0.0]]))
        local = np.sqrt(lat_accel / np.maximum(kappa, 1e-9))
        s0 = road.seg_s0[a:b]
        closed = any(road.lane_sec[int(m)] == q for ln in range(road.sec_lane[q], road.sec_lane[q + 1]) for m in road.lane_succ[ln] if m >= 0)
        if closed:  # unroll twice so that the end of the lap sees the curves after the start
            L = road.sec_length[q]
            s_all = np.concatenate([s0, s0 + L])
            cap_all = np.concatenate([local, local])
        else:
            s_all, cap_all = s0, local
        ahead = np.clip(s_all[None, :] - s0[:, None], 0.0, None)
        reach = np.sqrt(cap_all[None, :] ** 2 + 2.0 * decel * ahead)
        mask = s_all[None, :] >= s0[:, None]
        caps[a:b] = np.where(mask, reach, np.inf).min(axis=1)
    return caps


def signed_curvature(road) -> np.ndarray:
    """Per segment, the signed curvature of its section's reference line [1/m] (left positive):
    the heading change to the next segment over the distance between their midpoints."""
    kappa = np.zeros(len(road.seg_len))
    for q in range(len(road.specs)):  # build time
        a, b = int(road.sec_seg[q]), int(road.sec_seg[q + 1])
        if b - a < 2:
            continue
        dh = (np.diff(road.seg_heading[a:b]) + np.pi) % (2 * np.pi) - np.pi
        ds = 0.5 * (road.seg_len[a:b - 1] + road.seg_len[a + 1:b])
        k = dh / np.maximum(ds, 1e-6)
        kappa[a:b] = 0.5 * (np.concatenate([k[:1], k]) + np.concatenate([k, k[-1:]]))
    return kappa


def _succ_cdf(r, m) -> np.ndarray:
    """Cumulative successor choice probabilities per lane from the map's link weights."""
    w = np.where(r.lane_succ >= 0, 1.0, 0.0)
    for (a, b), wt in m.link_weights.items():
        w[a, r.lane_succ[a] == b] = wt
    total = np.maximum(w.sum(1, keepdims=True), 1e-12)
    return np.cumsum(w / total, axis=1)


def _spawn_cdf(m) -> np.ndarray:
    n = len(m.spawn_lanes)
    w = np.ones(n) if m.spawn_weights is None else np.asarray(m.spawn_weights, float)
    return np.cumsum(w) / w.sum()


def build_tables(m, lane_ends: np.ndarray, lat_accel: float, decel: float, spawn_spacing: float, slots) -> Tables:
    """Pack map ``m`` for the kernel (``lane_ends``: lanes that end; ``slots``: (lanes, s))."""
    r = m.road
    L = r.num_lanes
    LF = np.stack([r.lane_offset, r.lane_width, r.lane_speed, r.lane_length], 1).astype(float)
    conf0, nconf, zones, other, prio = conflict_zones(r)
    light_lane = np.asarray(m.lights, np.int64).reshape(-1, 2)[:, 0]
    light_phase = np.asarray(m.lights, np.int64).reshape(-1, 2)[:, 1]
    lane_light = np.full(L, -1, np.int64)
    lane_light[light_lane] = np.arange(len(light_lane))
    junction = np.array([sp.junction for sp in r.specs], bool)
    LI = np.stack([r.lane_sec, r.lane_left, r.lane_right, r.lane_nsucc, lane_light, lane_ends.astype(np.int64),
                   junction[r.lane_sec].astype(np.int64), r.sec_lane_change[r.lane_sec].astype(np.int64), conf0, nconf], 1).astype(np.int64)
    SF = np.stack([r.sec_length, r.sec_dmin, r.sec_dmax, r.sec_simple.astype(float), r.sec_gbase], 1).astype(float)
    caps = curvature_speed_caps(r, lat_accel, decel)
    SG = np.stack([r.seg_p0[:, 0], r.seg_p0[:, 1], r.seg_dir[:, 0], r.seg_dir[:, 1], r.seg_len, r.seg_s0, r.seg_heading,
                   r.seg_tmin, r.seg_tmax, r.seg_gs, caps, signed_curvature(r)], 1).astype(float)
    geo = np.array([r.raster_origin[0], r.raster_origin[1], r.resolution], float)
    route = np.asarray(m.route, np.int64)
    route_cum = np.concatenate([[0.0], np.cumsum(r.sec_length[route])[:-1]])
    phases = np.asarray(m.phases, float).reshape(-1, 2)
    tabs = Tables(LF, LI, np.ascontiguousarray(r.lane_succ), np.ascontiguousarray(r.lane_pred), _succ_cdf(r, m), SF, r.sec_seg.astype(np.int64), r.sec_lane.astype(np.int64), SG,
                  np.ascontiguousarray(r.raster), geo, zones, other, prio, zone_kinds(r, conf0, nconf, zones, other), light_lane, light_phase,
                  np.ascontiguousarray(phases[:, 0]), np.ascontiguousarray(phases[:, 1]), route, route_cum,
                  np.asarray(slots[0], np.int64), np.asarray(slots[1], float), np.asarray(m.spawn_lanes, np.int64),
                  _spawn_cdf(m), np.asarray(m.start_lanes, np.int64))
    for a in tabs:
        a.flags.writeable = False
    return tabs
