"""Gymnasium layer over the driving engine: one env (:class:`DrivingEnv`) and a natively
batched vector env (:class:`DrivingVectorEnv`). Both run the same :class:`DrivingCore`, which
holds a :class:`~.world.World` of N worlds and does actions, sensors, rewards and events as
array operations; the single env is the core with N = 1.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import sensors as S
from .collision import COLLISION_TYPES
from .ego_log import EgoDynamics
from .config import DrivingConfig, HighwayConfig, IntersectionConfig, MergeConfig, RacetrackConfig, RoundaboutConfig, make_config
from .world import HIT_NAMES, World

META_ACTIONS = ("lane_left", "idle", "lane_right", "faster", "slower")
_HIT_NAMES = np.array(HIT_NAMES)
_COLLISION_TYPES = np.array(COLLISION_TYPES)
DISCRETE_ACTIONS = ("none", "accelerate", "brake", "left", "left_brake", "right", "right_brake")


def _sensor(name: str, c: DrivingConfig):
    if name == "lidar":
        return S.Lidar(c.lidar_beams, c.lidar_fov, c.lidar_range, c.lidar_noise)
    if name == "kinematics":
        return S.Kinematics(c.kinematics_vehicles, 100.0, c.max_speed, c.emergency_decel)
    if name == "occupancy":
        return S.OccupancyGrid(c.grid_cells, c.grid_cell_size)
    if name == "birdseye":
        from .birdseye import BirdsEye

        return BirdsEye(c.birdseye_width, c.birdseye_height, c.birdseye_scale, c.birdseye_look_ahead, c.birdseye_history, c.max_speed)
    return S.Camera(c.camera_width, c.camera_height, c.camera_scale, c.camera_ahead)


def _box(spec: S.SpaceSpec) -> spaces.Box:
    return spaces.Box(low=spec.low, high=spec.high, shape=spec.shape, dtype=spec.dtype)


class DrivingCore:
    """Actions, sensors, rewards and events over the N worlds of one :class:`World`."""

    def __init__(self, cfg: DrivingConfig, n: int):
        self.cfg = cfg
        self.map = cfg.build_map()
        self.world = World(self.map, n, cfg.world_params(), "lane" if cfg.action == "meta" else "direct")
        self.n = n
        self.sensors = {name: _sensor(name, cfg) for name in cfg.observation}
        self.levels = np.asarray(cfg.target_speeds, float)
        self.speed_idx = np.zeros(n, np.int64)
        self.prev_progress = np.zeros(n)
        self.completed = np.zeros(n, bool)
        self.last_lidar = None
        #: a scenario script (see ``envs.driving.scenario``) or None: ``reset(core, rows)`` after the
        #: world's reset, ``before_physics_step(core)`` before every physics step
        self.script = None
        #: ego dynamics over the last env step (max over its physics steps; comfort and safety metrics)
        self.dyn = EgoDynamics(n)
        d = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 1], [-1, 0, 0], [-1, 0, 1]], float)
        self.discrete_table = d * np.array([cfg.discrete_steer, cfg.discrete_throttle, cfg.discrete_brake])

    # spaces
    def observation_space(self) -> spaces.Space:
        boxes = {k: _box(s.space()) for k, s in self.sensors.items()}
        return next(iter(boxes.values())) if len(boxes) == 1 else spaces.Dict(boxes)

    def action_space(self) -> spaces.Space:
        if self.cfg.action == "meta":
            return spaces.Discrete(len(META_ACTIONS))
        if self.cfg.action == "discrete":
            return spaces.Discrete(len(DISCRETE_ACTIONS))
        return spaces.Box(np.array([-1.0, 0.0, 0.0], np.float32), np.array([1.0, 1.0, 1.0], np.float32), dtype=np.float32)

    # episode
    def reset(self, rows, seeds) -> None:
        rows = np.asarray(rows, np.int64)
        self.world.reset(rows, seeds)
        self.speed_idx[rows] = int(np.argmin(np.abs(self.levels - self.cfg.ego_speed)))
        if self.cfg.action == "meta":
            self.world.ego_target_speed[rows] = self.levels[self.speed_idx[rows]]
        self.prev_progress[rows] = self.world.ego_progress()[rows]
        self.completed[rows] = False
        if self.script is not None:
            self.script.reset(self, rows)
            self.prev_progress[rows] = self.world.ego_progress()[rows]
            self.world.ego_decisions(rows)  # the ego's leader as the script placed the vehicles
        self.dyn.reset(self.world, rows)

    def observe(self) -> dict[str, np.ndarray]:
        out = {}
        for k, s in self.sensors.items():
            if k == "lidar":
                d, code = s.scan(self.world)
                self.last_lidar = d
                out[k] = np.stack([d / s.max_range, code], -1).astype(np.float32)
            else:
                out[k] = s.observe(self.world)
        return out

    def _controls(self, actions):
        w, c, p = self.world, self.cfg, self.world.p
        if c.action == "meta":
            a = np.asarray(actions, np.int64).reshape(self.n)
            r = w.road
            tl = w.tlane[:, 0]
            left, right = r.lane_left[tl], r.lane_right[tl]
            tl = np.where((a == 0) & (left >= 0), left, tl)
            tl = np.where((a == 2) & (right >= 0), right, tl)
            w.tlane[:, 0] = tl
            self.speed_idx = np.clip(self.speed_idx + (a == 3) - (a == 4), 0, len(self.levels) - 1)
            w.ego_target_speed = self.levels[self.speed_idx]
            return None, None
        if c.action == "discrete":
            u = self.discrete_table[np.asarray(actions, np.int64).reshape(self.n)]
        else:
            u = np.clip(np.asarray(actions, float).reshape(self.n, 3), [-1, 0, 0], [1, 1, 1])
        return u[:, 0] * p.max_steer, u[:, 1] * p.max_accel - u[:, 2] * p.max_brake

    def step(self, actions, on_physics_step=None):
        """Apply actions, run ``substeps`` physics steps, return (reward, terminated, info).

        ``on_physics_step(k)``, if given, is called after physics step ``k`` (e.g. to draw the
        intermediate frames of a recording)."""
        w, c = self.world, self.cfg
        steer, acc = self._controls(actions)
        w.clear_events()
        self.dyn.start_step()
        for k in range(c.substeps):  # time steps, not vehicles
            if self.script is not None:
                self.script.before_physics_step(self)
            w.step(steer, acc)
            self.dyn.update(w)
            if on_physics_step is not None:
                on_physics_step(k)
        return self._reward_and_events()

    def _reward_and_events(self):
        w, c, r = self.world, self.cfg, self.world.road
        prog = w.ego_progress()
        dprog = prog - self.prev_progress
        self.prev_progress = prog
        completion = np.clip(prog / w.route_length, 0.0, 1.0)
        newly_done = (prog >= w.route_length) & ~self.completed
        self.completed |= newly_done
        lane = w.lane[:, 0]
        e = (w.d[:, 0] - r.lane_offset[lane]) / (0.5 * r.lane_width[lane])
        vf = w.v[:, 0] * np.cos(w.h[:, 0] - w.road_h[:, 0])
        lo, hi = c.reward_speed_range
        time_gap = w.ego_lead_gap / np.maximum(w.v[:, 0], 1.0)  # [s]; inf without a leader
        terms = {
            "progress": c.progress_weight * dprog / (c.max_speed / c.policy_frequency),
            "speed": c.speed_weight * np.clip((vf - lo) / max(hi - lo, 1e-6), 0.0, 1.0),
            "centering": -c.centering_weight * np.minimum(e * e, 1.0),
            "collision": c.collision_reward * w.crashed,
            "offroad": c.offroad_reward * w.offroad,
            "red_light": c.red_light_reward * w.ran_red,
            "goal": c.goal_reward * newly_done,
            "headway": -c.headway_weight * np.clip(1.0 - time_gap / c.headway_time, 0.0, 1.0),
            "ttc": -c.ttc_weight * np.clip(1.0 - self.dyn.min_ttc / c.ttc_time, 0.0, 1.0),
        }
        reward = sum(terms.values())
        terminated = w.crashed | (w.offroad & c.terminate_offroad) | self.completed
        info = {f"reward_{k}": v.astype(float) for k, v in terms.items()}
        info.update(
            crashed=w.crashed.copy(),
            hit=_HIT_NAMES[w.hit],
            offroad=w.offroad.copy(),
            ran_red_light=w.ran_red.copy(),
            failed_to_yield=w.failed_to_yield.copy(),
            distance=w.travelled.copy(),
            route_completion=completion,
            route_completed=self.completed.copy(),
            speed=w.v[:, 0].copy(),
            speed_limit=r.lane_speed[lane],
            at_fault=w.crashed & w.at_fault,
            collision_type=_COLLISION_TYPES[w.collision_type],
            max_accel_lon=self.dyn.max_alon.copy(),
            max_accel_lat=self.dyn.max_alat.copy(),
            max_jerk_lon=self.dyn.max_jlon.copy(),
            max_jerk_lat=self.dyn.max_jlat.copy(),
            min_ttc=self.dyn.min_ttc.copy(),
        )
        return reward.astype(float), terminated, info


class DrivingEnv(gym.Env):
    """Top-down driving with traffic (base class; see the registered subclasses).

    ## Action space
    Chosen by ``config.action``:
    - ``"meta"``: ``Discrete(5)`` = lane left, idle, lane right, faster, slower. A low-level
      controller follows the target lane (lateral cascade controller) and the target speed
      (one of ``target_speeds``, P-controller).
    - ``"discrete"``: ``Discrete(7)`` = none, accelerate, brake, left, left+brake, right,
      right+brake (fixed steering/throttle/brake fractions from the config).
    - ``"continuous"``: ``Box([-1, 0, 0], [1, 1, 1])`` = steer (left positive, fraction of the
      max wheel angle), throttle and brake fractions.

    ## Observation space
    ``config.observation`` lists sensors; one gives its array, several a ``Dict``:
    ``kinematics`` (2+K, 8) in [-1, 1]; ``lidar`` (beams, 2) = normalized distance, hit code
    (0 none, 1 vehicle, 2 road edge, 3 obstacle); ``occupancy`` (2, G, G) = vehicles, road;
    ``camera`` (H, W, 3) uint8 ego-centred top-down image rotated with the ego;
    ``birdseye`` (7 + history + 1, H, W) uint8 ChauffeurNet-style raster, one channel per kind
    of information (channel table in :mod:`envs.driving.birdseye`).

    ## Rewards
    Sum of terms, each reported in ``info["reward_<name>"]``: ``progress`` along the route,
    ``speed`` (linear in ``reward_speed_range``), ``centering`` (penalty), ``collision``,
    ``offroad``, ``red_light``, ``goal`` (route completed), ``headway`` (penalty while the time gap
    to the leader in the ego's lane is under ``headway_time``), ``ttc`` (penalty while the time to
    collision with it is under ``ttc_time``).

    ## Episode end
    Terminated on collision, off-road (``terminate_offroad``) or route completion. Truncated
    by the registered time limit (``TimeLimit``). ``info`` events: ``crashed``, ``hit`` (what
    was hit), ``collision_type`` (nuPlan's: stopped_ego, stopped_track, active_front,
    active_rear, active_lateral), ``at_fault`` (the ego caused it: active_front, stopped_track,
    or active_lateral while straddling lanes, off the road or inside a junction), ``offroad``,
    ``ran_red_light`` (its front crossed a stop line on red), ``failed_to_yield`` (it entered a
    junction conflict zone ahead of a vehicle with the right of way that would reach the zone
    before the ego cleared it),
    ``distance`` [m], ``route_completion`` [0, 1], ``speed`` and ``speed_limit`` [m/s], and over the
    step's physics steps ``max_accel_lon``/``max_accel_lat`` [m/s^2], ``max_jerk_lon``/``max_jerk_lat``
    [m/s^3], ``min_ttc`` [s] (time to collision with the leader; inf when not closing).

    ## Rendering
    ``render_mode``: ``"rgb_array"`` (``render()`` returns the frame now), ``"rgb_array_list"``
    (``render()`` returns every frame since the last ``reset``/``render``: the first state, then
    one frame per physics step, ``sim_frequency / policy_frequency`` per ``step``) or ``"human"``
    (a pygame window showing every physics step). ``metadata["render_fps"]`` is the real-time rate
    of those frames: ``sim_frequency`` for ``"rgb_array_list"``/``"human"``, the decision rate for
    ``"rgb_array"``, so a video written at that rate (e.g. ``gymnasium.utils.save_video``) plays
    in real time.

    ## Arguments
    ``gym.make(id, render_mode=None, config=None, **overrides)``: ``config`` is the env's
    config dataclass or a mapping; keyword overrides are config keys. Unknown keys, wrong
    types and out-of-range values raise at construction. ``reset(seed, options)`` accepts
    ``options={"ego_lane": k}`` (index into the start lanes) and ``options={"scenario": script}``
    (a scenario script, see :mod:`envs.driving.scenario`, played during that episode).

    ## Version history
    - v0: initial version. Changed in place before the first release (ids to be bumped from then on):
      Highway's traffic got speed disturbances and its episodes 75 s instead of 60; the kinematics
      observation got an 8th column, each vehicle's commanded acceleration; its ego row got the leader's
      gap and relative speed (two columns that were 0); the reward got optional headway and
      time-to-collision terms (weight 0 unless an env sets it: Highway 1, Merge 3); the bird's-eye raster
      got an ``ego_speed`` channel (index 6; the vehicle channels moved to 7 and on).
    """

    metadata = {"render_modes": ["human", "rgb_array", "rgb_array_list"], "render_fps": 15}  # render_fps: set per instance
    Config: type = DrivingConfig

    def __init__(self, render_mode: str | None = None, config: Any = None, **kwargs):
        self.config = make_config(self.Config, config, kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        c = self.config
        per_physics_step = render_mode in ("human", "rgb_array_list")
        self.metadata = {**type(self).metadata, "render_fps": float(c.sim_frequency / (1 if per_physics_step else c.substeps))}
        self._frames: list[np.ndarray] = []  # "rgb_array_list": frames since the last reset/render
        self.core = DrivingCore(self.config, 1)
        self.observation_space = self.core.observation_space()
        self.action_space = self.core.action_space()
        self._window = None
        self._clock = None
        self._last_reward = 0.0
        self._last_info: dict = {}

    @property
    def world(self) -> World:
        return self.core.world

    def _obs(self):
        o = self.core.observe()
        if len(o) == 1:
            return next(iter(o.values()))[0]
        return {k: v[0] for k, v in o.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        ws = np.uint64(self.np_random.integers(0, 2**63 - 1))
        self.core.script = (options or {}).get("scenario")  # a scenario script for this episode, or None
        self.core.reset(np.array([0]), np.array([ws], np.uint64))
        if options and "ego_lane" in options:
            self._place_ego_lane(int(options["ego_lane"]))
        self._last_reward, self._last_info = 0.0, {}
        obs = self._obs()
        self._frames = []
        self._emit_frame()
        return obs, {"route_completion": 0.0, "distance": 0.0}

    def _place_ego_lane(self, k: int) -> None:
        w, m = self.world, self.core.map
        if not 0 <= k < len(m.start_lanes):
            raise ValueError(f"options['ego_lane'] must be in [0, {len(m.start_lanes) - 1}]")
        w.place_obstacle(0, 0, int(m.start_lanes[k]), m.start_s, float(w.length[0, 0]), float(w.width[0, 0]), kind=0,
                         speed=float(w.v[0, 0]))
        self.core.prev_progress[0] = w.ego_progress()[0]
        self.core.dyn.reset(w, np.array([0]))

    def step(self, action):
        hook = self._physics_frame if self.render_mode in ("human", "rgb_array_list") else None
        reward, terminated, info = self.core.step(np.asarray(action)[None], on_physics_step=hook)
        obs = self._obs()
        info = {k: (v[0].item() if isinstance(v[0], np.generic) else v[0]) for k, v in info.items()}
        info["hit"] = str(info["hit"])
        info["collision_type"] = str(info["collision_type"])
        self._last_reward, self._last_info = float(reward[0]), info
        self._emit_frame()  # the step's last physics frame, drawn once its reward and events are known
        return obs, float(reward[0]), bool(terminated[0]), False, info

    def expert_action(self):
        """Action of the built-in rule-based autopilot (IDM/MOBIL, route, red lights) now."""
        from .expert import expert_actions

        return expert_actions(self.core)[0]

    # rendering
    def _physics_frame(self, k: int) -> None:
        """``DrivingCore.step`` hook: show or collect the frame of physics step ``k`` (not the last)."""
        if k + 1 < self.config.substeps:
            self._emit_frame()

    def _emit_frame(self) -> None:
        if self.render_mode == "human":
            self.render()
        elif self.render_mode == "rgb_array_list":
            self._frames.append(self._frame())

    def _frame(self) -> np.ndarray:
        from .render import draw_hud, draw_view

        c = self.config
        lidar = None
        if "lidar" in self.core.sensors:  # scanned now: frames between decisions show current rays
            lidar_sensor = self.core.sensors["lidar"]
            lidar = (lidar_sensor.scan(self.world)[0][0], lidar_sensor.angles())
        img = draw_view(self.world, 0, c.render_width, c.render_height, c.render_scale, rotate=False, lidar=lidar)
        i = self._last_info
        ev = [k for k in ("crashed", "offroad", "ran_red_light", "route_completed") if i.get(k)]
        lines = [
            f"speed {self.world.v[0, 0] * 3.6:5.1f} km/h  reward {self._last_reward:+.2f}",
            f"route {100 * i.get('route_completion', 0.0):5.1f}%  dist {i.get('distance', 0.0):6.1f} m",
        ]
        if ev:
            lines.append("events: " + ", ".join(ev) + (f" ({i.get('hit')})" if i.get("crashed") else ""))
        return draw_hud(img, lines)

    def render(self):
        """The frame now (``"rgb_array"``), the frames since the last reset/render
        (``"rgb_array_list"``), or show the frame now in the window (``"human"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode")
            return None
        if self.render_mode == "rgb_array_list":
            frames, self._frames = self._frames, []
            return frames
        frame = self._frame()
        if self.render_mode == "rgb_array":
            return frame
        try:
            import pygame
        except ImportError as e:  # pragma: no cover
            raise gym.error.DependencyNotInstalled("pygame is needed for render_mode='human'") from e
        if self._window is None or not pygame.display.get_init() or pygame.display.get_surface() is None:
            pygame.init()
            pygame.display.init()
            self._window = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            pygame.display.set_caption(type(self).__name__)
            self._clock = pygame.time.Clock()
        surf = pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2)))
        self._window.blit(surf, (0, 0))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])
        return None

    def close(self):
        if self._window is not None:
            import pygame

            pygame.display.quit()
            pygame.quit()
            self._window = None


def _env_doc(summary: str) -> str:
    """A registered env's docstring: the base class's, headed by its own one-line summary."""
    return (DrivingEnv.__doc__ or "").replace(
        "Top-down driving with traffic (base class; see the registered subclasses).", summary
    )


class HighwayEnv(DrivingEnv):
    __doc__ = _env_doc("``simdrive/Highway-v0``: drive 750 m of a 4-lane highway in 75 s among 50 IDM/MOBIL vehicles that "
                       "slow down now and then (speed disturbances).")
    Config = HighwayConfig


class RacetrackEnv(DrivingEnv):
    __doc__ = _env_doc("``simdrive/Racetrack-v0``: one lap of a closed curvy two-lane track (continuous control).")
    Config = RacetrackConfig


class MergeEnv(DrivingEnv):
    __doc__ = _env_doc("``simdrive/Merge-v0``: a two-lane highway where on-ramp traffic merges in.")
    Config = MergeConfig


class IntersectionEnv(DrivingEnv):
    __doc__ = _env_doc("``simdrive/Intersection-v0``: turn left at a signalized four-way intersection (lights on a timed cycle).")
    Config = IntersectionConfig


class RoundaboutEnv(DrivingEnv):
    __doc__ = _env_doc("``simdrive/Roundabout-v0``: enter a roundabout giving way to the ring, leave at the second exit.")
    Config = RoundaboutConfig


class DrivingVectorEnv(VectorEnv):
    """N driving worlds stepped as one array program (next-step autoreset).

    World ``i`` reset with ``seed + i`` steps exactly like the single env reset with that
    seed. Truncation after ``max_episode_steps`` env steps (from the registration).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15, "autoreset_mode": AutoresetMode.NEXT_STEP}
    Env: type = DrivingEnv

    def __init__(self, num_envs: int = 1, max_episode_steps: int | None = None, render_mode: str | None = None, config: Any = None, **kwargs):
        self.config = make_config(self.Env.Config, config, kwargs)
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.core = DrivingCore(self.config, self.num_envs)
        self.single_observation_space = self.core.observation_space()
        self.single_action_space = self.core.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.max_episode_steps = max_episode_steps
        self._rngs = [seeding.np_random(None)[0] for _ in range(self.num_envs)]
        self._elapsed = np.zeros(self.num_envs, np.int64)
        self._autoreset = np.zeros(self.num_envs, bool)

    def _obs(self):
        o = self.core.observe()
        return next(iter(o.values())) if len(o) == 1 else o

    def _reset_rows(self, rows):
        seeds = np.array([self._rngs[i].integers(0, 2**63 - 1) for i in rows], np.uint64)
        self.core.reset(rows, seeds)
        self._elapsed[rows] = 0

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed)
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
        rows = np.arange(self.num_envs)
        if options and "reset_mask" in options:
            rows = np.nonzero(np.asarray(options["reset_mask"]))[0]
        self._reset_rows(rows)
        self._autoreset[rows] = False
        return self._obs(), {}

    def step(self, actions):
        reward, term, info = self.core.step(actions)
        trunc = np.zeros(self.num_envs, bool)
        self._elapsed += 1
        if self.max_episode_steps is not None:
            trunc = self._elapsed >= self.max_episode_steps  # as gymnasium's TimeLimit
        done_before = np.nonzero(self._autoreset)[0]
        if done_before.size:
            self._reset_rows(done_before)
            reward[done_before] = 0.0
            term[done_before] = False
            trunc[done_before] = False
        self._autoreset = term | trunc
        return self._obs(), reward, term, trunc, info

    def expert_actions(self):
        from .expert import expert_actions

        return expert_actions(self.core)

    def render(self):
        from .render import draw_view

        c = self.config
        return draw_view(self.core.world, 0, c.render_width, c.render_height, c.render_scale, rotate=False)


class HighwayVectorEnv(DrivingVectorEnv):
    Env = HighwayEnv


class RacetrackVectorEnv(DrivingVectorEnv):
    Env = RacetrackEnv


class MergeVectorEnv(DrivingVectorEnv):
    Env = MergeEnv


class IntersectionVectorEnv(DrivingVectorEnv):
    Env = IntersectionEnv


class RoundaboutVectorEnv(DrivingVectorEnv):
    Env = RoundaboutEnv
