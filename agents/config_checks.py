"""Valid values of agent settings, declared next to each configuration dataclass.

Every numeric setting of an agent has a documented valid range. A frozen ``Config``
dataclass declares them in a class variable and checks them at construction::

    @dataclass(frozen=True)
    class TDControlConfig:
        gamma: float = 0.99  # discount factor [-]
        alpha: float = 0.5  # step size [-]

        RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "alpha": Range(0, 1, low_open=True)}

        def __post_init__(self) -> None:
            check_config(self)

``check_config`` checks every field against its annotation (``int``, ``float``, ``bool``,
``str``, ``Literal[...]``, ``tuple[int, ...]``, ``X | None``): floats must be finite, ints
must not be booleans, strings must not be numbers; then each declared range. It
normalises in place (an ``int`` given for a ``float`` becomes a float, a list a tuple, NumPy
scalars Python ones), so that a configuration read from JSON or YAML equals the one built in
code. Errors are ``ValueError`` naming the setting, its valid range and the value.

``describe_settings(config_cls)`` lists (name, type, default, valid values) for help texts.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Protocol

import numpy as np


class Spec(Protocol):
    """A set of valid values: ``reason(value)`` is None when ``value`` is valid."""

    def reason(self, value: Any) -> str | None: ...


def _fmt(number: float) -> str:
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e13 else f"{number:g}"


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high``; ``low_open``/``high_open`` exclude the bound itself.

    For a tuple setting (network widths) the range applies to every item, and ``max_len``
    bounds the number of items.
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    max_len: int | None = None

    def __str__(self) -> str:
        """``in [0, 1]`` for a closed interval, otherwise inequalities (``> 0 and <= 1000``)."""
        finite_low, finite_high = not math.isinf(self.low), not math.isinf(self.high)
        if finite_low and finite_high and not (self.low_open or self.high_open):
            text = f"in [{_fmt(self.low)}, {_fmt(self.high)}]"
        else:
            parts = []
            if finite_low:
                parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
            if finite_high:
                parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
            text = " and ".join(parts) or "finite"
        if self.max_len is not None:
            text = f"at most {self.max_len} items, each {text}"
        return text

    def contains(self, number: float) -> bool:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return False  # not a number at all (e.g. a nested list from a command line)
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        return bool(above and below)

    def reason(self, value: Any) -> str | None:
        if isinstance(value, tuple):
            if self.max_len is not None and len(value) > self.max_len:
                return f"must have at most {self.max_len} items, got {len(value)}"
            bad = [item for item in value if not self.contains(item)]
            return f"items must be {Range(self.low, self.high, self.low_open, self.high_open)}, got {bad[0]!r}" if bad else None
        return None if self.contains(value) else f"must be {self}, got {value!r}"


@dataclass(frozen=True)
class Pattern:
    """Strings matching a regular expression (whole string); ``text`` documents it."""

    regex: str
    text: str

    def __str__(self) -> str:
        return self.text

    def reason(self, value: Any) -> str | None:
        return None if re.fullmatch(self.regex, value) else f"must be {self.text}, got {value!r}"


@dataclass(frozen=True)
class Choice:
    """One of ``values``; ``hint`` explains a refusal (e.g. why a known name is not offered here)."""

    values: tuple[str, ...]
    hint: str = ""

    def __str__(self) -> str:
        return "one of " + ", ".join(self.values)

    def reason(self, value: Any) -> str | None:
        if value in self.values:
            return None
        return f"must be {self}{'; ' + self.hint if self.hint else ''}, got {value!r}"


#: Common ranges.
UNIT = Range(0.0, 1.0)  # probabilities, discounts, fractions [-]
OPEN_UNIT = Range(0.0, 1.0, low_open=True)  # step sizes [-]
POSITIVE = Range(0.0, math.inf, low_open=True)
NON_NEGATIVE = Range(0.0, math.inf)
REAL = Range()  # any finite number
REWARD = Range(-1e9, 1e9)  # values and rewards: finite, far from overflow [reward]
SIGNED = Range(-1e6, 1e6)  # a setting where <= 0 switches something off (gradient clipping, Huber)
COEF = Range(0.0, 1000.0)  # loss weights [-]
LOG_STD = Range(-20.0, 20.0)  # initial log standard deviation [-]
LEARNING_RATE = Range(0.0, 10.0, low_open=True)
COUNT = Range(0, 1_000_000_000, low_open=True)  # steps, episodes, batch sizes [-]
COUNT0 = Range(0, 1_000_000_000)
WIDTHS = Range(0, 4096, low_open=True, max_len=16)  # hidden layer widths of an MLP [units]
WIDTH = Range(0, 4096, low_open=True)  # one layer's width [units]
ENVS = Range(0, 1024, low_open=True)  # parallel sub-environments [-]
REPLAY = Range(0, 10_000_000, low_open=True)  # replay capacity [transitions]
DEVICE = Pattern(r"cpu|auto|mps|cuda(:\d{1,2})?", "cpu, cuda, cuda:N, mps or auto")


@functools.lru_cache(maxsize=None)
def _hints(config_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(config_cls)


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin in (typing.Union, types.UnionType):
        return " or ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin in (tuple, list):
        return f"a list of {_type_name(args[0]) if args else 'values'}"
    return {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}.get(annotation, str(annotation))


def _coerce(value: Any, annotation: Any) -> Any:
    """``value`` as ``annotation`` (normalised), or ``ValueError`` naming what is expected."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(value, option)
            except ValueError:
                pass
        raise ValueError(_type_name(annotation))
    if origin is Literal:
        for choice in args:
            if type(value) is type(choice) and value == choice:
                return choice
        raise ValueError(_type_name(annotation))
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            raise ValueError(_type_name(annotation))
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            return tuple(_coerce(item, args[0]) for item in value)
        if args and len(args) != len(value):
            raise ValueError(f"a list of {len(args)} values")
        return tuple(_coerce(item, a) for item, a in zip(value, args)) if args else tuple(value)
    if annotation is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(_type_name(bool))
    if annotation is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        raise ValueError(_type_name(int))
    if annotation is float:
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            number = float(value)
            if math.isfinite(number):
                return number
        raise ValueError(_type_name(float))
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ValueError(_type_name(str))
    return value


def check_config(config: Any) -> None:
    """Check (and normalise in place) every field of a frozen config dataclass; see the module docstring."""
    cls = type(config)
    hints = _hints(cls)
    ranges: Mapping[str, Spec] = getattr(cls, "RANGES", {})
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        annotation = hints.get(field.name, Any)
        spec = ranges.get(field.name)
        try:
            normal = _coerce(value, annotation)
        except (ValueError, OverflowError) as error:
            why = spec.reason(value) if isinstance(spec, Choice) else None
            raise ValueError(f"{cls.__name__}.{field.name} {why or f'must be {error}, got {value!r}'}") from None
        if spec is not None and normal is not None:
            why = spec.reason(normal)
            if why is not None:
                raise ValueError(f"{cls.__name__}.{field.name} {why}")
        if type(normal) is not type(value) or normal != value:
            object.__setattr__(config, field.name, normal)


def numeric_fields(config_cls: type) -> list[str]:
    """Fields whose values are numbers (or tuples of numbers): each needs a declared range."""

    def numeric(annotation: Any) -> bool:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType, tuple, list):
            return any(numeric(a) for a in typing.get_args(annotation) if a is not Ellipsis)
        return annotation in (int, float)

    hints = _hints(config_cls)
    return [f.name for f in dataclasses.fields(config_cls) if numeric(hints.get(f.name, Any))]


def describe_settings(config_cls: type) -> list[tuple[str, str, str, str]]:
    """(name, type, default, valid values) of every setting, for ``simdrive agents NAME``."""
    hints = _hints(config_cls)
    ranges: Mapping[str, Spec] = getattr(config_cls, "RANGES", {})
    rows = []
    for field in dataclasses.fields(config_cls):
        default = field.default if field.default is not dataclasses.MISSING else "-"
        annotation = hints.get(field.name, Any)
        valid = str(ranges[field.name]) if field.name in ranges else (
            _type_name(annotation) if typing.get_origin(annotation) is Literal or annotation is bool else "")
        kind = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        rows.append((field.name, kind, str(default), valid))
    return rows
