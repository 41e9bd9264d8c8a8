"""The world state as packed struct-of-arrays, shared by the Python side and the physics kernel.

Every per-vehicle quantity is a row of one of three ``(rows, N, V)`` arrays (float, int, bool):
N worlds of V vehicle slots; slot 0 is the ego, then the traffic, then free slots for
obstacles and scripted actors. Per-world quantities are rows of ``(rows, N)`` arrays. The
:class:`~.world.World` exposes each row as a named array view (``world.x``, ``world.v``, ...);
the kernel (:mod:`.physics`) indexes the packed arrays with the constants below, so one call
passes a handful of arrays whatever the number of fields. Units in the comments.
"""

from __future__ import annotations

# vehicle kinds
EGO, TRAFFIC, SCRIPTED, STATIC = 0, 1, 2, 3
#: what a lidar beam or the ego hit
HIT_NONE, HIT_VEHICLE, HIT_EDGE, HIT_OBSTACLE = 0, 1, 2, 3
HIT_NAMES = ("none", "vehicle", "road_edge", "obstacle")

# ---- per-vehicle floats: F[k] (N, V)
X, Y, H, V, S, D, RH = 0, 1, 2, 3, 4, 5, 6  # position [m], heading [rad], speed [m/s], Frenet s, d [m], road heading [rad]
ACC, SB, STEER = 7, 8, 9  # applied longitudinal acceleration [m/s^2], sine of the slip angle [-], front-wheel angle [rad]
LEN, WID, WBASE = 10, 11, 12  # length, width, wheelbase [m]
V0F, HT, AMAX, BCOMF, S0, POL, THR = 13, 14, 15, 16, 17, 18, 19  # IDM/MOBIL parameters (see traffic.STYLES)
SACC = 20  # scripted acceleration [m/s^2] (NaN: the driver model)
STOPPED = 21  # time spent stopped (speed < 0.1 m/s) [s]
DESIRED = 22  # the driver model's acceleration before the ego's own control [m/s^2] (the expert reads slot 0)
ALAT = 23  # lateral acceleration of the last step [m/s^2]
DIST_T0, DIST_FULL, DIST_HOLD, DIST_DROP, DIST_VREF = 24, 25, 26, 27, 28
# a traffic driver's speed disturbance (disturbances.py): when it began [s], its full drop of the
# desired-speed factor (0: none under way) [-], how long it holds at the full drop [s], the drop now [-],
# the undisturbed desired speed when it began, which times its phases [m/s]
NF = 29
FLOAT_FIELDS = ("x", "y", "h", "v", "s", "d", "road_h", "acc", "sin_beta", "steer", "length", "width", "wheelbase",
                "v0f", "T", "a", "b", "s0", "polite", "thr", "script_acc", "stopped_time", "desired_acc", "lat_acc",
                "disturb_t0", "disturb_full_drop", "disturb_hold", "disturb_drop", "disturb_v_ref")

# ---- per-vehicle ints: I[k] (N, V)
SEC, LANE, TLANE, KIND, STYLE, TURN, SLANE, BEST, NEXT = 0, 1, 2, 3, 4, 5, 6, 7, 8
# section, lane (by centre), target lane, kind, style, route draw [-], scripted lane (-1 none),
# lane chosen by MOBIL at the last decision, lane the vehicle takes after its target lane (-1 none)
YIELDING = 9  # slot this vehicle waits for at a junction conflict (-1: none)
HOPS = 10  # lane transitions since it entered the map (its route choices differ at every one)
NI = 11
INT_FIELDS = ("sec", "lane", "tlane", "kind", "style", "turn", "script_lane", "best_lane", "next_lane", "yielding_to", "hops")

# ---- per-vehicle bools: B[k] (N, V)
ACTIVE, IGNORE = 0, 1  # on the map; ignores red lights and give-way rules (scripted red-light runner, failure to yield)
NB = 2
BOOL_FIELDS = ("active", "ignore_rules")

# ---- per-world floats: WF[k] (N,)
TRAVELLED, EGO_TARGET, SPEED_FACTOR, LIGHT_T0, LEAD_GAP, LEAD_DV, EGO_STOP, LEAD_ACC = 0, 1, 2, 3, 4, 5, 6, 7
# ego distance driven [m], ego target speed (meta-actions) [m/s], traffic desired-speed factor [-],
# light cycle offset [s], the ego's leader: bumper gap [m] and closing speed [m/s], bumper distance to
# the nearest line where the ego must stop (red/amber light it can stop for, give-way line, lane end) [m],
# the acceleration of the ego's leader at its last step [m/s^2] (0 without one)
NWF = 8
WORLD_FLOAT_FIELDS = ("travelled", "ego_target_speed", "speed_factor", "light_offset", "ego_lead_gap", "ego_lead_dv",
                      "ego_stop_gap", "ego_lead_acc")

# ---- per-world ints: WI[k] (N,)
T, ROUTE_I, HIT, HIT_SLOT, CTYPE, NTARGET = 0, 1, 2, 3, 4, 5
# physics steps since reset, ego route index, what the ego hit, the slot it hit, collision type,
# number of traffic vehicles this episode keeps on the map (density)
NWI = 6
WORLD_INT_FIELDS = ("t", "route_i", "hit", "hit_slot", "collision_type", "traffic_target")

# ---- per-world bools: WB[k] (N,)
CRASHED, AT_FAULT, OFFROAD, RAN_RED, FAILED_YIELD = 0, 1, 2, 3, 4
NWB = 5
WORLD_BOOL_FIELDS = ("crashed", "at_fault", "offroad", "ran_red", "failed_to_yield")
