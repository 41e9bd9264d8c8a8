"""The k-armed bandit testbed of Sutton & Barto, chapter 2."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.grid_render import HumanWindow

VARIANTS = ("gaussian", "bernoulli")


@dataclass(frozen=True)
class BanditConfig:
    """The bandit problem; arm values are redrawn at every reset."""

    k: int = 10
    """Number of arms [-]."""
    variant: Literal["gaussian", "bernoulli"] = "gaussian"
    """Arm type: "gaussian" (means q*(a) ~ N(mean_offset, 1), rewards ~ N(q*(a), 1)) or
    "bernoulli" (p(a) ~ U(0, 1), rewards in {0, 1})."""
    mean_offset: float = 0.0
    """Centre of the Gaussian arm means (Figure 2.5 uses +4) [reward]."""
    walk_std: float = 0.0
    """Std of the N(0, walk_std) random-walk step added to every Gaussian mean after each pull
    (0 = stationary; Exercise 2.5 uses 0.01) [reward]."""

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"BanditConfig.k must be an int >= 1, got {self.k!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"BanditConfig.variant must be one of {VARIANTS}, got {self.variant!r}")
        for name in ("mean_offset", "walk_std"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value):
                raise ValueError(f"BanditConfig.{name} must be a finite number, got {value!r}")
        if self.walk_std < 0:
            raise ValueError(f"BanditConfig.walk_std must be >= 0, got {self.walk_std!r}")
        if self.variant == "bernoulli" and (self.mean_offset != 0.0 or self.walk_std != 0.0):
            raise ValueError("BanditConfig.mean_offset and walk_std only apply to variant='gaussian'")


class BanditEnv(gym.Env[int, int]):
    """The k-armed bandit testbed (Sutton & Barto, section 2.3).

    ## Description
    At every reset the arm values are drawn from ``self.np_random``: Gaussian means
    q*(a) ~ N(mean_offset, 1) (rewards ~ N(q*(a), 1)), or with ``variant="bernoulli"``
    success probabilities p(a) ~ U(0, 1) (rewards 1 with probability p(a), else 0).
    An episode is one run of pulls on one bandit problem; averaging over episodes
    averages over problems, as in Figure 2.2. With ``walk_std`` > 0 the Gaussian means
    take independent random-walk steps after every pull (non-stationary, Exercise 2.5).

    ## Action Space
    ``Discrete(k)``: the arm to pull.

    ## Observation Space
    ``Discrete(1)``: always 0 (there is no state).

    ## Rewards
    The sampled reward of the pulled arm.

    ## Starting State
    The single state 0; the arm values are redrawn.

    ## Episode End
    Never terminated; truncated by the registered time limit (1000 pulls for
    ``simdrive/Bandit-v0``).

    ## Info
    ``reset``: ``{"optimal_action": int, "means": (k,) float array}`` (the true arm means).
    ``step``: ``{"optimal_action": int, "regret": float (best mean - pulled arm's mean, >= 0),
    "optimal": bool (the pulled arm is optimal)}``.

    ## Arguments
    ``render_mode``: ``None``, ``"rgb_array"`` (bar chart of true means, sample means and
    pull counts) or ``"human"``; ``config``: a :class:`BanditConfig`, or its fields as
    keywords (``k``, ``variant``, ``mean_offset``, ``walk_std``).

    ## Version History
    * v0: initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None, config: BanditConfig | None = None, **kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        names = [f.name for f in dataclasses.fields(BanditConfig)]
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise ValueError(f"unknown BanditConfig key(s) {', '.join(unknown)}; valid keys: {', '.join(names)}")
        if config is not None and not isinstance(config, BanditConfig):
            raise ValueError(f"config must be a BanditConfig, got {type(config).__name__}")
        self.config = dataclasses.replace(config or BanditConfig(), **kwargs)
        self.render_mode = render_mode
        k = int(self.config.k)
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(k)
        self._gaussian = self.config.variant == "gaussian"
        self.means = np.zeros(k)
        self._optimal = 0
        self._best = 0.0
        self._counts = np.zeros(k, dtype=np.int64)
        self._sums = np.zeros(k)
        self._last = -1
        self._window: HumanWindow | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset option(s) {sorted(options)}; BanditEnv takes none")
        k = self.action_space.n
        if self._gaussian:
            self.means = self.config.mean_offset + self.np_random.standard_normal(k)
        else:
            self.means = self.np_random.random(k)
        self._update_best()
        self._counts[:] = 0
        self._sums[:] = 0.0
        self._last = -1
        if self.render_mode == "human":
            self.render()
        return 0, {"optimal_action": self._optimal, "means": self.means.copy()}

    def _update_best(self) -> None:
        self._optimal = int(np.argmax(self.means))
        self._best = float(self.means[self._optimal])

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        a = int(action)
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action must be in [0, {self.action_space.n}), got {action!r}")
        mean = float(self.means[a])
        if self._gaussian:
            reward = mean + float(self.np_random.standard_normal())
        else:
            reward = float(self.np_random.random() < mean)
        info = {"optimal_action": self._optimal, "regret": self._best - mean, "optimal": mean == self._best}
        self._counts[a] += 1
        self._sums[a] += reward
        self._last = a
        if self.config.walk_std > 0.0:
            self.means = self.means + self.config.walk_std * self.np_random.standard_normal(self.action_space.n)
            self._update_best()
        if self.render_mode == "human":
            self.render()
        return 0, reward, False, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        frame = self._draw()
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = HumanWindow("SimDrive bandit", self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def _draw(self, height: int = 240, bar_px: int = 48) -> np.ndarray:
        """Bars: true means (grey; the pulled arm blue, the optimal arm outlined green),
        black ticks: sample means, numbers: pull counts."""
        k = self.action_space.n
        width = max(240, k * bar_px)
        img = np.full((height, width, 3), 245, dtype=np.uint8)
        lo = min(-3.0 + self.config.mean_offset, float(self.means.min()) - 0.5) if self._gaussian else 0.0
        hi = max(3.0 + self.config.mean_offset, float(self.means.max()) + 0.5) if self._gaussian else 1.0
        top, bottom = 10, height - 24

        def y_of(v: float) -> int:
            return int(round(bottom - (min(max(v, lo), hi) - lo) / (hi - lo) * (bottom - top)))

        y0 = y_of(0.0) if lo <= 0.0 <= hi else bottom
        cv2.line(img, (0, y0), (width - 1, y0), (150, 150, 150), 1)
        for a in range(k):
            x0, x1 = a * bar_px + 8, (a + 1) * bar_px - 8
            color = (60, 110, 220) if a == self._last else (170, 170, 170)
            y = y_of(float(self.means[a]))
            cv2.rectangle(img, (x0, min(y, y0)), (x1, max(y, y0)), color, -1)
            if a == self._optimal:
                cv2.rectangle(img, (x0 - 2, min(y, y0) - 2), (x1 + 2, max(y, y0) + 2), (60, 170, 60), 2)
            if self._counts[a]:
                ys = y_of(float(self._sums[a] / self._counts[a]))
                cv2.line(img, (x0 - 4, ys), (x1 + 4, ys), (20, 20, 20), 2)
            cv2.putText(img, str(int(self._counts[a])), (x0, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                        (20, 20, 20), 1, cv2.LINE_AA)
        return img

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
