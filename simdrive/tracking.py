"""Experiment tracking through MLflow, or nothing at all with ``--no-track``.

The default store is ``sqlite:///mlflow.db`` in the working directory (MLflow 3's
default backend); ``MLFLOW_TRACKING_URI`` overrides it. Metrics are buffered and sent
with ``log_batch`` so that logging every episode does not slow training down.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Mapping

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "simdrive"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


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


class MlflowTracker:
    """One MLflow run. Use ``end()`` (or the platform's context handling) to close it."""

    enabled = True
    _FLUSH_EVERY = 500  # metric values buffered before a batch write
    _FLUSH_SECONDS = 5.0

    def __init__(self, run_name: str, experiment: str = DEFAULT_EXPERIMENT, tags: Mapping[str, str] | None = None):
        try:
            from mlflow import MlflowClient
        except ImportError:  # pragma: no cover - mlflow is a dependency
            from simdrive.errors import UserError

            raise UserError("MLflow is not installed; install simdrive with its dependencies or pass --no-track") from None
        self.uri = tracking_uri()
        self._client = MlflowClient(tracking_uri=self.uri)
        found = self._client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self._client.create_experiment(experiment)
        run = self._client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
        self.run_id: str = run.info.run_id
        self.experiment_id = experiment_id
        self._pending: list[Any] = []
        self._last_flush = time.monotonic()

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(key, str(value)[:6000]) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self._client.log_batch(self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        for key, value in metrics.items():
            value = float(value)
            if math.isfinite(value):
                self._pending.append(Metric(key, value, now, int(step)))
        if len(self._pending) >= self._FLUSH_EVERY or time.monotonic() - self._last_flush > self._FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:1000], self._pending[1000:]
            self._client.log_batch(self.run_id, metrics=batch)
        self._last_flush = time.monotonic()

    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_text(self, text: str, name: str) -> None:
        self._client.log_text(self.run_id, text, name)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_tag(self.run_id, key, str(value))

    def end(self, status: str = "FINISHED") -> None:
        self.flush()
        self._client.set_terminated(self.run_id, status=status)


def make_tracker(enabled: bool, run_name: str, tags: Mapping[str, str] | None = None) -> NullTracker | MlflowTracker:
    return MlflowTracker(run_name, tags=tags) if enabled else NullTracker()


def artifact_dir(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
