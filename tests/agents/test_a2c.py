"""A2C: GAE and n-step targets against hand-computed examples, truncation
bootstrapping, continuous and recurrent policies, checkpoints, learning on CartPole."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents import get_spec
from agents.a2c import A2CAgent, A2CConfig
from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.buffers import compute_gae, nstep_returns
from agents.checkpoint import load_checkpoint, save_checkpoint

from .test_dqn import OneStepEnv, Recorder, StopWhenSolved


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Two environments (columns), three steps. Column 0 is truncated after step 1 (the final
# observation is worth 9), column 1 terminates after step 1.
REWARDS = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], np.float32)
VALUES = np.array([[0.5, 0.5], [1.0, 1.0], [1.5, 1.5]], np.float32)
NEXT_VALUES = np.array([[1.0, 1.0], [9.0, 9.0], [2.0, 2.0]], np.float32)
TERMINATED = np.array([[0, 0], [0, 1], [0, 0]], np.float32)
DONES = np.array([[0, 0], [1, 1], [0, 0]], np.float32)


def test_gae_matches_hand_computation():
    adv, ret = compute_gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, DONES, gamma=0.9, lam=0.8)
    # column 0: d2 = 3 + .9*2 - 1.5 = 3.3; d1 = 2 + .9*9 - 1 = 9.1 (bootstrap, cut); d0 = 1 + .9*1 - .5 = 1.4
    #           A0 = 1.4 + .9*.8*9.1 = 7.952
    # column 1: d1 = 2 - 1 = 1.0 (terminal: no bootstrap); A0 = 1.4 + .72*1.0 = 2.12
    assert adv[:, 0] == pytest.approx([7.952, 9.1, 3.3], abs=1e-5)
    assert adv[:, 1] == pytest.approx([2.12, 1.0, 3.3], abs=1e-5)
    assert np.allclose(ret, adv + VALUES)


def test_nstep_returns_match_hand_computation_and_gae_with_lambda_one():
    ret = nstep_returns(REWARDS, NEXT_VALUES, TERMINATED, DONES, gamma=0.9)
    # R2 = 3 + .9*2 = 4.8 ; truncated: R1 = 2 + .9*9 = 10.1, R0 = 1 + .9*10.1 = 10.09 ; terminated: R1 = 2, R0 = 2.8
    assert ret[:, 0] == pytest.approx([10.09, 10.1, 4.8], abs=1e-5)
    assert ret[:, 1] == pytest.approx([2.8, 2.0, 4.8], abs=1e-5)
    _, gae_returns = compute_gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, DONES, gamma=0.9, lam=1.0)
    assert np.allclose(gae_returns, ret, atol=1e-5)


VALUE_ONLY = dict(learning_rate=3e-2, n_steps=4, hidden=(8,), gamma=0.5, log_interval=10**9)


@pytest.mark.parametrize("vector", [False, True])
@pytest.mark.parametrize("terminal, expected", [(True, 1.0), (False, 2.0)])
def test_value_target_bootstraps_only_on_truncation(vector, terminal, expected):
    """Reward 1 and the episode ends: V = 1 if terminated, 1 + 0.5 V = 2 if truncated.
    Vector envs use NEXT_STEP autoreset (placeholder steps masked out)."""
    if vector:
        env = gym.vector.SyncVectorEnv([lambda: OneStepEnv(terminal)] * 2)
        space = env.single_observation_space, env.single_action_space
    else:
        env = OneStepEnv(terminal)
        space = env.observation_space, env.action_space
    agent = A2CAgent(*space, A2CConfig(num_envs=2 if vector else 1, **VALUE_ONLY), seed=0)
    agent.train(env, Budget(steps=1200), Callbacks())
    _, value, _ = agent.net(torch.ones(1, 1))
    assert value.item() == pytest.approx(expected, abs=0.1)


@pytest.mark.slow
def test_a2c_reaches_195_on_cartpole_with_batched_envs():
    config = A2CConfig()
    env = gym.make_vec("simdrive/CartPole-v1", num_envs=config.num_envs)
    agent = A2CAgent(env.single_observation_space, env.single_action_space, config, seed=0)
    watch = StopWhenSolved(agent, every=5000)
    agent.train(env, Budget(steps=100_000), watch)
    assert watch.solved, watch.evaluations
    assert len(watch.episodes) == agent.episodes
    assert {"policy_loss", "value_loss", "entropy", "steps_per_second"} <= set(watch.metrics[-1][1])


def test_continuous_actions_are_gaussian_and_clipped():
    env = gym.make_vec("Pendulum-v1", num_envs=2)
    agent = A2CAgent(env.single_observation_space, env.single_action_space, A2CConfig(num_envs=2, log_std_init=1.0), seed=0)
    assert type(agent.net.head).__name__ == "GaussianHead"
    agent.train(env, Budget(steps=200), Callbacks())
    obs = env.single_observation_space.sample()
    action = agent.act(obs)
    assert action.shape == (1,) and np.array_equal(action, agent.act(obs))
    samples = np.array([agent.act(obs, explore=True) for _ in range(200)])
    assert samples.min() >= -2.0 and samples.max() <= 2.0 and samples.std() > 0.1
    assert (np.abs(samples) == 2.0).any()  # exp(1) std: some samples hit the clip


def test_recurrent_backbone_trains_and_round_trips(tmp_path):
    env = gym.make_vec("simdrive/CartPole-v1", num_envs=4)
    config = A2CConfig(num_envs=4, backbone="gru", recurrent_hidden=16, hidden=(16,))
    agent = A2CAgent(env.single_observation_space, env.single_action_space, config, seed=1)
    agent.train(env, Budget(steps=400), Callbacks())
    # 32 steps per rollout, minus NEXT_STEP placeholder steps (not counted)
    assert agent.steps >= 400 and 13 <= agent.updates <= 15
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="a2c", config=config, env_id="simdrive/CartPole-v1", state=agent.state_dict())
    restored = A2CAgent(env.single_observation_space, env.single_action_space, config, seed=7)
    restored.load_state_dict(load_checkpoint(path).state)
    seq = np.random.default_rng(0).uniform(-0.1, 0.1, (12, 4)).astype(np.float32)
    agent.reset_episode()
    first = [agent.act(o) for o in seq]
    restored.reset_episode()
    assert [restored.act(o) for o in seq] == first
    # the state is carried: replaying the last observation alone can differ from in-sequence
    hidden_before = agent._act_state[0].clone()
    agent.act(seq[0])
    assert not torch.equal(agent._act_state[0], hidden_before)


def test_same_seed_same_weights_state_dict_and_resume(tmp_path):
    runs = []
    for _ in range(2):
        env = gym.make_vec("simdrive/CartPole-v1", num_envs=4)
        agent = A2CAgent(env.single_observation_space, env.single_action_space, A2CConfig(num_envs=4), seed=3)
        agent.train(env, Budget(steps=640), Callbacks())
        runs.append(agent)
    for p, q in zip(runs[0].net.parameters(), runs[1].net.parameters()):
        assert torch.equal(p, q)
    agent = runs[0]
    path = save_checkpoint(tmp_path / "a.sdckpt", agent="a2c", config=agent.config, env_id="x", state=agent.state_dict())
    restored = A2CAgent(agent.observation_space, agent.action_space, agent.config, seed=0)
    restored.load_state_dict(load_checkpoint(path).state)
    obs = np.random.default_rng(1).uniform(-0.2, 0.2, (16, 4)).astype(np.float32)
    assert [restored.act(o) for o in obs] == [agent.act(o) for o in obs]
    assert [restored.act(o, explore=True) for o in obs] == [agent.act(o, explore=True) for o in obs]
    rec = Recorder()
    restored.train(env, Budget(steps=1280), rec)
    assert 1280 <= restored.steps < 1280 + 32 and restored.updates > agent.updates
    assert rec.episodes[0][0] > 640


def test_incompatible_spaces_and_registry():
    class MultiBinaryEnv(gym.Env):
        observation_space = gym.spaces.Box(0, 1, (2,))
        action_space = gym.spaces.MultiBinary(3)

    with pytest.raises(IncompatibleEnvironment, match="Discrete or Box"):
        A2CAgent.check_env(MultiBinaryEnv())
    assert get_spec("a2c").load() is A2CAgent


class CueEnv(gym.Env):
    """Memory task: the first observation shows a cue (-1 or +1), the next two are blank;
    the action at the third step earns 1 if it names the cue. Only a policy that
    remembers (a recurrent core carrying its state across steps) beats chance."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.cue = 0, int(self.np_random.integers(2))
        return np.array([2 * self.cue - 1, 1], np.float32), {}

    def step(self, action):
        self.t += 1
        reward = float(int(action) == self.cue) if self.t == 3 else 0.0
        return np.zeros(2, np.float32), reward, self.t == 3, False, {}


@pytest.mark.parametrize("backbone, solved", [("gru", True), ("lstm", True), ("mlp", False)])
def test_recurrent_core_remembers_the_cue(backbone, solved):
    env = gym.vector.SyncVectorEnv([CueEnv] * 8)
    config = A2CConfig(backbone=backbone, recurrent_hidden=16, hidden=(16,), learning_rate=3e-3, ent_coef=0.01)
    agent = A2CAgent(env.single_observation_space, env.single_action_space, config, seed=0)
    agent.train(env, Budget(steps=6000), Callbacks())
    single, total = CueEnv(), 0.0
    for episode in range(100):
        obs, _ = single.reset(seed=episode)
        agent.reset_episode()
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = single.step(agent.act(obs))
            total += reward
            done = terminated or truncated
    assert (total / 100 >= 0.95) if solved else (total / 100 <= 0.75)


def test_pixel_observations_share_one_cnn():
    from envs.pixels import make_pixel_env

    env = make_pixel_env("simdrive/CartPole-v1")
    agent = A2CAgent(env.observation_space, env.action_space, A2CConfig(num_envs=1, n_steps=16), seed=0)
    assert type(agent.net.pi_encoder).__name__ == "NatureCNN" and agent.net.vf_encoder is None
    rec = Recorder()
    agent.train(env, Budget(steps=64), rec)
    assert agent.updates == 4 and rec.episodes
    assert agent.act(env.reset(seed=0)[0]) in (0, 1)
