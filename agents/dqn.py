"""Deep Q-Network (Mnih et al. 2015) with the usual improvements as options.

The update, as in the pseudocode::

    target_q  = max_a' Q_target(s', a')                  (Double DQN: Q_target(s', argmax_a' Q(s', a')))
    td_target = r + gamma * target_q * (1 - terminated)   (truncated transitions keep the bootstrap)
    loss      = Huber(Q(s, a), td_target)                  (weighted by importance weights with PER)

Experience comes from a preallocated replay buffer (uniform or prioritized), actions from
a linear epsilon-greedy schedule over the training budget, and the target network is a
hard copy every ``target_update_interval`` steps (``tau = 1``) or a Polyak average.
Pixel observations (e.g. 4 stacked 84x84 uint8 frames from a frame-stacking wrapper) go
through the Nature CNN; vectors through an MLP (``backbone`` picks, ``auto`` by space).

Works on a single env or a Gymnasium vector env (``num_envs > 1``); the step after an
episode end under ``NEXT_STEP`` autoreset is not stored (see ``agents.rollout``).

Memory: the buffer keeps ``obs`` and ``next_obs`` as preallocated arrays, so pixel
observations cost ``2 * 4*84*84`` bytes per transition (~5.6 GB at the default 100k
capacity, touched lazily); set ``buffer_size`` to 1e4-5e4 for pixel runs.

Checkpoints hold both networks, the optimizer, and the step counters. The replay buffer
is saved only with ``save_replay_buffer=true``; otherwise a resumed run starts with an
empty buffer that refills for ``learning_starts`` steps before updates resume.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .base import Budget, Callbacks, IncompatibleEnvironment, check_discrete
from .config_checks import (
    COUNT, COUNT0, DEVICE, ENVS, LEARNING_RATE, OPEN_UNIT, REPLAY, SIGNED, UNIT, WIDTH, WIDTHS, Choice, Range, Spec,
    check_config,
)
from .buffers import PrioritizedReplayBuffer, ReplayBuffer, _take
from .nets import build_encoder
from .nets.factory import RECURRENT
from .rollout import EnvStepper
from .schedules import LinearSchedule
from .torch_utils import (
    add_batch_dim,
    init_module,
    load_module_state,
    make_adam,
    load_optimizer_state,
    make_generator,
    module_state,
    obs_to_tensor,
    optimizer_state,
    preserve_global_rng,
    resolve_device,
)


@dataclass(frozen=True)
class DQNConfig:
    """DQN hyperparameters (defaults solve CartPole-v1 in ~20-30k steps)."""

    learning_rate: float = 2.3e-3  # Adam step size [-]
    buffer_size: int = 100_000  # replay capacity [transitions]
    learning_starts: int = 1000  # env steps collected before the first update [steps]
    batch_size: int = 64  # transitions per gradient step [-]
    gamma: float = 0.99  # discount factor [-]
    train_freq: int = 256  # env steps (summed over sub-envs) between training phases [steps]
    gradient_steps: int = 128  # gradient steps per training phase [-]
    target_update_interval: int = 10  # env steps between target updates [steps]
    tau: float = 1.0  # target update rate: 1 = hard copy, <1 = Polyak averaging [-]
    double_dqn: bool = True  # Double DQN targets (online argmax, target evaluation)
    huber_delta: float = 1.0  # Huber loss threshold; <= 0 uses mean squared error [Q units]
    max_grad_norm: float = 10.0  # gradient clipping by global norm; <= 0 disables [-]
    epsilon_start: float = 1.0  # exploration rate at the start [-]
    epsilon_end: float = 0.04  # exploration rate after the decay [-]
    exploration_fraction: float = 0.16  # fraction of the step budget over which epsilon decays [-]
    exploration_steps: int = 0  # if > 0, decay over this many steps instead of the fraction [steps]
    prioritized: bool = False  # prioritized experience replay (sum tree)
    per_alpha: float = 0.6  # PER prioritisation exponent [-]
    per_beta_start: float = 0.4  # PER importance-sampling exponent, annealed to 1 over the budget [-]
    backbone: Literal["auto", "mlp", "cnn", "resnet"] = "auto"  # encoder (auto: cnn for images, mlp otherwise)
    hidden: tuple[int, ...] = (256, 256)  # MLP widths [-]
    features_dim: int = 512  # CNN fully connected width [-]
    num_envs: int = 1  # sub-environments (> 1: the platform builds a vector env) [-]
    save_replay_buffer: bool = False  # include the replay buffer in checkpoints (large)
    log_interval: int = 1000  # env steps between metric reports [steps]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "learning_rate": LEARNING_RATE, "buffer_size": REPLAY, "learning_starts": COUNT0,
        "batch_size": Range(0, 65_536, low_open=True), "gamma": UNIT, "train_freq": COUNT,
        "gradient_steps": Range(0, 1_000_000, low_open=True), "target_update_interval": COUNT, "tau": OPEN_UNIT,
        "huber_delta": SIGNED, "max_grad_norm": SIGNED, "epsilon_start": UNIT, "epsilon_end": UNIT,
        "exploration_fraction": UNIT, "exploration_steps": COUNT0, "per_alpha": UNIT, "per_beta_start": UNIT,
        "hidden": WIDTHS, "features_dim": WIDTH, "num_envs": ENVS, "log_interval": COUNT, "device": DEVICE,
        "backbone": Choice(("auto", "mlp", "cnn", "resnet"), "dqn does not support recurrent backbones (lstm, gru)"),
    }

    def __post_init__(self) -> None:
        check_config(self)

class QNetwork(nn.Module):
    """Encoder followed by a linear layer with one output per action."""

    def __init__(self, encoder: nn.Module, feature_dim: int, n_actions: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(feature_dim, n_actions)

    def forward(self, obs: Any) -> torch.Tensor:
        return self.head(self.encoder(obs))


class DQNAgent:
    """Deep Q-learning on discrete action spaces (see the module docstring)."""

    name: ClassVar[str] = "dqn"
    Config: ClassVar[type] = DQNConfig

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DQNConfig | None = None, seed: int = 0) -> None:
        self.config = config or DQNConfig()
        cfg = self.config
        if cfg.backbone in RECURRENT:
            raise ValueError("dqn does not support recurrent backbones; use backbone=auto|mlp|cnn|resnet")
        self.observation_space = observation_space
        self.action_space = action_space
        self.n_actions = check_discrete(action_space, "action", "dqn")
        self.seed = int(seed)
        self.device = resolve_device(cfg.device)
        self.rng = np.random.default_rng(seed)
        generator = make_generator(seed)
        with preserve_global_rng():
            encoder, dim = build_encoder(cfg.backbone, observation_space, hidden=cfg.hidden, features_dim=cfg.features_dim)
            self.q = init_module(QNetwork(encoder, dim, self.n_actions), generator).to(self.device)
        self.q_target = copy.deepcopy(self.q)
        self.q_target.requires_grad_(False)
        self.optimizer = make_adam(self.q.parameters(), cfg.learning_rate)
        self.buffer: ReplayBuffer | None = None
        self.steps = 0  # env transitions so far [steps]
        self.episodes = 0
        self.updates = 0  # gradient steps so far
        self.epsilon = cfg.epsilon_start
        self._restored_buffer: Mapping[str, Any] | None = None

    @property
    def num_envs(self) -> int:
        return self.config.num_envs

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        check_discrete(env.action_space, "action", "dqn")
        try:
            build_encoder("auto", env.observation_space)
        except ValueError as error:
            raise IncompatibleEnvironment(f"dqn cannot encode this observation space: {error}") from None

    # ----------------------------------------------------------------- acting
    def _is_batch(self, obs: Any) -> bool:
        space = self.observation_space
        if isinstance(space, gym.spaces.Dict):
            key = next(iter(space.spaces))
            return np.ndim(obs[key]) > len(space.spaces[key].shape)
        return np.ndim(obs) > len(space.shape)

    @torch.no_grad()
    def _greedy(self, batch_obs: Any) -> np.ndarray:
        q = self.q(obs_to_tensor(batch_obs, self.device))
        return q.argmax(dim=1).cpu().numpy()

    def act(self, obs: Any, explore: bool = False) -> Any:
        """Greedy action (``explore=False``) or epsilon-greedy with the current epsilon.
        Accepts one observation or a batch (then returns an array)."""
        batched = self._is_batch(obs)
        batch = obs if batched else add_batch_dim(obs)
        actions = self._greedy(batch)
        if explore:
            random = self.rng.random(len(actions)) < self.epsilon
            actions = np.where(random, self.rng.integers(0, self.n_actions, len(actions)), actions)
        return actions if batched else int(actions[0])

    # --------------------------------------------------------------- training
    def _make_buffer(self) -> ReplayBuffer:
        cfg = self.config
        if cfg.prioritized:
            return PrioritizedReplayBuffer(cfg.buffer_size, self.observation_space, self.action_space, self.device, alpha=cfg.per_alpha)
        return ReplayBuffer(cfg.buffer_size, self.observation_space, self.action_space, self.device)

    def _epsilon(self, budget: Budget) -> float:
        cfg = self.config
        schedule = LinearSchedule(cfg.epsilon_start, cfg.epsilon_end, cfg.exploration_steps or cfg.exploration_fraction)
        progress = self.steps if cfg.exploration_steps > 0 else budget.fraction(self.steps, self.episodes)
        return schedule(progress)

    def update(self, beta: float = 0.4) -> dict[str, float]:
        """One gradient step on a replay minibatch; returns diagnostics."""
        cfg = self.config
        assert self.buffer is not None
        if isinstance(self.buffer, PrioritizedReplayBuffer):
            data = self.buffer.sample(cfg.batch_size, self.rng, beta=beta)
        else:
            data = self.buffer.sample(cfg.batch_size, self.rng)
        with torch.no_grad():
            next_q_target = self.q_target(data.next_observations)
            if cfg.double_dqn:
                next_actions = self.q(data.next_observations).argmax(dim=1, keepdim=True)
                target_q = next_q_target.gather(1, next_actions).squeeze(1)
            else:
                target_q = next_q_target.max(dim=1).values
            td_target = data.rewards + cfg.gamma * target_q * (1.0 - data.dones)
        q_sa = self.q(data.observations).gather(1, data.actions.long().unsqueeze(1)).squeeze(1)
        if cfg.huber_delta > 0:
            elementwise = nn.functional.huber_loss(q_sa, td_target, reduction="none", delta=cfg.huber_delta)
        else:
            elementwise = (q_sa - td_target).pow(2)
        loss = (data.weights * elementwise).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.q.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        if isinstance(self.buffer, PrioritizedReplayBuffer):
            self.buffer.update_priorities(data.indices, (q_sa - td_target).detach().cpu().numpy())
        self.updates += 1
        return {"loss": float(loss.detach()), "q_mean": float(q_sa.detach().mean())}

    @torch.no_grad()
    def _update_target(self) -> None:
        tau = self.config.tau
        if tau >= 1.0:
            self.q_target.load_state_dict(self.q.state_dict())
            return
        for target, online in zip(self.q_target.parameters(), self.q.parameters()):
            target.lerp_(online, tau)
        for target, online in zip(self.q_target.buffers(), self.q.buffers()):
            target.copy_(online)

    def train(self, env: gym.Env | gym.vector.VectorEnv, budget: Budget, callbacks: Callbacks) -> None:
        cfg = self.config
        if self.buffer is None:
            self.buffer = self._make_buffer()
            if self._restored_buffer is not None:
                self.buffer.load_state_dict(self._restored_buffer)
                self._restored_buffer = None
        stepper = EnvStepper(env)
        stepper.reset(seed=self.seed + self.steps)
        start_steps = self.steps
        learning_starts = self.steps + cfg.learning_starts if len(self.buffer) == 0 else cfg.learning_starts
        next_train = self.steps + cfg.train_freq
        next_target = self.steps + cfg.target_update_interval
        next_log = self.steps + cfg.log_interval
        losses: list[float] = []
        q_means: list[float] = []
        started = time.perf_counter()
        while not budget.done(self.steps, self.episodes):
            self.epsilon = self._epsilon(budget)
            obs = stepper.obs
            actions = self.act(obs, explore=True)
            result = stepper.step(actions)
            valid = result.valid
            if valid.all():
                self.buffer.add(obs, actions, result.rewards, result.real_next_obs, result.terminated)
            elif valid.any():
                self.buffer.add(_take(obs, valid), actions[valid], result.rewards[valid], _take(result.real_next_obs, valid), result.terminated[valid])
            self.steps += int(valid.sum())
            for episode_return, length in result.episodes:
                self.episodes += 1
                callbacks.on_episode_end(self.steps, episode_return, length)
            if result.episodes and not callbacks.on_step(self.steps, self.episodes):
                return
            if self.steps >= next_train:
                next_train = self.steps + cfg.train_freq
                if self.steps >= learning_starts:
                    beta = cfg.per_beta_start + (1.0 - cfg.per_beta_start) * budget.fraction(self.steps, self.episodes)
                    for _ in range(cfg.gradient_steps):
                        info = self.update(beta)
                        losses.append(info["loss"])
                        q_means.append(info["q_mean"])
                if not callbacks.on_step(self.steps, self.episodes):
                    return
            if self.steps >= next_target:
                next_target = self.steps + cfg.target_update_interval
                self._update_target()
            if self.steps >= next_log:
                next_log = self.steps + cfg.log_interval
                elapsed = max(time.perf_counter() - started, 1e-9)
                metrics = {"epsilon": self.epsilon, "steps_per_second": (self.steps - start_steps) / elapsed, "updates": float(self.updates)}
                if losses:
                    metrics["loss"] = float(np.mean(losses))
                    metrics["q_mean"] = float(np.mean(q_means))
                    losses.clear()
                    q_means.clear()
                callbacks.on_metrics(self.steps, metrics)
        callbacks.on_step(self.steps, self.episodes)  # final counts for the platform

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "q": module_state(self.q),
            "q_target": module_state(self.q_target),
            "optimizer": optimizer_state(self.optimizer),
            "counters": {"steps": self.steps, "episodes": self.episodes, "updates": self.updates, "epsilon": self.epsilon},
            "rng": self.rng.bit_generator.state,
        }
        if self.config.save_replay_buffer and self.buffer is not None:
            state["replay_buffer"] = self.buffer.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        load_module_state(self.q, state["q"])
        load_module_state(self.q_target, state["q_target"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        counters = state["counters"]
        self.steps = int(counters["steps"])
        self.episodes = int(counters["episodes"])
        self.updates = int(counters["updates"])
        self.epsilon = float(counters["epsilon"])
        if "rng" in state:
            self.rng.bit_generator.state = dict(state["rng"])
        self.buffer = None
        self._restored_buffer = state.get("replay_buffer")
