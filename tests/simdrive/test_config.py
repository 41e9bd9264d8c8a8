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


# --- documented ranges of agent settings (issue 12, point 5) ----------------------------

import dataclasses  # noqa: E402
import math  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from agents import AGENTS  # noqa: E402
from agents.config_checks import Range, check_config, numeric_fields  # noqa: E402
from simdrive.agents_registry import agent_class, agent_config  # noqa: E402
from simdrive.config import load_yaml  # noqa: E402

CONFIGS = {name: spec.load().Config for name, spec in AGENTS.items()}


@pytest.mark.parametrize(
    "agent, pair, message",
    [
        ("q-learning", "gamma=-inf", "TDControlConfig.gamma must be a finite number, got -inf"),
        ("q-learning", "gamma=2", "TDControlConfig.gamma must be in [0, 1], got 2.0"),
        ("sarsa", "alpha=Infinity", "TDControlConfig.alpha must be a finite number, got inf"),
        ("q-learning", "epsilon=1e309", "TDControlConfig.epsilon must be a finite number, got inf"),
        ("sb3:ppo", "gamma=4096", "SB3PPOConfig.gamma must be in [0, 1], got 4096.0"),
        ("dqn", "hidden=200000,200000", "DQNConfig.hidden items must be > 0 and <= 4096, got 200000"),
        ("dqn", "buffer_size=1e12", "DQNConfig.buffer_size must be > 0 and <= 10000000"),
        ("mcts", "gamma=nan", "MCTSConfig.gamma must be a finite number, got nan"),
        ("ucb", "c=-1", "UCBConfig.c must be in [0, 1000000], got -1.0"),
    ],
)
def test_nonsense_settings_are_refused_at_construction(agent, pair, message):
    """Reproduces point 5: these values were accepted silently before."""
    with pytest.raises(UserError, match=re.escape(message)):
        agent_config(agent_class(agent), [pair])


@pytest.mark.parametrize("agent", sorted(CONFIGS))
def test_every_numeric_agent_setting_has_a_documented_range(agent):
    config_cls = CONFIGS[agent]
    ranges = getattr(config_cls, "RANGES", {})
    missing = [name for name in numeric_fields(config_cls) if name not in ranges]
    assert not missing, f"{config_cls.__name__} declares no valid range for {missing}"
    check_config(config_cls())  # the defaults lie inside their ranges


def _ranged_fields() -> list[tuple[str, str]]:
    return [(agent, name) for agent, cls in sorted(CONFIGS.items())
            for name in numeric_fields(cls) if isinstance(getattr(cls, "RANGES", {}).get(name), Range)]


@pytest.mark.parametrize("agent, name", _ranged_fields())
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_values_outside_a_range_are_refused_and_inside_accepted(agent, name, data):
    """Property over every ranged setting of every agent: a single value outside its range
    (or not finite) fails at construction naming the setting; a value inside is accepted."""
    cls = CONFIGS[agent]
    spec: Range = cls.RANGES[name]
    default = getattr(cls(), name)
    integer = isinstance(default, int) or (isinstance(default, tuple) and all(isinstance(v, int) for v in default))

    def inside() -> float:
        low = spec.low if math.isfinite(spec.low) else -1e12
        high = spec.high if math.isfinite(spec.high) else 1e12
        if integer:
            low = math.floor(low) + 1 if spec.low_open and float(low).is_integer() else math.ceil(low)
            high = math.ceil(high) - 1 if spec.high_open and float(high).is_integer() else math.floor(high)
            return data.draw(st.integers(int(low), int(min(high, low + 10_000))))
        return data.draw(st.floats(low, high, exclude_min=spec.low_open, exclude_max=spec.high_open))

    def outside() -> float:
        choices = [math.inf, -math.inf, math.nan] if not integer else []
        if math.isfinite(spec.low):
            choices.append(spec.low if spec.low_open else (spec.low - 1 if integer else spec.low - 1e-6 * max(1, abs(spec.low))))
        if math.isfinite(spec.high):
            choices.append(spec.high if spec.high_open else (spec.high + 1 if integer else spec.high + 1e-6 * max(1, abs(spec.high))))
        return data.draw(st.sampled_from(choices)) if choices else math.nan

    wrap = (lambda v: (v,)) if isinstance(default, tuple) else (lambda v: v)
    good = wrap(int(inside()) if integer else inside())
    try:
        cls(**{name: good})
    except ValueError as error:  # accepted by the range; only another rule of the agent may object
        assert name not in str(error).split(" must ")[0], error
    bad = outside()
    with pytest.raises(ValueError, match=rf"\b{name}\b"):  # the range check, or the agent's own rule, names it
        check_config(cls(**{name: wrap(int(bad) if integer and math.isfinite(bad) else bad)}))


def test_configurations_from_files_are_normalised_like_set():
    config = agent_config(agent_class("dqn"), ["gamma=0.5"], {"hidden": [32, 16], "learning_rate": 1})
    assert config.hidden == (32, 16) and isinstance(config.learning_rate, float) and config.gamma == 0.5
    with pytest.raises(UserError, match="DQNConfig.hidden must be a list of an integer"):
        agent_config(agent_class("dqn"), [], {"hidden": "64"})
    with pytest.raises(UserError, match="DQNConfig.double_dqn must be true or false, got 'yes'"):
        agent_config(agent_class("dqn"), [], {"double_dqn": "yes"})


# --- YAML from users: no anchors or aliases (issue 12, point 4) ---------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("&a [*a]", "anchors and aliases"),  # self-reference: RecursionError before
        ("[&a [1, 2], *a, *a]", "anchors and aliases"),
        ("a: &x [1,1,1,1,1,1,1,1,1]\nb: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x]\nc: [*y,*y,*y,*y,*y,*y,*y,*y,*y]", "anchors and aliases"),
        ("[" * 40 + "]" * 40, "nested deeper than 32 levels"),
        ("!!python/object/apply:os.system ['true']", "could not determine a constructor"),
    ],
)
def test_yaml_with_anchors_aliases_deep_nesting_or_python_tags_is_refused(text, message):
    with pytest.raises(UserError, match=re.escape(message)):
        load_yaml(text, "test.yaml")
    with pytest.raises(UserError, match=re.escape(message)):
        parse_env_kwargs([f"layout={text}"])


def test_env_arg_numbers_in_exponent_form_are_numbers():
    kwargs = parse_env_kwargs(["slip_prob=1e-3", "k=1e3", "maze_size=[5, 6]", "x=1e309"])
    assert kwargs == {"slip_prob": 0.001, "k": 1000, "maze_size": [5, 6], "x": float("inf")} and isinstance(kwargs["k"], int)
