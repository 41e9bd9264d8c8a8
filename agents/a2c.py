"""Advantage actor-critic (A2C, the synchronous A3C of Mnih et al. 2016).

Each iteration collects ``n_steps`` steps from ``num_envs`` parallel environments,
computes advantages with GAE(lambda) (``gae_lambda = 1`` gives classic n-step returns),
and takes one gradient step on::

    loss = -mean(A_t * log pi(a_t|s_t)) + vf_coef * mean((R_t - V(s_t))^2) - ent_coef * mean(H[pi(.|s_t)])

Discrete actions use a categorical policy; continuous (Box) actions a diagonal Gaussian
with a state-independent learned log standard deviation, sampled actions clipped to the
bounds before stepping the env. Truncated episodes bootstrap from the value of their
final observation; terminated ones do not. ``backbone=lstm|gru`` adds a recurrent core
whose hidden state is carried across steps and reset at episode starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import nn

from .base import Budget, Callbacks, IncompatibleEnvironment
from .config_checks import COEF, COUNT, DEVICE, ENVS, LEARNING_RATE, LOG_STD, SIGNED, UNIT, WIDTH, WIDTHS, Range, Spec, check_config
from .buffers import compute_gae
from .nets import CategoricalHead, GaussianHead, build_encoder
from .nets.factory import RECURRENT, is_image_space
from .rollout import EnvStepper
from .torch_utils import (
    add_batch_dim,
    init_module,
    load_module_state,
    load_optimizer_state,
    make_adam,
    make_generator,
    module_state,
    obs_to_tensor,
    optimizer_state,
    preserve_global_rng,
    resolve_device,
    scale_last_layer,
)


def check_policy_spaces(observation_space: gym.Space, action_space: gym.Space, agent: str) -> None:
    """Raise ``IncompatibleEnvironment`` unless actions are Discrete or a bounded 1-D Box
    and the observation space has an encoder."""
    if isinstance(action_space, gym.spaces.Box):
        if len(action_space.shape) != 1:
            raise IncompatibleEnvironment(f"{agent} needs a 1-D Box action space, got {action_space}")
    elif not isinstance(action_space, gym.spaces.Discrete):
        raise IncompatibleEnvironment(f"{agent} needs a Discrete or Box action space, got {action_space}")
    try:
        build_encoder("auto", observation_space)
    except ValueError as error:
        raise IncompatibleEnvironment(f"{agent} cannot encode this observation space: {error}") from None


class ActorCritic(nn.Module):
    """Policy and value function on top of encoders from ``build_encoder``.

    Separate policy and value encoders unless ``shared`` (always shared for images and
    recurrent backbones). ``forward(obs, state, starts)`` returns
    ``(policy_params, values, new_state)``; ``state`` is ``()`` for feed-forward nets.
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, backbone: str, hidden: tuple[int, ...], activation: str, shared: bool, recurrent_hidden: int, log_std_init: float, generator: torch.Generator) -> None:
        super().__init__()
        options = {"hidden": hidden, "activation": activation, "recurrent_hidden": recurrent_hidden}
        self.recurrent = backbone in RECURRENT
        self.shared = shared or self.recurrent or is_image_space(observation_space) or isinstance(observation_space, gym.spaces.Dict)
        self.pi_encoder, dim = build_encoder(backbone, observation_space, **options)
        self.vf_encoder = None if self.shared else build_encoder(backbone, observation_space, **options)[0]
        self.continuous = isinstance(action_space, gym.spaces.Box)
        if self.continuous:
            self.head: nn.Module = GaussianHead(dim, int(action_space.shape[0]), log_std_init)
        else:
            self.head = CategoricalHead(dim, int(action_space.n))
        self.value = nn.Linear(dim, 1)
        init_module(self, generator, scheme="orthogonal")
        if self.continuous:
            with torch.no_grad():
                self.head.log_std.fill_(log_std_init)
        scale_last_layer(self.head.linear, 0.01, generator)
        scale_last_layer(self.value, 1.0, generator)

    def initial_state(self, batch: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        return self.pi_encoder.initial_state(batch, device) if self.recurrent else ()

    def forward(self, obs: Any, state: tuple[torch.Tensor, ...] = (), starts: torch.Tensor | None = None):
        if self.recurrent:
            features, state = self.pi_encoder(obs, state, starts)
        else:
            features = self.pi_encoder(obs)
        vf_features = features if self.vf_encoder is None else self.vf_encoder(obs)
        return self.head(features), self.value(vf_features).squeeze(-1), state


@dataclass(frozen=True)
class A2CConfig:
    """A2C hyperparameters (defaults solve CartPole-v1 with 8 envs in ~50-100k steps)."""

    learning_rate: float = 1e-3  # optimizer step size [-]
    n_steps: int = 8  # steps per environment per update [steps]
    num_envs: int = 8  # parallel sub-environments (the platform builds a vector env) [-]
    gamma: float = 0.99  # discount factor [-]
    gae_lambda: float = 0.95  # GAE lambda; 1 = n-step returns [-]
    ent_coef: float = 0.0  # entropy bonus weight [-]
    vf_coef: float = 0.5  # value loss weight [-]
    max_grad_norm: float = 0.5  # gradient clipping by global norm; <= 0 disables [-]
    normalize_advantage: bool = False  # standardise advantages per rollout
    optimizer: Literal["adam", "rmsprop"] = "adam"  # adam, or rmsprop (alpha 0.99, eps 1e-5, as in SB3/A3C)
    backbone: Literal["auto", "mlp", "cnn", "resnet", "lstm", "gru"] = "auto"  # encoder
    hidden: tuple[int, ...] = (64, 64)  # MLP widths [-]
    activation: Literal["tanh", "relu"] = "tanh"  # MLP activation
    shared_backbone: bool = False  # one encoder for policy and value (always for images/recurrent)
    recurrent_hidden: int = 128  # LSTM/GRU state width [-]
    log_std_init: float = 0.0  # initial log standard deviation of Gaussian policies [-]
    log_interval: int = 2000  # env steps between metric reports [steps]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "learning_rate": LEARNING_RATE, "n_steps": Range(0, 100_000, low_open=True), "num_envs": ENVS, "gamma": UNIT,
        "gae_lambda": UNIT, "ent_coef": COEF, "vf_coef": COEF, "max_grad_norm": SIGNED, "hidden": WIDTHS,
        "recurrent_hidden": WIDTH, "log_std_init": LOG_STD, "log_interval": COUNT, "device": DEVICE,
    }

    def __post_init__(self) -> None:
        check_config(self)

class PolicyAgentMixin:
    """What the policy-gradient agents (A2C, REINFORCE) share: the sub-env count, the
    space check, clipping continuous actions to the action space's bounds, checkpoints.
    Expects ``config.num_envs``, ``net.continuous`` and, for continuous actions,
    ``_low``/``_high`` set by ``_init_action_bounds``."""

    name: ClassVar[str]

    @property
    def num_envs(self) -> int:
        return self.config.num_envs

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        check_policy_spaces(env.observation_space, env.action_space, cls.name)

    def _init_action_bounds(self, action_space: gym.Space) -> None:
        if self.net.continuous:
            self._low = torch.as_tensor(action_space.low, dtype=torch.float32, device=self.device)
            self._high = torch.as_tensor(action_space.high, dtype=torch.float32, device=self.device)

    def _env_action(self, actions: torch.Tensor) -> np.ndarray:
        if self.net.continuous:
            actions = torch.maximum(torch.minimum(actions, self._high), self._low)
        return actions.cpu().numpy()

    def state_dict(self) -> dict[str, Any]:
        return {
            "net": module_state(self.net),
            "optimizer": optimizer_state(self.optimizer),
            "counters": {"steps": self.steps, "episodes": self.episodes, "updates": self.updates},
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        load_module_state(self.net, state["net"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        counters = state["counters"]
        self.steps, self.episodes, self.updates = int(counters["steps"]), int(counters["episodes"]), int(counters["updates"])
        if "generator" in state:
            self.generator.set_state(torch.as_tensor(np.asarray(state["generator"]), dtype=torch.uint8))


class A2CAgent(PolicyAgentMixin):
    """Advantage actor-critic for discrete and continuous actions (see module docstring)."""

    name: ClassVar[str] = "a2c"
    Config: ClassVar[type] = A2CConfig

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: A2CConfig | None = None, seed: int = 0) -> None:
        self.config = config or A2CConfig()
        cfg = self.config
        check_policy_spaces(observation_space, action_space, self.name)
        self.observation_space = observation_space
        self.action_space = action_space
        self.seed = int(seed)
        self.device = resolve_device(cfg.device)
        self.generator = make_generator(seed, self.device)
        with preserve_global_rng():
            self.net = ActorCritic(
                observation_space, action_space, cfg.backbone, cfg.hidden, cfg.activation, cfg.shared_backbone, cfg.recurrent_hidden, cfg.log_std_init, make_generator(seed)
            ).to(self.device)
        if cfg.optimizer == "rmsprop":
            self.optimizer: torch.optim.Optimizer = torch.optim.RMSprop(self.net.parameters(), lr=cfg.learning_rate, alpha=0.99, eps=1e-5)
        else:
            self.optimizer = make_adam(self.net.parameters(), cfg.learning_rate, eps=1e-5)
        self.steps = 0
        self.episodes = 0
        self.updates = 0
        self._act_state: tuple[torch.Tensor, ...] | None = None
        self._init_action_bounds(action_space)

    # ----------------------------------------------------------------- acting

    def reset_episode(self) -> None:
        """Forget the recurrent state used by ``act``; the platform calls it at every episode start."""
        self._act_state = None

    @torch.no_grad()
    def act(self, obs: Any, explore: bool = False) -> Any:
        """Mean / most likely action (``explore=False``) or a sample from the policy.

        With a recurrent backbone the hidden state is carried between calls; call
        ``reset_episode()`` when a new episode starts.
        """
        if self._act_state is None:
            self._act_state = self.net.initial_state(1, self.device)
        tensor = obs_to_tensor(add_batch_dim(obs), self.device)
        starts = torch.zeros(1, 1, device=self.device)
        params, _, self._act_state = self.net(tensor, self._act_state, starts)
        head = self.net.head
        action = head.sample(params, self.generator) if explore else head.mode(params)
        action = self._env_action(action)[0]
        return int(action) if not self.net.continuous else action

    # --------------------------------------------------------------- training
    def train(self, env: gym.Env | gym.vector.VectorEnv, budget: Budget, callbacks: Callbacks) -> None:
        cfg = self.config
        net, head, device = self.net, self.net.head, self.device
        stepper = EnvStepper(env)
        stepper.reset(seed=self.seed + self.steps)
        n_envs, n_steps = stepper.num_envs, cfg.n_steps
        state = net.initial_state(n_envs, device)
        # NEXT_STEP autoreset: the row after an episode end holds the final observation
        next_row_is_final = stepper.mode == AutoresetMode.NEXT_STEP
        started, start_steps = time.perf_counter(), self.steps
        next_log = self.steps + cfg.log_interval
        while not budget.done(self.steps, self.episodes):
            # ---- collect a rollout of n_steps x n_envs
            obs_list, actions = [], []
            rewards = np.zeros((n_steps, n_envs), dtype=np.float32)
            terminated = np.zeros((n_steps, n_envs), dtype=np.float32)
            dones = np.zeros((n_steps, n_envs), dtype=np.float32)
            valid = np.zeros((n_steps, n_envs), dtype=np.float32)
            starts = np.zeros((n_steps, n_envs), dtype=np.float32)
            values = np.zeros((n_steps + 1, n_envs), dtype=np.float32)
            trunc_values = np.zeros((n_steps, n_envs), dtype=np.float32)
            initial_state = state
            stop = False
            with torch.no_grad():
                for t in range(n_steps):
                    obs_t = obs_to_tensor(stepper.obs, device)
                    starts[t] = stepper.starts
                    params, value, state = net(obs_t, state, torch.as_tensor(starts[t : t + 1], device=device))
                    action = head.sample(params, self.generator)
                    result = stepper.step(self._env_action(action))
                    obs_list.append(obs_t)
                    actions.append(action)
                    values[t] = value.cpu().numpy()
                    rewards[t] = result.rewards
                    terminated[t] = result.terminated
                    dones[t] = result.dones
                    valid[t] = result.valid
                    truncated = np.flatnonzero(result.truncated)
                    if len(truncated) and not next_row_is_final:
                        # value of the final observation, for the truncation bootstrap
                        final = obs_to_tensor(result.real_next_obs, device)
                        zeros = torch.zeros(1, n_envs, device=device)
                        _, final_value, _ = net(final, state, zeros) if net.recurrent else net(final)
                        trunc_values[t, truncated] = final_value.cpu().numpy()[truncated]
                    self.steps += int(result.valid.sum())
                    for episode_return, length in result.episodes:
                        self.episodes += 1
                        callbacks.on_episode_end(self.steps, episode_return, length)
                    if budget.done(self.steps, self.episodes):
                        stop = True
                next_starts = torch.as_tensor(stepper.starts[None].astype(np.float32), device=device)
                _, last_value, _ = net(obs_to_tensor(stepper.obs, device), state, next_starts)
                values[n_steps] = last_value.cpu().numpy()
            # ---- targets
            next_values = values[1:]
            if not next_row_is_final:
                # after a done the next row is a reset observation: use the final obs value
                next_values = np.where(dones > 0, trunc_values, next_values)
            advantages, returns = compute_gae(rewards, values[:-1], next_values, terminated, dones, cfg.gamma, cfg.gae_lambda)
            # ---- one gradient step
            metrics = self._update(obs_list, actions, advantages, returns, valid, starts, initial_state)
            if not net.recurrent:
                state = ()
            else:
                state = tuple(s.detach() for s in state)
            if not callbacks.on_step(self.steps, self.episodes) or stop:
                break
            if self.steps >= next_log:
                next_log = self.steps + cfg.log_interval
                metrics["steps_per_second"] = (self.steps - start_steps) / max(time.perf_counter() - started, 1e-9)
                callbacks.on_metrics(self.steps, metrics)

    def _update(self, obs_list, actions, advantages, returns, valid, starts, initial_state) -> dict[str, float]:
        cfg, net, head, device = self.config, self.net, self.net.head, self.device
        n_steps, n_envs = valid.shape
        if isinstance(obs_list[0], dict):
            obs = {key: torch.cat([o[key] for o in obs_list]) for key in obs_list[0]}
        else:
            obs = torch.cat(obs_list)
        acts = torch.cat(actions)
        mask = torch.as_tensor(valid.reshape(-1), device=device)
        adv = torch.as_tensor(advantages.reshape(-1), device=device)
        ret = torch.as_tensor(returns.reshape(-1), device=device)
        count = mask.sum().clamp(min=1.0)
        if cfg.normalize_advantage:
            mean = (adv * mask).sum() / count
            std = (((adv - mean) ** 2 * mask).sum() / count).sqrt()
            adv = (adv - mean) / (std + 1e-8)
        params, values, _ = net(obs, initial_state, torch.as_tensor(starts, device=device))
        logp = head.log_prob(params, acts)
        entropy = head.entropy(params)
        policy_loss = -(adv * logp * mask).sum() / count
        value_loss = (((ret - values) ** 2) * mask).sum() / count
        entropy_mean = (entropy * mask).sum() / count
        loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy_mean
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf"))
        self.optimizer.step()
        self.updates += 1
        return {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "entropy": float(entropy_mean.detach()),
            "grad_norm": float(grad_norm),
        }

    # ------------------------------------------------------------ checkpoints
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self._act_state = None
