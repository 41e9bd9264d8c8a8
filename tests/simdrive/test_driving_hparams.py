"""Tuned driving settings (issue 11): the shipped DQN, PPO (sb3) and A2C entries for Highway and
Merge are what a plain `simdrive train AGENT ENV` uses and `simdrive agents AGENT --env ENV` shows.

What the entries reach is measured by the commands in their ``produced_by`` blocks (minutes of
training), not here; these tests check that the entries are the ones used."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from simdrive.cli import app
from simdrive.hparams import tuned_entry
from simdrive.runner import TrainRequest, plan_training

DRIVING = ("simdrive/Highway-v0", "simdrive/Merge-v0")
FILES = {"dqn": "simdrive/hparams/dqn.yml", "sb3:ppo": "simdrive/hparams/sb3-ppo.yml", "a2c": "simdrive/hparams/a2c.yml"}
REQUIRED = [("dqn", "simdrive/Highway-v0"), ("sb3:ppo", "simdrive/Highway-v0"), ("sb3:ppo", "simdrive/Merge-v0"), ("dqn", "simdrive/Merge-v0"),
            ("a2c", "simdrive/Highway-v0"), ("a2c", "simdrive/Merge-v0")]
SHIPPED = [(agent, env_id) for agent in sorted(FILES) for env_id in DRIVING if tuned_entry(agent, env_id) is not None]


def test_the_required_driving_entries_are_shipped():
    assert set(REQUIRED) <= set(SHIPPED)


@pytest.mark.parametrize("agent, env_id", SHIPPED)
def test_a_plain_train_uses_the_shipped_driving_entry(agent, env_id):
    entry = tuned_entry(agent, env_id)
    assert entry.source == FILES[agent] and entry.budget is not None and entry.budget.steps
    assert entry.produced_by.result.strip() and "PENDING" not in entry.produced_by.result
    plan = plan_training(TrainRequest(agent=agent, env_id=env_id, track=False))
    assert plan.tuned == entry and plan.budget == entry.budget and plan.budget_source == FILES[agent]
    for key, value in entry.settings.items():
        assert plan.sources[key] == FILES[agent]
        got = getattr(plan.config, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key
    untuned = plan_training(TrainRequest(agent=agent, env_id=env_id, use_hparams=False, track=False))
    assert any(getattr(untuned.config, key) != getattr(plan.config, key) for key in entry.settings)  # control


def test_agents_command_shows_the_tuned_highway_dqn_settings():
    result = CliRunner().invoke(app, ["agents", "dqn", "--env", "simdrive/Highway-v0"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.strip()}
    entry = tuned_entry("dqn", "simdrive/Highway-v0")
    assert rows["huber_delta"][1:] == [str(entry.settings["huber_delta"]), "simdrive/hparams/dqn.yml"]
    assert rows["gamma"][-1] == "default"
    assert rows["budget"][1:] == [str(entry.budget.steps), "steps", "simdrive/hparams/dqn.yml"]
    assert rows["device"][-1] == "default"
    assert "produced by:" in result.stdout
    overridden = CliRunner().invoke(app, ["agents", "dqn", "--env", "simdrive/Highway-v0", "--set", "huber_delta=1"])
    assert [line.split()[1:] for line in overridden.stdout.splitlines() if line.startswith("huber_delta")] == [["1.0", "--set"]]
