"""DQN and its pieces: replay buffers, sum tree, episode-end handling (truncation vs
termination, NEXT_STEP autoreset), checkpoints, determinism, learning on CartPole."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents import get_spec
from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.buffers import PrioritizedReplayBuffer, ReplayBuffer, SumTree
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.dqn import DQNAgent, DQNConfig
from agents.rollout import EnvStepper


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small networks on a loaded 2-core machine: one intra-op thread is ~20x faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class OneStepEnv(gym.Env):
    """Constant observation, reward 1, every episode lasts one step and ends by
    termination (``terminal=True``) or by truncation (``terminal=False``)."""

    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, terminal: bool = True) -> None:
        self.terminal = terminal

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action):
        return np.ones(1, np.float32), 1.0, self.terminal, not self.terminal, {}


class CounterEnv(gym.Env):
    """Observation = steps taken / 3; terminates after 3 steps."""

    observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(1, self.t / 3, np.float32), 1.0, self.t == 3, False, {}


class Recorder(Callbacks):
    def __init__(self) -> None:
        self.episodes: list[tuple[int, float, int]] = []
        self.metrics: list[tuple[int, dict]] = []

    def on_episode_end(self, step, episode_return, episode_length):
        self.episodes.append((step, episode_return, episode_length))

    def on_metrics(self, step, metrics):
        self.metrics.append((step, dict(metrics)))


SMALL = DQNConfig(
    learning_rate=1e-2, buffer_size=1000, learning_starts=20, batch_size=32, train_freq=1, gradient_steps=1,
    target_update_interval=20, hidden=(16,), exploration_steps=100, log_interval=100,
)


# ---------------------------------------------------------------- replay buffers
def test_replay_buffer_wraps_around_and_samples_only_stored_rows():
    buf = ReplayBuffer(5, spaces.Box(-10, 10, (2,), np.float32), spaces.Discrete(3))
    rng = np.random.default_rng(0)
    buf.add(np.zeros((3, 2)), np.array([0, 1, 2]), np.array([0.0, 1.0, 2.0]), np.ones((3, 2)), np.array([0, 0, 1]))
    assert len(buf) == 3 and not buf.full
    assert set(buf.sample(64, rng).rewards.tolist()) == {0.0, 1.0, 2.0}
    buf.add(np.full((4, 2), 7.0), np.array([0, 1, 2, 0]), np.array([3.0, 4.0, 5.0, 6.0]), np.ones((4, 2)), np.zeros(4))
    assert len(buf) == 5 and buf.full and buf.pos == 2
    # slots 0, 1 were overwritten by the 6th and 7th transition (rewards 5 and 6)
    assert buf.rewards.tolist() == [5.0, 6.0, 2.0, 3.0, 4.0]
    batch = buf.sample(256, rng)
    assert set(batch.rewards.tolist()) == {2.0, 3.0, 4.0, 5.0, 6.0}
    assert batch.observations.shape == (256, 2) and batch.actions.dtype == torch.int64
    assert torch.equal(batch.weights, torch.ones(256))
    clone = ReplayBuffer(5, spaces.Box(-10, 10, (2,), np.float32), spaces.Discrete(3))
    clone.load_state_dict(buf.state_dict())
    assert clone.pos == 2 and clone.full and np.array_equal(clone.rewards, buf.rewards)


def test_replay_buffer_stores_dict_observations():
    space = spaces.Dict({"a": spaces.Box(0, 1, (2,), np.float32), "b": spaces.Discrete(4)})
    buf = ReplayBuffer(4, space, spaces.Discrete(2))
    obs = {"a": np.ones((2, 2), np.float32), "b": np.array([1, 3])}
    buf.add(obs, np.array([0, 1]), np.ones(2), obs, np.zeros(2))
    batch = buf.sample(8, np.random.default_rng(0))
    assert batch.observations["a"].shape == (8, 2) and set(batch.observations["b"].tolist()) <= {1, 3}


def test_sum_tree_totals_and_prefix_search():
    tree = SumTree(5)
    tree.update(np.arange(5), np.array([1.0, 0.0, 3.0, 2.0, 4.0]))
    assert tree.total == pytest.approx(10.0)
    # intervals: [0,1) -> 0, (slot 1 empty), [1,4) -> 2, [4,6) -> 3, [6,10) -> 4
    assert tree.find(np.array([0.0, 0.99, 1.0, 3.99, 4.0, 5.5, 6.0, 9.99])).tolist() == [0, 0, 2, 2, 3, 3, 4, 4]
    tree.update(np.array([2, 2]), np.array([5.0, 0.5]))  # duplicate index: last value wins
    assert tree.total == pytest.approx(7.5) and tree[np.array([2])][0] == pytest.approx(0.5)


def test_prioritized_replay_samples_in_proportion_and_weights():
    buf = PrioritizedReplayBuffer(4, spaces.Box(-1, 1, (1,), np.float32), spaces.Discrete(2), alpha=1.0)
    buf.add(np.zeros((3, 1)), np.zeros(3, dtype=int), np.array([0.0, 1.0, 2.0]), np.zeros((3, 1)), np.zeros(3))
    buf.update_priorities(np.arange(3), np.array([1.0, 0.0, 3.0]) - 1e-6)
    batch = buf.sample(4000, np.random.default_rng(0), beta=1.0)
    counts = np.bincount(batch.indices, minlength=3)
    assert counts[1] == 0
    assert counts[2] / counts[0] == pytest.approx(3.0, rel=0.1)
    # w_i = (N P(i))^-beta / max: slot 2 (P=3/4) gets 1/3 of slot 0's weight (P=1/4)
    w = {int(i): float(x) for i, x in zip(batch.indices, batch.weights)}
    assert w[0] == pytest.approx(1.0) and w[2] == pytest.approx(1 / 3, rel=1e-4)


# ----------------------------------------------------------- episode boundaries
@pytest.mark.parametrize("terminal, expected", [(True, 1.0), (False, 2.0)])
def test_truncation_bootstraps_and_termination_does_not(terminal, expected):
    """Reward 1 then the episode ends: Q = 1 when terminated, but 1 + 0.5 Q = 2 when the
    episode was only truncated (the state is not terminal, gamma = 0.5)."""
    env = OneStepEnv(terminal)
    agent = DQNAgent(env.observation_space, env.action_space, DQNConfig(**{**SMALL.__dict__, "gamma": 0.5}), seed=0)
    agent.train(env, Budget(steps=1500), Callbacks())
    assert agent.buffer.dones[: len(agent.buffer)].tolist() == [float(terminal)] * len(agent.buffer)
    q = agent.q(torch.ones(1, 1)).detach()
    assert q.max().item() == pytest.approx(expected, abs=0.1)


def test_next_step_autoreset_placeholder_is_not_stored():
    env = gym.vector.SyncVectorEnv([CounterEnv, CounterEnv])
    assert EnvStepper(env).mode == gym.vector.AutoresetMode.NEXT_STEP
    agent = DQNAgent(env.single_observation_space, env.single_action_space, DQNConfig(**{**SMALL.__dict__, "num_envs": 2}), seed=0)
    rec = Recorder()
    agent.train(env, Budget(steps=60), rec)
    n = len(agent.buffer)
    assert n == agent.steps == 60
    obs = np.round(agent.buffer.observations[:n, 0] * 3).astype(int)
    nxt = np.round(agent.buffer.next_observations[:n, 0] * 3).astype(int)
    assert set(obs.tolist()) == {0, 1, 2}  # the placeholder (final obs -> reset obs) never stored
    assert np.array_equal(nxt, obs + 1)
    assert np.array_equal(agent.buffer.dones[:n], (nxt == 3).astype(np.float32))
    assert [(r, length) for _, r, length in rec.episodes] == [(3.0, 3)] * 20


def test_env_stepper_single_env_resets_and_reports_final_observation():
    stepper = EnvStepper(CounterEnv())
    stepper.reset(seed=0)
    for _ in range(2):
        result = stepper.step(np.zeros(1, dtype=int))
    assert not result.dones[0] and stepper.obs[0, 0] == pytest.approx(2 / 3)
    result = stepper.step(np.zeros(1, dtype=int))
    assert result.terminated[0] and result.real_next_obs[0, 0] == pytest.approx(1.0)
    assert stepper.obs[0, 0] == 0.0 and stepper.starts[0] and result.episodes == [(3.0, 3)]


# --------------------------------------------------------- agent API and state
def test_dqn_rejects_continuous_actions_and_recurrent_backbones():
    with pytest.raises(IncompatibleEnvironment, match="discrete action"):
        DQNAgent.check_env(gym.make("Pendulum-v1"))
    with pytest.raises(ValueError, match="recurrent"):
        DQNAgent(OneStepEnv.observation_space, OneStepEnv.action_space, DQNConfig(backbone="lstm"))
    assert get_spec("dqn").load() is DQNAgent


def _cartpole_obs(n: int = 16) -> np.ndarray:
    return np.random.default_rng(1).uniform(-0.2, 0.2, size=(n, 4)).astype(np.float32)


def test_same_seed_same_result_and_global_rng_untouched():
    before = torch.get_rng_state()
    agents = []
    for _ in range(2):
        env = gym.make("simdrive/CartPole-v1")
        agent = DQNAgent(env.observation_space, env.action_space, SMALL, seed=5)
        agent.train(env, Budget(steps=300), Callbacks())
        agents.append(agent)
    assert torch.equal(torch.get_rng_state(), before)
    for p, q in zip(agents[0].q.parameters(), agents[1].q.parameters()):
        assert torch.equal(p, q)
    other = DQNAgent(env.observation_space, env.action_space, SMALL, seed=6)
    assert not torch.equal(next(other.q.parameters()), next(agents[0].q.parameters()))


def test_state_dict_round_trip_and_resume(tmp_path):
    env = gym.make("simdrive/CartPole-v1")
    config = DQNConfig(**{**SMALL.__dict__, "save_replay_buffer": True})
    agent = DQNAgent(env.observation_space, env.action_space, config, seed=0)
    rec = Recorder()
    agent.train(env, Budget(steps=400), rec)
    assert rec.metrics and {"loss", "epsilon", "q_mean", "steps_per_second"} <= set(rec.metrics[-1][1])
    path = save_checkpoint(tmp_path / "dqn.sdckpt", agent="dqn", config=config, env_id="simdrive/CartPole-v1", state=agent.state_dict())
    restored = DQNAgent(env.observation_space, env.action_space, config, seed=123)
    restored.load_state_dict(load_checkpoint(path).state)
    obs = _cartpole_obs()
    assert [restored.act(o) for o in obs] == [agent.act(o) for o in obs]
    assert np.array_equal(restored.act(obs), agent.act(obs))  # batched
    assert restored.steps == 400 and restored.updates == agent.updates
    opt_state = restored.optimizer.state_dict()["state"]
    assert torch.equal(opt_state[0]["exp_avg"], agent.optimizer.state_dict()["state"][0]["exp_avg"])
    # resume: counters continue, the replay buffer came back with the checkpoint
    rec2 = Recorder()
    restored.train(env, Budget(steps=600), rec2)
    assert restored.steps == 600 and len(restored.buffer) == 600
    assert rec2.episodes and rec2.episodes[0][0] > 400
    assert restored.updates > agent.updates
    # without the buffer: resume starts with an empty buffer and refills it
    agent2 = DQNAgent(env.observation_space, env.action_space, SMALL, seed=0)
    state = agent.state_dict()
    state.pop("replay_buffer")
    agent2.load_state_dict(state)
    agent2.train(env, Budget(steps=500), Callbacks())
    assert len(agent2.buffer) == 100 and agent2.updates > agent.updates


def test_pixel_observations_use_the_nature_cnn_and_prioritized_replay_runs():
    class PixelEnv(gym.Env):
        observation_space = spaces.Box(0, 255, (4, 84, 84), np.uint8)
        action_space = spaces.Discrete(3)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return self.np_random.integers(0, 255, (4, 84, 84), dtype=np.uint8), {}

        def step(self, action):
            self.t += 1
            return self.np_random.integers(0, 255, (4, 84, 84), dtype=np.uint8), float(action == 1), self.t >= 10, False, {}

    env = PixelEnv()
    config = DQNConfig(buffer_size=200, learning_starts=32, batch_size=8, train_freq=16, gradient_steps=2, prioritized=True, features_dim=64)
    agent = DQNAgent(env.observation_space, env.action_space, config, seed=0)
    assert type(agent.q.encoder).__name__ == "NatureCNN"
    agent.train(env, Budget(steps=96), Callbacks())
    assert agent.buffer.observations.dtype == np.uint8 and agent.updates == 10  # phases at 32, 48, ..., 96
    assert isinstance(agent.buffer, PrioritizedReplayBuffer) and agent.buffer.max_priority > 0
    assert agent.act(env.reset(seed=0)[0]) in (0, 1, 2)


# ----------------------------------------------------------------- learning
def evaluate_cartpole(agent, episodes: int = 10) -> float:
    """Mean return of deterministic episodes (``act(explore=False)``), fixed seeds."""
    env = gym.make("simdrive/CartPole-v1")
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=10_000 + episode)
        if hasattr(agent, "reset_episode"):
            agent.reset_episode()
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


class StopWhenSolved(Recorder):
    """Evaluates every ``every`` steps; stops training once the mean return >= threshold."""

    def __init__(self, agent, every: int, threshold: float = 195.0) -> None:
        super().__init__()
        self.agent, self.every, self.threshold = agent, every, threshold
        self.next = every
        self.evaluations: list[tuple[int, float]] = []

    def on_step(self, step, episodes):
        if step >= self.next:
            self.next = step + self.every
            self.evaluations.append((step, evaluate_cartpole(self.agent)))
            return self.evaluations[-1][1] < self.threshold
        return True

    @property
    def solved(self) -> bool:
        return bool(self.evaluations) and self.evaluations[-1][1] >= self.threshold


@pytest.mark.slow
def test_dqn_reaches_195_on_cartpole_with_batched_envs():
    config = DQNConfig(num_envs=8, hidden=(64, 64), gradient_steps=64, batch_size=128)
    env = gym.make_vec("simdrive/CartPole-v1", num_envs=8)
    agent = DQNAgent(env.single_observation_space, env.single_action_space, config, seed=0)
    watch = StopWhenSolved(agent, every=5000)
    agent.train(env, Budget(steps=50_000), watch)
    assert watch.solved, watch.evaluations
    assert {"loss", "epsilon", "q_mean", "steps_per_second"} <= set(watch.metrics[-1][1])


def test_dqn_on_stacked_pixel_frames_of_cartpole():
    from envs.pixels import make_pixel_env

    env = make_pixel_env("simdrive/CartPole-v1")
    assert env.observation_space.shape == (4, 84, 84)
    config = DQNConfig(buffer_size=128, learning_starts=32, batch_size=8, train_freq=32, gradient_steps=1, features_dim=32)
    agent = DQNAgent(env.observation_space, env.action_space, config, seed=0)
    rec = Recorder()
    agent.train(env, Budget(steps=64), rec)
    assert agent.updates == 2 and len(agent.buffer) == 64 and rec.episodes
    obs, _ = env.reset(seed=1)
    assert agent.act(obs) in (0, 1)
