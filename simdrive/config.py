"""Typed configuration from the command line: ``--set key=value`` overrides parsed
against a frozen dataclass's field types, with errors that name the key and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Mapping, Sequence

import yaml

from simdrive.errors import UserError


def _field_types(config_cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(config_cls)}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def parse_value(text: str, annotation: Any) -> Any:
    """Convert ``text`` to ``annotation`` (int, float, bool, str, tuple[...], Literal, Optional)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() in {"none", "null"} and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return parse_value(text, option)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise ValueError(f"expected one of {', '.join(map(str, args))}")
    if origin in (tuple, list):
        items = [item for item in text.replace("(", "").replace(")", "").replace("[", "").replace("]", "").split(",") if item.strip()]
        item_type = args[0] if args else str
        return tuple(parse_value(item.strip(), item_type) for item in items)
    if annotation is bool:
        return _parse_bool(text)
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            as_float = float(text)  # accept 1e5
            if not as_float.is_integer():
                raise ValueError("expected an integer") from None
            return int(as_float)
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError("expected a number") from None
    if annotation is str or annotation is Any:
        return text
    raise ValueError(f"cannot parse a {annotation}")


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + "|".join(map(str, typing.get_args(annotation)))
    if origin in (tuple, list):
        return "comma-separated list"
    return getattr(annotation, "__name__", str(annotation))


def parse_overrides(pairs: Sequence[str], config_cls: type, what: str) -> dict[str, Any]:
    """Turn ``["lr=0.001", "net=64,64"]`` into typed values for ``config_cls``."""
    field_types = _field_types(config_cls)
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set expects key=value, got '{pair}'")
        if key not in field_types:
            close = difflib.get_close_matches(key, list(field_types), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            valid = ", ".join(sorted(field_types)) or "(none)"
            raise UserError(f"unknown {what} setting '{key}'{hint}; valid settings: {valid}")
        try:
            values[key] = parse_value(text, field_types[key])
        except ValueError as error:
            raise UserError(
                f"bad value '{text}' for {what} setting '{key}': {error} (a {_type_name(field_types[key])})"
            ) from None
    return values


def build_config(config_cls: type, values: Mapping[str, Any], what: str) -> Any:
    """Instantiate the dataclass; its own validation errors become user errors."""
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as error:
        raise UserError(f"invalid {what} configuration: {error}") from None


def parse_env_kwargs(pairs: Sequence[str]) -> dict[str, Any]:
    """``--env-arg key=value`` pairs for ``gymnasium.make``; values parsed as YAML scalars."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--env-arg expects key=value, got '{pair}'")
        try:
            kwargs[key.strip()] = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            kwargs[key.strip()] = text
    return kwargs


def config_to_dict(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    return dict(config)


def to_yaml(data: Mapping[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return plain(config_to_dict(value))
        return value

    return yaml.safe_dump(plain(dict(data)), sort_keys=False)
