"""The MLflow UI in a real headless browser: the link ``simdrive train`` prints opens SimDrive's
run in the model-training view (runs, metrics), not MLflow 3's GenAI overview (traces, "no
data"). Control: the same page in the GenAI view does not show the run, so the check can fail.

MLflow 3.17's UI decides the view with a global GenAI / Model training switch (default GenAI,
kept in the browser) and the URL's ``workflowType``; the experiment also carries the
``mlflow.experimentKind`` tag, which earlier MLflow 3 UIs use to pick the view.

``python tests/simdrive/test_mlflow_ui.py PNG`` writes a screenshot of the page to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: .ci/run installs Debian's chromium before make test")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

RUN_NAME = "train q-learning simdrive/GridWorld4x4-v0"
UI_ADDRESS = "http://127.0.0.1:5000"  # simdrive.tracking.UI_ADDRESS, `mlflow ui`'s default


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tracked_store(folder: Path) -> tuple[str, str, str]:
    """A store with one tracked training run, made by the command line; (uri, experiment id,
    the UI link the command printed)."""
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    env.update(SDL_VIDEODRIVER="dummy", MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-m", "simdrive.cli", "train", "q-learning", "simdrive/GridWorld4x4-v0",
                           "--episodes", "20", "--out", str(folder / "run")], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    link = next(line.split("then open ", 1)[1].strip() for line in done.stdout.splitlines() if "then open " in line)
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    experiment = MlflowClient(uri).get_experiment_by_name("simdrive")
    return uri, experiment.experiment_id, link


class _Server:
    """``mlflow server`` on a free local port."""

    def __init__(self, uri: str, folder: Path):
        self.port = _free_port()
        mlflow = Path(sys.executable).with_name("mlflow")
        self.process = subprocess.Popen([str(mlflow), "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
                                         "--port", str(self.port), "--workers", "1"], cwd=folder,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.close()
        raise RuntimeError("mlflow server did not start within 90 s")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def page_texts(visits: list[tuple[str, str]], screenshot: Path | None = None) -> list[str]:
    """The visible text of each ``(url, expect)`` page in one headless chromium, read once
    ``expect`` shows (or after 20 s); the first page is saved to ``screenshot``."""
    from playwright.sync_api import sync_playwright

    texts = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for index, (url, expect) in enumerate(visits):
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            page.goto(url)
            try:
                page.wait_for_function(f"document.body.innerText.includes({expect!r})", timeout=20_000)
            except Exception:  # the assertion on the text says what is missing
                pass
            page.wait_for_timeout(500)  # let the table settle
            if screenshot is not None and index == 0:
                page.screenshot(path=str(screenshot))
            texts.append(page.url + "\n" + page.inner_text("body"))
            page.close()
        browser.close()
    return texts


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-ui")
    uri, experiment_id, link = _tracked_store(folder)
    server = _Server(uri, folder)
    yield uri, experiment_id, link.replace(UI_ADDRESS, f"http://127.0.0.1:{server.port}"), folder
    server.close()


@pytest.mark.slow
def test_printed_link_opens_the_training_runs_view(store):
    uri, experiment_id, link, folder = store
    from mlflow import MlflowClient

    from simdrive.tracking import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG

    assert MlflowClient(uri).get_experiment(experiment_id).tags.get(EXPERIMENT_KIND_TAG) == EXPERIMENT_KIND
    assert link.endswith("workflowType=machine_learning")
    experiment_page = link.split("/runs/")[0]
    run, control = page_texts([
        (link, RUN_NAME),  # the run's page
        (experiment_page + "?workflowType=genai", "Tool calls"),  # control: MLflow 3.17's default view, GenAI
    ], folder / "run.png")
    assert "Model training" in run and RUN_NAME in run, run[:2000]
    assert "Tool calls" in control and RUN_NAME not in control, control[:2000]  # the GenAI overview does not list it


def test_existing_experiment_without_the_tag_gets_it_once(tmp_path, monkeypatch):
    """Stores made before the tag existed get it on the next run; a kind the user chose stays."""
    from mlflow import MlflowClient

    from simdrive.tracking import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, MlflowTracker

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("simdrive")  # an old store: no kind tag
    MlflowTracker("a run").end()
    assert client.get_experiment(experiment_id).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, "genai_development")  # the user's choice
    MlflowTracker("another run").end()
    assert client.get_experiment(experiment_id).tags[EXPERIMENT_KIND_TAG] == "genai_development"


if __name__ == "__main__":  # a screenshot to look at: python tests/simdrive/test_mlflow_ui.py out.png
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        uri, experiment_id, link = _tracked_store(Path(scratch))
        server = _Server(uri, Path(scratch))
        try:
            runs = link.split("/runs/")[0] + "/runs?workflowType=machine_learning"
            page_texts([(runs.replace(UI_ADDRESS, f"http://127.0.0.1:{server.port}"), RUN_NAME)], Path(sys.argv[1]))
        finally:
            server.close()
    print(f"wrote {sys.argv[1]}")
