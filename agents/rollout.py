"""One interface over a single ``gym.Env`` and a ``gym.vector.VectorEnv`` for collecting
experience, handling episode ends correctly.

``EnvStepper.step(actions)`` returns, for every sub-environment, the transition
``(reward, terminated, truncated, real_next_obs)`` plus ``valid``: False for the
placeholder step of Gymnasium 1.x's ``NEXT_STEP`` autoreset (the step after an episode
ended, whose action is ignored and which only returns the reset observation; it must
not be stored or counted). ``real_next_obs`` is the true successor state (the final
observation at the end of an episode), which truncated transitions bootstrap from.
``obs`` (the next observation to act on) and ``starts`` (1 where ``obs`` begins a new
episode, used to reset recurrent state) are kept on the stepper.

Supported: plain envs (reset by hand on episode end), vector envs with autoreset mode
``NEXT_STEP`` (default), ``SAME_STEP`` (final observation in ``info["final_obs"]``) and
``DISABLED`` (reset through ``options={"reset_mask": ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode


def _copy(obs: Any) -> Any:
    if isinstance(obs, Mapping):
        return {key: _copy(value) for key, value in obs.items()}
    return np.array(obs, copy=True)


def _set_row(obs: Any, row: int, value: Any) -> None:
    if isinstance(obs, Mapping):
        for key in obs:
            _set_row(obs[key], row, value[key])
    else:
        obs[row] = value


def _batch1(obs: Any) -> Any:
    if isinstance(obs, Mapping):
        return {key: _batch1(value) for key, value in obs.items()}
    return np.asarray(obs)[None]


@dataclass
class StepResult:
    """One vector step, arrays of length ``num_envs``."""

    rewards: np.ndarray  # float32
    terminated: np.ndarray  # bool
    truncated: np.ndarray  # bool
    real_next_obs: Any  # batched true next observations
    valid: np.ndarray  # bool: a real transition (False for NEXT_STEP placeholder steps)
    episodes: list[tuple[float, int]] = field(default_factory=list)  # (return, length) of episodes that ended

    @property
    def dones(self) -> np.ndarray:
        return self.terminated | self.truncated


class EnvStepper:
    """Steps ``env`` (single or vector) with batched actions; tracks episode statistics.

    Args:
        env: a ``gym.Env`` or ``gym.vector.VectorEnv``.
    """

    def __init__(self, env: gym.Env | gym.vector.VectorEnv) -> None:
        self.env = env
        self.vector = isinstance(env, gym.vector.VectorEnv)
        self.num_envs = int(env.num_envs) if self.vector else 1
        if self.vector:
            mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
            self.mode = AutoresetMode(mode) if not isinstance(mode, AutoresetMode) else mode
        else:
            self.mode = None
        self.obs: Any = None
        self.starts = np.ones(self.num_envs, dtype=bool)
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self.episode_returns = np.zeros(self.num_envs, dtype=np.float64)
        self.episode_lengths = np.zeros(self.num_envs, dtype=np.int64)

    def reset(self, seed: int | None = None) -> Any:
        """Reset every sub-environment (seeded ``seed``, ``seed+1``, ... for vector envs)."""
        obs, _ = self.env.reset(seed=seed)
        self.obs = obs if self.vector else _batch1(obs)
        self.starts = np.ones(self.num_envs, dtype=bool)
        self._prev_done[:] = False
        self.episode_returns[:] = 0.0
        self.episode_lengths[:] = 0
        return self.obs

    def step(self, actions: np.ndarray) -> StepResult:
        """Apply ``actions`` (leading axis = sub-environment); updates ``obs``/``starts``."""
        if not self.vector:
            obs, reward, terminated, truncated, _ = self.env.step(actions[0])
            real_next = _batch1(obs)
            done = bool(terminated or truncated)
            result = StepResult(
                np.array([reward], dtype=np.float32), np.array([terminated]), np.array([truncated]), real_next, np.ones(1, dtype=bool)
            )
            if done:
                obs, _ = self.env.reset()
            self.obs = _batch1(obs) if done else real_next
            self.starts = np.array([done])
        else:
            obs, reward, terminated, truncated, info = self.env.step(actions)
            terminated = np.asarray(terminated, dtype=bool)
            truncated = np.asarray(truncated, dtype=bool)
            reward = np.asarray(reward, dtype=np.float32)
            done = terminated | truncated
            if self.mode == AutoresetMode.NEXT_STEP:
                valid = ~self._prev_done
                terminated, truncated = terminated & valid, truncated & valid
                done = terminated | truncated
                real_next = obs
                self.starts = self._prev_done.copy()
                self._prev_done = done
            elif self.mode == AutoresetMode.SAME_STEP:
                valid = np.ones(self.num_envs, dtype=bool)
                real_next = obs
                if done.any():
                    real_next = _copy(obs)
                    final = info["final_obs"]
                    for i in np.flatnonzero(done):
                        _set_row(real_next, int(i), final[i])
                self.starts = done.copy()
            else:  # DISABLED: reset finished sub-environments ourselves
                valid = np.ones(self.num_envs, dtype=bool)
                real_next = obs
                if done.any():
                    real_next = _copy(obs)
                    obs, _ = self.env.reset(options={"reset_mask": done})
                self.starts = done.copy()
            result = StepResult(reward, terminated, truncated, real_next, valid)
            self.obs = obs
        self.episode_returns += np.where(result.valid, result.rewards, 0.0)
        self.episode_lengths += result.valid
        for i in np.flatnonzero(result.dones):
            result.episodes.append((float(self.episode_returns[i]), int(self.episode_lengths[i])))
            self.episode_returns[i] = 0.0
            self.episode_lengths[i] = 0
        return result
