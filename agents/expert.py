"""The built-in expert: an environment's own rule-based policy used as an agent.

Environments that carry an expert (the driving simulator's autopilot) expose
``env.unwrapped.expert_action()``, returning the action the expert takes in the current
state. This agent binds to an environment and asks it for that action, so the expert can
be evaluated, watched and recorded like any trained agent. It learns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import gymnasium as gym

from agents.base import Budget, Callbacks, IncompatibleEnvironment


@dataclass(frozen=True)
class ExpertConfig:
    """The expert has no settings of its own; the environment's configuration drives it."""


class ExpertAgent:
    """Acts with ``env.unwrapped.expert_action()`` of the environment it is bound to."""

    name: ClassVar[str] = "expert"
    Config: ClassVar[type] = ExpertConfig
    num_envs: int = 1

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: ExpertConfig | None = None, seed: int = 0):
        self.config = config or ExpertConfig()
        self.action_space = action_space
        self._env: Any = None

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        if not callable(getattr(env.unwrapped, "expert_action", None)):
            raise IncompatibleEnvironment(
                "the expert needs an environment with a built-in autopilot (env.unwrapped.expert_action()), "
                "e.g. simdrive/Highway-v0"
            )

    def bind_env(self, env: gym.Env) -> None:
        """Attach the environment whose state the expert reads."""
        self.check_env(env)
        self._env = env

    def act(self, obs: Any, explore: bool = False) -> Any:
        if self._env is None:
            raise RuntimeError("ExpertAgent.act needs bind_env(env) first")
        return self._env.unwrapped.expert_action()

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        """Nothing to learn: the expert is rule-based. Binds to ``env`` and returns."""
        self.bind_env(env)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None
