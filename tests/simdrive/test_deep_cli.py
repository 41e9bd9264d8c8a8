"""Deep agents through the CLI: train, resume, and a run killed mid-way."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.checkpoint import load_checkpoint
from simdrive.cli import app

runner = CliRunner()


def last_json(output):
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.slow
def test_dqn_train_then_resume_continues_steps(tmp_path):
    first = runner.invoke(app, ["train", "dqn", "simdrive/CartPole-v1", "--steps", "3000", "--set", "learning_starts=500",
                                "--out", str(tmp_path / "a"), "--no-track", "--json", "--eval-episodes", "2"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert last_json(first.stdout)["train_steps"] >= 3000
    resumed = runner.invoke(app, ["train", "dqn", "simdrive/CartPole-v1", "--steps", "5000", "--out", str(tmp_path / "b"),
                                  "--resume", str(tmp_path / "a" / "checkpoint.sdckpt"), "--no-track", "--json",
                                  "--eval-episodes", "2"], catch_exceptions=False)
    assert resumed.exit_code == 0, resumed.output
    summary = last_json(resumed.stdout)
    assert 5000 <= summary["train_steps"] < 5000 + 1000  # continued from 3000, not from 0


@pytest.mark.slow
def test_killed_run_leaves_a_loadable_checkpoint(tmp_path):
    exe = Path(sys.executable).with_name("simdrive")
    proc = subprocess.Popen([str(exe), "train", "a2c", "simdrive/CartPole-v1", "--steps", "10000000", "--checkpoint-every", "2000",
                             "--out", str(tmp_path), "--no-track", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = tmp_path / "checkpoint.sdckpt"
    try:
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert checkpoint.exists(), "no periodic checkpoint within 120 s"
        time.sleep(1.5)  # let it overwrite the checkpoint a few times, then kill it at a random moment
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    saved = load_checkpoint(checkpoint)
    assert saved.agent == "a2c" and saved.env_id == "simdrive/CartPole-v1"
    result = runner.invoke(app, ["eval", str(checkpoint), "--episodes", "1", "--no-track", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
