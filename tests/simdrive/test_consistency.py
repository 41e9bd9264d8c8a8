"""Small inconsistencies a user met (issue 12, point 8): deterministic matches that repeat
two games, a human never told which side they play, summary paths cut at 80 columns, and
value iteration's sweeps reported as environment steps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from simdrive.cli import app
from simdrive.play import DEFAULT_OPENING_MOVES, play

ROOT = Path(__file__).resolve().parents[2]


def test_programs_playing_each_other_play_distinct_games_by_default():
    """Two deterministic players: 20 games used to be two distinct games ten times."""
    summary = play("mcts:20", vs="mcts:20", games=20, env_id="simdrive/TicTacToe-v0", seed=0, verbose=False)
    assert DEFAULT_OPENING_MOVES > 0
    assert summary.total.games == 20 and summary.distinct_games >= 8
    repeated = play("mcts:20", vs="mcts:20", games=20, env_id="simdrive/TicTacToe-v0", seed=0, opening_moves=0, verbose=False)
    assert repeated.distinct_games <= 2  # the control: without openings the games repeat
    again = play("mcts:20", vs="mcts:20", games=20, env_id="simdrive/TicTacToe-v0", seed=0, verbose=False)
    assert again.outcomes == summary.outcomes and again.games_seen == summary.games_seen  # same seed, same games


def test_the_human_is_told_which_side_they_play(capsys):
    """A person playing in the window (SDL dummy driver here) closes it at their first move:
    before that, the game said which side they play."""
    import threading
    import time

    import pygame

    def close_window_soon():
        deadline = time.monotonic() + 30
        while not pygame.display.get_init() and time.monotonic() < deadline:
            time.sleep(0.01)
        pygame.event.post(pygame.event.Event(pygame.QUIT))

    closer = threading.Thread(target=close_window_soon)
    closer.start()
    summary = play("mcts:5", vs="human", games=2, env_id="simdrive/TicTacToe-v0", seed=0)
    closer.join()
    out = capsys.readouterr().out
    assert "game 1: you play O (moves second), mcts:5 plays X (moves first)" in out
    assert summary.total.games == 0  # closed before the first game ended


def test_summary_paths_are_never_cut_in_logs(tmp_path):
    """Piped output (not a terminal, 80 columns) used to cut long checkpoint paths with an ellipsis."""
    out = tmp_path / ("a-very-long-folder-name-" * 6) / "run"
    result = subprocess.run([sys.executable, "-m", "simdrive.cli", "train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "3",
                             "--no-track", "--eval-episodes", "1", "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "COLUMNS": "80",
                                                                          "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    checkpoint = str(out / "checkpoint.sdckpt")
    table_rows = [line for line in result.stdout.splitlines() if "│ checkpoint " in line]
    assert len(table_rows) == 1 and checkpoint in table_rows[0], result.stdout
    assert "…" not in result.stdout


def test_value_iteration_reports_sweeps_not_environment_steps(tmp_path):
    result = CliRunner().invoke(app, ["train", "value-iteration", "simdrive/GridWorld4x4-v0", "--steps", 100, "--no-track",
                                      "--json", "--eval-episodes", 1, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["train_steps"] == 0 and summary["train_episodes"] == 0
    assert 1 <= summary["train_sweeps"] < 100  # converged before the budget
    q = CliRunner().invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", 3, "--no-track",
                                 "--json", "--eval-episodes", 1, "--out", str(tmp_path / "q")])
    q_summary = json.loads(q.stdout.strip().splitlines()[-1])
    assert q_summary["train_sweeps"] is None and q_summary["train_steps"] > 0 and q_summary["train_episodes"] == 3
