"""Replay and rollout storage, preallocated numpy arrays.

* ``ReplayBuffer``: uniform experience replay with wraparound (DQN). Stores
  ``(obs, action, reward, next_obs, terminated)``; ``terminated`` (not truncated) is what
  stops bootstrapping, so time-limit truncations keep their bootstrap target.
* ``PrioritizedReplayBuffer``: proportional prioritized replay (Schaul et al. 2016) on a
  ``SumTree``, with importance-sampling weights.
* ``compute_gae`` / ``nstep_returns``: advantage and return targets for on-policy
  rollouts of shape ``(T, N)`` (A2C, REINFORCE).

Samples come back as typed batches (``ReplayBufferSamples``, like Stable-Baselines3's).
Dict observations are stored as one array per key.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from .torch_utils import obs_to_tensor


class ReplayBufferSamples(NamedTuple):
    """One minibatch of transitions (tensors on the buffer's device)."""

    observations: Any  # (B, *obs_shape) tensor, or dict of them
    actions: torch.Tensor  # (B,) int64 for discrete actions, (B, act_dim) float otherwise
    next_observations: Any  # (B, *obs_shape): the true next observation (the final one at episode end)
    rewards: torch.Tensor  # (B,) float32
    dones: torch.Tensor  # (B,) float32: 1 where the episode *terminated* (no bootstrap); truncation is 0
    weights: torch.Tensor  # (B,) float32 importance-sampling weights (all 1 for uniform replay)
    indices: np.ndarray  # (B,) int64 buffer slots (for priority updates)


def _obs_storage(space: spaces.Space, capacity: int) -> Any:
    if isinstance(space, spaces.Dict):
        return {key: _obs_storage(sub, capacity) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Discrete):
        return np.zeros((capacity,), dtype=np.int64)
    dtype = space.dtype if space.dtype is not None else np.float32
    if dtype == np.float64:
        dtype = np.float32
    return np.zeros((capacity, *space.shape), dtype=dtype)


def _write(storage: Any, index: np.ndarray, values: Any) -> None:
    if isinstance(storage, dict):
        for key in storage:
            _write(storage[key], index, values[key])
    else:
        storage[index] = values


def _read(storage: Any, index: np.ndarray) -> Any:
    if isinstance(storage, dict):
        return {key: _read(value, index) for key, value in storage.items()}
    return storage[index]


def _take(batch: Any, mask: np.ndarray) -> Any:
    if isinstance(batch, Mapping):
        return {key: _take(value, mask) for key, value in batch.items()}
    return np.asarray(batch)[mask]


def _flatten_storage(storage: Any, prefix: str, out: dict[str, np.ndarray], size: int) -> None:
    if isinstance(storage, dict):
        for key, value in storage.items():
            _flatten_storage(value, f"{prefix}.{key}", out, size)
    else:
        out[prefix] = storage[:size].copy()


class ReplayBuffer:
    """Uniform replay memory of ``capacity`` transitions with wraparound.

    Args:
        capacity: number of transitions kept; the oldest are overwritten [-].
        observation_space, action_space: spaces of one (non-batched) environment.
        device: where sampled tensors are put.
    """

    def __init__(self, capacity: int, observation_space: spaces.Space, action_space: spaces.Space, device: torch.device | str = "cpu") -> None:
        if capacity <= 0:
            raise ValueError(f"replay capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        self.device = torch.device(device)
        self.observations = _obs_storage(observation_space, self.capacity)
        self.next_observations = _obs_storage(observation_space, self.capacity)
        if isinstance(action_space, spaces.Discrete):
            self.actions = np.zeros((self.capacity,), dtype=np.int64)
        else:
            self.actions = np.zeros((self.capacity, *action_space.shape), dtype=np.float32)
        self.rewards = np.zeros((self.capacity,), dtype=np.float32)
        self.dones = np.zeros((self.capacity,), dtype=np.float32)
        self.pos = 0
        self.full = False

    def __len__(self) -> int:
        return self.capacity if self.full else self.pos

    def add(self, obs: Any, actions: np.ndarray, rewards: np.ndarray, next_obs: Any, terminated: np.ndarray) -> np.ndarray:
        """Store a batch of ``n`` transitions (leading axis = transition); returns their slots."""
        n = len(rewards)
        index = (self.pos + np.arange(n)) % self.capacity
        _write(self.observations, index, obs)
        _write(self.next_observations, index, next_obs)
        self.actions[index] = actions
        self.rewards[index] = rewards
        self.dones[index] = terminated
        if self.pos + n >= self.capacity:
            self.full = True
        self.pos = int((self.pos + n) % self.capacity)
        return index

    def _batch(self, index: np.ndarray, weights: np.ndarray | None = None) -> ReplayBufferSamples:
        dev = self.device
        return ReplayBufferSamples(
            observations=obs_to_tensor(_read(self.observations, index), dev),
            actions=torch.as_tensor(self.actions[index], device=dev),
            next_observations=obs_to_tensor(_read(self.next_observations, index), dev),
            rewards=torch.as_tensor(self.rewards[index], device=dev),
            dones=torch.as_tensor(self.dones[index], device=dev),
            weights=torch.ones(len(index), device=dev) if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=dev),
            indices=index,
        )

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplayBufferSamples:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if len(self) == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = rng.integers(0, len(self), size=batch_size)
        return self._batch(index)

    def state_dict(self) -> dict[str, Any]:
        """Contents up to the current size (can be large: optional in agent checkpoints)."""
        size = len(self)
        arrays: dict[str, np.ndarray] = {}
        _flatten_storage(self.observations, "obs", arrays, size)
        _flatten_storage(self.next_observations, "next_obs", arrays, size)
        return {
            "pos": self.pos,
            "full": self.full,
            "arrays": arrays,
            "actions": self.actions[:size].copy(),
            "rewards": self.rewards[:size].copy(),
            "dones": self.dones[:size].copy(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        size = len(state["rewards"])
        if size > self.capacity:
            raise ValueError(f"saved replay buffer holds {size} transitions, more than the capacity {self.capacity}")

        def restore(storage: Any, prefix: str) -> None:
            if isinstance(storage, dict):
                for key, value in storage.items():
                    restore(value, f"{prefix}.{key}")
            else:
                storage[:size] = state["arrays"][prefix]

        restore(self.observations, "obs")
        restore(self.next_observations, "next_obs")
        self.actions[:size] = state["actions"]
        self.rewards[:size] = state["rewards"]
        self.dones[:size] = state["dones"]
        self.pos = int(state["pos"])
        self.full = bool(state["full"])


class SumTree:
    """Binary tree over ``capacity`` non-negative priorities: O(log n) update and
    prefix-sum search, vectorised over a batch of indices/values (numpy, no Python loop
    over the batch)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self.leaves = 1
        while self.leaves < self.capacity:
            self.leaves *= 2
        self.tree = np.zeros(2 * self.leaves, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(index) + self.leaves]

    def update(self, index: np.ndarray, priority: np.ndarray) -> None:
        """Set the priorities of slots ``index`` (duplicates: the last value wins)."""
        node = np.asarray(index, dtype=np.int64) + self.leaves
        self.tree[node] = priority
        node = np.unique(node // 2)
        while node[0] >= 1:
            self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]
            if node[0] == 1:
                break
            node = np.unique(node // 2)

    def find(self, value: np.ndarray) -> np.ndarray:
        """Slots whose prefix-sum interval contains each ``value`` in [0, total)."""
        value = np.array(value, dtype=np.float64)
        node = np.ones(len(value), dtype=np.int64)
        while node[0] < self.leaves:
            left = self.tree[2 * node]
            right = value >= left
            value = np.where(right, value - left, value)
            node = 2 * node + right
        return np.minimum(node - self.leaves, self.capacity - 1)


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay: P(i) ~ p_i^alpha, weights (N P(i))^-beta / max.

    New transitions get the largest priority seen so far; ``update_priorities`` sets
    p_i = |td_error| + eps after each gradient step.

    Args:
        alpha: how much prioritisation is used (0 = uniform) [-].
        eps: added to |TD error| so no transition gets probability 0 [-].
    """

    def __init__(self, capacity: int, observation_space: spaces.Space, action_space: spaces.Space, device: torch.device | str = "cpu", alpha: float = 0.6, eps: float = 1e-6) -> None:
        super().__init__(capacity, observation_space, action_space, device)
        self.alpha = alpha
        self.eps = eps
        self.tree = SumTree(self.capacity)
        self.max_priority = 1.0

    def add(self, obs: Any, actions: np.ndarray, rewards: np.ndarray, next_obs: Any, terminated: np.ndarray) -> np.ndarray:
        index = super().add(obs, actions, rewards, next_obs, terminated)
        self.tree.update(index, np.full(len(index), self.max_priority**self.alpha))
        return index

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 0.4) -> ReplayBufferSamples:  # type: ignore[override]
        """Stratified proportional sample with importance weights for exponent ``beta``."""
        if len(self) == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        total = self.tree.total
        bounds = np.linspace(0.0, total, batch_size + 1)
        values = rng.uniform(bounds[:-1], bounds[1:])
        index = np.minimum(self.tree.find(np.minimum(values, np.nextafter(total, 0))), len(self) - 1)
        probs = self.tree[index] / total
        weights = (len(self) * probs) ** (-beta)
        weights = weights / weights.max()
        return self._batch(index, weights)

    def update_priorities(self, index: np.ndarray, td_errors: np.ndarray) -> None:
        priority = np.abs(np.asarray(td_errors, dtype=np.float64)) + self.eps
        self.max_priority = max(self.max_priority, float(priority.max()))
        self.tree.update(index, priority**self.alpha)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["priorities"] = self.tree[np.arange(len(self))].copy()
        state["max_priority"] = self.max_priority
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.max_priority = float(state["max_priority"])
        self.tree.update(np.arange(len(state["priorities"])), np.asarray(state["priorities"]))


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    dones: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation over a ``(T, N)`` rollout.

    Args:
        rewards: r_t [reward units].
        values: V(s_t) from the critic.
        next_values: V(s_{t+1}) of the *true* next state (for a truncated step the final
            observation's value; for the last step the bootstrap value).
        terminated: 1 where s_{t+1} is terminal (no bootstrap).
        dones: 1 where the episode ended at t (terminated or truncated): the advantage
            recursion is cut there.
        gamma: discount [-]; lam: GAE lambda [-] (1 = n-step returns, 0 = TD(0)).

    Returns:
        ``(advantages, returns)`` with ``returns = advantages + values``.
    """
    steps = rewards.shape[0]
    advantages = np.zeros_like(values, dtype=np.float32)
    last = np.zeros_like(values[0], dtype=np.float32)
    for t in reversed(range(steps)):
        delta = rewards[t] + gamma * (1.0 - terminated[t]) * next_values[t] - values[t]
        last = delta + gamma * lam * (1.0 - dones[t]) * last
        advantages[t] = last
    return advantages, advantages + values


def nstep_returns(rewards: np.ndarray, next_values: np.ndarray, terminated: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted returns within a ``(T, N)`` rollout (step t sums up to T - t rewards),
    bootstrapped with ``next_values`` where the rollout or an episode ends, except at
    termination. Equals ``compute_gae(..., lam=1)``'s returns."""
    steps = rewards.shape[0]
    returns = np.zeros_like(rewards, dtype=np.float32)
    following = np.zeros_like(rewards[0], dtype=np.float32)
    for t in reversed(range(steps)):
        bootstrap = (1.0 - terminated[t]) * next_values[t]
        continues = 0.0 if t == steps - 1 else (1.0 - dones[t])
        following = rewards[t] + gamma * np.where(continues > 0, following, bootstrap)
        returns[t] = following
    return returns
