"""Speed disturbances of traffic drivers (numba, per world): now and then a driver slows down for
no reason the ego can see (a distraction, a look at the exit signs), holds the lower speed for a
few seconds and speeds up again. Vehicles behind brake in turn, so the disturbance travels
upstream as a small stop-and-go wave: traffic ahead of the ego does not keep one speed, and an
episode cannot be driven without watching it (issue 8's blind-replay measure).

A disturbance lowers the driver's desired-speed factor from 1 to ``depth`` (its desired speed
falls by ``DOWN_RATE`` x its comfortable deceleration ``b`` per second), holds it for ``hold``
seconds, then raises it back at its maximum acceleration ``a``; the driver model (IDM against its
leader, every other constraint as usual) does the rest, so a disturbed vehicle still follows the
vehicle ahead of it. IDM lags behind a falling desired speed and then brakes harder than the
desired speed falls: at ``DOWN_RATE`` = 0.8 the braking peaks at about ``b`` on a free road
(within 5%, tests/envs/driving/test_disturbances.py), as hard as the driver comfortably brakes.
Each undisturbed traffic driver starts one with probability ``rate`` x period at every
lane-change period (so ``rate`` counts per undisturbed second: on Highway, 1/30, a driver starts
one about every 43 s and is disturbed about a third of the time), drawn from counter-based random
numbers: the same seed gives the same disturbances in a batch or alone.
"""

from __future__ import annotations

import numpy as np

from .jit import no_alloc
from .params import P_DIST_DEPTH_HI, P_DIST_DEPTH_LO, P_DIST_HOLD_HI, P_DIST_HOLD_LO, P_DIST_RATE, P_DT, P_LC_STEPS
from .rng import uniform1
from .state import (ACTIVE, AMAX, BCOMF, DIST_DROP, DIST_FULL, DIST_HOLD, DIST_T0, DIST_VREF, KIND, LANE, SPEED_FACTOR, T,
                    TRAFFIC, V0F)
from .tables import LF_SPEED

DOWN_RATE = 0.8  # the desired speed falls at this fraction of the driver's comfortable deceleration [-]
# draw purposes, distinct from spawning.py's 0-13 under the same (seed, counter, slot) arguments
PUR_DISTURB, PUR_DIST_FULL, PUR_DIST_HOLD = np.uint64(14), np.uint64(15), np.uint64(16)


@no_alloc
def clear(F, w, i):
    """Slot i's driver is not disturbed (a new vehicle, or a new episode)."""
    F[DIST_T0, w, i], F[DIST_FULL, w, i], F[DIST_HOLD, w, i], F[DIST_DROP, w, i], F[DIST_VREF, w, i] = 0.0, 0.0, 0.0, 0.0, 0.0


@no_alloc
def drop_at(age, full, hold, v_ref, b, a):
    """Drop of the desired-speed factor [-] ``age`` seconds into a disturbance of full drop ``full``
    [-] held ``hold`` [s], for a driver whose undisturbed desired speed is ``v_ref`` [m/s], with
    comfortable deceleration ``b`` and maximum acceleration ``a`` [m/s^2]: down at ``DOWN_RATE * b / v_ref``
    per second, held, up at ``a / v_ref`` per second; negative once it is over."""
    t_down = full * v_ref / (DOWN_RATE * b)
    if age < t_down:
        return full * age / t_down
    if age < t_down + hold:
        return full
    t_up = full * v_ref / a
    if age < t_down + hold + t_up:
        return full * (1.0 - (age - t_down - hold) / t_up)
    return -1.0


@no_alloc
def update(F, I, B, WF, WI, seeds, tabs, P, w):
    """Start the disturbances due this step and set every traffic driver's present drop."""
    rate = P[P_DIST_RATE]
    if rate <= 0.0:
        return
    lc = int(P[P_LC_STEPS])
    dt = P[P_DT]
    t_now = WI[T, w] * dt
    due = WI[T, w] % lc == 0
    p_start = rate * lc * dt
    seed, c = seeds[w], np.uint64(WI[T, w])
    sf = WF[SPEED_FACTOR, w]
    for i in range(F.shape[2]):
        if not B[ACTIVE, w, i] or I[KIND, w, i] != TRAFFIC:
            continue
        k = np.uint64(i)
        if F[DIST_FULL, w, i] == 0.0:
            if not due or uniform1(seed, c, k, PUR_DISTURB) >= p_start:
                continue
            lo, hi = P[P_DIST_DEPTH_LO], P[P_DIST_DEPTH_HI]
            F[DIST_T0, w, i] = t_now
            F[DIST_FULL, w, i] = 1.0 - (lo + (hi - lo) * uniform1(seed, c, k, PUR_DIST_FULL))
            F[DIST_HOLD, w, i] = P[P_DIST_HOLD_LO] + (P[P_DIST_HOLD_HI] - P[P_DIST_HOLD_LO]) * uniform1(seed, c, k, PUR_DIST_HOLD)
            # fixed for the whole disturbance: a lane of another speed limit later must not shift its phases
            F[DIST_VREF, w, i] = max(tabs.LF[I[LANE, w, i], LF_SPEED] * F[V0F, w, i] * sf, 1.0)
        drop = drop_at(t_now - F[DIST_T0, w, i], F[DIST_FULL, w, i], F[DIST_HOLD, w, i], F[DIST_VREF, w, i], F[BCOMF, w, i],
                       F[AMAX, w, i])
        if drop < 0.0:
            clear(F, w, i)
        else:
            F[DIST_DROP, w, i] = drop
