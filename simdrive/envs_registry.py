"""Resolving environment ids and building environments for the platform.

Environment arguments (``--env-arg``, or those stored in a checkpoint) are checked before
``gymnasium.make``: names against the environment's constructor, classes of typed
arguments, and the documented limits in ``ENV_ARG_RANGES`` (sizes that would take minutes
or gigabytes to build). Whatever still fails while building becomes one ``UserError``
line. The driving environments validate their own frozen configuration.
"""

from __future__ import annotations

import difflib
import inspect
import numbers
import types
import typing
from typing import Any, Callable, Mapping

import gymnasium as gym

from agents.config_checks import REWARD, UNIT, Pattern, Range, Spec
from simdrive.errors import UserError

#: Documented valid values of the arguments of SimDrive's non-driving environments.
ENV_ARG_RANGES: dict[str, dict[str, Spec]] = {
    "simdrive/Maze-v0": {
        "maze_size": Range(1, 200, max_len=2),  # rooms per side: at most 200x200 rooms (401x401 cells)
        "layout": Pattern(r"(?s).{1,200000}", "a map of at most 200000 characters"),
        "maze_seed": Range(0, 2**63 - 1),
        "loop_fraction": UNIT,
        "n_carrots": Range(0, 6),
        "n_traps": Range(0, 10_000),
        "slip_prob": UNIT,
        "goal_reward": REWARD,
        "step_reward": REWARD,
        "carrot_reward": REWARD,
        "trap_reward": REWARD,
    },
    "simdrive/Bandit-v0": {"k": Range(1, 100_000), "mean_offset": REWARD, "walk_std": Range(0.0, 1e6)},
}
#: ``gymnasium.make`` options that are not environment arguments; ``max_episode_steps`` is allowed with this range.
_MAKE_OPTIONS = ("disable_env_checker", "autoreset", "apply_api_compatibility", "order_enforce")
_MAX_EPISODE_STEPS = Range(1, 10_000_000)


def registered_ids() -> list[str]:
    import envs  # noqa: F401  (registers the simdrive/ namespace)

    return sorted(gym.registry)


def simdrive_ids() -> dict[str, str]:
    import envs

    return dict(sorted(envs.DESCRIPTIONS.items()))


def resolve_env_id(env_id: str) -> str:
    """Return a registered id; accept a bare SimDrive name such as ``Maze-v0``."""
    if not isinstance(env_id, str) or not env_id or len(env_id) > 200:
        raise UserError(f"bad environment id {str(env_id)[:80]!r}; 'simdrive envs' lists SimDrive's environments")
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


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (text[:300] + "...") if len(text) > 300 else (text or type(error).__name__)


def _numeric(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_numeric(item) for item in value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _creator(env_id: str) -> Callable[..., Any] | None:
    """The entry point of ``env_id``; a missing optional package becomes a ``UserError``."""
    entry = gym.spec(env_id).entry_point
    if not isinstance(entry, str):
        return entry
    try:
        return gym.envs.registration.load_env_creator(entry)
    except (ImportError, gym.error.DependencyNotInstalled) as error:
        missing = getattr(error, "name", None)
        what = f" ({missing})" if missing else ""
        raise UserError(f"cannot build {env_id}: it needs a package that is not installed{what}: {_first_line(error)}") from None
    except Exception as error:  # an entry point that does not load
        raise UserError(f"cannot build {env_id}: {type(error).__name__}: {_first_line(error)}") from None


def check_env_kwargs(env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Check environment arguments against the constructor and ``ENV_ARG_RANGES`` (see the module docstring)."""
    ranges = ENV_ARG_RANGES.get(env_id, {})
    for key, value in env_kwargs.items():
        if key in _MAKE_OPTIONS or key == "render_mode":
            raise UserError(f"'{key}' is not an environment argument of {env_id}; the command chooses it")
        rule = _MAX_EPISODE_STEPS if key == "max_episode_steps" else ranges.get(key)
        if rule is None:
            continue
        if isinstance(rule, Range) and _numeric(value):
            why = rule.reason(tuple(value) if isinstance(value, list) else value)
        elif isinstance(rule, Pattern) and isinstance(value, str):
            why = rule.reason(value)
        else:
            continue  # a wrong type: the environment's own check names it
        if why is not None:
            raise UserError(f"cannot build {env_id}: argument '{key}' {why}")
    creator = _creator(env_id)
    try:
        signature = inspect.signature(creator)
        hints = typing.get_type_hints(creator.__init__ if inspect.isclass(creator) else creator)
    except (TypeError, ValueError, NameError, AttributeError):
        return  # not introspectable: gymnasium.make reports problems
    params = signature.parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        valid = [name for name, p in params.items() if name != "render_mode" and p.kind is not inspect.Parameter.VAR_POSITIONAL]
        for key in env_kwargs:
            if key not in params and key != "max_episode_steps":
                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise UserError(f"unknown argument '{key}' for {env_id}{hint}; valid arguments: {', '.join(valid) or '(none)'}")
    for key, value in env_kwargs.items():
        annotation = hints.get(key)
        options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else (annotation,)
        classes = [o for o in options if inspect.isclass(o) and o.__module__ not in ("builtins", "typing")]
        if classes and len(classes) == len([o for o in options if o is not type(None)]) and not (
                value is None and type(None) in options) and not isinstance(value, tuple(classes)):
            names = " or ".join(c.__name__ for c in classes)
            raise UserError(f"argument '{key}' of {env_id} must be a {names} object, which --env-arg cannot give; leave it out")


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None, render_mode: str | None = None) -> gym.Env:
    env_id = resolve_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    check_env_kwargs(env_id, kwargs)
    try:
        return gym.make(env_id, render_mode=render_mode, **kwargs)
    except UserError:
        raise
    except Exception as error:  # building from user arguments: any failure is a bad argument or a missing package
        raise UserError(f"cannot build {env_id}: {_first_line(error)}") from None


def make_training_env(env_id: str, num_envs: int, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env | gym.vector.VectorEnv:
    """One env, or ``num_envs`` of them batched (natively where the env supports it)."""
    if num_envs <= 1:
        return make_env(env_id, env_kwargs)
    env_id = resolve_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    check_env_kwargs(env_id, kwargs)
    try:
        return gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"cannot build {num_envs} batched {env_id}: {_first_line(error)}") from None
