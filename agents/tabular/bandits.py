"""Multi-armed bandit agents (Sutton & Barto, chapter 2) and the vectorized k-armed testbed.

Each algorithm is implemented once, on arrays over ``runs`` independent bandit problems
(shape (runs, k)): ``run_testbed`` steps 2000 problems at once, and each agent class is
the same implementation with ``runs = 1``.

Episodes: an episode of ``simdrive/Bandit-v0`` is one bandit problem (the arm values are
redrawn at every reset), so by default (``reset_each_episode=True``) the agent's
estimates start afresh at every episode and persist within it; ``act`` uses the current
estimates. A "step" of the budget is one pull.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, NamedTuple

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks, IncompatibleEnvironment, check_discrete
from agents.config_checks import REWARD, UNIT, Range, Spec, check_config
from agents.tabular.common import argmax_random, env_id, reset_seed


# --- configurations -------------------------------------------------------------------


@dataclass(frozen=True)
class EpsilonGreedyConfig:
    """Epsilon-greedy action values (S&B 2.2-2.6)."""

    epsilon: float = 0.1  # probability of pulling a uniformly random arm [-]; 0 = greedy
    alpha: float = 0.0  # constant step size [-]; 0 means sample averages (step 1/N(a))
    initial_value: float = 0.0  # initial estimate Q_1(a) [reward]; e.g. 5 for optimistic initial values
    reset_each_episode: bool = True  # start the estimates afresh at every episode (a new bandit problem)

    RANGES: ClassVar[Mapping[str, Spec]] = {"epsilon": UNIT, "alpha": UNIT, "initial_value": REWARD}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class UCBConfig:
    """Upper-confidence-bound action selection (S&B 2.7) over sample averages."""

    c: float = 2.0  # exploration weight of sqrt(ln t / N(a)) [reward]
    reset_each_episode: bool = True  # start the estimates afresh at every episode (a new bandit problem)

    RANGES: ClassVar[Mapping[str, Spec]] = {"c": Range(0.0, 1e6)}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class ThompsonConfig:
    """Thompson sampling: pull the arm whose posterior sample of its mean is the largest."""

    prior: Literal["gaussian", "beta"] = "gaussian"  # Gaussian mean with known noise, or Beta-Bernoulli
    prior_mean: float = 0.0  # Gaussian prior mean of every arm's value [reward]
    prior_std: float = 1.0  # Gaussian prior std of every arm's value [reward]
    noise_std: float = 1.0  # assumed std of a reward around its arm's mean (Gaussian) [reward]
    prior_alpha: float = 1.0  # Beta prior successes + 1 [-] (rewards must lie in [0, 1])
    prior_beta: float = 1.0  # Beta prior failures + 1 [-]
    reset_each_episode: bool = True  # start the posteriors afresh at every episode (a new bandit problem)

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "prior_mean": REWARD, "prior_std": Range(0.0, 1e6, low_open=True), "noise_std": Range(0.0, 1e6, low_open=True),
        "prior_alpha": Range(0.0, 1e6, low_open=True), "prior_beta": Range(0.0, 1e6, low_open=True),
    }

    def __post_init__(self) -> None:
        check_config(self)


# --- the batched algorithms -----------------------------------------------------------


class _Batched:
    """Estimates of ``runs`` independent k-armed problems; the one implementation."""

    def __init__(self, config: Any, runs: int, k: int, rng: np.random.Generator):
        self.config, self.runs, self.k, self.rng = config, runs, k, rng
        self.counts = np.zeros((runs, k))  # N(a): pulls of each arm
        self.reset()

    def reset(self) -> None:
        """Forget everything: a new bandit problem."""
        self.counts[:] = 0.0
        self.t = 0  # pulls so far (same for every run)

    def select(self) -> np.ndarray:
        """The arm each run pulls next, shape (runs,) int (may use the RNG)."""
        raise NotImplementedError

    def estimates(self) -> np.ndarray:
        """The estimated mean reward of every arm, shape (runs, k)."""
        raise NotImplementedError

    def greedy(self) -> np.ndarray:
        """The arm of highest estimate (first on ties), deterministic, shape (runs,)."""
        return np.argmax(self.estimates(), axis=1)

    def update(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        rows = np.arange(self.runs)
        self.counts[rows, arms] += 1.0
        self.t += 1
        self._learn(rows, arms, rewards)

    def _learn(self, rows: np.ndarray, arms: np.ndarray, rewards: np.ndarray) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"counts": self.counts.copy(), "t": self.t}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.counts = np.array(state["counts"], dtype=np.float64)
        self.t = int(state["t"])


class _SampleAverages(_Batched):
    """Q(a) by sample averages or a constant step size, from ``initial_value``."""

    def reset(self) -> None:
        super().reset()
        self.q = np.full((self.runs, self.k), float(getattr(self.config, "initial_value", 0.0)))

    def estimates(self) -> np.ndarray:
        return self.q

    def _learn(self, rows, arms, rewards) -> None:
        alpha = getattr(self.config, "alpha", 0.0)
        step = alpha if alpha > 0 else 1.0 / self.counts[rows, arms]
        self.q[rows, arms] += step * (rewards - self.q[rows, arms])

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"q": self.q.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.q = np.array(state["q"], dtype=np.float64)


class BatchedEpsilonGreedy(_SampleAverages):
    def select(self) -> np.ndarray:
        greedy = argmax_random(self.q, self.rng)
        explore = self.rng.random(self.runs) < self.config.epsilon
        return np.where(explore, self.rng.integers(self.k, size=self.runs), greedy)


class BatchedUCB(_SampleAverages):
    def select(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = self.config.c * np.sqrt(np.log(self.t + 1) / self.counts)
        # Arms never pulled count as maximizing (bonus +inf).
        return argmax_random(np.where(self.counts > 0, self.q + bonus, np.inf), self.rng)


class BatchedThompson(_Batched):
    def reset(self) -> None:
        super().reset()
        self.reward_sums = np.zeros((self.runs, self.k))

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian posterior (mean, std) of every arm's value."""
        c = self.config
        precision = 1.0 / c.prior_std**2 + self.counts / c.noise_std**2
        mean = (c.prior_mean / c.prior_std**2 + self.reward_sums / c.noise_std**2) / precision
        return mean, 1.0 / np.sqrt(precision)

    def _beta(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        return c.prior_alpha + self.reward_sums, c.prior_beta + self.counts - self.reward_sums

    def estimates(self) -> np.ndarray:
        if self.config.prior == "beta":
            a, b = self._beta()
            return a / (a + b)
        return self._posterior()[0]

    def select(self) -> np.ndarray:
        if self.config.prior == "beta":
            a, b = self._beta()
            sample = self.rng.beta(a, b)
        else:
            mean, std = self._posterior()
            sample = mean + std * self.rng.standard_normal((self.runs, self.k))
        return np.argmax(sample, axis=1)

    def _learn(self, rows, arms, rewards) -> None:
        if self.config.prior == "beta":
            # Rewards in [0, 1] become Bernoulli successes with that probability (exact for 0/1 rewards).
            rewards = (self.rng.random(self.runs) < rewards).astype(np.float64)
        self.reward_sums[rows, arms] += rewards

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"reward_sums": self.reward_sums.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.reward_sums = np.array(state["reward_sums"], dtype=np.float64)


_BATCHED: dict[type, type[_Batched]] = {
    EpsilonGreedyConfig: BatchedEpsilonGreedy,
    UCBConfig: BatchedUCB,
    ThompsonConfig: BatchedThompson,
}


def make_batched(config: Any, runs: int, k: int, rng: np.random.Generator) -> _Batched:
    """The batched algorithm for a bandit config (the config's type selects it)."""
    try:
        cls = _BATCHED[type(config)]
    except KeyError:
        raise TypeError(f"not a bandit config: {type(config).__name__}; use one of "
                        f"{', '.join(c.__name__ for c in _BATCHED)}") from None
    return cls(config, runs, k, rng)


# --- the agents -----------------------------------------------------------------------


class _BanditAgent:
    """A bandit algorithm on one problem (``runs = 1``) playing ``simdrive/Bandit-v0``-like envs."""

    name: ClassVar[str]
    Config: ClassVar[type]
    num_envs: ClassVar[int] = 1
    default_budget: ClassVar[Budget] = Budget(episodes=100)  # 100 bandit problems of (typically) 1000 pulls

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any = None, seed: int = 0):
        self.config = config if config is not None else self.Config()
        self.k = int(action_space.n)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.algorithm = make_batched(self.config, 1, self.k, self.rng)
        self.steps = 0
        self.episodes = 0

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        if isinstance(env, gym.vector.VectorEnv):
            raise IncompatibleEnvironment(f"{cls.name} trains on a single environment, not a vector env")
        check_discrete(env.action_space, "action", cls.name)
        obs = env.observation_space
        if not (isinstance(obs, gym.spaces.Discrete) and obs.n == 1):
            raise IncompatibleEnvironment(
                f"{cls.name} is a bandit agent: it needs a single-state environment (Discrete(1) observations, "
                f"e.g. simdrive/Bandit-v0); {env_id(env)} has observations {obs}"
            )

    def act(self, obs: Any, explore: bool = False) -> int:
        if explore:
            return int(self.algorithm.select()[0])
        return int(self.algorithm.greedy()[0])

    #: Evaluation is online: every episode is a new problem, so the platform plays the
    #: algorithm itself (``act(explore=True)``) and feeds each reward back to ``observe``.
    online_evaluation: ClassVar[bool] = True

    def reset_episode(self) -> None:
        """A new bandit problem starts: forget the estimates if the config says so."""
        if self.config.reset_each_episode:
            self.algorithm.reset()

    def observe(self, action: int, reward: float) -> None:
        """Learn from one pull (used by online evaluation)."""
        self.algorithm.update(np.array([int(action)]), np.array([float(reward)]))

    def estimates(self) -> np.ndarray:
        """The current estimate of every arm's mean reward, shape (k,)."""
        return self.algorithm.estimates()[0].copy()

    def q_table(self) -> np.ndarray:
        """Estimates as a one-state table, shape (1, k)."""
        return self.estimates()[None, :]

    def value_table(self) -> np.ndarray:
        return self.q_table().max(axis=1)

    def greedy_actions(self) -> np.ndarray:
        return self.algorithm.greedy().copy()

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        self.check_env(env)
        seed: int | None = reset_seed(self.rng)
        while not budget.done(self.steps, self.episodes):
            env.reset(seed=seed)
            seed = None
            self.reset_episode()
            total, pulls, optimal = 0.0, 0, 0
            while True:
                arm = self.act(0, explore=True)
                _, reward, terminated, truncated, info = env.step(arm)
                self.algorithm.update(np.array([arm]), np.array([float(reward)]))
                self.steps += 1
                pulls += 1
                total += float(reward)
                optimal += int(arm == info.get("optimal_action", -1))
                if terminated or truncated:
                    break
                if budget.steps is not None and self.steps >= budget.steps:
                    break
            if terminated or truncated:
                self.episodes += 1
                callbacks.on_episode_end(self.steps, total, pulls)
                metrics = {"average_reward": total / pulls}
                if "optimal_action" in info:
                    metrics["optimal_action_fraction"] = optimal / pulls
                callbacks.on_metrics(self.steps, metrics)
            if not callbacks.on_step(self.steps, self.episodes):
                break

    def state_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm.state_dict(), "steps": self.steps, "episodes": self.episodes}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.algorithm.load_state_dict(state["algorithm"])
        self.steps = int(state["steps"])
        self.episodes = int(state["episodes"])
        self.rng = np.random.default_rng([self.seed, self.steps])
        self.algorithm.rng = self.rng


class EpsilonGreedyBandit(_BanditAgent):
    """Epsilon-greedy with sample averages or a constant step size, optionally optimistic."""

    name: ClassVar[str] = "epsilon-greedy"
    Config: ClassVar[type] = EpsilonGreedyConfig


class UCBBandit(_BanditAgent):
    """UCB: argmax_a Q(a) + c * sqrt(ln t / N(a)); untried arms first."""

    name: ClassVar[str] = "ucb"
    Config: ClassVar[type] = UCBConfig


class ThompsonBandit(_BanditAgent):
    """Thompson sampling with a Gaussian (known noise) or Beta-Bernoulli posterior per arm."""

    name: ClassVar[str] = "thompson"
    Config: ClassVar[type] = ThompsonConfig


# --- the testbed ----------------------------------------------------------------------


class TestbedCurves(NamedTuple):
    average_reward: np.ndarray  # (steps,) reward at each pull, averaged over runs [reward]
    optimal_action: np.ndarray  # (steps,) fraction of runs that pulled an optimal arm [-]


def run_testbed(
    config: Any,
    runs: int = 2000,
    steps: int = 1000,
    k: int = 10,
    seed: int = 0,
    variant: Literal["gaussian", "bernoulli"] = "gaussian",
    mean_offset: float = 0.0,
) -> TestbedCurves:
    """The k-armed testbed (S&B 2.3): ``runs`` problems of ``steps`` pulls, all at once.

    Arm values and rewards come from ``np.random.default_rng(seed)`` drawn as
    ``simdrive/Bandit-v0`` draws them: Gaussian means ``mean_offset + N(0, 1)`` and rewards
    ``mean + N(0, 1)``, or Bernoulli probabilities ``U(0, 1)`` and rewards ``U(0,1) < p``.
    The algorithm's own choices use a separate generator seeded ``(seed, 1)``.
    """
    env_rng = np.random.default_rng(seed)
    algorithm = make_batched(config, runs, k, np.random.default_rng([seed, 1]))
    if variant == "gaussian":
        means = mean_offset + env_rng.standard_normal((runs, k))
    elif variant == "bernoulli":
        means = env_rng.random((runs, k))
    else:
        raise ValueError(f"variant must be 'gaussian' or 'bernoulli', got {variant!r}")
    best = means.max(axis=1)
    rows = np.arange(runs)
    average_reward = np.empty(steps)
    optimal = np.empty(steps)
    for t in range(steps):
        arms = algorithm.select()
        mean = means[rows, arms]
        if variant == "gaussian":
            rewards = mean + env_rng.standard_normal(runs)
        else:
            rewards = (env_rng.random(runs) < mean).astype(np.float64)
        algorithm.update(arms, rewards)
        average_reward[t] = rewards.mean()
        optimal[t] = np.mean(mean == best)
    return TestbedCurves(average_reward, optimal)
