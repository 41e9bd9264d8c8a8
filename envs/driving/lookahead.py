"""The expert's look one decision ahead, compiled with numba from the physics' own scalar models
(:func:`~.traffic.speed_command`, :func:`~.traffic.limit_slip`), so that it predicts what the
kernel will do without a second copy of the vehicle model."""

from __future__ import annotations

import numpy as np

from .jit import kernel
from .traffic import limit_slip, speed_command


@kernel
def level_after(v, targets, gain, max_brake, max_accel, v_max, dt, steps):
    """(speed [m/s], distance [m]) per world after ``steps`` physics steps of ``dt`` [s] with the
    meta-action speed controller tracking ``targets`` [m/s] from speeds ``v`` [m/s], both (N,)."""
    n = v.shape[0]
    v_end, dist = np.empty(n), np.zeros(n)
    for w in range(n):
        vw = v[w]
        for _ in range(steps):
            a = speed_command(vw, targets[w], gain, max_brake, max_accel)
            dist[w] += vw * dt
            vw = min(max(vw + a * dt, 0.0), v_max)
        v_end[w] = vw
    return v_end, dist


@kernel
def play(e, eh, steer0, v0, wheelbase, kappa, steer, acc, max_steer, steer_rate, lat_accel, v_max, dt, steps, horizon):
    """Hold each candidate (front-wheel angle ``steer`` [rad], acceleration ``acc`` [m/s^2], both
    (N, C)) for ``steps`` physics steps of ``dt`` [s], in the road's frame: lateral error ``e`` [m]
    from the target lane's centre, heading error ``eh`` [rad], current front-wheel angle ``steer0``
    [rad] and speed ``v0`` [m/s], the road's curvature ``kappa`` [1/m] (all (N,)), under the
    steering-rate and friction limits of the physics. Returns the lateral cost (squared lateral
    error along the way and at the end, plus the heading error at the end as metres ``horizon``
    [s] on) [m^2] and the speed at the end [m/s], both (N, C)."""
    n, c = steer.shape
    cost, v_end = np.empty((n, c)), np.empty((n, c))
    for w in range(n):
        wb = wheelbase[w]
        for k in range(c):
            E, H, S, V = e[w], eh[w], steer0[w], v0[w]
            total = 0.0
            for _ in range(steps):
                S, sb = limit_slip(S, steer[w, k], V, wb, max_steer, steer_rate, lat_accel, dt)
                H = H + V * dt * (sb / (0.5 * wb) - kappa[w])
                E = E + V * dt * np.sin(H)
                V = min(max(V + acc[w, k] * dt, 0.0), v_max)
                total += E * E * dt
            cost[w, k] = total + E * E + (horizon * V * np.sin(H)) ** 2
            v_end[w, k] = V
    return cost, v_end
