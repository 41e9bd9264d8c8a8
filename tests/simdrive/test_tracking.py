"""A tracked run lands in the SQLite store with params, metrics and artifacts."""

import json

from mlflow import MlflowClient
from typer.testing import CliRunner

from simdrive.cli import app


def test_train_and_eval_are_mlflow_runs(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "100", "--seed", "0",
                                 "--out", str(tmp_path / "run"), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(summary["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["agent"] == "q-learning" and run.data.params["env"] == "simdrive/GridWorld4x4-v0"
    assert "agent.alpha" in run.data.params and "seed" in run.data.params
    history = client.get_metric_history(run.info.run_id, "episode_return")
    assert len(history) == 100 and history[-1].step > history[0].step
    assert abs(run.data.metrics["eval_return_mean"] - summary["eval_return_mean"]) < 1e-9
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"checkpoint.sdckpt", "config.yaml", "learning_curve.png", "value_table.png"} <= artifacts

    result = runner.invoke(app, ["eval", summary["checkpoint"], "--episodes", "3", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    eval_run = client.get_run(json.loads(result.stdout.strip().splitlines()[-1])["run_id"])
    assert eval_run.data.params["checkpoint"] == summary["checkpoint"]
    assert len(client.get_metric_history(eval_run.info.run_id, "episode_return")) == 3
