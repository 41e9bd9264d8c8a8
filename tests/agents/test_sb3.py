"""Stable-Baselines3 adapters: training through our callbacks (episodes, metrics,
early stop), checkpoint round trip into a fresh model, determinism, RNG isolation."""

from __future__ import annotations

import random

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from agents import get_spec  # noqa: E402
from agents.base import Budget, Callbacks  # noqa: E402
from agents.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from agents.sb3 import SB3A2CAgent, SB3DQNAgent, SB3PPOAgent  # noqa: E402

from .test_dqn import Recorder  # noqa: E402

SMALL = {
    "sb3:ppo": dict(n_steps=64, batch_size=32, n_epochs=2),
    "sb3:dqn": dict(learning_starts=50, buffer_size=1000),
    "sb3:a2c": dict(),
}


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("cls", [SB3PPOAgent, SB3DQNAgent, SB3A2CAgent])
def test_train_forwards_events_and_round_trips(cls, tmp_path):
    assert get_spec(cls.name).load() is cls
    env = gym.make("simdrive/CartPole-v1")
    config = cls.Config(**SMALL[cls.name])
    global_state = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    agent = cls(env.observation_space, env.action_space, config, seed=3)
    rec = Recorder()
    agent.train(env, Budget(steps=300), rec)
    # SB3 seeds and samples with the global RNGs: the adapter keeps them untouched
    assert random.getstate() == global_state[0] and np.array_equal(np.random.get_state()[1], global_state[1])
    assert torch.equal(torch.get_rng_state(), global_state[2])
    assert agent.model.num_timesteps >= 300 and rec.episodes and rec.metrics
    assert all(isinstance(v, float) for _, m in rec.metrics for v in m.values())
    assert any("train/" in key for _, m in rec.metrics for key in m)
    obs = np.random.default_rng(0).uniform(-0.2, 0.2, (10, 4)).astype(np.float32)
    actions = [agent.act(o) for o in obs]
    assert all(isinstance(a, int) for a in actions)
    path = save_checkpoint(tmp_path / "m.sdckpt", agent=cls.name, config=config, env_id="simdrive/CartPole-v1", state=agent.state_dict())
    restored = cls(env.observation_space, env.action_space, config, seed=11)
    restored.load_state_dict(load_checkpoint(path).state)
    assert [restored.act(o) for o in obs] == actions
    assert [restored.act(o, explore=True) for o in obs] == [agent.act(o, explore=True) for o in obs]
    assert restored.model.num_timesteps == agent.model.num_timesteps
    restored.train(env, Budget(steps=500), Callbacks())
    assert restored.model.num_timesteps >= 500


def test_same_seed_same_policy_and_early_stop():
    class StopAfterTwoEpisodes(Recorder):
        def on_step(self, step, episodes):
            return episodes < 2

    weights = []
    for _ in range(2):
        env = gym.make("simdrive/CartPole-v1")
        agent = SB3A2CAgent(env.observation_space, env.action_space, SB3A2CAgent.Config(), seed=4)
        rec = StopAfterTwoEpisodes()
        agent.train(env, Budget(steps=10_000), rec)
        assert len(rec.episodes) == 2 and agent.model.num_timesteps < 200
        weights.append(torch.cat([p.detach().flatten() for p in agent.model.policy.parameters()]))
    assert torch.equal(weights[0], weights[1])
    env = gym.make("simdrive/CartPole-v1")
    agent = SB3DQNAgent(env.observation_space, env.action_space, SB3DQNAgent.Config(**SMALL["sb3:dqn"]), seed=0)
    agent.train(env, Budget(episodes=3), Callbacks())
    assert agent.episodes == 3
