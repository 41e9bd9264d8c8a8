"""The agent protocol shared by every agent in the library.

An agent is built from the environment's spaces, a frozen configuration dataclass and a
seed; it acts, trains on any Gymnasium environment for a budget while reporting events
to callbacks, and round-trips its state through a checkpoint (``agents.checkpoint``).
Agents never import ``envs`` or ``simdrive``: they see only Gymnasium spaces and envs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np


class IncompatibleEnvironment(ValueError):
    """The agent cannot run on this environment (e.g. DP on an env without a model)."""


@dataclass(frozen=True)
class Budget:
    """How long to train: stop at whichever limit is reached first.

    ``steps`` counts environment transitions (summed over sub-environments of a
    vector env); ``episodes`` counts finished episodes.
    """

    steps: int | None = None
    episodes: int | None = None

    def __post_init__(self) -> None:
        if self.steps is None and self.episodes is None:
            raise ValueError("a budget needs steps or episodes")
        for name in ("steps", "episodes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"budget {name} must be positive, got {value}")

    def done(self, steps: int, episodes: int) -> bool:
        return (self.steps is not None and steps >= self.steps) or (
            self.episodes is not None and episodes >= self.episodes
        )

    def fraction(self, steps: int, episodes: int) -> float:
        """Fraction of the budget used, in [0, 1] (for schedules such as epsilon)."""
        fractions = []
        if self.steps is not None:
            fractions.append(steps / self.steps)
        if self.episodes is not None:
            fractions.append(episodes / self.episodes)
        return float(min(1.0, max(fractions)))


class Callbacks:
    """Events an agent reports while training; the platform turns them into progress
    bars, MLflow metrics and checkpoints. The base class ignores everything, so an agent
    can always be trained with ``Callbacks()``.
    """

    def on_episode_end(self, step: int, episode_return: float, episode_length: int) -> None:
        """An episode finished at global transition ``step``."""

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        """Scalar diagnostics (losses, epsilon, value change, ...) at ``step``."""

    def on_step(self, step: int, episodes: int) -> bool:
        """Called regularly (at least once per episode or rollout). Return ``False`` to
        ask the agent to stop early (e.g. on Ctrl-C); the agent must stop promptly."""
        return True


@runtime_checkable
class Agent(Protocol):
    """What every agent offers. ``name`` is the CLI name; ``Config`` a frozen dataclass."""

    name: ClassVar[str]
    config: Any

    def act(self, obs: Any, explore: bool = False) -> Any: ...

    def train(self, env: gym.Env | gym.vector.VectorEnv, budget: Budget, callbacks: Callbacks) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def check_discrete(space: gym.Space, what: str, agent: str) -> int:
    """Return ``space.n`` or raise ``IncompatibleEnvironment`` naming the agent."""
    if not isinstance(space, gym.spaces.Discrete):
        raise IncompatibleEnvironment(
            f"{agent} needs a discrete {what} space, this environment has {space}"
        )
    return int(space.n)


def config_from_mapping(config_cls: type, values: Mapping[str, Any]) -> Any:
    """Build a frozen config dataclass from a mapping, rejecting unknown keys."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"unknown {config_cls.__name__} key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for field in dataclasses.fields(config_cls):
        if field.name in values:
            value = values[field.name]
            if isinstance(value, list):
                value = tuple(value)
            kwargs[field.name] = value
    return config_cls(**kwargs)


def rng_from_seed(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)
