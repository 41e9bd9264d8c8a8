"""Typed configuration from the command line: ``--set key=value`` overrides parsed
against a frozen dataclass's field types, with errors that name the key and the fix.

Every path that builds an agent configuration (``--set``, a checkpoint's stored
configuration, tuned defaults) goes through :func:`build_config`, so the same types and
documented ranges (``agents.config_checks``) apply to all of them. YAML read from users
(``--env-arg`` values, files) goes through :func:`load_yaml`, which refuses anchors and
aliases (``&a [*a]`` recursion, alias "billion laughs" expansion) and deep nesting.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
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


def check_keys(config_cls: type, values: Mapping[str, Any], what: str) -> None:
    """Unknown keys (e.g. in a configuration read from a file) fail, naming the valid ones."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    for key in values:
        if not isinstance(key, str) or key not in names:
            close = difflib.get_close_matches(str(key), list(names), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UserError(f"unknown {what} setting '{key}'{hint}; valid settings: {', '.join(sorted(names)) or '(none)'}")


def build_config(config_cls: type, values: Mapping[str, Any], what: str) -> Any:
    """Instantiate the dataclass with types and documented ranges checked
    (``agents.config_checks``); validation errors become user errors."""
    from agents.config_checks import check_config

    check_keys(config_cls, values, what)
    try:
        config = config_cls(**values)
        check_config(config)  # again for configs whose __post_init__ does not (idempotent)
    except (TypeError, ValueError, OverflowError) as error:
        raise UserError(f"invalid {what} configuration: {_one_line(error)}") from None
    return config


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:500] if text else type(error).__name__


#: Limits of YAML read from users [characters], [levels].
MAX_YAML_CHARS = 1_000_000
MAX_YAML_DEPTH = 32


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors, aliases and nesting deeper than ``MAX_YAML_DEPTH``."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors and aliases (&name, *name) are not allowed; write the value out",
                                              event.start_mark)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_text_file(path, what: str, option: str, max_bytes: int) -> str:
    """The UTF-8 text of a user's file, read with bounded memory; a missing, unreadable, too large
    or non-UTF-8 file becomes a ``UserError`` naming ``what`` (e.g. "search space") and ``option``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise UserError(f"cannot read {what} {path} ({error.strerror or error}); check {option}") from None
    if len(data) > max_bytes:
        raise UserError(f"{what} {path} is larger than {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not UTF-8 text") from None


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML from a user (safe tags only, no anchors or aliases, bounded size and depth);
    a problem becomes a ``UserError`` naming ``source`` (a file name or ``--env-arg rows``)."""
    if len(text) > MAX_YAML_CHARS:
        raise UserError(f"{source}: {len(text)} characters, more than the limit of {MAX_YAML_CHARS}")
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or _one_line(error)
        raise UserError(f"{source}: not valid YAML{where}: {problem}") from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise UserError(f"{source}: nested too deeply") from None


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _numbers(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` and ``1e5`` as strings; read them as numbers like ``--set`` does
    (a whole number such as ``1e5`` as an int, so it fits integer arguments too)."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def parse_env_kwargs(pairs: Sequence[str]) -> dict[str, Any]:
    """``--env-arg key=value`` pairs for ``gymnasium.make``; values parsed as YAML (flow lists
    and mappings allowed; no anchors or aliases), strings that are numbers read as numbers."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--env-arg expects key=value, got '{pair}'")
        if not key.isidentifier():
            raise UserError(f"--env-arg key '{key}' is not a valid argument name")
        kwargs[key] = _numbers(load_yaml(text, f"--env-arg {key}")) if text else ""
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
