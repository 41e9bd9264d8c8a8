"""`simdrive sweep`: search spaces checked before Ray starts; a tiny sweep on a local Ray
(2 CPUs) whose trials are MLflow child runs and whose best configuration `train --hparams` reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simdrive.cli import app
from simdrive.errors import UserError
from simdrive.sweep import load_space


def _space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_search_space_is_read_and_every_value_checked(tmp_path):
    from agents.dqn import DQNConfig

    dims = load_space(_space(tmp_path, "learning_rate: {loguniform: [1e-4, 1e-2]}\nbatch_size: {choice: [32, 64]}\n"
                                       "hidden: {choice: [[64, 64], [16]]}\ntrain_freq: {randint: [1, 8]}\ndouble_dqn: false\n"),
                      DQNConfig, "dqn")
    assert [(d.name, d.kind) for d in dims] == [("learning_rate", "loguniform"), ("batch_size", "choice"), ("hidden", "choice"),
                                                 ("train_freq", "randint"), ("double_dqn", "fixed")]
    assert dims[0].values == (1e-4, 1e-2) and dims[2].values == ((64, 64), (16,))
    for text, message in [
        ("gama: {uniform: [0.9, 0.99]}", "did you mean 'gamma'"),
        ("gamma: {uniform: [0.9, 1.5]}", "can take 1.5"),  # out of the documented range [0, 1]
        ("gamma: {normal: [0.9, 0.1]}", "one distribution of"),
        ("gamma: {uniform: [0.99, 0.9]}", "low <= high"),
        ("learning_rate: {loguniform: [0, 0.1]}", "low > 0"),
        ("batch_size: {randint: [8.5, 64]}", "whole numbers"),
        ("[1, 2]", "expected a mapping"),
    ]:
        with pytest.raises(UserError, match=message):
            load_space(_space(tmp_path, text), DQNConfig, "dqn")


def test_sweep_arguments_fail_before_ray_starts(tmp_path):
    space = _space(tmp_path, "alpha: {uniform: [0.1, 0.9]}\n")
    runner = CliRunner()
    for args, message in [
        (["q-lerning", "simdrive/GridWorld4x4-v0"], "unknown agent"),
        (["q-learning", "simdrive/GridWorld4x4-v0", "--eval-every", "0"], "--eval-every"),
        (["value-iteration", "simdrive/GridWorld4x4-v0"], "give --eval-every"),
    ]:
        result = runner.invoke(app, ["sweep", *args, "--space", str(space), "--trials", "2", "--no-track"])
        assert result.exit_code == 2 and message in result.stderr, result.output


@pytest.mark.slow
def test_tiny_sweep_on_a_local_ray(tmp_path, monkeypatch):
    pytest.importorskip("ray.tune")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    space = _space(tmp_path, "alpha: {uniform: [0.05, 0.9]}\nepsilon: {choice: [0.05, 0.3]}\n")
    result = CliRunner().invoke(app, ["sweep", "q-learning", "simdrive/GridWorld4x4-v0", "--space", str(space), "--trials", "3",
                                      "--workers", "2", "--episodes", "40", "--eval-every", "10", "--out", str(tmp_path / "sweep"),
                                      "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["trials"] == 3
    best = out["best"]["settings"]
    assert 0.05 <= best["alpha"] <= 0.9 and best["epsilon"] in (0.05, 0.3)

    # the written file is a hyperparameter file that train reads, saying how it was produced
    from simdrive.hparams import load_file
    from simdrive.runner import TrainRequest, plan_training

    entry = load_file(out["hparams"])["simdrive/GridWorld4x4-v0"]
    assert entry.produced_by.command.startswith("simdrive sweep q-learning") and entry.produced_by.seeds == (0,)
    plan = plan_training(TrainRequest(agent="q-learning", env_id="simdrive/GridWorld4x4-v0", hparams=Path(out["hparams"]),
                                      track=False))
    assert plan.config.alpha == best["alpha"] and plan.config.epsilon == best["epsilon"]
    trained = CliRunner().invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--hparams", out["hparams"],
                                       "--no-track", "--out", str(tmp_path / "again")])
    assert trained.exit_code == 0, trained.output

    # one parent run, every trial a child run under it, each tagged with whether ASHA stopped it
    from mlflow import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("simdrive")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("simdrive.command") == "sweep"]
    assert len(parents) == 1 and parents[0].info.run_id == out["parent_run_id"] and parents[0].info.status == "FINISHED"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == out["parent_run_id"]]
    assert len(children) == 3
    assert all(r.data.tags.get("simdrive.sweep.early_stopped") in ("true", "false") for r in children)
    assert all(r.info.status == "FINISHED" for r in children)
    assert parents[0].data.metrics["best_eval_return"] == pytest.approx(out["best"]["best_eval_return"])
