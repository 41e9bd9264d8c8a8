"""Demonstration datasets: written in Minari's format and read back identical, perturbed
collection, bad input, and the `data info` summary."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("minari", reason="the data extra (minari[hdf5]) is not installed")
import minari  # noqa: E402

from simdrive import data  # noqa: E402
from simdrive.cli import app  # noqa: E402
from simdrive.errors import UserError  # noqa: E402

ENV = "simdrive/Highway-v0"
SMALL = {"vehicles": 10}


@pytest.fixture(autouse=True)
def minari_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    return tmp_path / "datasets"


def _same(a, b, what):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), what
        for k in a:
            _same(a[k], b[k], f"{what}[{k}]")
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, b.dtype, a.shape, b.shape)
        np.testing.assert_array_equal(a, b, err_msg=what)


def test_round_trip_every_sensor_identical(minari_home):
    kept = []
    summary = data.collect_expert(ENV, SMALL, 2, "simdrive/roundtrip-v0", seed=3,
                                  sensors="kinematics,lidar,occupancy,camera,birdseye",
                                  on_episode=lambda i, ep: kept.append(ep))
    assert summary.episodes == 2 and summary.path and not summary.interrupted
    dataset = minari.load_dataset("simdrive/roundtrip-v0")  # by id, from MINARI_DATASETS_PATH
    assert dataset.total_episodes == 2 and dataset.total_steps == sum(len(e) for e in kept)
    assert set(dataset.observation_space.spaces) == {"kinematics", "lidar", "occupancy", "camera", "birdseye"}
    metas = list(dataset.storage.get_episode_metadata(dataset.episode_indices))
    for ep, loaded, meta in zip(kept, dataset.iterate_episodes(), metas):
        _same(ep.observations, loaded.observations, "observations")  # camera images too: no JPEG
        _same(ep.actions, loaded.actions, "actions")
        _same(ep.rewards, loaded.rewards, "rewards")
        _same(ep.terminations, loaded.terminations, "terminations")
        _same(ep.truncations, loaded.truncations, "truncations")
        assert meta["seed"] == ep.metadata["seed"] and meta["source"] == "expert" and meta["scenario"] == ""
        assert meta["outcome"] in ("success", "crash", "offroad", "timeout", "end")
        assert loaded.terminations[-1] or loaded.truncations[-1]  # a whole episode
    assert [m["seed"] for m in metas] == [3, 4]
    # the recorded episode is what the expert does in the env with that seed
    env = gym.make(ENV, observation="kinematics", **SMALL)
    obs, _ = env.reset(seed=3)
    first = kept[0]
    for t in range(5):
        np.testing.assert_array_equal(obs, first.observations["kinematics"][t])
        action = env.unwrapped.expert_action()
        assert action == first.actions[t]
        obs, *_ = env.step(action)
    env.close()


def test_existing_dataset_and_bad_names_are_user_errors(minari_home):
    data.collect_expert(ENV, SMALL, 1, "simdrive/taken-v0", sensors="kinematics")
    with pytest.raises(UserError, match="already exists"):
        data.collect_expert(ENV, SMALL, 1, "simdrive/taken-v0", sensors="kinematics")
    with pytest.raises(UserError, match="bad dataset name"):
        data.collect_expert(ENV, SMALL, 1, "no version", sensors="kinematics")
    with pytest.raises(UserError, match="no dataset"):
        data.info("simdrive/missing-v0")
    with pytest.raises(UserError, match="--perturb"):
        data.parse_perturb("lateral=far")
    with pytest.raises(UserError, match="--perturb"):
        data.parse_perturb("sideways=1")
    runner = CliRunner()
    result = runner.invoke(app, ["collect", "expert", "simdrive/CartPole-v1", "--episodes", "1", "--out", "x/y-v0"])
    assert result.exit_code == 2 and "no built-in expert" in result.output and "Traceback" not in result.output
    # overwrite replaces the dataset only once the new one is complete
    summary = data.collect_expert(ENV, SMALL, 2, "simdrive/taken-v0", sensors="kinematics", overwrite=True)
    assert minari.load_dataset("simdrive/taken-v0").total_episodes == summary.episodes == 2
    assert not list(minari_home.glob("simdrive/.*partial*"))


def test_perturbations_push_the_ego_and_keep_expert_labels(minari_home):
    steer = {**SMALL, "action": "continuous", "policy_frequency": 5.0}  # the expert steers back over several steps
    pert = data.parse_perturb("p=0.5,lateral=1.5,heading=0.05,clearance=0")
    kept, calm = [], []
    data.collect_expert(ENV, steer, 2, "simdrive/pushed-v0", perturb=pert, sensors="kinematics",
                        on_episode=lambda i, ep: kept.append(ep))
    data.collect_expert(ENV, steer, 2, "simdrive/calm-v0", sensors="kinematics", on_episode=lambda i, e: calm.append(e))
    assert all(ep.metadata["perturbed"] and ep.metadata["pushes"] >= 3 for ep in kept)
    assert not calm[0].metadata["perturbed"] and calm[0].metadata["pushes"] == 0

    def offset(eps):  # the ego's mean distance from its lane centre (kinematics row 0, column 1) [lane widths]
        return float(np.mean(np.concatenate([np.abs(ep.observations[:, 0, 1]) for ep in eps])))

    assert offset(kept) > 2 * offset(calm) and offset(kept) > 0.03, (offset(kept), offset(calm))
    # the push is a change of state, not an action: one expert action per stored step, within the action space
    for ep in kept:
        assert len(ep.actions) == len(ep.rewards) == len(ep.observations) - 1
        assert gym.spaces.Box(np.array([-1, 0, 0], np.float32), np.array([1, 1, 1], np.float32)).contains(ep.actions[0])
    assert next(iter(minari.load_dataset("simdrive/pushed-v0").storage.get_episode_metadata([0])))["perturbed"]


def test_data_info_prints_sizes_and_histogram(minari_home):
    data.collect_expert(ENV, SMALL, 2, "simdrive/info-v0", sensors="kinematics,birdseye")
    summary = data.info("simdrive/info-v0")
    assert summary["episodes"] == 2 and summary["steps"] == sum(summary["action_histogram"].values())
    assert set(summary["action_histogram"]) == {"lane_left", "idle", "lane_right", "faster", "slower"}
    result = CliRunner().invoke(app, ["data", "info", "simdrive/info-v0", "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    raster = gym.make(ENV, **SMALL, observation="birdseye").observation_space.shape  # the env's own raster
    assert line["episodes"] == 2 and line["observations"]["birdseye"].startswith(str(raster))
    # a dataset folder works as well as an id
    assert data.info(summary["path"])["steps"] == summary["steps"]
