"""REINFORCE (Williams 1992) with a learned state-value baseline.

After every ``batch_episodes`` complete episodes, the Monte-Carlo return of each step
``G_t = r_t + gamma * G_{t+1}`` (a truncated episode bootstraps: ``G_T = V(final obs)``
instead of 0) drives one gradient step on::

    loss = -mean((G_t - V(s_t)) * log pi(a_t|s_t)) + vf_coef * mean((G_t - V(s_t))^2) - ent_coef * mean(H)

Discrete (categorical) and continuous (Gaussian, state-independent log std, actions
clipped to the bounds) action spaces; the policy and baseline networks come from
``agents.nets`` (the same ``ActorCritic`` as A2C). Runs on a single env or a vector env.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .a2c import ActorCritic, PolicyAgentMixin, check_policy_spaces
from .base import Budget, Callbacks
from .config_checks import COEF, DEVICE, ENVS, LEARNING_RATE, LOG_STD, SIGNED, UNIT, WIDTHS, Range, Spec, check_config
from .nets.factory import RECURRENT
from .rollout import EnvStepper
from .torch_utils import (
    add_batch_dim,
    make_adam,
    make_generator,
    obs_to_tensor,
    preserve_global_rng,
    resolve_device,
)


def _row(obs: Any, i: int) -> Any:
    if isinstance(obs, dict):
        return {key: value[i] for key, value in obs.items()}
    return obs[i]


def _stack(rows: list[Any]) -> Any:
    if isinstance(rows[0], dict):
        return {key: torch.stack([r[key] for r in rows]) for key in rows[0]}
    return torch.stack(rows)


def discounted_returns(rewards: np.ndarray, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
    """``G_t = r_t + gamma * G_{t+1}`` backwards from ``G_T = bootstrap``."""
    returns = np.zeros(len(rewards), dtype=np.float32)
    running = float(bootstrap)
    for t in reversed(range(len(rewards))):
        running = float(rewards[t]) + gamma * running
        returns[t] = running
    return returns


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE-with-baseline hyperparameters."""

    learning_rate: float = 3e-3  # Adam step size for policy and baseline [-]
    gamma: float = 0.99  # discount factor [-]
    batch_episodes: int = 4  # complete episodes per gradient step [-]
    vf_coef: float = 0.5  # baseline (value) loss weight [-]
    ent_coef: float = 0.0  # entropy bonus weight [-]
    normalize_advantage: bool = True  # standardise G - V over the batch
    max_grad_norm: float = 1.0  # gradient clipping by global norm; <= 0 disables [-]
    backbone: Literal["auto", "mlp", "cnn", "resnet"] = "auto"  # encoder
    hidden: tuple[int, ...] = (64, 64)  # MLP widths [-]
    activation: Literal["tanh", "relu"] = "tanh"  # MLP activation
    log_std_init: float = 0.0  # initial log standard deviation of Gaussian policies [-]
    num_envs: int = 1  # parallel sub-environments [-]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "learning_rate": LEARNING_RATE, "gamma": UNIT, "batch_episodes": Range(0, 100_000, low_open=True),
        "vf_coef": COEF, "ent_coef": COEF, "max_grad_norm": SIGNED, "hidden": WIDTHS, "log_std_init": LOG_STD,
        "num_envs": ENVS, "device": DEVICE,
    }

    def __post_init__(self) -> None:
        check_config(self)

class ReinforceAgent(PolicyAgentMixin):
    """Monte-Carlo policy gradient with a learned baseline (see module docstring)."""

    name: ClassVar[str] = "reinforce"
    Config: ClassVar[type] = ReinforceConfig

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: ReinforceConfig | None = None, seed: int = 0) -> None:
        self.config = config or ReinforceConfig()
        cfg = self.config
        if cfg.backbone in RECURRENT:
            raise ValueError("reinforce does not support recurrent backbones; use a2c with backbone=lstm|gru")
        check_policy_spaces(observation_space, action_space, self.name)
        self.observation_space = observation_space
        self.action_space = action_space
        self.seed = int(seed)
        self.device = resolve_device(cfg.device)
        self.generator = make_generator(seed, self.device)
        with preserve_global_rng():
            self.net = ActorCritic(observation_space, action_space, cfg.backbone, cfg.hidden, cfg.activation, False, 0, cfg.log_std_init, make_generator(seed)).to(self.device)
        self.optimizer = make_adam(self.net.parameters(), cfg.learning_rate)
        self.steps = 0
        self.episodes = 0
        self.updates = 0
        self._init_action_bounds(action_space)

    @torch.no_grad()
    def act(self, obs: Any, explore: bool = False) -> Any:
        """Most likely / mean action (``explore=False``) or a policy sample."""
        params, _, _ = self.net(obs_to_tensor(add_batch_dim(obs), self.device))
        head = self.net.head
        action = self._env_action(head.sample(params, self.generator) if explore else head.mode(params))[0]
        return action if self.net.continuous else int(action)

    def train(self, env: gym.Env | gym.vector.VectorEnv, budget: Budget, callbacks: Callbacks) -> None:
        net, head, device = self.net, self.net.head, self.device
        stepper = EnvStepper(env)
        stepper.reset(seed=self.seed + self.steps)
        n = stepper.num_envs
        traj_obs: list[list[Any]] = [[] for _ in range(n)]
        traj_actions: list[list[torch.Tensor]] = [[] for _ in range(n)]
        traj_rewards: list[list[float]] = [[] for _ in range(n)]
        batch_obs: list[Any] = []
        batch_actions: list[torch.Tensor] = []
        batch_returns: list[np.ndarray] = []
        batch_count = 0
        started, start_steps = time.perf_counter(), self.steps
        while not budget.done(self.steps, self.episodes):
            with torch.no_grad():
                obs_t = obs_to_tensor(stepper.obs, device)
                params, _, _ = net(obs_t)
                action = head.sample(params, self.generator)
            result = stepper.step(self._env_action(action))
            for i in np.flatnonzero(result.valid):
                traj_obs[i].append(_row(obs_t, i))
                traj_actions[i].append(action[i])
                traj_rewards[i].append(float(result.rewards[i]))
            self.steps += int(result.valid.sum())
            for i in np.flatnonzero(result.dones):
                bootstrap = 0.0
                if result.truncated[i]:
                    with torch.no_grad():
                        final = obs_to_tensor(add_batch_dim(_row(result.real_next_obs, i)), device)
                        bootstrap = float(net(final)[1][0])
                batch_returns.append(discounted_returns(np.array(traj_rewards[i]), self.config.gamma, bootstrap))
                batch_obs.extend(traj_obs[i])
                batch_actions.extend(traj_actions[i])
                traj_obs[i], traj_actions[i], traj_rewards[i] = [], [], []
                batch_count += 1
            for episode_return, length in result.episodes:
                self.episodes += 1
                callbacks.on_episode_end(self.steps, episode_return, length)
            if result.episodes:
                if batch_count >= self.config.batch_episodes:
                    metrics = self._update(_stack(batch_obs), torch.stack(batch_actions), np.concatenate(batch_returns))
                    metrics["steps_per_second"] = (self.steps - start_steps) / max(time.perf_counter() - started, 1e-9)
                    callbacks.on_metrics(self.steps, metrics)
                    batch_obs, batch_actions, batch_returns, batch_count = [], [], [], 0
                if not callbacks.on_step(self.steps, self.episodes):
                    return
        callbacks.on_step(self.steps, self.episodes)  # final counts for the platform

    def _update(self, obs: Any, actions: torch.Tensor, returns: np.ndarray) -> dict[str, float]:
        cfg, head = self.config, self.net.head
        params, values, _ = self.net(obs)
        ret = torch.as_tensor(returns, device=self.device)
        adv = (ret - values).detach()
        if cfg.normalize_advantage and len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        logp = head.log_prob(params, actions)
        entropy = head.entropy(params).mean()
        policy_loss = -(adv * logp).mean()
        value_loss = (ret - values).pow(2).mean()
        loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        return {"policy_loss": float(policy_loss.detach()), "value_loss": float(value_loss.detach()), "entropy": float(entropy.detach())}

