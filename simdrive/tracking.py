"""Experiment tracking through MLflow, or nothing at all with ``--no-track``.

The default store is ``sqlite:///mlflow.db`` in the working directory (MLflow 3's
default backend); ``MLFLOW_TRACKING_URI`` overrides it. Metrics are buffered and sent
with ``log_batch`` so that logging every episode does not slow training down.

Before a run starts, :func:`check_tracking` makes sure the store is usable, within
seconds, or raises a one-line :class:`TrackingError` naming ``--no-track``:

* a local SQLite store that does not exist yet is created whole or not at all: MLflow
  builds its schema (about 3 s of table creation and migrations) in a temporary file next
  to it, under a lock on the folder, and the file is renamed into place when complete. An
  interrupt at any moment leaves either no store or a complete one; temporary files of
  killed creations are removed by the next one. A store that exists but is incomplete
  (left by an interrupted creation before this), not a database, or from another MLflow
  version gives one line naming the file and the fix;
* a tracking server is asked once with no retries and a short timeout; afterwards MLflow's
  retries are bounded (``HTTP_DEFAULTS``) unless the user set them;
* any other store (unknown scheme, file store) is opened once, and its error is reported.

Runs carry the host and process id; a run left ``RUNNING`` by a process that was killed
(SIGKILL cannot be caught) is marked ``KILLED`` by the next tracked run on that host.
A tracking failure in the middle of a run prints one warning and the run goes on untracked.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import secrets
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from simdrive.errors import UserError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "simdrive"
#: MLflow's HTTP settings for a run unless the user sets them: MLflow's own defaults
#: (7 retries, backoff factor 2, 120 s timeout) make an unreachable server take minutes.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
#: The check before training: one try, short timeout [s].
PROBE_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
HOST_TAG, PID_TAG = "simdrive.host", "simdrive.pid"
#: MLflow 3's UI opens an experiment in the view its kind names; without the tag it guesses
#: GenAI (traces) for SimDrive's experiment. "custom_model_development" opens the runs table.
#: MLflow 3.17's UI also has a global GenAI / Model training switch (default GenAI) that wins
#: over the tag; a link with ``workflowType=machine_learning`` (:func:`runs_view_url`) opens
#: the training view whatever the switch says.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
UI_ADDRESS = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default


def runs_view_url(experiment_id: str, run_id: str | None = None, address: str = UI_ADDRESS) -> str:
    """The MLflow UI's page of a run (or of the experiment's runs) in the model-training view."""
    page = f"#/experiments/{experiment_id}" + (f"/runs/{run_id}" if run_id else "/runs")
    return f"{address}/{page}?workflowType=machine_learning"
NO_TRACK = "pass --no-track to run without tracking"


class TrackingError(UserError):
    """The tracking store cannot be used; the message names the store and the fix."""


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``; a relative SQLite path made absolute
    (MLflow keeps one engine per URI, so a relative one would follow the first working directory)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    db = sqlite_path(uri)
    if db is not None and not db.is_absolute():
        query = uri.partition("?")[2]
        uri = f"sqlite:///{os.path.abspath(db)}" + (f"?{query}" if query else "")
    return uri


def _one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split())
    return (text[:limit] + "...") if len(text) > limit else (text or type(error).__name__)


@contextlib.contextmanager
def _env(values: Mapping[str, str], override: bool) -> Iterator[None]:
    """Set environment variables (only those the user has not set), restored on exit when ``override``."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        if override:
            for key in added:
                os.environ.pop(key, None)


# --- local SQLite stores ---------------------------------------------------------------


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other schemes and in-memory databases)."""
    if not uri.startswith("sqlite:"):
        return None
    rest = uri[len("sqlite:"):].split("?", 1)[0]
    if not rest.startswith("///"):
        return None
    path = rest[3:]
    return Path(path) if path and path != ":memory:" else None


def _head_revision() -> str | None:
    try:
        from mlflow.store.db.utils import _get_latest_schema_revision

        return _get_latest_schema_revision()
    except Exception:  # pragma: no cover - MLflow moved it: skip the revision comparison
        return None


def store_state(db: Path) -> tuple[str, str]:
    """(state, detail) of an existing store file: ``complete``, ``empty`` (a database without
    tables, e.g. a zero-byte file), ``incomplete`` (tables without a finished schema),
    ``outdated`` (another MLflow version) or ``damaged`` (not a database)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
            tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
            if not tables:
                return "empty", "no tables"
            if "alembic_version" not in tables or not {"experiments", "runs", "metrics", "params", "tags"} <= tables:
                return "incomplete", "its tables were never finished"
            revisions = [row[0] for row in connection.execute("select version_num from alembic_version")]
            runs = connection.execute("select count(*) from runs").fetchone()[0]
    except sqlite3.DatabaseError as error:
        return "damaged", _one_line(error)
    head = _head_revision()
    if len(revisions) != 1:
        return "incomplete", "no schema revision"
    if head is not None and revisions[0] != head:
        if runs == 0:
            return "incomplete", f"schema revision {revisions[0]}, not {head}, and no runs"
        return "outdated", f"schema revision {revisions[0]}, this MLflow needs {head}"
    return "complete", ""


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (released by the OS if the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock (MLflow's own creation is unlocked there too)
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_TEMP = re.compile(r"\.(?P<name>.+)\.tmp(?P<pid>\d+)\.[0-9a-f]+(-journal|-wal|-shm)?")


def _remove_stale_temporaries(db: Path) -> None:
    from agents.checkpoint import process_alive

    for candidate in db.parent.glob(f".{db.name}.tmp*"):
        match = _TEMP.fullmatch(candidate.name)
        if match is None or match["name"] != db.name:
            continue
        pid = int(match["pid"])
        if pid == os.getpid() or not process_alive(pid):
            with contextlib.suppress(OSError):
                candidate.unlink()


def _create_store(db: Path) -> None:
    """Build a complete MLflow store in a temporary file next to ``db``, then rename it to ``db``."""
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    tmp = db.with_name(f".{db.name}.tmp{os.getpid()}.{secrets.token_hex(4)}")
    uri = f"sqlite:///{tmp}"
    artifact_root = os.environ.get("_MLFLOW_SERVER_ARTIFACT_ROOT", DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH)
    try:
        with _quiet("mlflow.store.db.utils", "alembic"):  # no "Creating initial MLflow database tables..." lines
            store = SqlAlchemyStore(uri, artifact_root)
        store.engine.dispose()
        SqlAlchemyStore._engine_map.pop(uri, None)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, db)
        with contextlib.suppress(OSError):
            fd = os.open(db.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


@contextlib.contextmanager
def _quiet(*names: str, level: int = logging.WARNING) -> Iterator[None]:
    """Raise the level of these loggers to ``level`` for the duration."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def ensure_sqlite_store(db: Path) -> None:
    """Create the store at ``db`` if it does not exist (atomically, see the module
    docstring) or check the one there; problems raise ``TrackingError``."""
    db = Path(os.path.abspath(db))
    shown = str(db)
    folder = db.parent
    if not folder.is_dir():
        why = "is a file, not a folder" if folder.exists() else "does not exist"
        raise TrackingError(f"cannot create tracking store {shown}: folder {folder} {why} "
                            f"(create it or set MLFLOW_TRACKING_URI), or {NO_TRACK}")
    try:
        with _folder_lock(folder):
            _remove_stale_temporaries(db)
            if db.exists():
                if not db.is_file():
                    raise TrackingError(f"tracking store {shown} is not a file; set MLFLOW_TRACKING_URI, or {NO_TRACK}")
                state, detail = store_state(db)
                if state == "empty" and db.stat().st_size == 0:
                    state = "missing"
            else:
                state, detail = "missing", ""
            if state in ("missing", "empty"):
                _create_store(db)
                return
    except OSError as error:
        raise TrackingError(f"cannot create tracking store {shown} ({error.strerror or _one_line(error)}); "
                            f"choose a writable place with MLFLOW_TRACKING_URI=sqlite:///PATH, or {NO_TRACK}") from None
    if state == "complete":
        return
    if state == "incomplete":
        raise TrackingError(f"tracking store {shown} is incomplete ({detail}; an interrupted first run?): "
                            f"delete it and run again (a new store is created), or {NO_TRACK}")
    if state == "outdated":
        raise TrackingError(f"tracking store {shown} was written by another MLflow version ({detail}): back it up and run "
                            f"'mlflow db upgrade sqlite:///{shown}', or {NO_TRACK}")
    raise TrackingError(f"tracking store {shown} is damaged ({detail}): move it away (a new one is created), or {NO_TRACK}")


# --- the check before training ---------------------------------------------------------


_CHECKED: set[tuple[str, str]] = set()  # (uri, working directory) checked by this process


def check_tracking(uri: str | None = None) -> str:
    """Make sure the tracking store is usable before anything is trained (see the module
    docstring); returns the URI. Raises ``TrackingError`` (one line, naming ``--no-track``)."""
    uri = uri or tracking_uri()
    key = (uri, os.getcwd())
    if key in _CHECKED:
        return uri
    db = sqlite_path(uri)
    if db is not None:
        ensure_sqlite_store(db)
    http = uri.startswith(("http://", "https://"))
    if http:
        os.environ.update({k: v for k, v in HTTP_DEFAULTS.items() if k not in os.environ})
    try:
        from mlflow import MlflowClient
    except ImportError:  # pragma: no cover - mlflow is a dependency
        raise TrackingError(f"MLflow is not installed; reinstall simdrive, or {NO_TRACK}") from None
    try:
        with _env(PROBE_SETTINGS if http else {}, override=True), _quiet("mlflow", level=logging.CRITICAL):
            MlflowClient(tracking_uri=uri).get_experiment_by_name(DEFAULT_EXPERIMENT)  # its failure is our one line
    except KeyboardInterrupt:
        raise
    except Exception as error:
        what = "cannot reach tracking server" if http else "cannot use tracking store"
        raise TrackingError(f"{what} {uri} ({_one_line(error, 200)}); fix MLFLOW_TRACKING_URI, or {NO_TRACK}") from None
    _CHECKED.add(key)
    return uri


# --- runs ----------------------------------------------------------------------------


class NullTracker:
    """Tracking turned off: every call does nothing."""

    run_id: str | None = None
    enabled = False

    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None: ...
    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None: ...
    def log_text(self, text: str, name: str) -> None: ...
    def set_tags(self, tags: Mapping[str, str]) -> None: ...
    def flush(self) -> None: ...
    def end(self, status: str = "FINISHED") -> None: ...


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """A tracking call that fails mid-run warns once and turns tracking off for the rest of the run."""

    def wrapper(self: "MlflowTracker", *args: Any, **kwargs: Any) -> Any:
        if self.broken:
            return None
        try:
            return method(self, *args, **kwargs)
        except KeyboardInterrupt:
            raise
        except Exception as error:
            self.broken = True
            print(f"warning: MLflow tracking failed ({_one_line(error, 200)}); the run goes on untracked", file=sys.stderr)
            return None

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class MlflowTracker:
    """One MLflow run. Use ``end()`` (or the platform's context handling) to close it."""

    enabled = True
    _FLUSH_EVERY = 500  # metric values buffered before a batch write
    _FLUSH_SECONDS = 5.0

    def __init__(self, run_name: str, experiment: str = DEFAULT_EXPERIMENT, tags: Mapping[str, str] | None = None):
        from mlflow import MlflowClient

        self.uri = check_tracking()
        self.broken = False
        self._pending: list[Any] = []
        self._last_flush = time.monotonic()
        try:
            self._client = MlflowClient(tracking_uri=self.uri)
            found = self._client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else self._client.create_experiment(
                experiment, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
            if found is not None and EXPERIMENT_KIND_TAG not in found.tags:  # stores made before the tag (a kind set by hand stays)
                self._client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
            self._reap_orphans(experiment_id)
            own = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
            run = self._client.create_run(experiment_id, run_name=run_name, tags={**dict(tags or {}), **own})
        except KeyboardInterrupt:
            raise
        except Exception as error:
            raise TrackingError(f"cannot start a run in tracking store {self.uri} ({_one_line(error, 200)}); "
                                f"fix MLFLOW_TRACKING_URI, or {NO_TRACK}") from None
        self.run_id: str = run.info.run_id
        self.experiment_id = experiment_id

    def _reap_orphans(self, experiment_id: str) -> None:
        """Mark KILLED the RUNNING runs of this host whose process is gone (killed with SIGKILL)."""
        from agents.checkpoint import process_alive

        host = socket.gethostname().replace("'", "")
        runs = self._client.search_runs(
            [experiment_id], filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'", max_results=100)
        for run in runs:
            try:
                pid = int(run.data.tags.get(PID_TAG, "0"))
            except ValueError:
                continue
            if pid > 0 and pid != os.getpid() and not process_alive(pid):
                self._client.set_terminated(run.info.run_id, status="KILLED")

    @_guarded
    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(key, str(value)[:6000]) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self._client.log_batch(self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        if self.broken:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        for key, value in metrics.items():
            value = float(value)
            if math.isfinite(value):
                self._pending.append(Metric(key, value, now, int(step)))
        if len(self._pending) >= self._FLUSH_EVERY or time.monotonic() - self._last_flush > self._FLUSH_SECONDS:
            self.flush()

    @_guarded
    def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:1000], self._pending[1000:]
            self._client.log_batch(self.run_id, metrics=batch)
        self._last_flush = time.monotonic()

    @_guarded
    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(path), artifact_path)

    @_guarded
    def log_text(self, text: str, name: str) -> None:
        self._client.log_text(self.run_id, text, name)

    @_guarded
    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_tag(self.run_id, key, str(value))

    def end(self, status: str = "FINISHED") -> None:
        self.flush()
        self.broken = False  # closing the run is worth one more try
        self._terminate(status)

    @_guarded
    def _terminate(self, status: str) -> None:
        self._client.set_terminated(self.run_id, status=status)


def make_tracker(enabled: bool, run_name: str, tags: Mapping[str, str] | None = None) -> NullTracker | MlflowTracker:
    return MlflowTracker(run_name, tags=tags) if enabled else NullTracker()


def artifact_dir(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
