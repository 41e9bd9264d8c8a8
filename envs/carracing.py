"""Gymnasium's ``CarRacing-v3`` as in the deep-learning text's imitation chapter: seven discrete
actions, 84x84 frames, and a scripted track-following driver to learn from.

``simdrive/CarRacing-v0`` (registered when Box2D is installed: ``pip install 'simdrive[carracing]'``)
is CarRacing-v3 (continuous controls underneath) with:

- Action space ``Discrete(7)``, the driving simulator's order: 0 none, 1 accelerate, 2 brake,
  3 left, 4 left+brake, 5 right, 6 right+brake (steer +-1, gas 1, brake 0.8), as the text's
  ``available_actions``; the keyboard mapping of ``simdrive drive`` fits it.
- Observation ``(84, 84, 3)`` uint8: the 96x96 frame (indicator bar included: speed, ABS,
  steering) resized with area averaging.
- Reward, termination and truncation exactly as CarRacing-v3 (+1000/N per new track tile,
  -0.1 per frame, -100 and terminated when leaving the playfield; 1000 steps).
- ``expert_action()``: :func:`track_following_action`, a pure-pursuit driver on the track's
  waypoints (privileged: it reads the car's pose and the track), turned into the nearest of
  the seven actions. It is the demonstrator of ``simdrive collect expert simdrive/CarRacing-v0``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from gymnasium import spaces
from gymnasium.envs.box2d.car_racing import CarRacing

#: steer (right positive, as CarRacing), gas, brake of the seven actions
ACTIONS = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0.8], [-1, 0, 0], [-1, 0, 0.8], [1, 0, 0], [1, 0, 0.8]], np.float64)
FRAME = 84  # observation side [px]


class CarRacing7Env(CarRacing):
    """CarRacing-v3 with seven discrete actions, 84x84 frames and a scripted expert (module doc)."""

    def __init__(self, render_mode: str | None = None, lap_complete_percent: float = 0.95, domain_randomize: bool = False,
                 look_ahead: int = 8, cruise_speed: float = 70.0, corner_speed: float = 35.0, dead_band: float = 0.15):
        super().__init__(render_mode=render_mode, lap_complete_percent=lap_complete_percent,
                         domain_randomize=domain_randomize, continuous=True)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self.observation_space = spaces.Box(0, 255, (FRAME, FRAME, 3), np.uint8)
        self.look_ahead = int(look_ahead)  # waypoints ahead the driver steers for [-]
        self.cruise_speed = float(cruise_speed)  # driver's speed on straights [m/s, Box2D units]
        self.corner_speed = float(corner_speed)  # driver's speed in the sharpest corners [m/s]
        self.dead_band = float(dead_band)  # heading error the driver tolerates before steering [rad]

    @staticmethod
    def _frame(obs: np.ndarray) -> np.ndarray:
        return cv2.resize(obs, (FRAME, FRAME), interpolation=cv2.INTER_AREA)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return self._frame(obs), info

    def step(self, action):
        if action is None:  # CarRacing's reset renders its first frame through step(None); reset() resizes it
            return super().step(None)
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, got {action!r}")
        obs, reward, terminated, truncated, info = super().step(ACTIONS[int(action)])
        return self._frame(obs), reward, terminated, truncated, info

    def expert_action(self) -> int:
        """The scripted driver's action now (one of the seven)."""
        return track_following_action(self)


def track_following_action(env: CarRacing7Env) -> int:
    """Pure pursuit on the track's centre line with a curvature-dependent target speed.

    The target is the waypoint ``look_ahead`` tiles past the nearest one; the heading error
    to it (car frame: forward +y, right +x) sets the steering side (beyond ``dead_band``);
    the largest direction change over the next 12 tiles sets the target speed between
    ``corner_speed`` and ``cruise_speed``. Brake (with steering) when more than 15% too
    fast, accelerate when slower than the target and nearly straight, else coast.
    """
    car, track = env.car, env.track
    if car is None or not track:
        return 0
    hull = car.hull
    x, y, a = float(hull.position[0]), float(hull.position[1]), float(hull.angle)
    pts = np.asarray([(t[2], t[3]) for t in track])
    n = len(pts)
    i = int(np.argmin(np.hypot(pts[:, 0] - x, pts[:, 1] - y)))
    tx, ty = pts[(i + env.look_ahead) % n]
    dx, dy = tx - x, ty - y
    right = dx * math.cos(a) + dy * math.sin(a)  # car frame: +x right, +y forward
    ahead = -dx * math.sin(a) + dy * math.cos(a)
    err = math.atan2(right, ahead)
    betas = np.unwrap(np.asarray([track[(i + k) % n][1] for k in range(13)]))
    bend = float(np.max(np.abs(betas - betas[0])))
    target = env.corner_speed + (env.cruise_speed - env.corner_speed) * max(0.0, 1.0 - bend / 1.2)
    v = float(np.hypot(hull.linearVelocity[0], hull.linearVelocity[1]))
    steer = 0 if abs(err) < env.dead_band else (1 if err > 0 else -1)
    if v > 1.15 * target:
        return {0: 2, -1: 4, 1: 6}[steer]
    if steer == 0:
        return 1 if v < target else 0
    return 3 if steer < 0 else 5
