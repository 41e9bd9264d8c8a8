"""The MLflow store survives interrupts and is checked before training (issue 12, points 1, 2, 6)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simdrive.cli import app
from simdrive.tracking import store_state

ROOT = Path(__file__).resolve().parents[2]
TRAIN = [sys.executable, "-m", "simdrive.cli", "train"]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), **extra}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def _later_tracked_run(folder: Path, monkeypatch) -> tuple[int, str, str | None]:
    """A tracked `train` in ``folder`` with the default store (sqlite:///mlflow.db): (exit code, stderr, run status)."""
    monkeypatch.chdir(folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "5", "--json",
                                      "--eval-episodes", "1", "--out", str(folder / "later")])
    if result.exit_code != 0:
        return result.exit_code, result.stderr, None
    run_id = json.loads(result.stdout.strip().splitlines()[-1])["run_id"]
    with sqlite3.connect(folder / "mlflow.db") as connection:
        status = connection.execute("select status from runs where run_uuid=?", (run_id,)).fetchone()[0]
    return 0, result.stderr, status


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_an_interrupt_during_the_first_store_creation_leaves_a_usable_store(tmp_path, monkeypatch, sig):
    """Reproduces point 1: the first tracked run is interrupted while MLflow creates its
    SQLite store (about 3 s of table creation and migrations). Before the fix the half-built
    mlflow.db made every later tracked run crash ("table ... already exists")."""
    child = subprocess.Popen(TRAIN + ["q-learning", "simdrive/Maze-v0", "--episodes", "3000", "--no-progress", "--out", "first"],
                             cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(("mlflow.db", ".mlflow.db")) for p in tmp_path.iterdir()):
        assert child.poll() is None and time.monotonic() < deadline, "the run never started creating its store"
        time.sleep(0.005)
    time.sleep(0.3)
    landed_during_creation = store_state(tmp_path / "mlflow.db")[0] != "complete" if (tmp_path / "mlflow.db").exists() else True
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert "Traceback" not in err
    assert landed_during_creation
    assert not (tmp_path / "mlflow.db").exists() or store_state(tmp_path / "mlflow.db")[0] == "complete"
    code, err, status = _later_tracked_run(tmp_path, monkeypatch)
    assert code == 0, err
    assert status == "FINISHED"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".mlflow.db")]  # the killed creation's temporary is gone


def _initial_tables_only(db: Path) -> None:
    """The state an interrupted MLflow creation used to leave: initial tables, migrations not run."""
    import sqlalchemy
    from mlflow.store.db.utils import InitialBase

    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    InitialBase.metadata.create_all(engine)
    engine.dispose()


@pytest.mark.parametrize(
    "make, message",
    [
        (_initial_tables_only, "is incomplete"),
        (lambda db: db.write_bytes(b"this is not a database, but some bytes " * 200), "is damaged"),
    ],
)
def test_a_broken_store_gives_one_line_naming_the_file_and_the_fix(tmp_path, monkeypatch, make, message):
    make(tmp_path / "mlflow.db")
    started = time.perf_counter()
    code, err, _ = _later_tracked_run(tmp_path, monkeypatch)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert message in err and str(tmp_path / "mlflow.db") in err and "--no-track" in err
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "later").exists()  # refused before training


def test_an_empty_store_file_is_created_in_place(tmp_path, monkeypatch):
    (tmp_path / "mlflow.db").write_bytes(b"")  # what a kill before the first table used to leave
    code, err, status = _later_tracked_run(tmp_path, monkeypatch)
    assert code == 0 and status == "FINISHED", err


@pytest.mark.parametrize(
    "uri, message",
    [
        ("http://127.0.0.1:9", "cannot reach tracking server http://127.0.0.1:9"),
        ("sqlite:///{tmp}/a-file/mlflow.db", "folder {tmp}/a-file is a file, not a folder"),
        ("sqlite:////proc/simdrive-{pid}/mlflow.db", "does not exist"),
        ("foo://somewhere", "cannot use tracking store foo://somewhere"),
        ("file:{tmp}/mlruns", "cannot use tracking store file:"),
    ],
)
def test_unusable_tracking_stores_fail_in_seconds_before_training(tmp_path, monkeypatch, uri, message):
    """Reproduces point 2: an unreachable server took ~250 s, an unwritable path ~106 s, each
    ending in a long traceback. Now: one line naming --no-track, exit 2, nothing trained."""
    (tmp_path / "a-file").write_text("a file, not a folder")
    uri = uri.format(tmp=tmp_path, pid=os.getpid())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "5",
                                      "--out", str(tmp_path / "run")])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--no-track" in result.stderr, result.stderr
    assert message.format(tmp=tmp_path) in result.stderr
    assert elapsed < 15
    assert not (tmp_path / "run").exists()


def _wait_for_running_run(db: Path, child: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
                    row = connection.execute("select run_uuid from runs where status='RUNNING'").fetchone()
            except sqlite3.Error:
                row = None
            if row:
                return row[0]
        time.sleep(0.1)
    raise AssertionError("no RUNNING run appeared")


def _status(db: Path, run_id: str) -> str:
    with sqlite3.connect(db) as connection:
        return connection.execute("select status from runs where run_uuid=?", (run_id,)).fetchone()[0]


@pytest.mark.slow
def test_sigterm_marks_the_run_killed_and_sigkill_is_reaped_by_the_next_run(tmp_path, monkeypatch):
    db = tmp_path / "mlflow.db"
    args = ["q-learning", "simdrive/Maze-v0", "--episodes", "1000000", "--no-progress", "--json", "--eval-episodes", "1"]
    child = subprocess.Popen(TRAIN + args + ["--out", "term"], cwd=tmp_path, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = _wait_for_running_run(db, child)
    time.sleep(0.5)
    child.send_signal(signal.SIGTERM)  # like a first Ctrl-C: stop, write the checkpoint, record KILLED
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["interrupted"] is True
    assert _status(db, run_id) == "KILLED"
    assert (tmp_path / "term" / "checkpoint.sdckpt").exists()

    child = subprocess.Popen(TRAIN + args + ["--out", "kill"], cwd=tmp_path, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed_id = _wait_for_running_run(db, child)
    child.send_signal(signal.SIGKILL)  # cannot be caught: the run stays RUNNING ...
    child.wait()
    assert _status(db, killed_id) == "RUNNING"
    code, err, status = _later_tracked_run(tmp_path, monkeypatch)
    assert code == 0 and status == "FINISHED", err
    assert _status(db, killed_id) == "KILLED"  # ... until the next tracked run on this host
