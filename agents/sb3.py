"""Stable-Baselines3 PPO, DQN and A2C behind the SimDrive agent protocol.

The adapters let the platform train, evaluate, track and checkpoint SB3 models exactly
like our own agents:

* ``train`` calls ``model.learn`` with an SB3 ``BaseCallback`` that forwards finished
  episodes to ``callbacks.on_episode_end`` and stops when ``callbacks.on_step`` returns
  False (or the budget's episode limit is reached), and an SB3 logger output format
  (a ``KVWriter``) that forwards every logged scalar to ``callbacks.on_metrics``.
* ``state_dict`` holds the policy's tensors, the optimizer state and the counters — no
  pickled SB3 zip — and ``load_state_dict`` restores them into a freshly built model.
* ``act`` is ``model.predict(obs, deterministic=not explore)``.

SB3 seeds and samples with the global RNGs (python, numpy, torch). The adapters keep
their own copies of those RNG states and swap them in only around SB3 calls, so a run is
deterministic for a seed and the caller's global RNG state is left untouched.

The platform always passes one plain env (``num_envs == 1``); with ``n_envs > 1`` the
adapter builds ``n_envs`` copies from ``env.spec`` in an SB3 ``DummyVecEnv``. SB3's
replay buffer is not checkpointed: a resumed ``sb3:dqn`` continues with an empty buffer.

Requires ``stable-baselines3`` (a SimDrive dependency); it is imported lazily.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Mapping

import gymnasium as gym
import numpy as np
import torch

from .base import Budget, Callbacks, IncompatibleEnvironment
from .config_checks import COEF, COUNT, COUNT0, DEVICE, LEARNING_RATE, OPEN_UNIT, REPLAY, UNIT, WIDTHS, Range, Spec, check_config

#: Valid values shared by the SB3 configurations.
_BATCH = Range(0, 65_536, low_open=True)  # [-]
_N_STEPS = Range(0, 1_000_000, low_open=True)  # [steps]
_N_ENVS = Range(0, 256, low_open=True)  # SB3 builds this many env copies [-]
_GRAD_NORM = Range(0.0, 1e6, low_open=True)  # [-]
from .torch_utils import load_optimizer_state, optimizer_state


def _import_sb3():
    try:
        import stable_baselines3
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError("the sb3:* agents need stable-baselines3; reinstall simdrive (pip install -e .) to get it") from error
    return stable_baselines3


@dataclass(frozen=True)
class SB3PPOConfig:
    """Stable-Baselines3 PPO hyperparameters (SB3's defaults)."""

    learning_rate: float = 3e-4  # Adam step size [-]
    n_steps: int = 2048  # steps per environment per rollout [steps]
    batch_size: int = 64  # minibatch size [-]
    n_epochs: int = 10  # optimisation epochs per rollout [-]
    gamma: float = 0.99  # discount factor [-]
    gae_lambda: float = 0.95  # GAE lambda [-]
    clip_range: float = 0.2  # PPO clipping parameter [-]
    ent_coef: float = 0.0  # entropy bonus weight [-]
    vf_coef: float = 0.5  # value loss weight [-]
    max_grad_norm: float = 0.5  # gradient clipping [-]
    net_arch: tuple[int, ...] = (64, 64)  # hidden widths of policy and value MLPs [-]
    n_envs: int = 1  # environment copies (built from env.spec) [-]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "learning_rate": LEARNING_RATE, "n_steps": _N_STEPS, "batch_size": _BATCH, "n_epochs": Range(0, 1000, low_open=True),
        "gamma": UNIT, "gae_lambda": UNIT, "clip_range": Range(0.0, 10.0, low_open=True), "ent_coef": COEF,
        "vf_coef": COEF, "max_grad_norm": _GRAD_NORM, "net_arch": WIDTHS, "n_envs": _N_ENVS, "device": DEVICE,
    }

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class SB3DQNConfig:
    """Stable-Baselines3 DQN hyperparameters (SB3's defaults)."""

    learning_rate: float = 1e-4  # Adam step size [-]
    buffer_size: int = 1_000_000  # replay capacity [transitions]
    learning_starts: int = 100  # steps before learning starts [steps]
    batch_size: int = 32  # minibatch size [-]
    tau: float = 1.0  # target update rate (1 = hard copy) [-]
    gamma: float = 0.99  # discount factor [-]
    train_freq: int = 4  # env steps between training phases [steps]
    gradient_steps: int = 1  # gradient steps per training phase [-]
    target_update_interval: int = 10_000  # env steps between target updates [steps]
    exploration_fraction: float = 0.1  # fraction of training over which epsilon decays [-]
    exploration_initial_eps: float = 1.0  # initial epsilon [-]
    exploration_final_eps: float = 0.05  # final epsilon [-]
    max_grad_norm: float = 10.0  # gradient clipping [-]
    net_arch: tuple[int, ...] = (64, 64)  # Q-network hidden widths [-]
    n_envs: int = 1  # environment copies (built from env.spec) [-]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "learning_rate": LEARNING_RATE, "buffer_size": REPLAY, "learning_starts": COUNT0, "batch_size": _BATCH,
        "tau": OPEN_UNIT, "gamma": UNIT, "train_freq": COUNT, "gradient_steps": Range(-1, 1_000_000),
        "target_update_interval": COUNT, "exploration_fraction": UNIT, "exploration_initial_eps": UNIT,
        "exploration_final_eps": UNIT, "max_grad_norm": _GRAD_NORM, "net_arch": WIDTHS, "n_envs": _N_ENVS, "device": DEVICE,
    }

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class SB3A2CConfig:
    """Stable-Baselines3 A2C hyperparameters (SB3's defaults)."""

    learning_rate: float = 7e-4  # RMSprop step size [-]
    n_steps: int = 5  # steps per environment per update [steps]
    gamma: float = 0.99  # discount factor [-]
    gae_lambda: float = 1.0  # GAE lambda (1 = n-step returns) [-]
    ent_coef: float = 0.0  # entropy bonus weight [-]
    vf_coef: float = 0.5  # value loss weight [-]
    max_grad_norm: float = 0.5  # gradient clipping [-]
    use_rms_prop: bool = True  # RMSprop (True) or Adam
    normalize_advantage: bool = False  # standardise advantages
    net_arch: tuple[int, ...] = (64, 64)  # hidden widths of policy and value MLPs [-]
    n_envs: int = 1  # environment copies (built from env.spec) [-]
    device: str = "cpu"  # torch device: cpu, cuda, auto

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "learning_rate": LEARNING_RATE, "n_steps": _N_STEPS, "gamma": UNIT, "gae_lambda": UNIT, "ent_coef": COEF,
        "vf_coef": COEF, "max_grad_norm": _GRAD_NORM, "net_arch": WIDTHS, "n_envs": _N_ENVS, "device": DEVICE,
    }

    def __post_init__(self) -> None:
        check_config(self)


class _SpacesEnv(gym.Env):
    """A do-nothing env with given spaces: lets an SB3 model be built before training
    (and restored from a checkpoint) without the real environment."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


class _OwnRNG:
    """Private copies of the python / numpy / torch global RNG states."""

    def __init__(self, seed: int) -> None:
        with self.isolated():
            random.seed(seed)
            np.random.seed(seed % (2**32))
            torch.manual_seed(seed)
            self._capture()

    def _capture(self) -> None:
        self.python, self.numpy, self.torch = random.getstate(), np.random.get_state(), torch.get_rng_state()

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Run SB3 code with global RNGs that are saved and restored around it."""
        saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            yield
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """Install this agent's RNG states as the global ones for the duration."""
        with self.isolated():
            random.setstate(self.python)
            np.random.set_state(self.numpy)
            torch.set_rng_state(self.torch)
            try:
                yield
            finally:
                self._capture()


class _SB3Agent:
    """Shared adapter logic; subclasses name the SB3 algorithm and map their config."""

    name: ClassVar[str]
    Config: ClassVar[type]
    algorithm: ClassVar[str]
    policy_name: ClassVar[str] = "MlpPolicy"

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any = None, seed: int = 0) -> None:
        self.config = config or self.Config()
        self.observation_space = observation_space
        self.action_space = action_space
        self.seed = int(seed)
        self._rng = _OwnRNG(self.seed)
        self.episodes = 0
        self.model = self._build_model()

    # ----------------------------------------------------------------- setup
    @property
    def num_envs(self) -> int:
        return 1

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        if cls.algorithm == "DQN" and not isinstance(env.action_space, gym.spaces.Discrete):
            raise IncompatibleEnvironment(f"{cls.name} needs a discrete action space, this environment has {env.action_space}")
        if not isinstance(env.action_space, (gym.spaces.Discrete, gym.spaces.Box, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)):
            raise IncompatibleEnvironment(f"{cls.name} does not support the action space {env.action_space}")

    def _algorithm_kwargs(self) -> dict[str, Any]:
        cfg = self.config
        kwargs = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("net_arch", "n_envs", "device")}
        kwargs["policy_kwargs"] = {"net_arch": list(cfg.net_arch)}
        return kwargs

    def _policy_name(self) -> str:
        if isinstance(self.observation_space, gym.spaces.Dict):
            return "MultiInputPolicy"
        return self.policy_name

    def _build_model(self):
        sb3 = _import_sb3()
        from stable_baselines3.common.vec_env import DummyVecEnv

        cls = getattr(sb3, self.algorithm)
        spaces_env = DummyVecEnv([lambda: _SpacesEnv(self.observation_space, self.action_space)] * self.config.n_envs)
        with self._rng.swapped_in():
            return cls(self._policy_name(), spaces_env, seed=self.seed, device=self.config.device, verbose=0, **self._algorithm_kwargs())

    def _vec_env(self, env: gym.Env):
        from stable_baselines3.common.monitor import Monitor
        from stable_baselines3.common.vec_env import DummyVecEnv

        if isinstance(env, gym.vector.VectorEnv):
            raise IncompatibleEnvironment(f"{self.name} trains on a plain env (num_envs=1); set n_envs to vectorise inside SB3")
        if self.config.n_envs == 1:
            return DummyVecEnv([lambda: Monitor(env)])
        if env.spec is None:
            raise IncompatibleEnvironment(f"{self.name} with n_envs > 1 needs an env made by gym.make (it copies env.spec)")
        spec = env.spec
        return DummyVecEnv([lambda: Monitor(gym.make(spec))] * self.config.n_envs)

    # ----------------------------------------------------------------- acting
    def act(self, obs: Any, explore: bool = False) -> Any:
        """``model.predict(obs, deterministic=not explore)`` with this agent's RNG."""
        with self._rng.swapped_in():
            action, _ = self.model.predict(obs, deterministic=not explore)
        if isinstance(self.action_space, gym.spaces.Discrete) and np.ndim(action) == 0:
            return int(action)
        return action

    # --------------------------------------------------------------- training
    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.logger import KVWriter, Logger

        agent = self

        class ForwardCallback(BaseCallback):
            """Episode ends -> on_episode_end; on_step(False) or the episode budget -> stop."""

            def _on_step(self) -> bool:
                ended = False
                for info in self.locals.get("infos", ()):
                    episode = info.get("episode")
                    if episode is not None:
                        agent.episodes += 1
                        ended = True
                        callbacks.on_episode_end(int(self.num_timesteps), float(episode["r"]), int(episode["l"]))
                if ended or self.n_calls % 1000 == 0:
                    if not callbacks.on_step(int(self.num_timesteps), agent.episodes):
                        return False
                return not budget.done(int(self.num_timesteps), agent.episodes)

        class MetricsWriter(KVWriter):
            """SB3 logger output that forwards numeric scalars to ``on_metrics``."""

            def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
                metrics = {
                    key: float(value)
                    for key, value in key_values.items()
                    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
                }
                if metrics:
                    callbacks.on_metrics(int(step), metrics)

            def close(self) -> None:
                pass

        model = self.model
        vec_env = self._vec_env(env)
        with self._rng.swapped_in():
            model.set_env(vec_env)
            model.set_random_seed(self.seed + model.num_timesteps)
            model.set_logger(Logger(folder=None, output_formats=[MetricsWriter()]))
            if budget.steps is not None:
                remaining = budget.steps - model.num_timesteps
            else:
                remaining = 10**12  # stopped by the callback when the episode budget is reached
            if remaining > 0:
                model.learn(total_timesteps=remaining, callback=ForwardCallback(), reset_num_timesteps=False, log_interval=1)

    # ------------------------------------------------------------ checkpoints
    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"policy": self.model.policy.optimizer}

    def state_dict(self) -> dict[str, Any]:
        model = self.model
        counters = {"num_timesteps": int(model.num_timesteps), "n_updates": int(getattr(model, "_n_updates", 0)), "episodes": self.episodes}
        if hasattr(model, "exploration_rate"):
            counters["exploration_rate"] = float(model.exploration_rate)
            counters["n_calls"] = int(getattr(model, "_n_calls", 0))
        return {
            "policy": {key: value.detach().cpu().clone() for key, value in model.policy.state_dict().items()},
            "optimizers": {name: optimizer_state(opt) for name, opt in self._optimizers().items()},
            "counters": counters,
            "rng": {"torch": self._rng.torch.clone(), "numpy_key": np.asarray(self._rng.numpy[1]), "numpy_pos": int(self._rng.numpy[2]), "numpy_gauss": [int(self._rng.numpy[3]), float(self._rng.numpy[4])]},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.model = self._build_model()
        model = self.model
        model.policy.load_state_dict({key: torch.as_tensor(np.asarray(value)) for key, value in state["policy"].items()})
        for name, opt in self._optimizers().items():
            load_optimizer_state(opt, state["optimizers"][name])
        counters = state["counters"]
        model.num_timesteps = int(counters["num_timesteps"])
        model._n_updates = int(counters["n_updates"])
        self.episodes = int(counters["episodes"])
        if "exploration_rate" in counters:
            model.exploration_rate = float(counters["exploration_rate"])
            model._n_calls = int(counters["n_calls"])
        if "rng" in state:
            rng = state["rng"]
            self._rng.torch = torch.as_tensor(np.asarray(rng["torch"]), dtype=torch.uint8)
            self._rng.numpy = ("MT19937", np.asarray(rng["numpy_key"], dtype=np.uint32), int(rng["numpy_pos"]), int(rng["numpy_gauss"][0]), float(rng["numpy_gauss"][1]))


class SB3PPOAgent(_SB3Agent):
    """Stable-Baselines3 PPO (discrete or continuous actions)."""

    name: ClassVar[str] = "sb3:ppo"
    Config: ClassVar[type] = SB3PPOConfig
    algorithm: ClassVar[str] = "PPO"


class SB3DQNAgent(_SB3Agent):
    """Stable-Baselines3 DQN (discrete actions)."""

    name: ClassVar[str] = "sb3:dqn"
    Config: ClassVar[type] = SB3DQNConfig
    algorithm: ClassVar[str] = "DQN"


class SB3A2CAgent(_SB3Agent):
    """Stable-Baselines3 A2C (discrete or continuous actions)."""

    name: ClassVar[str] = "sb3:a2c"
    Config: ClassVar[type] = SB3A2CConfig
    algorithm: ClassVar[str] = "A2C"
