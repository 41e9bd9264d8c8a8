"""The README tour's training commands: the benchmark runs exactly what the README shows, and
its fast subset (the tabular commands, seconds) solves its tasks in CI."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tour():
    spec = importlib.util.spec_from_file_location("readme_tour", ROOT / "benchmarks" / "readme_tour.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("readme_tour", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_tour_command_is_in_the_readme_and_every_readme_train_command_in_the_tour():
    tour = _tour()
    readme = (ROOT / "README.md").read_text()
    commands = [item.command for item in tour.TOUR]
    for command in commands:
        assert f"simdrive {command}" in readme, command
    tour_section = readme.split("## A tour of the command line", 1)[1].split("\n## ", 1)[0]
    shown = [line.split("#")[0].strip() for line in tour_section.splitlines() if line.startswith("simdrive train ")]
    assert shown and all(any(line == f"simdrive {c}" for c in commands) for line in shown), shown


def test_shortest_path_oracle_on_a_known_maze():
    """The oracle itself: BFS distances on S&B's Dyna maze (the start is 14 moves from the goal)."""
    import gymnasium as gym

    import envs  # noqa: F401

    env = gym.make("simdrive/Maze-v0")
    obs, _ = env.reset(seed=0)
    assert _tour().bfs_distances(env.unwrapped.model)[int(obs)] == 14


@pytest.mark.slow
def test_fast_tour_commands_solve_their_tasks():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "readme_tour.py"), "--fast"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["commands"] >= 4 and summary["passed"] == summary["commands"], done.stdout
    assert done.returncode == 0
