"""REINFORCE with a baseline: Monte-Carlo returns, truncation bootstrap, learning on
CartPole (clearly better than random), continuous actions, checkpoints."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents import get_spec
from agents.base import Budget, Callbacks
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.reinforce import ReinforceAgent, ReinforceConfig, discounted_returns

from .test_dqn import Recorder, evaluate_cartpole


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_discounted_returns_by_hand():
    # G2 = 3 + .5*4 = 5 ; G1 = 2 + .5*5 = 4.5 ; G0 = 1 + .5*4.5 = 3.25
    assert discounted_returns(np.array([1.0, 2.0, 3.0]), 0.5, bootstrap=4.0) == pytest.approx([3.25, 4.5, 5.0])
    assert discounted_returns(np.array([1.0, 1.0]), 0.9) == pytest.approx([1.9, 1.0])


@pytest.mark.slow
def test_reinforce_improves_clearly_on_random_cartpole():
    env = gym.make("simdrive/CartPole-v1")
    agent = ReinforceAgent(env.observation_space, env.action_space, ReinforceConfig(), seed=0)
    before = evaluate_cartpole(agent)
    rec = Recorder()
    agent.train(env, Budget(steps=15_000), rec)
    after = evaluate_cartpole(agent)
    assert before < 60  # an untrained policy (random play scores ~22)
    assert after >= 150, (before, after)
    assert np.mean([r for _, r, _ in rec.episodes[-20:]]) > 3 * np.mean([r for _, r, _ in rec.episodes[:20]])


def test_vector_env_continuous_actions_round_trip(tmp_path):
    env = gym.make_vec("Pendulum-v1", num_envs=2)
    config = ReinforceConfig(num_envs=2, batch_episodes=2)
    agent = ReinforceAgent(env.single_observation_space, env.single_action_space, config, seed=0)
    rec = Recorder()
    agent.train(env, Budget(episodes=4), rec)
    # Pendulum episodes are truncated at 200 steps (bootstrapped from V(final obs))
    assert agent.episodes == 4 and agent.updates == 2 and [length for _, _, length in rec.episodes] == [200] * 4
    path = save_checkpoint(tmp_path / "r.sdckpt", agent="reinforce", config=config, env_id="Pendulum-v1", state=agent.state_dict())
    restored = ReinforceAgent(env.single_observation_space, env.single_action_space, config, seed=9)
    restored.load_state_dict(load_checkpoint(path).state)
    obs = np.random.default_rng(0).uniform(-1, 1, (8, 3)).astype(np.float32)
    for o in obs:
        a = agent.act(o)
        assert a.shape == (1,) and -2.0 <= a[0] <= 2.0
        assert np.array_equal(restored.act(o), a)
        assert np.array_equal(restored.act(o, explore=True), agent.act(o, explore=True))
    restored.train(env, Budget(episodes=6), Callbacks())
    assert restored.episodes == 6 and restored.updates == 3
    assert get_spec("reinforce").load() is ReinforceAgent
