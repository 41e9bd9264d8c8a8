"""Monte Carlo prediction and control (Sutton & Barto, chapter 5).

All three agents play whole episodes, then walk them backwards accumulating the return
``G = gamma * G + r`` and move each estimate towards it: by the sample average
(``alpha = 0``, the book's ``Returns(s)`` lists kept as a running mean) or by a constant
step size ``alpha``.

Episodes cut by a time limit (truncated) are used as they are: their returns are partial,
so make the time limit long compared with a typical episode (GridWorld4x4: 200 steps).
The budget is checked between episodes; an episode cut by the step budget is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal, Mapping

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks
from agents.config_checks import UNIT, Spec, check_config
from agents.tabular.common import (
    QTableMixin,
    checked_table,
    TrainingCounters,
    check_start_state_option,
    episode_epsilon,
    epsilon_greedy,
    maybe_model,
    reset_seed,
    tabular_sizes,
)


@dataclass(frozen=True)
class MCPredictionConfig:
    """Monte Carlo prediction of the equiprobable random policy."""

    gamma: float = 1.0  # discount factor [-]
    visits: Literal["first", "every"] = "first"  # first-visit or every-visit returns
    alpha: float = 0.0  # step size [-]; 0 means the sample average of the returns

    RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "alpha": UNIT}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class MCExploringStartsConfig:
    """Monte Carlo control with exploring starts (first-visit, greedy policy)."""

    gamma: float = 1.0  # discount factor [-]
    alpha: float = 0.0  # step size [-]; 0 means the sample average of the returns

    RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "alpha": UNIT}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class MCOnPolicyConfig:
    """On-policy first-visit Monte Carlo control with an epsilon-greedy policy."""

    gamma: float = 1.0  # discount factor [-]
    alpha: float = 0.0  # step size [-]; 0 means the sample average of the returns
    epsilon: float = 0.1  # exploration probability at the start of training [-]
    epsilon_final: float = 0.1  # exploration probability after the decay [-]; = epsilon for a constant one
    epsilon_decay: float = 1.0  # fraction of the budget over which epsilon decays linearly [-]

    RANGES: ClassVar[Mapping[str, Spec]] = {
        "gamma": UNIT, "alpha": UNIT, "epsilon": UNIT, "epsilon_final": UNIT, "epsilon_decay": UNIT,
    }

    def __post_init__(self) -> None:
        check_config(self)


@dataclass
class Episode:
    """One played episode: S_0..S_{T-1}, A_0..A_{T-1}, R_1..R_T."""

    states: list[int]
    actions: list[int]
    rewards: list[float]
    complete: bool  # ended by termination or truncation (False: cut by the budget)


def play_episode(
    env: gym.Env,
    choose: Callable[[int], int],
    counters: TrainingCounters,
    budget: Budget,
    *,
    seed: int | None = None,
    start_state: int | None = None,
    first_action: int | None = None,
) -> Episode:
    """Play one episode with ``choose(state) -> action`` (``first_action`` overrides A_0)."""
    options = None if start_state is None else {"start_state": int(start_state)}
    obs, _ = env.reset(seed=seed, options=options)
    episode = Episode([], [], [], complete=False)
    state = int(obs)
    action = choose(state) if first_action is None else int(first_action)
    while True:
        obs, reward, terminated, truncated, _ = env.step(action)
        counters.steps += 1
        episode.states.append(state)
        episode.actions.append(action)
        episode.rewards.append(float(reward))
        if terminated or truncated:
            episode.complete = True
            return episode
        if budget.steps is not None and counters.steps >= budget.steps:
            return episode
        state = int(obs)
        action = choose(state)


def first_visits(keys: list[Any]) -> np.ndarray:
    """Boolean mask: True at the first occurrence of each key."""
    seen: set[Any] = set()
    mask = np.zeros(len(keys), dtype=bool)
    for t, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            mask[t] = True
    return mask


def returns(rewards: list[float], gamma: float) -> np.ndarray:
    """G_t = R_{t+1} + gamma * G_{t+1} for every step of an episode."""
    out = np.empty(len(rewards))
    g = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        g = gamma * g + rewards[t]
        out[t] = g
    return out


class _MCAgent(QTableMixin):
    """Shared parts: the Q table and visit counts, the episode loop, checkpoints."""

    name: ClassVar[str]
    Config: ClassVar[type]
    num_envs: ClassVar[int] = 1
    default_budget: ClassVar[Budget] = Budget(episodes=10_000)

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any = None, seed: int = 0):
        self._init_table(observation_space, action_space, config, seed)
        self.q_visits = np.zeros((self.n_states, self.n_actions), dtype=np.int64)

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        tabular_sizes(env, cls.name)

    def _step_size(self, visits: int) -> float:
        return self.config.alpha if self.config.alpha > 0 else 1.0 / visits

    def _update_q(self, episode: Episode, mask: np.ndarray) -> None:
        g = returns(episode.rewards, self.config.gamma)
        for t in np.flatnonzero(mask):
            s, a = episode.states[t], episode.actions[t]
            self.q_visits[s, a] += 1
            self.q[s, a] += self._step_size(self.q_visits[s, a]) * (g[t] - self.q[s, a])

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        self.check_env(env)
        seed: int | None = reset_seed(self.rng)
        while not budget.done(self.counters.steps, self.counters.episodes):
            episode = self._play(env, budget, seed)
            seed = None
            if not episode.complete:
                break
            self._learn(episode)
            self.counters.episodes += 1
            callbacks.on_episode_end(self.counters.steps, float(sum(episode.rewards)), len(episode.rewards))
            self._report(budget, callbacks)
            if not callbacks.on_step(self.counters.steps, self.counters.episodes):
                break

    def _play(self, env: gym.Env, budget: Budget, seed: int | None) -> Episode:
        raise NotImplementedError

    def _learn(self, episode: Episode) -> None:
        raise NotImplementedError

    def _report(self, budget: Budget, callbacks: Callbacks) -> None:
        """Per-episode metrics (none by default)."""

    def state_dict(self) -> dict[str, Any]:
        return {"q": self.q.copy(), "q_visits": self.q_visits.copy(), "counters": self.counters.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.q = checked_table(state["q"], (self.n_states, self.n_actions), "Q table")
        self.q_visits = np.array(state["q_visits"], dtype=np.int64)
        self.counters.load_state_dict(state["counters"])
        # A fresh stream after a resume (the RNG state itself is not checkpointed).
        self.rng = np.random.default_rng([self.seed, self.counters.steps])


class MCPredictionAgent(_MCAgent):
    """First-visit or every-visit MC prediction (S&B 5.1) of the equiprobable random policy.

    Learns V(s) and Q(s, a) of the random policy from the same returns. ``value_table()``
    is V; ``act(s)`` is greedy with respect to Q (one policy-improvement step) and
    ``act(s, explore=True)`` is the random policy being evaluated.
    """

    name: ClassVar[str] = "mc-prediction"
    Config: ClassVar[type] = MCPredictionConfig

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.v = np.zeros(self.n_states)
        self.v_visits = np.zeros(self.n_states, dtype=np.int64)

    def _explore_action(self, state: int) -> int:
        return int(self.rng.integers(self.n_actions))

    def _play(self, env, budget, seed) -> Episode:
        return play_episode(env, self._explore_action, self.counters, budget, seed=seed)

    def _learn(self, episode: Episode) -> None:
        every = self.config.visits == "every"
        state_mask = np.ones(len(episode.states), bool) if every else first_visits(episode.states)
        pair_mask = (
            np.ones(len(episode.states), bool) if every else first_visits(list(zip(episode.states, episode.actions)))
        )
        g = returns(episode.rewards, self.config.gamma)
        for t in np.flatnonzero(state_mask):
            s = episode.states[t]
            self.v_visits[s] += 1
            self.v[s] += self._step_size(self.v_visits[s]) * (g[t] - self.v[s])
        self._update_q(episode, pair_mask)

    def value_table(self) -> np.ndarray:
        """V(s) of the random policy, shape (S,)."""
        return self.v.copy()

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"v": self.v.copy(), "v_visits": self.v_visits.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.v = checked_table(state["v"], (self.n_states,), "value table")
        self.v_visits = np.array(state["v_visits"], dtype=np.int64)


class MCExploringStartsAgent(_MCAgent):
    """Monte Carlo ES (S&B 5.3): every episode starts in a random state with a random action,
    then follows the greedy policy (ties broken at random); first-visit returns average into Q.

    Needs ``reset(options={"start_state": s})``. Start states are the non-terminal states
    of the environment's model when it has one, else all states the option accepts.
    """

    name: ClassVar[str] = "mc-es"
    Config: ClassVar[type] = MCExploringStartsConfig

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        check_start_state_option(env, cls.name)

    def _start_states(self, env: gym.Env) -> np.ndarray:
        model = maybe_model(env)
        if model is not None and hasattr(model, "terminal"):
            return np.flatnonzero(~np.asarray(model.terminal, dtype=bool))
        valid = []
        for s in range(self.n_states):
            try:
                env.reset(options={"start_state": s})
            except ValueError:
                continue
            valid.append(s)
        return np.asarray(valid, dtype=np.int64)

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        self._starts = self._start_states(env)
        super().train(env, budget, callbacks)

    def _play(self, env, budget, seed) -> Episode:
        start = int(self._starts[self.rng.integers(len(self._starts))])
        first = int(self.rng.integers(self.n_actions))
        return play_episode(
            env, self._explore_action, self.counters, budget, seed=seed, start_state=start, first_action=first
        )

    def _learn(self, episode: Episode) -> None:
        self._update_q(episode, first_visits(list(zip(episode.states, episode.actions))))


class MCOnPolicyAgent(_MCAgent):
    """On-policy first-visit MC control (S&B 5.4) with an epsilon-greedy policy.

    Epsilon decays linearly from ``epsilon`` to ``epsilon_final`` over the first
    ``epsilon_decay`` of the budget; reported as the metric ``epsilon`` every episode.
    """

    name: ClassVar[str] = "mc-control"
    Config: ClassVar[type] = MCOnPolicyConfig

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.epsilon = float(self.config.epsilon)

    def _explore_action(self, state: int) -> int:
        return epsilon_greedy(self.q[state], self.epsilon, self.rng)

    def _play(self, env, budget, seed) -> Episode:
        c = self.config
        self.epsilon = episode_epsilon(
            c.epsilon, c.epsilon_final, c.epsilon_decay, budget.fraction(self.counters.steps, self.counters.episodes)
        )
        return play_episode(env, self._explore_action, self.counters, budget, seed=seed)

    def _learn(self, episode: Episode) -> None:
        self._update_q(episode, first_visits(list(zip(episode.states, episode.actions))))

    def _report(self, budget: Budget, callbacks: Callbacks) -> None:
        callbacks.on_metrics(self.counters.steps, {"epsilon": self.epsilon})

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"epsilon": self.epsilon}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.epsilon = float(state["epsilon"])
