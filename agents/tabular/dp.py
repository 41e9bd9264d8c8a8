"""Dynamic programming on a known model (Sutton & Barto, chapter 4).

The agents read ``env.unwrapped.model`` (``transition_probs`` (S, A, S), ``expected_rewards``
(S, A), ``terminal`` (S,)) and never call ``env.step``. A "step" of their budget is one
sweep over the states; ``train`` stops at convergence (largest value change of a sweep
below ``theta``) or when the budget's sweeps run out, and reports every sweep's
largest change as the metric ``delta``.

One Bellman backup for every state and action at once is a matrix product::

    Q = R + gamma * P @ V            # (S, A) = (S, A) + (S, A, S) @ (S,)

Terminal states keep the value 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.config_checks import UNIT, Range, Spec, check_config
from agents.tabular.common import QTableMixin, checked_table, env_id, find_model, model_arrays, tabular_sizes


@dataclass(frozen=True)
class PolicyEvaluationConfig:
    """Iterative policy evaluation of the equiprobable random policy."""

    gamma: float = 1.0  # discount factor [-]; 1.0 for episodic tasks such as GridWorld4x4, < 1 for continuing ones
    theta: float = 1e-6  # convergence threshold on the largest value change of a sweep [reward]
    in_place: bool = False  # True: one array updated state by state (Gauss-Seidel); False: two arrays (Jacobi)

    RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "theta": Range(0.0, 1e9)}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class PolicyIterationConfig:
    """Policy iteration: evaluate the current policy, make it greedy, until it is stable."""

    gamma: float = 1.0  # discount factor [-]
    theta: float = 1e-6  # convergence threshold of each policy evaluation [reward]
    tie_tolerance: float = 1e-9  # keep the current action unless another is better by more than this [reward]

    RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "theta": Range(0.0, 1e9), "tie_tolerance": Range(0.0, 1e9)}

    def __post_init__(self) -> None:
        check_config(self)


@dataclass(frozen=True)
class ValueIterationConfig:
    """Value iteration: Bellman optimality backups until the values stop changing."""

    gamma: float = 1.0  # discount factor [-]
    theta: float = 1e-6  # convergence threshold on the largest value change of a sweep [reward]

    RANGES: ClassVar[Mapping[str, Spec]] = {"gamma": UNIT, "theta": Range(0.0, 1e9)}

    def __post_init__(self) -> None:
        check_config(self)


def lookahead(p: np.ndarray, r: np.ndarray, terminal: np.ndarray, v: np.ndarray, gamma: float) -> np.ndarray:
    """Action values (S, A) of the state values ``v``: R + gamma * P @ v, 0 in terminal states."""
    q = r + gamma * (p @ v)
    q[terminal] = 0.0
    return q


class _DPAgent(QTableMixin):
    """Shared state and loop of the planning agents: ``v`` (S,), ``q`` (S, A), sweeps."""

    name: ClassVar[str]
    Config: ClassVar[type]
    num_envs: ClassVar[int] = 1
    default_budget: ClassVar[Budget] = Budget(steps=10_000)  # sweeps; planning usually converges far earlier

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any = None, seed: int = 0):
        self.config = config if config is not None else self.Config()
        self.n_states = int(observation_space.n)
        self.n_actions = int(action_space.n)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.v = np.zeros(self.n_states)
        self.q = np.zeros((self.n_states, self.n_actions))
        self.sweeps = 0
        self.converged = False

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        tabular_sizes(env, cls.name)
        find_model(env, cls.name)

    # --- planning -----------------------------------------------------------------------

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        self.check_env(env)
        p, r, terminal = model_arrays(find_model(env, self.name))
        if p.shape[:2] != (self.n_states, self.n_actions):
            raise ValueError(f"{self.name}: the model has shape {p.shape[:2]}, the agent was built for "
                             f"{(self.n_states, self.n_actions)}")
        if self.config.gamma >= 1.0 and not terminal.any():
            raise IncompatibleEnvironment(
                f"{self.name} with gamma={self.config.gamma} does not converge on {env_id(env)}, a continuing "
                "task (no terminal state); set gamma < 1 (e.g. --set gamma=0.9)"
            )
        self.converged = False
        self._plan(p, r, terminal, budget, callbacks)
        self.q = lookahead(p, r, terminal, self.v, self.config.gamma)

    def _plan(self, p: np.ndarray, r: np.ndarray, terminal: np.ndarray, budget: Budget, callbacks: Callbacks) -> None:
        raise NotImplementedError

    def _sweep_done(self, delta: float, budget: Budget, callbacks: Callbacks) -> bool:
        """Count and report one sweep; True when planning must stop (budget or Ctrl-C)."""
        self.sweeps += 1
        callbacks.on_metrics(self.sweeps, {"delta": float(delta)})
        keep_going = callbacks.on_step(self.sweeps, self.sweeps)
        return not keep_going or budget.done(self.sweeps, self.sweeps)

    def _evaluate(
        self, policy: np.ndarray, p: np.ndarray, r: np.ndarray, terminal: np.ndarray,
        budget: Budget, callbacks: Callbacks, in_place: bool = False,
    ) -> bool:
        """Iterative policy evaluation of ``policy`` (S, A) probabilities into ``self.v``.

        Returns True if it converged (False when stopped by the budget or the callbacks).
        """
        gamma, theta = self.config.gamma, self.config.theta
        # The expected one-step reward and transition matrix under the policy.
        r_pi = np.einsum("sa,sa->s", policy, r)
        p_pi = np.einsum("sa,sat->st", policy, p)
        r_pi[terminal] = 0.0
        p_pi[terminal] = 0.0
        while True:
            if in_place:
                delta = 0.0
                for s in range(self.n_states):  # Gauss-Seidel: later states see the new values
                    if terminal[s]:
                        continue
                    new = r_pi[s] + gamma * (p_pi[s] @ self.v)
                    delta = max(delta, abs(new - self.v[s]))
                    self.v[s] = new
            else:
                new_v = r_pi + gamma * (p_pi @ self.v)
                delta = float(np.max(np.abs(new_v - self.v)))
                self.v = new_v
            if delta < theta:
                self._sweep_done(delta, budget, callbacks)
                return True
            if self._sweep_done(delta, budget, callbacks):
                return False

    # --- acting and checkpoints ---------------------------------------------------------

    def value_table(self) -> np.ndarray:
        """State values V(s) of the evaluated (or optimal) policy, shape (S,)."""
        return self.v.copy()

    def state_dict(self) -> dict[str, Any]:
        return {"v": self.v.copy(), "q": self.q.copy(), "sweeps": self.sweeps, "converged": self.converged}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.v = checked_table(state["v"], (self.n_states,), "value table")
        self.q = checked_table(state["q"], (self.n_states, self.n_actions), "Q table")
        self.sweeps = int(state["sweeps"])
        self.converged = bool(state["converged"])


class PolicyEvaluationAgent(_DPAgent):
    """Iterative policy evaluation (S&B 4.1) of the equiprobable random policy.

    ``value_table()`` is V of the random policy (Figure 4.1 on GridWorld4x4 with gamma=1);
    ``act(s)`` is greedy with respect to its one-step lookahead Q (one policy improvement
    step), ``act(s, explore=True)`` the random policy itself.
    """

    name: ClassVar[str] = "policy-evaluation"
    Config: ClassVar[type] = PolicyEvaluationConfig

    def _plan(self, p, r, terminal, budget, callbacks) -> None:
        uniform = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
        self.converged = self._evaluate(uniform, p, r, terminal, budget, callbacks, in_place=self.config.in_place)

    def _explore_action(self, state: int) -> int:
        return int(self.rng.integers(self.n_actions))


class PolicyIterationAgent(_DPAgent):
    """Policy iteration (S&B 4.3), starting from the equiprobable random policy.

    Each iteration evaluates the current policy to ``theta`` (vectorized two-array sweeps)
    and makes it greedy; an action is replaced only if another is better by more than
    ``tie_tolerance``, so the loop ends instead of cycling between equally good policies.
    Reports ``policy_changes`` (states whose action changed) after each improvement.
    """

    name: ClassVar[str] = "policy-iteration"
    Config: ClassVar[type] = PolicyIterationConfig

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.policy = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)  # pi(a|s)
        self.iterations = 0

    def _plan(self, p, r, terminal, budget, callbacks) -> None:
        while True:
            if not self._evaluate(self.policy, p, r, terminal, budget, callbacks):
                return
            q = lookahead(p, r, terminal, self.v, self.config.gamma)
            best = np.argmax(q, axis=1)
            rows = np.arange(self.n_states)
            # Keep the current action where it is (within tolerance) as good as the best one.
            current = np.argmax(self.policy, axis=1)
            deterministic = np.isclose(self.policy.max(axis=1), 1.0)
            keep = deterministic & (q[rows, current] >= q[rows, best] - self.config.tie_tolerance)
            new_actions = np.where(keep, current, best)
            new_policy = np.zeros_like(self.policy)
            new_policy[rows, new_actions] = 1.0
            changes = int(np.sum(np.any(new_policy != self.policy, axis=1) & ~terminal))
            self.policy = new_policy
            self.iterations += 1
            callbacks.on_metrics(self.sweeps, {"policy_changes": float(changes), "iteration": float(self.iterations)})
            if changes == 0:
                self.converged = True
                return

    def greedy_actions(self) -> np.ndarray:
        """The current policy's action in each state, shape (S,) int."""
        return np.argmax(self.policy, axis=1)

    def act(self, obs: Any, explore: bool = False) -> int:
        state = int(obs)
        if explore:
            return int(self.rng.choice(self.n_actions, p=self.policy[state]))
        return int(np.argmax(self.policy[state]))

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {"policy": self.policy.copy(), "iterations": self.iterations}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.policy = np.array(state["policy"], dtype=np.float64)
        self.iterations = int(state["iterations"])


class ValueIterationAgent(_DPAgent):
    """Value iteration (S&B 4.4): V <- max_a (R + gamma * P @ V), two arrays, vectorized.

    ``act(s)`` is greedy with respect to the final values (first best action).
    """

    name: ClassVar[str] = "value-iteration"
    Config: ClassVar[type] = ValueIterationConfig

    def _plan(self, p, r, terminal, budget, callbacks) -> None:
        while True:
            new_v = lookahead(p, r, terminal, self.v, self.config.gamma).max(axis=1)
            delta = float(np.max(np.abs(new_v - self.v)))
            self.v = new_v
            if delta < self.config.theta:
                self._sweep_done(delta, budget, callbacks)
                self.converged = True
                return
            if self._sweep_done(delta, budget, callbacks):
                return
