"""End-to-end CLI runs on tiny budgets, and every bad-input case."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simdrive.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = invoke("train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", 300, "--seed", 3,
                    "--out", out, "--no-track", "--json", "--eval-episodes", 5)
    assert result.exit_code == 0, result.output
    return last_json(result.stdout)


def test_train_json_has_the_promised_keys(trained):
    for key in ("run_id", "agent", "env", "checkpoint", "eval_return_mean", "eval_return_std", "eval_episodes", "wall_seconds"):
        assert key in trained
    assert trained["agent"] == "q-learning" and trained["env"] == "simdrive/GridWorld4x4-v0"
    assert trained["eval_episodes"] == 5
    assert Path(trained["checkpoint"]).is_file()
    # Optimal return from a random start of Example 4.1 is at worst -3.
    assert trained["eval_return_mean"] >= -3.0


def test_eval_reproduces_and_is_deterministic(trained):
    first = last_json(invoke("eval", trained["checkpoint"], "--episodes", 4, "--seed", 7, "--no-track", "--json").stdout)
    second = last_json(invoke("eval", trained["checkpoint"], "--episodes", 4, "--seed", 7, "--no-track", "--json").stdout)
    assert first["eval_return_mean"] == second["eval_return_mean"]
    assert first["eval_episodes"] == 4 and first["agent"] == "q-learning"


def test_same_seed_same_result(tmp_path):
    results = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = invoke("train", "sarsa", "simdrive/GridWorld4x4-v0", "--episodes", 50, "--seed", 1, "--out", out, "--no-track", "--json")
        assert result.exit_code == 0, result.output
        from agents.checkpoint import load_checkpoint

        results.append(load_checkpoint(out / "checkpoint.sdckpt").state)
    flat = [np.concatenate([np.ravel(v) for v in _arrays(state)]) for state in results]
    np.testing.assert_array_equal(flat[0], flat[1])


def _arrays(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _arrays(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _arrays(value)
    elif isinstance(tree, np.ndarray):
        yield tree.astype(float)


def test_watch_records_a_video(trained, tmp_path):
    for name in ("episode.gif", "episode.mp4"):
        target = tmp_path / name
        result = invoke("watch", trained["checkpoint"], "--episodes", 1, "--record", target)
        assert result.exit_code == 0, result.output
        assert target.is_file() and target.stat().st_size > 1000
    import cv2

    capture = cv2.VideoCapture(str(tmp_path / "episode.mp4"))
    ok, frame = capture.read()
    assert ok and frame.shape[2] == 3


def test_value_iteration_cli(tmp_path):
    result = invoke("train", "value-iteration", "simdrive/GridWorld4x4-v0", "--steps", 100, "--out", tmp_path, "--no-track", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    assert summary["eval_return_mean"] >= -3.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "q-lerning", "simdrive/Maze-v0"], "unknown agent 'q-lerning' (did you mean 'q-learning'?)"),
        (["train", "q-learning", "simdrive/Maez-v0"], "unknown environment 'simdrive/Maez-v0' (did you mean 'simdrive/Maze-v0'?)"),
        (["train", "value-iteration", "simdrive/Bandit-v0", "--steps", "10"], "needs an environment that exposes its model"),
        (["train", "q-learning", "simdrive/Maze-v0", "--set", "alhpa=0.1", "--steps", "10"], "unknown q-learning setting 'alhpa'"),
        (["train", "q-learning", "simdrive/Maze-v0", "--set", "alpha=fast", "--steps", "10"], "bad value 'fast' for q-learning setting 'alpha'"),
        (["train", "q-learning", "simdrive/Maze-v0", "--steps", "10", "--episodes", "3"], "not both"),
        (["train", "dqn", "simdrive/CartPole-v1", "--set", "batch_size=0", "--steps", "10"], "DQNConfig.batch_size must be > 0"),
        (["train", "dqn", "simdrive/CartPole-v1", "--set", "backbone=cnn", "--steps", "10"], "invalid dqn settings: backbone 'cnn'"),
        (["drive", "simdrive/Maze-v0"], "not a driving environment"),
        (["train", "q-learning", "simdrive/Maze-v0", "--steps", "10", "--eval-suite", "highway"], "is not a driving environment"),
        (["train", "dqn", "simdrive/Highway-v0", "--steps", "10", "--eval-suite", "highwya"], "unknown suite 'highwya'"),
        (["eval", "missing.sdckpt"], "does not exist"),
        (["watch", "missing.sdckpt"], "does not exist"),
    ],
)
def test_user_errors_are_one_line(args, message, tmp_path):
    result = runner.invoke(app, args + (["--no-track"] if args[0] not in ("watch", "drive") else []))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]


def test_checkpoint_for_another_env_is_refused(trained):
    result = runner.invoke(app, ["eval", trained["checkpoint"], "simdrive/Maze-v0", "--no-track"])
    assert result.exit_code == 2 and "does not fit agent 'q-learning'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_checkpoint_is_one_line(tmp_path, trained):
    damaged = tmp_path / "damaged.sdckpt"
    damaged.write_bytes(Path(trained["checkpoint"]).read_bytes()[:200])
    result = runner.invoke(app, ["eval", str(damaged), "--no-track"])
    assert result.exit_code == 2 and "damaged" in result.stderr


def test_console_script_exits_nonzero_without_traceback(tmp_path):
    exe = Path(sys.executable).with_name("simdrive")
    proc = subprocess.run([str(exe), "train", "nope", "simdrive/Maze-v0", "--no-track"],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: unknown agent 'nope'")


def test_listing_commands():
    envs_out = invoke("envs").stdout
    assert "simdrive/GridWorld4x4-v0" in envs_out and "simdrive/Maze-v0" in envs_out
    agents_out = invoke("agents").stdout
    assert "q-learning" in agents_out and "value-iteration" in agents_out
    for command in ("train", "eval", "watch", "envs", "agents"):
        assert invoke(command, "--help").exit_code == 0


def test_watch_opens_a_window_headless(trained):
    # SDL_VIDEODRIVER=dummy (tests/conftest.py): the pygame window path runs without a screen.
    result = invoke("watch", trained["checkpoint"], "--episodes", 1, "--fps", 1000)
    assert result.exit_code == 0, result.output


def test_record_rejects_other_suffixes(trained, tmp_path):
    result = runner.invoke(app, ["watch", trained["checkpoint"], "--record", str(tmp_path / "x.avi")])
    assert result.exit_code == 2 and ".mp4 or .gif" in result.stderr
    assert not list(tmp_path.iterdir())


def test_resume_continues_counters_to_the_total_budget(tmp_path):
    first = invoke("train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", 30, "--out", tmp_path / "a", "--no-track", "--json")
    assert last_json(first.stdout)["train_episodes"] == 30
    resumed = invoke("train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", 80, "--out", tmp_path / "b",
                     "--resume", tmp_path / "a" / "checkpoint.sdckpt", "--no-track", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert last_json(resumed.stdout)["train_episodes"] == 80  # 50 more, counted on from 30
    wrong = runner.invoke(app, ["train", "sarsa", "simdrive/GridWorld4x4-v0", "--episodes", 5, "--no-track",
                                "--resume", str(tmp_path / "a" / "checkpoint.sdckpt")])
    assert wrong.exit_code == 2 and "holds agent 'q-learning'" in wrong.stderr


def test_periodic_checkpoints_are_loadable(tmp_path):
    result = invoke("train", "q-learning", "simdrive/GridWorld4x4-v0", "--steps", 3000, "--checkpoint-every", 500,
                    "--out", tmp_path, "--no-track", "--json")
    assert result.exit_code == 0
    from agents.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "checkpoint.sdckpt").state["counters"]["steps"] >= 3000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.sdckpt", "checkpoint.sdckpt"]  # no temporaries left


def test_play_two_players_and_bad_specs():
    result = invoke("play", "mcts:200", "--vs", "random", "--env", "simdrive/TicTacToe-v0", "--games", 2, "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    assert summary["games"] == 2 and summary["total"]["losses"] == 0  # MCTS does not lose to a random player
    bad = runner.invoke(app, ["play", "mcts:x", "--env", "simdrive/TicTacToe-v0"])
    assert bad.exit_code == 2 and "mcts:N" in bad.stderr
    no_game = runner.invoke(app, ["play", "random", "--vs", "random"])
    assert no_game.exit_code == 2 and "--env" in no_game.stderr


def _interrupted_mid_statement(request):
    """What SQLAlchemy does when Ctrl-C lands inside a statement: its rollback fails and the
    error it raises carries the KeyboardInterrupt as its context."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise RuntimeError("Can't reconnect until invalid transaction is rolled back")


@pytest.mark.parametrize("raised, code, line", [
    (_interrupted_mid_statement, 130, "interrupted"),
    (lambda request: (_ for _ in ()).throw(RuntimeError("a real bug")), None, None),  # control: a bug stays a bug
])
def test_ctrl_c_inside_a_library_reads_as_an_interrupt(monkeypatch, tmp_path, raised, code, line):
    import simdrive.runner

    monkeypatch.setattr(simdrive.runner, "train", raised)
    if code is None:
        with pytest.raises(RuntimeError, match="a real bug"):
            invoke("train", "q-learning", "simdrive/GridWorld4x4-v0", "--no-track", "--out", tmp_path)
        return
    result = runner.invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--no-track", "--out", str(tmp_path)])
    assert result.exit_code == code
    assert result.stderr.strip() == line
    assert "Traceback" not in result.output
