"""Temporal-difference prediction and control (Sutton & Barto, chapter 6).

One episode loop (``_TDAgent.train``) serves every agent here; they differ only in the
behaviour policy and in ``_update(s, a, r, s2, a2, terminated)``. The control agents
differ only in the value they bootstrap from at the next state (``_next_value``)::

    Sarsa           Q(s2, a2)                   a2 = the action the agent will take next
    Q-learning      max_a Q(s2, a)
    Expected Sarsa  sum_a pi(a | s2) Q(s2, a)   pi = the epsilon-greedy behaviour policy
    Double Q        Q2(s2, argmax_a Q1(s2, a))  (or with the tables swapped, at random)

    Q(s, a) += alpha * (r + gamma * next_value * (1 - terminated) - Q(s, a))

A truncated episode (time limit) bootstraps from the next state like any other step;
only termination cuts the return. The budget is checked after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks
from agents.config_checks import OPEN_UNIT, REWARD, UNIT, Spec, check_config
from agents.schedules import LinearSchedule
from agents.tabular.common import (
    QTableMixin,
    checked_table,
    argmax_random,
    episode_epsilon,
    epsilon_greedy,
    epsilon_greedy_probs,
    reset_seed,
    tabular_sizes,
)


@dataclass(frozen=True)
class TD0Config:
    """TD(0) prediction of the equiprobable random policy."""

    gamma: float = 1.0  # discount factor [-]
    alpha: float = 0.05  # step size at the start of training [-]
    alpha_final: float = 0.05  # step size at the end of the budget, reached linearly [-]; = alpha for a constant one

    RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "alpha": OPEN_UNIT, "alpha_final": UNIT}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class TDControlConfig:
    """One-step TD control (Sarsa, Q-learning, Expected Sarsa, Double Q-learning)."""

    gamma: float = 0.99  # discount factor [-]
    alpha: float = 0.5  # step size [-]
    epsilon: float = 0.1  # exploration probability at the start of training [-]
    epsilon_final: float = 0.1  # exploration probability after the decay [-]; = epsilon for a constant one
    epsilon_decay: float = 1.0  # fraction of the budget over which epsilon decays linearly [-]
    initial_q: float = 0.0  # initial action value [reward]; optimistic values (> the best return) drive exploration

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "gamma": UNIT, "alpha": OPEN_UNIT, "epsilon": UNIT, "epsilon_final": UNIT, "epsilon_decay": UNIT, "initial_q": REWARD,
    }

    def __post_init__(self) -> None:
        check_config(self)


class _TDAgent(QTableMixin):
    """The shared episode loop; subclasses give ``_explore_action`` and ``_update``."""

    name: ClassVar[str]
    Config: ClassVar[type]
    num_envs: ClassVar[int] = 1
    default_budget: ClassVar[Budget] = Budget(episodes=500)

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any = None, seed: int = 0):
        config = config if config is not None else self.Config()
        self._init_table(observation_space, action_space, config, seed, initial_q=getattr(config, "initial_q", 0.0))

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        tabular_sizes(env, cls.name)

    def _update(self, s: int, a: int, r: float, s2: int, a2: int, terminated: bool) -> None:
        raise NotImplementedError

    def _begin_episode(self, budget: Budget) -> None:
        """Hook before each episode (e.g. the epsilon schedule)."""

    def _report(self, callbacks: Callbacks) -> None:
        """Per-episode metrics (none by default)."""

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        self.check_env(env)
        counters = self.counters
        seed: int | None = reset_seed(self.rng)
        while not budget.done(counters.steps, counters.episodes):
            self._begin_episode(budget)
            obs, _ = env.reset(seed=seed)
            seed = None
            s = int(obs)
            a = self._explore_action(s)
            episode_return, length, finished = 0.0, 0, False
            while True:
                obs, r, terminated, truncated, _ = env.step(a)
                s2 = int(obs)
                a2 = self._explore_action(s2)
                self._update(s, a, float(r), s2, a2, bool(terminated))
                counters.steps += 1
                episode_return += float(r)
                length += 1
                if terminated or truncated:
                    finished = True
                    break
                if budget.steps is not None and counters.steps >= budget.steps:
                    break
                s, a = s2, a2
            if finished:
                counters.episodes += 1
                callbacks.on_episode_end(counters.steps, episode_return, length)
                self._report(callbacks)
            if not callbacks.on_step(counters.steps, counters.episodes):
                break

    def state_dict(self) -> dict[str, Any]:
        return {"q": self.q.copy(), "counters": self.counters.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.q = checked_table(state["q"], (self.n_states, self.n_actions), "Q table")
        self.counters.load_state_dict(state["counters"])
        # A fresh stream after a resume (the RNG state itself is not checkpointed).
        self.rng = np.random.default_rng([self.seed, self.counters.steps])


class TD0PredictionAgent(_TDAgent):
    """TD(0) prediction (S&B 6.1) of the equiprobable random policy.

    Learns V(s) with ``V(s) += alpha * (r + gamma * V(s2) - V(s))`` and, from the same
    transitions, Q(s, a) of the random policy (bootstrapping from the mean of Q(s2, .)),
    so ``act(s)`` can be greedy with respect to it (one policy-improvement step).
    ``act(s, explore=True)`` is the random policy being evaluated.
    """

    name: ClassVar[str] = "td0"
    Config: ClassVar[type] = TD0Config
    default_budget: ClassVar[Budget] = Budget(episodes=5_000)

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.v = np.zeros(self.n_states)
        self.alpha = float(self.config.alpha)

    def _begin_episode(self, budget: Budget) -> None:
        c = self.config
        self.alpha = LinearSchedule(c.alpha, c.alpha_final, 1.0)(
            budget.fraction(self.counters.steps, self.counters.episodes)
        )

    def _report(self, callbacks: Callbacks) -> None:
        callbacks.on_metrics(self.counters.steps, {"alpha": self.alpha})

    def _explore_action(self, state: int) -> int:
        return int(self.rng.integers(self.n_actions))

    def _update(self, s, a, r, s2, a2, terminated) -> None:
        gamma, alpha = self.config.gamma, self.alpha
        cont = 0.0 if terminated else gamma
        self.v[s] += alpha * (r + cont * self.v[s2] - self.v[s])
        self.q[s, a] += alpha * (r + cont * self.q[s2].mean() - self.q[s, a])

    def value_table(self) -> np.ndarray:
        """V(s) of the random policy, shape (S,)."""
        return self.v.copy()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"v": self.v.copy(), "alpha": self.alpha}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.v = checked_table(state["v"], (self.n_states,), "value table")
        self.alpha = float(state["alpha"])


class _TDControlAgent(_TDAgent):
    """Epsilon-greedy one-step TD control; subclasses define ``_next_value``."""

    Config: ClassVar[type] = TDControlConfig

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.epsilon = float(self.config.epsilon)

    def _begin_episode(self, budget: Budget) -> None:
        c = self.config
        self.epsilon = episode_epsilon(
            c.epsilon, c.epsilon_final, c.epsilon_decay, budget.fraction(self.counters.steps, self.counters.episodes)
        )

    def _explore_action(self, state: int) -> int:
        return epsilon_greedy(self.q[state], self.epsilon, self.rng)

    def _next_value(self, s2: int, a2: int) -> float:
        raise NotImplementedError

    def _update(self, s, a, r, s2, a2, terminated) -> None:
        target = r if terminated else r + self.config.gamma * self._next_value(s2, a2)
        self.q[s, a] += self.config.alpha * (target - self.q[s, a])

    def _report(self, callbacks: Callbacks) -> None:
        callbacks.on_metrics(self.counters.steps, {"epsilon": self.epsilon})

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"epsilon": self.epsilon}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.epsilon = float(state["epsilon"])


class SarsaAgent(_TDControlAgent):
    """Sarsa (S&B 6.4): on-policy, bootstraps from the action it will actually take next."""

    name: ClassVar[str] = "sarsa"

    def _next_value(self, s2: int, a2: int) -> float:
        return self.q[s2, a2]


class QLearningAgent(_TDControlAgent):
    """Q-learning (S&B 6.5): off-policy, bootstraps from the greedy action's value."""

    name: ClassVar[str] = "q-learning"

    def _next_value(self, s2: int, a2: int) -> float:
        return self.q[s2].max()


class ExpectedSarsaAgent(_TDControlAgent):
    """Expected Sarsa (S&B 6.6): bootstraps from the expectation under the epsilon-greedy policy."""

    name: ClassVar[str] = "expected-sarsa"

    def _next_value(self, s2: int, a2: int) -> float:
        return float(epsilon_greedy_probs(self.q[s2], self.epsilon) @ self.q[s2])


class DoubleQLearningAgent(_TDControlAgent):
    """Double Q-learning (S&B 6.7): two tables, each evaluating the other's greedy choice.

    Acts epsilon-greedily on ``q = (q1 + q2) / 2``; each step updates one table, chosen at
    random, towards ``r + gamma * q_other(s2, argmax_a q_this(s2, a))``.
    """

    name: ClassVar[str] = "double-q-learning"

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.q1 = self.q.copy()
        self.q2 = self.q.copy()

    def _update(self, s, a, r, s2, a2, terminated) -> None:
        this, other = (self.q1, self.q2) if self.rng.random() < 0.5 else (self.q2, self.q1)
        target = r if terminated else r + self.config.gamma * other[s2, argmax_random(this[s2], self.rng)]
        this[s, a] += self.config.alpha * (target - this[s, a])
        self.q[s, a] = 0.5 * (self.q1[s, a] + self.q2[s, a])

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"q1": self.q1.copy(), "q2": self.q2.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.q1 = np.array(state["q1"], dtype=np.float64)
        self.q2 = np.array(state["q2"], dtype=np.float64)
