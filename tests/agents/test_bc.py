"""Behavioural cloning and DAgger: class weighting, the split by episode, augmentation, a
learning threshold on a small dataset, checkpoints, and the CLI workflow."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.base import Budget, Callbacks
from agents.bc import BCAgent, BCConfig, Demonstrations

IMAGE = gym.spaces.Box(0, 255, (3, 40, 40), np.uint8)


class Recorder(Callbacks):
    def __init__(self):
        self.metrics = []

    def on_metrics(self, step, metrics):
        self.metrics.append((step, dict(metrics)))


def _squares(n_episodes: int, steps: int, seed: int, probs=(1 / 3, 1 / 3, 1 / 3)) -> Demonstrations:
    """Images with a bright square on the left, centre or right: the action is where it is."""
    rng = np.random.default_rng(seed)
    n = n_episodes * steps
    actions = rng.choice(3, size=n, p=probs)
    obs = rng.integers(0, 40, (n, 3, 40, 40)).astype(np.uint8)  # noise
    rows = rng.integers(4, 28, n)
    for i in range(n):  # build the toy data set (samples, not vehicles)
        c = 4 + 12 * actions[i]
        obs[i, actions[i] % 3, rows[i] : rows[i] + 8, c : c + 8] = 255
    return Demonstrations(obs, actions.astype(np.int64), np.repeat(np.arange(n_episodes), steps))


def test_class_weights_balance_the_classes():
    agent = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(balance_power=1.0))
    actions = np.array([0] * 90 + [1] * 9 + [2] * 1)
    p = agent.sample_weights(actions)
    per_class = np.bincount(actions, weights=p)
    np.testing.assert_allclose(per_class, [1 / 3] * 3)  # each action drawn equally often
    np.testing.assert_allclose(p.sum(), 1.0)
    # control: without balancing the natural frequencies come back
    off = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(balance=False)).sample_weights(actions)
    np.testing.assert_allclose(np.bincount(actions, weights=off), [0.9, 0.09, 0.01])
    half = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(balance_power=0.5)).sample_weights(actions)
    np.testing.assert_allclose(np.bincount(actions, weights=half), np.sqrt([90, 9, 1]) / np.sqrt([90, 9, 1]).sum())
    # the sampler really draws that way
    rng = np.random.default_rng(0)
    draws = rng.choice(len(actions), size=30_000, p=p)
    assert np.abs(np.bincount(actions[draws], minlength=3) / 30_000 - 1 / 3).max() < 0.02


def test_split_by_episode_and_augmentation():
    agent = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(val_fraction=0.25, augment_shift=3))
    demos = _squares(8, 5, seed=1)
    train, val = agent.split(demos, np.random.default_rng(0))
    assert len(set(demos.episodes[train]) & set(demos.episodes[val])) == 0
    assert len(np.unique(demos.episodes[val])) == 2 and len(train) + len(val) == len(demos)
    x = demos.obs[:4]
    moved = agent._augment(x, np.random.default_rng(5))
    assert moved.shape == x.shape and moved.dtype == x.dtype
    for a, b in zip(x, moved):  # each image is a translate of its original by at most 3 px
        found = any(np.array_equal(np.pad(a, ((0, 0), (3, 3), (3, 3)))[:, 3 + dy : 43 + dy, 3 + dx : 43 + dx], b)
                    for dy in range(-3, 4) for dx in range(-3, 4))
        assert found


@pytest.mark.slow
def test_bc_cnn_learns_a_small_dataset_past_a_threshold():
    torch.set_num_threads(1)
    demos = _squares(30, 20, seed=2, probs=(0.7, 0.2, 0.1))  # imbalanced, like driving data
    agent = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(epochs=12, batch_size=64, patience=4, learning_rate=2e-3), seed=0)
    callbacks = Recorder()
    best = agent.fit(demos, Budget(steps=10**9), callbacks)
    assert best["balanced_accuracy"] >= 0.95, best
    assert callbacks.metrics and {"train_loss", "val_loss", "val_accuracy"} <= set(callbacks.metrics[-1][1])
    test = _squares(4, 20, seed=99)
    pred = agent.act(test.obs)
    assert np.mean(pred == test.actions) >= 0.95  # held-out data
    cm = agent.confusion_matrix()
    assert cm.shape == (3, 3) and cm.sum() > 0 and np.trace(cm) / cm.sum() >= 0.95
    # control: the same network trained on shuffled labels stays near chance on held-out data
    shuffled = Demonstrations(demos.obs, np.random.default_rng(3).permutation(demos.actions), demos.episodes)
    chance = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(epochs=4, batch_size=64), seed=0)
    chance.fit(shuffled, Budget(steps=10**9), Callbacks())
    assert np.mean(chance.act(test.obs) == test.actions) < 0.7
    # checkpoint round trip: the same predictions
    clone = BCAgent(IMAGE, gym.spaces.Discrete(3), agent.config, seed=1)
    clone.load_state_dict(agent.state_dict())
    np.testing.assert_array_equal(clone.act(test.obs), pred)


def test_same_seed_same_model():
    demos = _squares(6, 10, seed=4)
    outs = []
    for _ in range(2):
        agent = BCAgent(IMAGE, gym.spaces.Discrete(3), BCConfig(epochs=2, batch_size=32), seed=7)
        agent.fit(demos, Budget(steps=10**9), Callbacks())
        outs.append(agent.net(torch.as_tensor(demos.obs[:8])).detach().numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_regression_of_continuous_controls():
    space = gym.spaces.Box(np.array([-1, 0], np.float32), np.array([1, 1], np.float32))
    agent = BCAgent(gym.spaces.Box(-1, 1, (4,), np.float32), space, BCConfig(epochs=60, val_fraction=0.0, learning_rate=3e-3, batch_size=32))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 4)).astype(np.float32)
    y = np.stack([np.clip(x[:, 0], -1, 1), 0.5 + 0.4 * x[:, 1]], 1).astype(np.float32)
    agent.fit(Demonstrations(x, y, np.arange(400) // 20), Budget(steps=10**9), Callbacks())
    pred = agent.act(x[:50])
    assert space.contains(pred[0]) and np.abs(pred - y[:50]).mean() < 0.1


def test_dataset_and_env_mismatch_are_clear(tmp_path, monkeypatch):
    pytest.importorskip("minari")
    from agents.base import IncompatibleEnvironment
    from simdrive import data

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    data.collect_expert("simdrive/Highway-v0", {"vehicles": 5}, 1, "simdrive/k-v0", sensors="kinematics,occupancy")
    env = gym.make("simdrive/Highway-v0", observation="birdseye")
    agent = BCAgent(env.observation_space, env.action_space, BCConfig(data="simdrive/k-v0"))
    with pytest.raises(IncompatibleEnvironment, match="matches the environment"):
        agent.train(env, Budget(steps=10), Callbacks())
    with pytest.raises(IncompatibleEnvironment, match="no dataset"):
        BCAgent(env.observation_space, env.action_space, BCConfig(data="simdrive/none-v0")).train(env, Budget(steps=10), Callbacks())
    env.close()
    # the kinematics entry of the dataset matches a kinematics env: picked automatically
    env = gym.make("simdrive/Highway-v0", observation="kinematics")
    demos = BCAgent(env.observation_space, env.action_space, BCConfig(data="simdrive/k-v0")).load_demonstrations("simdrive/k-v0")
    assert demos.obs.shape[1:] == env.observation_space.shape and demos.obs.shape[0] == len(demos.actions)
    env.close()


@pytest.mark.slow
def test_cli_collect_train_bc_and_dagger(tmp_path, monkeypatch):
    pytest.importorskip("minari")
    from typer.testing import CliRunner

    from simdrive.cli import app

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    runner = CliRunner()
    small = ["--env-arg", "vehicles=10"]
    result = runner.invoke(app, ["collect", "expert", "simdrive/Highway-v0", "--episodes", "4", "--out", "simdrive/cli-v0",
                                 "--sensors", "kinematics,birdseye", "--perturb", "on", "--json", *small])
    assert result.exit_code == 0, result.output
    suite = tmp_path / "tiny.yaml"  # one scenario of the highway suite, twice
    suite.write_text("name: tiny\nrepetitions: 2\nseed: 0\nscenarios:\n  - name: free_flow\n    type: free_flow\n"
                     "    map: highway\n    map_params: {lanes: 3, route_length: 300}\n    ego: {lane: 1, speed: 25}\n"
                     "    traffic: {vehicles: 6, spacing: 40}\n    time_limit: 30\n")
    result = runner.invoke(app, ["train", "bc", "simdrive/Highway-v0", "--data", "simdrive/cli-v0", "--env-arg", "observation=birdseye",
                                 *small, "--set", "epochs=2", "--eval-episodes", "1", "--out", str(tmp_path / "bc"), "--json",
                                 "--eval-suite", str(suite)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["agent"] == "bc" and summary["train_steps"] > 0
    assert summary["suite_episodes"] == 2 and 0 <= summary["suite_driving_score"] <= 100
    import mlflow

    client = mlflow.MlflowClient()
    artifacts = [a.path for a in client.list_artifacts(summary["run_id"])]
    assert "confusion_matrix.png" in artifacts
    logged = client.get_run(summary["run_id"]).data
    assert "val_loss" in logged.metrics
    assert logged.metrics["suite_driving_score"] == summary["suite_driving_score"] and logged.params["eval_suite"] == "tiny"
    # an unknown suite is refused in one line before anything is trained
    result = runner.invoke(app, ["train", "bc", "simdrive/Highway-v0", "--data", "simdrive/cli-v0", "--no-track",
                                 "--eval-suite", "nosuch", "--out", str(tmp_path / "y")])
    assert result.exit_code == 2 and "unknown suite 'nosuch'" in result.output and not (tmp_path / "y").exists()
    result = runner.invoke(app, ["train", "dagger", "simdrive/Highway-v0", "--data", "simdrive/cli-v0", "--env-arg", "observation=birdseye",
                                 *small, "--set", "epochs=1", "--set", "iterations=1", "--set", "episodes_per_iteration=1",
                                 "--set", "epochs_per_iteration=1", "--eval-episodes", "1", "--out", str(tmp_path / "dg"), "--json"])
    assert result.exit_code == 0, result.output
    run = client.get_run(json.loads(result.stdout.strip().splitlines()[-1])["run_id"])
    history = client.get_metric_history(run.info.run_id, "dagger_route_completion")
    assert [m.step for m in history] == [0, 1]
    # a missing --data is one line, exit 2
    result = runner.invoke(app, ["train", "bc", "simdrive/Highway-v0", "--no-track", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--data" in result.output and "Traceback" not in result.output
