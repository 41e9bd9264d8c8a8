"""Resolving environment ids and building environments for the platform."""

from __future__ import annotations

import difflib
from typing import Any, Mapping

import gymnasium as gym

from simdrive.errors import UserError


def registered_ids() -> list[str]:
    import envs  # noqa: F401  (registers the simdrive/ namespace)

    return sorted(gym.registry)


def simdrive_ids() -> dict[str, str]:
    import envs

    return dict(sorted(envs.DESCRIPTIONS.items()))


def resolve_env_id(env_id: str) -> str:
    """Return a registered id; accept a bare SimDrive name such as ``Maze-v0``."""
    ids = registered_ids()
    if env_id in gym.registry:
        return env_id
    if f"simdrive/{env_id}" in gym.registry:
        return f"simdrive/{env_id}"
    ours = list(simdrive_ids())
    bare = {name.split("/", 1)[1]: name for name in ours}
    close_ours = difflib.get_close_matches(env_id.split("/")[-1], list(bare), n=1, cutoff=0.6)
    close = [bare[close_ours[0]]] if close_ours else difflib.get_close_matches(env_id, ids, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UserError(
        f"unknown environment '{env_id}'{hint}; SimDrive environments: {', '.join(ours)} "
        "(any registered Gymnasium id works too; 'simdrive envs' lists ours)"
    )


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None, render_mode: str | None = None) -> gym.Env:
    env_id = resolve_env_id(env_id)
    try:
        return gym.make(env_id, render_mode=render_mode, **dict(env_kwargs or {}))
    except (TypeError, ValueError) as error:
        raise UserError(f"cannot build {env_id}: {error}") from None
    except gym.error.Error as error:
        raise UserError(f"cannot build {env_id}: {error}") from None


def make_training_env(env_id: str, num_envs: int, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env | gym.vector.VectorEnv:
    """One env, or ``num_envs`` of them batched (natively where the env supports it)."""
    if num_envs <= 1:
        return make_env(env_id, env_kwargs)
    env_id = resolve_env_id(env_id)
    try:
        return gym.make_vec(env_id, num_envs=num_envs, **dict(env_kwargs or {}))
    except (TypeError, ValueError, gym.error.Error) as error:
        raise UserError(f"cannot build {num_envs} batched {env_id}: {error}") from None
