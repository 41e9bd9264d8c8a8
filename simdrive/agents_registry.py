"""Resolving agent names, building agents on environments, loading checkpoints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import gymnasium as gym

from agents import get_spec
from agents.base import IncompatibleEnvironment
from agents.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from simdrive.config import build_config, config_to_dict, parse_overrides
from simdrive.errors import UserError


def agent_class(name: str) -> type:
    try:
        spec = get_spec(name)
    except KeyError as error:
        raise UserError(error.args[0]) from None
    try:
        return spec.load()
    except ImportError as error:
        raise UserError(f"agent '{name}' needs a package that is not installed ({error.name}); reinstall simdrive") from None


def agent_config(cls: type, overrides: Sequence[str], base: Mapping[str, Any] | None = None) -> Any:
    """The agent's config: ``base`` (e.g. from a checkpoint) updated by ``--set`` overrides.

    ``base`` goes through the same checks as ``--set``: unknown keys, types and the
    documented ranges of ``agents.config_checks`` (network widths, buffer sizes, ...)."""
    values: dict[str, Any] = dict(base or {})
    values.update(parse_overrides(overrides, cls.Config, cls.name))
    return build_config(cls.Config, values, cls.name)


def checkpoint_config(cls: type, checkpoint: Checkpoint, path: str | Path, overrides: Sequence[str] = ()) -> Any:
    """The configuration stored in a checkpoint (checked like ``--set``), updated by ``overrides``."""
    try:
        build_config(cls.Config, checkpoint.config, cls.name)
    except UserError as error:
        raise UserError(f"checkpoint {path} holds an invalid configuration ({error}); re-run 'simdrive train'") from None
    return agent_config(cls, overrides, checkpoint.config)


def check_device(config: Any, what: str, fallback: bool = False) -> Any:
    """A config whose torch ``device`` is not available here: with ``fallback`` (loading a
    checkpoint trained elsewhere) run on the CPU, otherwise a ``UserError`` naming the fix."""
    device = getattr(config, "device", None)
    if not isinstance(device, str) or device in ("cpu", "auto"):
        return config
    import torch

    available = torch.cuda.is_available() if device.startswith("cuda") else (
        device == "mps" and torch.backends.mps.is_available())
    if device.startswith("cuda:") and available:
        available = int(device.split(":", 1)[1]) < torch.cuda.device_count()
    if available:
        return config
    if fallback:
        return dataclasses.replace(config, device="cpu")
    raise UserError(f"device '{device}' is not available on this machine; use --set device=cpu (or device=auto)")


def check_compatible(cls: type, env: gym.Env, env_id: str) -> None:
    check = getattr(cls, "check_env", None)
    if check is None:
        return
    try:
        check(env)
    except IncompatibleEnvironment as error:
        raise UserError(f"agent '{cls.name}' cannot run on {env_id}: {error}") from None


def instantiate(cls: type, env: gym.Env | gym.vector.VectorEnv, config: Any, seed: int) -> Any:
    check_device(config, cls.name)
    observation_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    try:
        return cls(observation_space, action_space, config=config, seed=seed)
    except IncompatibleEnvironment as error:
        raise UserError(f"agent '{cls.name}' cannot run here: {error}") from None
    except ValueError as error:  # a setting the agent refuses (e.g. a backbone that does not fit the observations)
        raise UserError(f"invalid {cls.name} settings: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def restore_state(agent: Any, checkpoint: Checkpoint, path: str | Path) -> None:
    """Load a checkpoint's state into ``agent``; a mismatch becomes one clear line."""
    try:
        agent.load_state_dict(checkpoint.state)
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError) as error:
        raise UserError(
            f"checkpoint {path} does not fit agent '{checkpoint.agent}' here ({type(error).__name__}: {_first_line(error)}); "
            "was it trained on another environment, with other settings, or by another SimDrive version?"
        ) from None


@dataclass
class LoadedAgent:
    agent: Any
    checkpoint: Checkpoint
    path: Path


def read_checkpoint(path: str | Path) -> Checkpoint:
    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise UserError(str(error)) from None


def load_agent(path: str | Path, env: gym.Env | None = None, seed: int = 0) -> LoadedAgent:
    """Rebuild the agent saved at ``path``; ``env`` (if given) supplies the spaces."""
    checkpoint = read_checkpoint(path)
    cls = agent_class(checkpoint.agent)
    config = check_device(checkpoint_config(cls, checkpoint, path), cls.name, fallback=True)
    if env is None:
        from simdrive.envs_registry import make_env

        env = make_env(checkpoint.env_id, checkpoint.env_kwargs)
        agent = instantiate(cls, env, config, seed)
        env.close()
    else:
        agent = instantiate(cls, env, config, seed)
    restore_state(agent, checkpoint, path)
    return LoadedAgent(agent, checkpoint, Path(path))


BUILTIN_POLICIES = ("expert", "random")


class RandomPolicy:
    """The ``random`` built-in policy: uniform actions from the env's action space (a baseline).

    Its randomness is its own: seeded at construction and, by evaluations, from each episode's
    seed (``seed_episode``), so the same seed plays the same episode."""

    name = "random"

    def __init__(self, action_space: gym.Space, seed: int = 0):
        import copy

        self.action_space = copy.deepcopy(action_space)
        self.action_space.seed(int(seed))

    def seed_episode(self, seed: int) -> None:
        self.action_space.seed(int(seed) ^ 0x5EED)

    def act(self, obs: Any, explore: bool = False) -> Any:
        return self.action_space.sample()


@dataclass
class PolicySource:
    """What `eval`/`watch` play: a loaded checkpoint, or a built-in policy such as the expert."""

    agent: Any
    agent_name: str
    env_id: str
    env_kwargs: dict[str, Any]
    checkpoint: Path | None


def resolve_policy(source: str | Path, env_id: str | None, seed: int, env_kwargs: Mapping[str, Any] | None = None) -> PolicySource:
    """Load the agent behind ``source`` (a checkpoint path or a built-in name) for ``env_id``."""
    from simdrive.envs_registry import make_env, resolve_env_id

    if str(source) in BUILTIN_POLICIES and not Path(source).exists():
        if env_id is None:
            raise UserError(f"'{source}' is a built-in policy: name the environment, e.g. simdrive eval {source} simdrive/Highway-v0")
        target = resolve_env_id(env_id)
        kwargs = dict(env_kwargs or {})
        if str(source) == "random":
            probe = make_env(target, kwargs)
            agent = RandomPolicy(probe.action_space, seed)
            probe.close()
            return PolicySource(agent, "random", target, kwargs, None)
        cls = agent_class(str(source))
        probe = make_env(target, kwargs)
        check_compatible(cls, probe, target)
        agent = instantiate(cls, probe, agent_config(cls, ()), seed)
        probe.close()
        return PolicySource(agent, str(source), target, kwargs, None)
    checkpoint = read_checkpoint(source)
    target = resolve_env_id(env_id) if env_id else checkpoint.env_id
    if env_kwargs is not None:
        kwargs = dict(env_kwargs)
    else:
        kwargs = dict(checkpoint.env_kwargs) if target == checkpoint.env_id else {}
    cls = agent_class(checkpoint.agent)
    probe = make_env(target, kwargs)
    check_compatible(cls, probe, target)
    loaded = load_agent(source, env=probe, seed=seed)
    probe.close()
    return PolicySource(loaded.agent, checkpoint.agent, target, kwargs, Path(source))


def bind_to_env(agent: Any, env: Any) -> None:
    """Agents that read the environment's state (the expert) are given the env."""
    bind = getattr(agent, "bind_env", None)
    if bind is not None:
        bind(env)


def describe_config(config: Any) -> dict[str, Any]:
    return config_to_dict(config)
