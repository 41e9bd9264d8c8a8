"""Cart-pole balancing with Gymnasium ``CartPole-v1`` dynamics, single and natively batched.

The physics lives in ONE function, :func:`cartpole_dynamics`: it takes the state (shape
``(4,)`` for one cart, ``(N, 4)`` for N carts) and the action(s), and both :class:`CartPoleEnv`
and :class:`CartPoleVectorEnv` call it. The equations, constants, operation order and Euler integration are those of
Gymnasium's ``envs/classic_control/cartpole.py`` (itself from Sutton's ``pole.c``), so with
the same seed and actions the trajectories agree with Gymnasium's to the last bit
(``tests/envs/test_cartpole.py`` checks it to 1e-9 over more than 10,000 steps).

Rendering (``rgb_array``) is drawn with opencv on a numpy array, headless and without
pygame; ``human`` shows those frames in a pygame window (pygame imported lazily).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import logger, spaces
from gymnasium.envs.classic_control import utils as _cc_utils
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = [
    "CartPoleParams",
    "CartPoleEnv",
    "CartPoleVectorEnv",
    "cartpole_dynamics",
    "cartpole_terminated",
    "render_cartpole",
]


# --------------------------------------------------------------------------------------
# Parameters and the one physics implementation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartPoleParams:
    """Physical constants of the cart-pole; the defaults are Gymnasium's CartPole-v1."""

    gravity: float = 9.8  # gravitational acceleration [m/s^2]
    masscart: float = 1.0  # mass of the cart [kg]
    masspole: float = 0.1  # mass of the pole [kg]
    length: float = 0.5  # HALF the pole's length (pivot to centre of mass) [m]
    force_mag: float = 10.0  # magnitude of the push applied by an action [N]
    tau: float = 0.02  # time between state updates [s]
    kinematics_integrator: Literal["euler", "semi-implicit euler"] = "euler"  # integration scheme [-]
    theta_threshold_radians: float = 12 * 2 * math.pi / 360  # |pole angle| that ends the episode [rad]
    x_threshold: float = 2.4  # |cart position| that ends the episode [m]

    # Derived in __post_init__, not arguments:
    total_mass: float = field(init=False, repr=False, compare=False)  # masscart + masspole [kg]
    polemass_length: float = field(init=False, repr=False, compare=False)  # masspole * length [kg m]
    force_table: np.ndarray = field(init=False, repr=False, compare=False)  # force of action 0, 1 [N]

    def __post_init__(self) -> None:
        if self.kinematics_integrator not in ("euler", "semi-implicit euler"):
            raise ValueError(
                "kinematics_integrator must be 'euler' or 'semi-implicit euler', "
                f"got {self.kinematics_integrator!r}"
            )
        object.__setattr__(self, "total_mass", self.masspole + self.masscart)
        object.__setattr__(self, "polemass_length", self.masspole * self.length)
        table = np.array([-self.force_mag, self.force_mag], dtype=np.float64)
        table.flags.writeable = False
        object.__setattr__(self, "force_table", table)


DEFAULT_PARAMS = CartPoleParams()


def cartpole_dynamics(state: np.ndarray, action, params: CartPoleParams = DEFAULT_PARAMS) -> np.ndarray:
    """Advance cart-poles by one time step ``tau``; the only copy of the physics.

    Args:
        state: ``(x [m], x_dot [m/s], theta [rad], theta_dot [rad/s])`` as a ``(4,)`` float64
            array for one cart, or an ``(N, 4)`` float64 array (one row per cart, any memory order;
            column-major is fastest) for N carts. ``theta`` = 0 is upright, positive leans right.
        action: 0 (push left) or 1 (push right): an int for one cart, an ``(N,)`` integer array
            (values already checked to be in {0, 1}) for N carts.
        params: the physical constants.

    Returns:
        The next state, same shape as ``state`` (a new array; a column-major ``(N, 4)`` input gives
        a column-major output). The arithmetic is element-wise and in the same order as Gymnasium's ``CartPoleEnv.step``, so
        results are bit-identical to it.
    """
    if state.ndim == 1:
        # One cart: the same formulas below on Python floats (IEEE doubles like numpy's, ~3x
        # cheaper per operation than numpy scalars); cos/sin still come from numpy.
        x, x_dot, theta, theta_dot = state.tolist()
        force = params.force_mag if action == 1 else -params.force_mag  # [N]
        costheta = float(np.cos(theta))
        sintheta = float(np.sin(theta))
    else:
        x, x_dot, theta, theta_dot = state.T  # columns of (N, 4)
        force = params.force_table[action]  # -force_mag for action 0, +force_mag for 1 [N]
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
    total_mass = params.total_mass
    polemass_length = params.polemass_length
    # https://coneural.org/florian/papers/05_cart_pole.pdf ; x * x == np.square(x) exactly
    temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
    thetaacc = (params.gravity * sintheta - costheta * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * (costheta * costheta) / total_mass)
    )
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    tau = params.tau
    if params.kinematics_integrator == "euler":
        # (x, x_dot, theta, theta_dot) += tau * (x_dot, xacc, theta_dot, thetaacc), as one array
        # expression for one or N carts (for N carts: (N, 4), column-major like the input).
        return state + tau * np.array((x_dot, xacc, theta_dot, thetaacc), dtype=np.float64).T
    # semi-implicit Euler: velocities first, positions with the new velocities
    x_dot = x_dot + tau * xacc
    x = x + tau * x_dot
    theta_dot = theta_dot + tau * thetaacc
    theta = theta + tau * theta_dot
    return np.array((x, x_dot, theta, theta_dot), dtype=np.float64).T


def cartpole_terminated(x, theta, params: CartPoleParams = DEFAULT_PARAMS):
    """True where the cart left ``[-x_threshold, x_threshold]`` or the pole fell past the angle limit.

    Works element-wise on floats or arrays (``abs`` and ``|`` are exact, so this equals
    Gymnasium's ``x < -t or x > t or ...``).
    """
    return (abs(x) > params.x_threshold) | (abs(theta) > params.theta_threshold_radians)


def _observation_space(params: CartPoleParams) -> spaces.Box:
    # Angle limit set to 2 * theta_threshold so a failing observation is still within bounds.
    high = np.array(
        [params.x_threshold * 2, np.inf, params.theta_threshold_radians * 2, np.inf], dtype=np.float32
    )
    return spaces.Box(-high, high, dtype=np.float32)


# --------------------------------------------------------------------------------------
# Rendering (numpy + opencv, shared by both envs)
# --------------------------------------------------------------------------------------

_SHIFT = 4  # opencv sub-pixel bits
_SCALE_SUB = float(1 << _SHIFT)
_POLE_COLOUR = (202, 152, 101)
_AXLE_COLOUR = (129, 132, 203)


def render_cartpole(
    x: float, theta: float, params: CartPoleParams = DEFAULT_PARAMS, width: int = 600, height: int = 400
) -> np.ndarray:
    """Draw one cart-pole as an RGB ``(height, width, 3)`` uint8 image, like Gymnasium's.

    Geometry follows Gymnasium's renderer: the world ``[-2 x_threshold, 2 x_threshold]`` spans the
    width, the track is a black line 100 px above the bottom, the cart is 50 x 30 px, the pole
    10 px wide and ``2 * length`` metres long, with a blue axle.

    Args:
        x: cart position [m].
        theta: pole angle from upright [rad], positive leaning right.
        params: supplies ``x_threshold`` and ``length``.
        width, height: image size [px].
    """
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    scale = width / (params.x_threshold * 2)  # [px/m]
    polewidth = 10.0
    polelen = scale * (2 * params.length)
    cartwidth, cartheight = 50.0, 30.0
    axleoffset = cartheight / 4.0
    cartx = x * scale + width / 2.0  # middle of the cart [px]
    carty = 100.0  # y-up coordinate of the cart's centre line [px]
    flip = height - 1  # y-up -> image rows

    def to_img(pts: np.ndarray) -> np.ndarray:
        out = np.empty_like(pts)
        out[:, 0] = pts[:, 0]
        out[:, 1] = flip - pts[:, 1]
        return np.round(out * _SCALE_SUB).astype(np.int32)

    img[int(flip - carty), :] = 0  # track
    half_w, half_h = cartwidth / 2, cartheight / 2
    cart = np.array(
        [(-half_w, -half_h), (-half_w, half_h), (half_w, half_h), (half_w, -half_h)], dtype=np.float64
    ) + (cartx, carty)
    cv2.fillConvexPoly(img, to_img(cart), (0, 0, 0), lineType=cv2.LINE_AA, shift=_SHIFT)

    pw = polewidth / 2
    pole = np.array([(-pw, -pw), (-pw, polelen - pw), (pw, polelen - pw), (pw, -pw)], dtype=np.float64)
    c, s = math.cos(-theta), math.sin(-theta)
    rot = np.array([[c, s], [-s, c]])  # row-vector form of a rotation by -theta (clockwise for theta > 0)
    pole = pole @ rot + (cartx, carty + axleoffset)
    cv2.fillConvexPoly(img, to_img(pole), _POLE_COLOUR, lineType=cv2.LINE_AA, shift=_SHIFT)

    centre = to_img(np.array([[cartx, carty + axleoffset]]))[0]
    cv2.circle(img, (int(centre[0]), int(centre[1])), int(pw * _SCALE_SUB), _AXLE_COLOUR, -1, cv2.LINE_AA, _SHIFT)
    return img


class _HumanWindow:
    """A pygame window that shows RGB frames; pygame is imported only when one is created."""

    def __init__(self, width: int, height: int, fps: int, caption: str) -> None:
        try:
            import pygame
        except ImportError as e:  # pragma: no cover - pygame is a core dependency
            raise gym.error.DependencyNotInstalled(
                "pygame is needed for render_mode='human': pip install pygame"
            ) from e
        self._pygame = pygame
        pygame.display.init()
        pygame.display.set_caption(caption)
        self.screen = pygame.display.set_mode((width, height))
        self.clock = pygame.time.Clock()
        self.fps = fps

    def show(self, frame: np.ndarray) -> None:
        pygame = self._pygame
        surf = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        self.screen.blit(surf, (0, 0))
        pygame.event.pump()
        self.clock.tick(self.fps)
        pygame.display.flip()

    def close(self) -> None:
        self._pygame.display.quit()


# --------------------------------------------------------------------------------------
# Single environment
# --------------------------------------------------------------------------------------


class CartPoleEnv(gym.Env[np.ndarray, int]):
    """
    ## Description

    The cart-pole problem of Barto, Sutton and Anderson, ["Neuronlike Adaptive Elements That Can
    Solve Difficult Learning Control Problems"](https://ieeexplore.ieee.org/document/6313077):
    a pole is attached by an un-actuated joint to a cart moving along a frictionless track. The
    pole starts upright and the goal is to keep it balanced by pushing the cart left or right.
    Dynamics, constants, thresholds, rewards and seeding are identical to Gymnasium's
    ``CartPole-v1`` (same seed + same actions = same trajectory); only the implementation
    differs (one shared dynamics function, opencv rendering, a faster step).

    ## Action Space

    ``Discrete(2)``: the direction of the fixed force (``force_mag`` = 10 N) pushing the cart.

    - 0: push the cart to the left
    - 1: push the cart to the right

    The velocity change caused by the force depends on the pole angle: the pole's centre of
    gravity changes how much of the push goes into moving the cart.

    ## Observation Space

    ``Box(4,)`` float32:

    | Num | Observation           | Unit  | Min                 | Max               |
    |-----|-----------------------|-------|---------------------|-------------------|
    | 0   | Cart Position         | m     | -4.8                | 4.8               |
    | 1   | Cart Velocity         | m/s   | -Inf                | Inf               |
    | 2   | Pole Angle            | rad   | ~ -0.418 rad (-24°) | ~ 0.418 rad (24°) |
    | 3   | Pole Angular Velocity | rad/s | -Inf                | Inf               |

    The bounds are twice the termination thresholds so that the terminating observation is
    still inside the space: an episode ends when the cart leaves ``(-2.4, 2.4)`` or the pole
    angle leaves ``(-0.2095, 0.2095)`` (±12°).

    ## Rewards

    +1 for every step taken, including the terminating step (the reward threshold is 475, the
    time limit 500). With ``sutton_barto_reward=True``: 0 for every non-terminating step and -1
    for the terminating step. Stepping after termination (undefined behaviour, a warning is
    logged once) gives 0 (or -1 with ``sutton_barto_reward``).

    ## Starting State

    All four state variables are drawn uniformly from ``(-0.05, 0.05)`` with ``self.np_random``
    (``reset(options={"low": ..., "high": ...})`` changes the bounds for that reset).

    ## Episode End

    1. Termination: the pole angle is greater than ±12°.
    2. Termination: the cart position is greater than ±2.4 (the cart's centre reaches the edge
       of the display).
    3. Truncation: the episode length reaches 500 (the ``TimeLimit`` added by ``gym.make`` from
       the registration's ``max_episode_steps``).

    ## Arguments

    ```python
    >>> import gymnasium as gym, envs
    >>> env = gym.make("simdrive/CartPole-v1", render_mode="rgb_array")
    >>> env.reset(seed=123, options={"low": -0.1, "high": 0.1})  # default low=-0.05, high=0.05
    (array([ 0.03647037, -0.0892358 , -0.05592803, -0.06312564], dtype=float32), {})
    ```

    | Parameter             | Type           | Default | Description                                           |
    |-----------------------|----------------|---------|-------------------------------------------------------|
    | `sutton_barto_reward` | bool           | False   | reward 0 per step and -1 on termination               |
    | `render_mode`         | str or None    | None    | "rgb_array" (600x400 RGB frames) or "human" (window)  |
    | `params`              | CartPoleParams | default | physical constants (the defaults are Gymnasium's)     |

    The current state is ``env.unwrapped.state``, a ``(4,)`` float64 array (as in Gymnasium).

    ## Vectorized environment

    ``gym.make_vec("simdrive/CartPole-v1", num_envs=N)`` builds :class:`CartPoleVectorEnv`, which
    steps the N carts in one numpy program and calls the same dynamics function.

    ## Version History

    * v1: SimDrive's implementation of Gymnasium's ``CartPole-v1`` (500-step limit,
      ``sutton_barto_reward`` from Gymnasium 1.0.0a2), opencv rendering.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 50}

    def __init__(
        self,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
        params: CartPoleParams | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.params = DEFAULT_PARAMS if params is None else params
        self._sutton_barto_reward = bool(sutton_barto_reward)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(2)
        self.observation_space = _observation_space(self.params)
        self.screen_width = 600  # [px]
        self.screen_height = 400  # [px]
        self._window: _HumanWindow | None = None
        self.state: np.ndarray | None = None  # (4,) float64: x [m], x_dot [m/s], theta [rad], theta_dot [rad/s]
        self.steps_beyond_terminated: int | None = None

    def step(self, action):
        try:  # ints, numpy integers and 0-d integer arrays, like Discrete(2).contains
            a = operator.index(action)
        except TypeError:
            a = -1
        if a != 0 and a != 1:
            raise AssertionError(f"{action!r} ({type(action)}) invalid")
        if self.state is None:
            raise AssertionError("Call reset before using step method.")
        params = self.params
        state = self.state = cartpole_dynamics(self.state, a, params)
        terminated = bool(cartpole_terminated(state[0], state[2], params))

        if not terminated:
            reward = 0.0 if self._sutton_barto_reward else 1.0
        elif self.steps_beyond_terminated is None:  # the pole just fell
            self.steps_beyond_terminated = 0
            reward = -1.0 if self._sutton_barto_reward else 1.0
        else:
            if self.steps_beyond_terminated == 0:
                logger.warn(
                    "You are calling 'step()' even though this environment has already returned terminated = True. "
                    "You should always call 'reset()' once you receive 'terminated = True' -- any further steps are "
                    "undefined behavior."
                )
            self.steps_beyond_terminated += 1
            reward = -1.0 if self._sutton_barto_reward else 0.0

        if self.render_mode == "human":
            self.render()
        # truncated=False: the time limit is the TimeLimit wrapper added by gym.make
        return state.astype(np.float32), reward, terminated, False, {}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        low, high = _cc_utils.maybe_parse_reset_bounds(options, -0.05, 0.05)
        self.state = self.np_random.uniform(low=low, high=high, size=(4,))
        self.steps_beyond_terminated = None
        if self.render_mode == "human":
            self.render()
        return self.state.astype(np.float32, order="C"), {}

    def render(self):
        if self.render_mode is None:
            assert self.spec is not None
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                "You can specify the render_mode at initialization, "
                f'e.g. gym.make("{self.spec.id}", render_mode="rgb_array")'
            )
            return None
        if self.state is None:
            return None
        x, theta = float(self.state[0]), float(self.state[2])
        frame = render_cartpole(x, theta, self.params, self.screen_width, self.screen_height)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = _HumanWindow(self.screen_width, self.screen_height, self.metadata["render_fps"], "CartPole")
        self._window.show(frame)
        return None

    def close(self):
        if self._window is not None:
            self._window.close()
            self._window = None


# --------------------------------------------------------------------------------------
# Natively batched environment
# --------------------------------------------------------------------------------------


class _ResetStreams:
    """One independent uniform stream per sub-environment, read in vectorised chunks.

    Sub-env ``i`` owns a generator made exactly like ``gymnasium.utils.seeding.np_random(seed_i)``
    (what a single env's ``reset(seed=seed_i)`` creates). Its initial states are consecutive draws
    of 4 doubles from that generator, i.e. the same numbers a single env gets from
    ``np_random.uniform(low, high, size=(4,))`` on each reset. To avoid a Python call per reset the
    doubles are pre-drawn ``chunk`` resets at a time (``Generator.random((chunk, 4))`` consumes the
    stream exactly as ``chunk`` calls with ``size=(4,)`` do; ``uniform`` is ``low + (high - low) * u``).
    """

    def __init__(self, num_envs: int, chunk: int = 32) -> None:
        if chunk < 1 or chunk & (chunk - 1):
            raise ValueError(f"chunk must be a power of two, got {chunk}")
        self.num_envs = num_envs
        self.chunk = chunk
        self.generators: list[np.random.Generator | None] = [None] * num_envs
        self.buffer = np.zeros((num_envs * chunk, 4), dtype=np.float64)  # rows i*chunk ... : env i's draws
        self.row = np.arange(num_envs, dtype=np.intp) * chunk  # next unread row of each env

    def _fill(self, i: int) -> None:
        start = i * self.chunk
        self.buffer[start : start + self.chunk] = self.generators[i].random((self.chunk, 4))
        self.row[i] = start

    def seed(self, env_ids: np.ndarray, seeds: list[int | None]) -> None:
        """(Re)seed the given sub-envs; a None seed keeps an existing stream (or starts a random one)."""
        for i, s in zip(env_ids.tolist(), seeds, strict=True):
            if s is not None or self.generators[i] is None:
                self.generators[i], _ = seeding.np_random(s)  # None: fresh entropy
                self._fill(i)

    def draw(self, env_ids: np.ndarray) -> np.ndarray:
        """Next ``(len(env_ids), 4)`` doubles in [0, 1) of the given (distinct, seeded) sub-envs' streams."""
        rows = self.row[env_ids]
        out = self.buffer.take(rows, axis=0)
        rows += 1
        self.row[env_ids] = rows
        used_up = (rows & (self.chunk - 1)) == 0  # read the last row of its block
        if used_up.any():
            for i in env_ids[used_up].tolist():
                self._fill(i)
        return out


class CartPoleVectorEnv(VectorEnv):
    """N cart-poles stepped together in one numpy program (``gym.make_vec("simdrive/CartPole-v1")``).

    Same dynamics function, rewards and termination as :class:`CartPoleEnv`; the time limit
    (``max_episode_steps``, 500 from the registration) is applied per sub-env as truncation.

    **Autoreset** is ``AutoresetMode.NEXT_STEP`` (as Gymnasium 1.x's own ``CartPoleVectorEnv`` and
    ``SyncVectorEnv``): after a sub-env returns ``terminated`` or ``truncated``, its next ``step``
    ignores the action and returns the first observation of a new episode with reward 0 and both
    flags False.

    **Seeding** follows ``SyncVectorEnv``: ``reset(seed=s)`` seeds sub-env ``i`` with ``s + i``,
    ``reset(seed=[s0, ..., sN-1])`` with ``s_i``; ``None`` keeps (or randomly starts) its stream.
    Sub-env ``i`` then behaves exactly like ``gym.make("simdrive/CartPole-v1")`` reset with seed
    ``s_i`` and driven by the same actions, autoresets included (each autoreset draws the next
    initial state from sub-env ``i``'s own generator, as the single env's ``reset()`` does). So
    this env is a drop-in, faster ``SyncVectorEnv`` of CartPole-v1, step for step.
    (Gymnasium's ``CartPoleVectorEnv`` instead draws all sub-envs from one generator.)

    Observations are a C-contiguous ``(N, 4)`` float32 array, rewards ``(N,)`` float64, flags
    ``(N,)`` bool, ``info`` is ``{}``. The float64 state is ``self.state`` (``(N, 4)``, stored
    column-major so that each variable is contiguous for the arithmetic).

    ``reset(options=...)`` accepts ``low``/``high`` (reset bounds, kept for the autoresets that
    follow, as in Gymnasium's ``CartPoleVectorEnv``; ``SyncVectorEnv`` autoresets with the default
    bounds instead) and ``reset_mask`` (a ``(N,)`` bool array:
    reset only those sub-envs, as ``SyncVectorEnv``).

    Args:
        num_envs: number of carts N.
        max_episode_steps: per-sub-env time limit [steps] (``gym.make_vec`` passes the
            registration's 500).
        render_mode: None or "rgb_array"; ``render()`` then returns a tuple of 600x400 RGB frames
            of the first ``render_num_envs`` sub-envs.
        sutton_barto_reward: 0 per step and -1 on termination instead of +1 per step.
        params: physical constants.
        render_num_envs: how many sub-envs ``render()`` draws (the first ones) [-].
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int = 500,
        render_mode: str | None = None,
        sutton_barto_reward: bool = False,
        params: CartPoleParams | None = None,
        render_num_envs: int = 4,
    ) -> None:
        if int(num_envs) < 1 or int(max_episode_steps) < 1:
            raise ValueError(f"num_envs and max_episode_steps must be >= 1, got {num_envs}, {max_episode_steps}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        self.render_mode = render_mode
        self.render_num_envs = max(1, min(int(render_num_envs), self.num_envs))
        self.params = DEFAULT_PARAMS if params is None else params
        self._sutton_barto_reward = bool(sutton_barto_reward)

        self.single_action_space = spaces.Discrete(2)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.single_observation_space = _observation_space(self.params)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.screen_width = 600  # [px]
        self.screen_height = 400  # [px]

        self.state: np.ndarray | None = None  # (N, 4) float64, column-major: x, x_dot, theta, theta_dot
        self.low, self.high = -0.05, 0.05  # reset bounds
        self._steps = np.zeros(self.num_envs, dtype=np.int64)  # steps in the current episode
        self._prev_done = np.zeros(self.num_envs, dtype=bool)  # autoreset these on the next step
        chunk = 8  # resets pre-drawn per sub-env: a power of two <= 128, ~2 MiB in total at most
        while chunk < 128 and 2 * chunk * 32 * self.num_envs <= 2 << 20:
            chunk *= 2
        self._streams = _ResetStreams(self.num_envs, chunk)
        self._all = np.arange(self.num_envs)

    def _initial_states(self, env_ids: np.ndarray) -> np.ndarray:
        """(len(env_ids), 4) fresh initial states, = np_random.uniform(low, high, 4) per sub-env."""
        return self.low + (self.high - self.low) * self._streams.draw(env_ids)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, (int, np.integer)):
            super().reset(seed=int(seed))  # also seeds self.np_random (unused by the dynamics)
            seeds = [int(seed) + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ValueError(
                    f"If seeds are passed as a list the length must match num_envs={n} but got length={len(seeds)}."
                )
        options = dict(options) if options else {}
        mask = options.pop("reset_mask", None)
        if mask is not None:
            if not isinstance(mask, np.ndarray) or mask.shape != (n,) or mask.dtype != np.bool_:
                raise TypeError(f"options['reset_mask'] must be a numpy bool array of shape ({n},), got {mask!r}")
            if not mask.any():
                raise ValueError("options['reset_mask'] must contain at least one True value")
            env_ids = np.flatnonzero(mask)
        else:
            env_ids = self._all
        if "low" in options or "high" in options:
            self.low, self.high = _cc_utils.maybe_parse_reset_bounds(options, -0.05, 0.05)

        self._streams.seed(env_ids, [seeds[i] for i in env_ids.tolist()])
        if self.state is None or mask is None:
            self.state = np.zeros((n, 4), dtype=np.float64, order="F")
        self.state[env_ids] = self._initial_states(env_ids)
        self._steps[env_ids] = 0
        self._prev_done[env_ids] = False
        return self.state.astype(np.float32, order="C"), {}

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self.state is None:
            raise AssertionError("Call reset before using step method.")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iub":
            raise AssertionError(f"{actions!r} invalid: expected {self.num_envs} integer actions in {{0, 1}}")
        if a.dtype.kind != "b" and np.bitwise_or.reduce(a) & ~1:  # some value outside {0, 1}
            raise AssertionError(f"{actions!r} invalid: actions must be 0 or 1")
        params = self.params

        state = self.state = cartpole_dynamics(self.state, a, params)
        # NEXT_STEP autoreset: sub-envs done at the previous step start a new episode instead
        # (their stepped state is overwritten), with reward 0 and both flags False.
        prev_done = self._prev_done
        fresh = ~prev_done
        steps = self._steps
        steps += 1
        steps *= fresh  # 0 for the sub-envs being reset (so truncated is False there)
        truncated = steps >= self.max_episode_steps
        terminated = cartpole_terminated(state[:, 0], state[:, 2], params)
        terminated &= fresh
        if self._sutton_barto_reward:
            reward = 0.0 - terminated  # -1 on termination, else 0 [float64]
        else:
            reward = fresh.astype(np.float64)  # 1 per step, 0 on the reset step
        if not fresh.all():
            ids = prev_done.nonzero()[0]
            state[ids] = self._initial_states(ids)
        self._prev_done = terminated | truncated
        return state.astype(np.float32, order="C"), reward, terminated, truncated, {}

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'You can specify the render_mode at initialization, e.g. gym.make_vec(..., render_mode="rgb_array")'
            )
            return None
        if self.state is None:
            raise ValueError("CartPole's state is None, it probably hasn't been reset yet.")
        return tuple(
            render_cartpole(
                float(self.state[i, 0]), float(self.state[i, 2]), self.params, self.screen_width, self.screen_height
            )
            for i in range(self.render_num_envs)
        )

    def close_extras(self, **kwargs: Any) -> None:
        self.state = None
