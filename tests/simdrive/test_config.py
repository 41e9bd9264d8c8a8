from dataclasses import dataclass
from typing import Literal

import re

import pytest

from simdrive.config import parse_env_kwargs, parse_overrides
from simdrive.errors import UserError


@dataclass(frozen=True)
class Cfg:
    alpha: float = 0.1
    episodes: int = 10
    double: bool = False
    net: tuple[int, ...] = (64, 64)
    mode: Literal["hard", "soft"] = "hard"
    name: str = "x"


def test_values_are_parsed_by_type():
    values = parse_overrides(["alpha=0.5", "episodes=1e3", "double=true", "net=32,16", "mode=soft", "name=abc"], Cfg, "test")
    assert values == {"alpha": 0.5, "episodes": 1000, "double": True, "net": (32, 16), "mode": "soft", "name": "abc"}


@pytest.mark.parametrize(
    "pair, message",
    [
        ("alpah=0.1", "unknown test setting 'alpah' (did you mean 'alpha'?)"),
        ("alpha=fast", "bad value 'fast' for test setting 'alpha'"),
        ("episodes=1.5", "expected an integer"),
        ("double=maybe", "expected true or false"),
        ("mode=medium", "expected one of hard, soft"),
        ("alpha", "expects key=value"),
    ],
)
def test_bad_overrides_name_the_problem(pair, message):
    with pytest.raises(UserError, match=re.escape(message)):
        parse_overrides([pair], Cfg, "test")


def test_env_kwargs_are_yaml_scalars():
    assert parse_env_kwargs(["rows=7", "slip=0.1", "name=abc", "flag=true"]) == {"rows": 7, "slip": 0.1, "name": "abc", "flag": True}
