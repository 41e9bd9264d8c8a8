"""The CLI's promise: a user error is one ``error:`` line with exit status 2, never a
traceback (issue 12, point 4). Regression cases for the causes the audit found, then
hypothesis fuzzing of arguments, ``--set`` and ``--env-arg`` values and YAML text.
(``benchmarks/fuzz_cli.py`` runs the long version: 1,000 invocations, 200 checkpoints.)"""

from __future__ import annotations

import math
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simdrive.cli import app
from simdrive.config import load_yaml, parse_env_kwargs
from simdrive.envs_registry import make_env
from simdrive.errors import UserError

runner = CliRunner()


def run(*args) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an unexpected exception: show its traceback
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, err: str, contains: str = "") -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert contains in err, err


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """q-learning on GridWorld4x4, MCTS on tic-tac-toe and on Connect Four."""
    folder = tmp_path_factory.mktemp("ckpt")
    made = {}
    for name, agent, env in (("grid", "q-learning", "simdrive/GridWorld4x4-v0"), ("ttt", "mcts", "simdrive/TicTacToe-v0"),
                             ("c4", "mcts", "simdrive/ConnectFour-v0")):
        code, out, err = run("train", agent, env, "--steps", 20, "--no-track", "--eval-episodes", 1, "--out", folder / name)
        assert code == 0, err
        made[name] = folder / name / "checkpoint.sdckpt"
    return made


def _jax_missing() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.mark.parametrize(
    "args, contains",
    [
        (["train", "q-learning", "simdrive/Maze-v0", "--episodes", 2, "--no-track", "--out", "/dev/null"], "cannot create output folder /dev/null"),
        (["train", "q-learning", "simdrive/Maze-v0", "--episodes", 2, "--no-track", "--out", "x" * 5000], "choose another --out"),
        (["train", "q-learning", "CartPole-v1", "--steps", 10, "--no-track", "--env-arg", "params=1"], "unknown argument 'params'"),
        (["train", "q-learning", "simdrive/CartPole-v1", "--steps", 10, "--no-track", "--env-arg", "params=1"], "CartPoleParams"),
        (["train", "q-learning", "simdrive/Maze-v0", "--steps", 10, "--no-track", "--env-arg", "layout=&a [*a]"], "anchors and aliases"),
        (["train", "q-learning", "simdrive/Maze-v0", "--steps", 10, "--no-track", "--env-arg",
          "layout=[&x [1,1,1,1,1,1,1,1], &y [*x,*x,*x,*x,*x,*x,*x,*x], [*y,*y,*y,*y,*y,*y,*y,*y]]"], "anchors and aliases"),
        (["train", "q-learning", "simdrive/Maze-v0", "--steps", 10, "--no-track", "--env-arg", "goal_reward=1e23"], "goal_reward"),
        (["train", "a2c", "simdrive/CartPole-v1", "--steps", 10, "--no-track", "--seed", -1], "'--seed'"),
        (["train", "reinforce", "simdrive/CartPole-v1", "--steps", 10, "--no-track", "--seed", -3], "'--seed'"),
        (["train", "q-learning", "simdrive/Maze-v0", "--steps", 10, "--no-track", "--seed", -1], "'--seed'"),
        (["play", "random", "--env", "simdrive/TicTacToe-v0", "--vs", "random", "--seed", -1], "'--seed'"),
        (["train", "dqn", "simdrive/CartPole-v1", "--steps", 10, "--no-track", "--set", "device=cuda"], "device 'cuda' is not available"),
        (["train", "q-learning", "simdrive/Maze-v0", "--episodes", "many"], "Invalid value for '--episodes'"),
        (["train", "q-learning", "simdrive/Maze-v0", "--bogus"], "No such option: --bogus"),
        (["trian"], "No such command 'trian'"),
        (["train"], "Missing argument 'agent'"),
        (["watch", "--fps", "fast", "x"], "Invalid value for '--fps'"),
    ],
)
def test_causes_found_by_the_audit_are_one_line(tmp_path, monkeypatch, args, contains):
    """Each of these gave a traceback or typer's multi-line usage box before."""
    monkeypatch.chdir(tmp_path)
    if "device=cuda" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    code, _, err = run(*args)
    assert_one_line_error(code, err, contains)


@pytest.mark.skipif(not _jax_missing(), reason="jax is installed here")
@pytest.mark.parametrize("env_id", ["tabular/Blackjack-v0", "phys2d/CartPole-v1"])
def test_gymnasium_ids_whose_optional_package_is_missing(env_id, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("train", "q-learning", env_id, "--steps", 10, "--no-track")
    assert_one_line_error(code, err, "needs a package that is not installed (jax)")


def test_play_against_an_agent_of_another_game_or_environment(checkpoints):
    code, _, err = run("play", checkpoints["grid"], "--env", "simdrive/TicTacToe-v0", "--vs", "random")
    assert_one_line_error(code, err, "was trained on simdrive/GridWorld4x4-v0, not simdrive/TicTacToe-v0")
    code, _, err = run("play", checkpoints["ttt"], "--vs", checkpoints["c4"])
    assert_one_line_error(code, err, "was trained on simdrive/ConnectFour-v0, not simdrive/TicTacToe-v0")
    code, _, err = run("play", checkpoints["grid"], "--vs", "random")
    assert_one_line_error(code, err, "is not a two-player board game")


# --- fuzzing ----------------------------------------------------------------------------

AGENT_NAMES = ["q-learning", "sarsa", "value-iteration", "mc-control", "ucb", "mcts", "dqn", "a2c", "reinforce", "sb3:ppo", "alphazero"]
ENVS = ["simdrive/GridWorld4x4-v0", "simdrive/Maze-v0", "simdrive/Bandit-v0", "simdrive/CartPole-v1", "simdrive/TicTacToe-v0",
        "CartPole-v1", "Maze-v0", "nope-v0"]
weird_text = st.text(alphabet=string.printable + "äé€\u202e\x00", max_size=12)
numbers = st.sampled_from(["0", "-1", "1", "1e309", "-inf", "nan", "Infinity", "1e-300", "99999999999999999999", "0.5", "2", "-0.0",
                           "1,2", "[1,2]", "", "x", "true", "null", "1e5", "3.7"])
values = st.one_of(numbers, weird_text)
settings_keys = st.sampled_from(["gamma", "alpha", "epsilon", "hidden", "learning_rate", "batch_size", "buffer_size", "n_steps",
                                 "num_envs", "simulations", "device", "backbone", "c", "theta", "net_arch", "bogus", ""])
env_keys = st.sampled_from(["maze_size", "layout", "slip_prob", "goal_reward", "k", "variant", "walk_std", "n_traps", "opponent",
                            "params", "sutton_barto_reward", "render_mode", "max_episode_steps", "bogus", "1x"])


@st.composite
def train_args(draw) -> list[str]:
    args = ["train", draw(st.sampled_from(AGENT_NAMES + ["nope"])), draw(st.sampled_from(ENVS))]
    args += draw(st.sampled_from([["--steps", "30"], ["--episodes", "2"], ["--steps", draw(numbers)], ["--episodes", draw(values)]]))
    for _ in range(draw(st.integers(0, 3))):
        args += ["--set", f"{draw(settings_keys)}={draw(values)}"]
    for _ in range(draw(st.integers(0, 2))):
        args += ["--env-arg", f"{draw(env_keys)}={draw(values)}"]
    if draw(st.booleans()):
        args += ["--seed", draw(numbers)]
    if draw(st.booleans()):
        args += [draw(st.sampled_from(["--eval-episodes", "--checkpoint-every", "--threads"])), draw(numbers)]
    return args + ["--no-track", "--eval-episodes", "1", "--no-progress"]


@st.composite
def other_args(draw) -> list[str]:
    command = draw(st.sampled_from(["eval", "watch", "play", "agents", "envs", "nonsense"]))
    args = [command] + draw(st.lists(st.one_of(values, st.sampled_from(["expert", "random", "mcts:3", "mcts:x", "--episodes", "--seed",
                                                                            "--vs", "--env", "--games", "--fps", "--json", "--no-track"])),
                                     max_size=4))
    if command == "watch":
        args += ["--record", "out.gif", "--episodes", "1"]
    if command == "play":
        args += ["--games", "1"]
    return args


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(args=st.one_of(train_args(), other_args()))
def test_fuzzed_invocations_succeed_or_fail_in_one_line(tmp_path_factory, args):
    folder = tmp_path_factory.mktemp("fuzz")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        if args[0] == "train":
            args = args + ["--out", str(folder / "run")]
        code, out, err = run(*args)
    finally:
        os.chdir(cwd)
    assert "Traceback" not in out + err
    if code != 0:
        assert_one_line_error(code, err)


json_like = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=6),
                         lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(env_id=st.sampled_from(["simdrive/GridWorld4x4-v0", "simdrive/Maze-v0", "simdrive/Bandit-v0", "simdrive/CartPole-v1",
                               "simdrive/TicTacToe-v0", "CartPole-v1"]),
       kwargs=st.dictionaries(env_keys, json_like, max_size=3))
def test_env_arguments_build_or_fail_with_a_user_error(env_id, kwargs):
    """Any environment arguments of the non-driving environments: an env, or a UserError."""
    try:
        env = make_env(env_id, kwargs)
    except UserError as error:
        assert "\n" not in str(error)
    else:
        env.reset(seed=0)
        env.step(env.action_space.sample())
        env.close()


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet="[]{}&*!:,- \n'\"ab1.e", max_size=60))
def test_yaml_text_parses_or_fails_with_a_user_error(text):
    try:
        value = load_yaml(text, "f.yaml")
    except UserError as error:
        assert "\n" not in str(error) and "f.yaml" in str(error)
    else:
        assert value is None or isinstance(value, (str, int, float, bool, list, dict))
    try:
        parse_env_kwargs([f"x={text}"])
    except UserError:
        pass


def test_numbers_from_env_args_stay_numbers():
    kwargs = parse_env_kwargs(["a=1e309", "b=-.inf"])
    assert kwargs["a"] == math.inf and kwargs["b"] == -math.inf
