"""Helpers for the tabular agent tests: reference DP solutions computed independently of the
agents (a linear solve and a plain value-iteration loop), a recording ``Callbacks``,
checkpoint round trips, and a tiny environment without a model or start-state option."""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # noqa: F401 - registers simdrive/*
from agents.base import Callbacks
from agents.checkpoint import load_checkpoint, save_checkpoint


class Recorder(Callbacks):
    """Records every event; ``stop_after`` makes ``on_step`` ask to stop after that many calls."""

    def __init__(self, stop_after: int | None = None):
        self.episodes: list[tuple[int, float, int]] = []
        self.metrics: list[tuple[int, dict[str, float]]] = []
        self.steps: list[tuple[int, int]] = []
        self.stop_after = stop_after

    def on_episode_end(self, step, episode_return, episode_length):
        self.episodes.append((step, episode_return, episode_length))

    def on_metrics(self, step, metrics):
        self.metrics.append((step, dict(metrics)))

    def on_step(self, step, episodes):
        self.steps.append((step, episodes))
        return self.stop_after is None or len(self.steps) < self.stop_after

    def metric(self, name: str) -> list[float]:
        return [m[name] for _, m in self.metrics if name in m]


def policy_values(model, policy: np.ndarray, gamma: float) -> np.ndarray:
    """V of a stochastic policy (S, A) by solving (I - gamma P_pi) V = R_pi on non-terminal states."""
    p, r, terminal = model.transition_probs, model.expected_rewards, np.asarray(model.terminal, bool)
    p_pi = np.einsum("sa,sat->st", policy, p)
    r_pi = np.einsum("sa,sa->s", policy, r)
    live = ~terminal
    v = np.zeros(len(terminal))
    v[live] = np.linalg.solve(np.eye(live.sum()) - gamma * p_pi[np.ix_(live, live)], r_pi[live])
    return v


def optimal_q(model, gamma: float, sweeps: int = 2000) -> np.ndarray:
    """Q* by plain value iteration (a reference independent of agents.tabular.dp)."""
    p, r, terminal = model.transition_probs, model.expected_rewards, np.asarray(model.terminal, bool)
    v = np.zeros(len(terminal))
    for _ in range(sweeps):
        q = r + gamma * np.einsum("sat,t->sa", p, v)
        q[terminal] = 0.0
        v = q.max(axis=1)
    return q


def optimal_action_sets(q: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Boolean (S, A): the actions within ``tol`` of the best in each state."""
    return q >= q.max(axis=1, keepdims=True) - tol


def uniform_policy(n_states: int, n_actions: int) -> np.ndarray:
    return np.full((n_states, n_actions), 1.0 / n_actions)


def bfs_shortest_path(model, start: int) -> int:
    """Fewest steps from ``start`` to any terminal state of a deterministic model."""
    nxt = np.argmax(model.transition_probs, axis=2)
    terminal = np.asarray(model.terminal, bool)
    dist = {start: 0}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        if terminal[s]:
            return dist[s]
        for s2 in nxt[s]:
            if int(s2) not in dist:
                dist[int(s2)] = dist[s] + 1
                queue.append(int(s2))
    raise AssertionError("the goal is unreachable")


def greedy_rollout_length(agent, env: gym.Env, seed: int = 0, limit: int = 10_000) -> tuple[int, bool]:
    """(steps, reached a terminal state) following ``act(obs, explore=False)``."""
    obs, _ = env.reset(seed=seed)
    for n in range(1, limit + 1):
        obs, _, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
        if terminated or truncated:
            return n, bool(terminated)
    return limit, False


def checkpoint_round_trip(agent, env: gym.Env, tmp_path) -> Any:
    """A fresh agent of the same class (another seed) loaded from ``agent``'s state through a checkpoint file."""
    path = save_checkpoint(tmp_path / f"{agent.name}.sdckpt", agent=agent.name, config=agent.config,
                           env_id="test", state=agent.state_dict())
    fresh = type(agent)(env.observation_space, env.action_space, config=agent.config, seed=12345)
    fresh.load_state_dict(load_checkpoint(path).state)
    return fresh


def make_agent(cls, env: gym.Env, seed: int = 0, **config):
    """``cls`` built for ``env``'s spaces with ``cls.Config(**config)``."""
    return cls(env.observation_space, env.action_space, cls.Config(**config), seed=seed)


class ChainEnv(gym.Env):
    """A 5-state chain without a model and without the ``start_state`` reset option."""

    def __init__(self):
        self.observation_space = gym.spaces.Discrete(5)
        self.action_space = gym.spaces.Discrete(2)
        self.state = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = 0  # ignores options
        return self.state, {}

    def step(self, action):
        self.state = max(0, min(4, self.state + (1 if action == 1 else -1)))
        return self.state, -1.0, self.state == 4, False, {}
