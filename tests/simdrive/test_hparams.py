"""Tuned hyperparameter files: the shipped ones are valid and say how they were produced;
precedence default < tuned file < --set; --hparams FILE; what `simdrive agents AGENT --env ENV` shows."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
from typer.testing import CliRunner

from agents import AGENTS
from agents.base import Budget
from simdrive.cli import app
from simdrive.errors import UserError
from simdrive.hparams import HPARAMS_DIR, load_file, resolve_settings, shipped_path, tuned_entry, write_file, Provenance
from simdrive.runner import TrainRequest, plan_training

SHIPPED = sorted(HPARAMS_DIR.glob("*.yml"))


def test_there_are_shipped_files_and_each_names_a_known_agent():
    assert SHIPPED
    names = {shipped_path(name).name: name for name in AGENTS}
    for path in SHIPPED:
        assert path.name in names, f"{path.name} is not the file of any agent"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_entry_builds_and_says_how_it_was_produced(path):
    import envs  # noqa: F401

    from simdrive.agents_registry import agent_class

    agent = {shipped_path(name).name: name for name in AGENTS}[path.name]
    cls = agent_class(agent)
    entries = load_file(path)
    assert entries, path
    for env_id, entry in entries.items():
        assert env_id in gym.registry, env_id
        assert entry.produced_by.command.strip() and entry.produced_by.seeds, (path, env_id)
        resolved = resolve_settings(cls, entry, ())  # validated like --set
        assert set(entry.settings) <= set(resolved.sources)
        assert entry.budget is not None, "a tuned entry fixes the default budget"


def test_precedence_default_then_tuned_file_then_set():
    plan = plan_training(TrainRequest(agent="sarsa", env_id="simdrive/Maze-v0", overrides=("epsilon=0.3",), track=False))
    tuned = "simdrive/hparams/sarsa.yml"
    assert plan.sources["epsilon"] == "--set" and plan.config.epsilon == 0.3
    assert plan.sources["initial_q"] == tuned and plan.config.initial_q == 1.0
    assert plan.sources["gamma"] == "default"
    assert plan.budget == Budget(episodes=400) and plan.budget_source == tuned
    assert plan.evaluation.every_source == tuned
    given = plan_training(TrainRequest(agent="sarsa", env_id="simdrive/Maze-v0", budget=Budget(episodes=7), track=False))
    assert given.budget == Budget(episodes=7) and given.budget_source == "--episodes"
    plain = plan_training(TrainRequest(agent="sarsa", env_id="simdrive/Maze-v0", use_hparams=False, track=False))
    assert plain.tuned is None and set(plain.sources.values()) == {"default"}
    other_env = plan_training(TrainRequest(agent="sarsa", env_id="simdrive/GridWorld4x4-v0", track=False))
    assert other_env.tuned is None  # tuned per environment


def test_hparams_file_replaces_the_shipped_one(tmp_path):
    path = write_file(tmp_path / "mine.yml", "simdrive/Maze-v0", {"alpha": 0.25, "epsilon": "1e-2"},
                      Provenance("by hand", (3,)), budget=Budget(episodes=12))
    plan = plan_training(TrainRequest(agent="sarsa", env_id="simdrive/Maze-v0", hparams=path, track=False))
    assert plan.config.alpha == 0.25 and plan.config.epsilon == 0.01  # "1e-2" read like --set
    assert plan.config.initial_q == 0.0  # the shipped file is not used
    assert plan.sources["alpha"] == str(path) and plan.budget == Budget(episodes=12)
    with pytest.raises(UserError, match="has no entry for simdrive/GridWorld4x4-v0"):
        plan_training(TrainRequest(agent="sarsa", env_id="simdrive/GridWorld4x4-v0", hparams=path, track=False))


@pytest.mark.parametrize("text, message", [
    ("simdrive/Maze-v0: {settings: {alpha: 0.5}}", "'produced_by' needs 'command'"),
    ("simdrive/Maze-v0: {produced_by: {command: x, seeds: [0]}, settings: {alpah: 0.5}}", "did you mean 'alpha'"),
    ("simdrive/Maze-v0: {produced_by: {command: x, seeds: [0]}, settings: {alpha: 7}}", "alpha"),
    ("simdrive/Maze-v0: {produced_by: {command: x, seeds: [0]}, budget: {steps: -1}}", "budget steps"),
    ("simdrive/Maze-v0: {produced_by: {command: x, seeds: [0]}, colour: red}", "unknown key 'colour'"),
    ("simdrive/Maze-v0: &a {produced_by: {command: x}}", "anchors"),
    ("- a list", "expected a mapping"),
])
def test_bad_hparams_files_fail_in_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "sarsa", "simdrive/Maze-v0", "--hparams", str(path), "--no-track"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert message in result.stderr and "bad.yml" in result.stderr, result.stderr


def test_agents_command_shows_each_value_and_its_source():
    result = CliRunner().invoke(app, ["agents", "sarsa", "--env", "simdrive/Maze-v0", "--set", "alpha=0.2"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.strip()}
    assert rows["alpha"][1:] == ["0.2", "--set"]
    assert rows["initial_q"][1:] == ["1.0", "simdrive/hparams/sarsa.yml"]
    assert rows["gamma"][1:] == ["0.99", "default"]
    assert rows["budget"][1:] == ["400", "episodes", "simdrive/hparams/sarsa.yml"]
    assert "produced by: python benchmarks/readme_tour.py --mazes" in result.stdout
    bad = CliRunner().invoke(app, ["agents", "--env", "simdrive/Maze-v0"])
    assert bad.exit_code == 2 and "need an AGENT" in bad.stderr


def test_resume_refuses_hparams(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["train", "sarsa", "simdrive/GridWorld4x4-v0", "--episodes", "5", "--out", str(tmp_path), "--no-track"])
    assert first.exit_code == 0
    again = runner.invoke(app, ["train", "sarsa", "simdrive/GridWorld4x4-v0", "--episodes", "9", "--no-track",
                                "--resume", str(tmp_path / "checkpoint.sdckpt"), "--hparams", str(shipped_path("sarsa"))])
    assert again.exit_code == 2 and "--hparams does not apply to --resume" in again.stderr


def test_shipped_tuned_entry_is_what_a_plain_train_uses():
    entry = tuned_entry("sarsa", "simdrive/Maze-v0")
    assert entry is not None and entry.source == "simdrive/hparams/sarsa.yml"
    assert tuned_entry("sarsa", "simdrive/GridWorld5x5-v0") is None
    assert Path(entry.source).name == "sarsa.yml"
