"""Monte Carlo tree search (UCT) with random rollouts: a planning agent, nothing is learned.

Each move runs ``simulations`` iterations of selection (UCB1: ``Q + c * sqrt(ln N / n)``),
expansion (one new child), a uniformly random rollout of at most ``rollout_limit`` moves,
and backup; the move played is the most visited root action.

Planning model
--------------
The search never goes through ``env.step``: it uses a *planning model*, found on
``env.unwrapped`` by duck typing (agents never import ``envs``), in this order:

1. ``env.unwrapped.game`` - a pure-functional game (the board games): ``num_players``
   (1 or 2), ``n_actions``, ``legal_actions(state)``, ``step(state, action) -> (state,
   reward of the mover, terminal)``, ``state_from_obs(obs)``, optionally a fast
   ``rollout(state, rng, limit) -> value for the player to move``.
2. ``env.unwrapped.model`` - a tabular MDP (``transition_probs`` (S, A, S),
   ``expected_rewards`` (S, A), ``terminal`` (S,)): grid worlds and mazes. States are the
   observation integers; stochastic transitions are sampled (open-loop: a node keeps one
   child per sampled next state), rewards are the expected rewards.
3. ``get_state()`` / ``set_state(state)`` on the env (and ``legal_actions()`` if present):
   the env itself is stepped from copies of its state (slow, but generic); its state is
   restored after every search.

Two-player games are zero-sum and alternate: the value of a child is negated for its
parent. Single-player returns are discounted with ``gamma``.

Because ``act(obs)`` only sees the observation, the agent must be bound to an env (to get
its model) with ``bind_env(env)``; ``train`` binds the env it is given. ``simdrive.play``
and the platform's evaluation bind the env before acting.

``train`` learns nothing (planning only): it plays episodes on the given env with the
planner choosing every action (both sides of a two-player game without a built-in
opponent), reporting returns, lengths and simulations per second, until the budget is used.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.config_checks import Range, Spec, check_config


@dataclass(frozen=True)
class MCTSConfig:
    simulations: int = 400
    """Search iterations (select, expand, roll out, back up) per move [-]."""
    c: float = 1.4
    """UCB1 exploration constant [-]. Two-player values are in [-1, 1]; single-player Q values
    are rescaled to [0, 1] by the min/max return seen in the search, so c needs no tuning per env."""
    rollout_limit: int = 200
    """Most random moves per rollout; a cut-off rollout scores the rewards collected so far [moves]."""
    gamma: float = 0.95
    """Discount of single-player returns; below 1 it makes the search prefer short paths even
    when random rollouts reach the goal anyway (two-player games are undiscounted) [-]."""


    RANGES: ClassVar[Mapping[str, Spec]] = {
        "simulations": Range(1, 10_000_000), "c": Range(0.0, 1e6), "rollout_limit": Range(0, 1_000_000),
        "gamma": Range(0.0, 1.0, low_open=True),
    }

    def __post_init__(self) -> None:
        check_config(self)


# --- planning models --------------------------------------------------------------------


class TabularPlanner:
    """Planning model over a tabular MDP (``env.unwrapped.model``): states are ints."""

    num_players = 1

    def __init__(self, model: Any) -> None:
        p = np.asarray(model.transition_probs, dtype=np.float64)
        self.n_actions = int(p.shape[1])
        self._cum = np.cumsum(p, axis=2)
        self._cum[:, :, -1] = 1.0
        self._reward = np.asarray(model.expected_rewards, dtype=np.float64)
        self._terminal = np.asarray(model.terminal, dtype=bool)
        self.deterministic = bool(np.all(np.isclose(p.max(axis=2), 1.0)))
        self._next = p.argmax(axis=2)
        self.rng = np.random.default_rng(0)  # replaced by the agent before each search

    def legal_actions(self, state: int) -> np.ndarray:
        return np.arange(self.n_actions) if not self._terminal[state] else np.arange(0)

    def step(self, state: int, action: int) -> tuple[int, float, bool]:
        if self.deterministic:
            nxt = int(self._next[state, action])
        else:
            nxt = int(np.searchsorted(self._cum[state, action], self.rng.random(), side="right"))
        return nxt, float(self._reward[state, action]), bool(self._terminal[nxt])

    def is_terminal(self, state: int) -> bool:
        return bool(self._terminal[state])

    def state_from_obs(self, obs: Any) -> int:
        return int(np.asarray(obs).reshape(-1)[0]) if np.ndim(obs) else int(obs)


class EnvPlanner:
    """Planning model that steps the env itself from ``get_state()`` copies (generic, slow)."""

    deterministic = False

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        self.num_players = int(getattr(env, "num_players", 1))
        self.n_actions = int(env.action_space.n)

    def legal_actions(self, state: Any) -> np.ndarray:
        if hasattr(self.env, "legal_actions"):
            self.env.set_state(state)
            return np.asarray(self.env.legal_actions())
        return np.arange(self.n_actions)

    def step(self, state: Any, action: int) -> tuple[Any, float, bool]:
        self.env.set_state(state)
        _, reward, terminated, truncated, _ = self.env.step(int(action))
        return self.env.get_state(), float(reward), bool(terminated or truncated)

    def state_from_obs(self, obs: Any) -> Any:
        return self.env.get_state()


def make_planner(env: gym.Env) -> Any:
    """The planning model of ``env`` (see the module docstring), or ``IncompatibleEnvironment``."""
    base = env.unwrapped
    game = getattr(base, "game", None)
    if game is not None and all(hasattr(game, m) for m in ("step", "legal_actions", "state_from_obs", "num_players")):
        return game
    model = getattr(base, "model", None)
    if model is not None and all(hasattr(model, f) for f in ("transition_probs", "expected_rewards", "terminal")):
        return TabularPlanner(model)
    if hasattr(base, "get_state") and hasattr(base, "set_state") and isinstance(base.action_space, gym.spaces.Discrete):
        return EnvPlanner(base)
    raise IncompatibleEnvironment(
        f"MCTS needs a model to plan with: env.unwrapped.game (board games), env.unwrapped.model (tabular MDP) "
        f"or get_state()/set_state(); {type(base).__name__} has none"
    )


def obs_seed(seed: int, obs: Any) -> np.random.Generator:
    """A generator determined by the agent's seed and the observation, so ``act`` is a pure
    function of ``obs`` (the same position always gets the same search)."""
    if isinstance(obs, Mapping):
        data = b"".join(np.ascontiguousarray(obs[k]).tobytes() for k in sorted(obs))
    else:
        data = np.ascontiguousarray(obs).tobytes()
    return np.random.default_rng([seed, zlib.crc32(data)])


# --- the search -------------------------------------------------------------------------


class _Node:
    __slots__ = ("state", "actions", "untried", "n", "w", "children", "rewards", "visits", "terminal")

    def __init__(self, state: Any, actions: np.ndarray, terminal: bool, rng: np.random.Generator) -> None:
        self.state = state
        self.actions = actions
        self.terminal = terminal
        self.untried = list(rng.permutation(len(actions))) if not terminal else []
        self.n = np.zeros(len(actions))
        self.w = np.zeros(len(actions))
        self.children: list[Any] = [None] * len(actions)  # _Node, or dict next-state -> (_Node, reward) if stochastic
        self.rewards = np.zeros(len(actions))
        self.visits = 0


class UCTSearch:
    """UCT over a planning model. ``search(state)`` returns (actions, visit counts, mean values)."""

    def __init__(self, model: Any, config: MCTSConfig) -> None:
        self.model = model
        self.config = config
        self.sign = -1.0 if int(getattr(model, "num_players", 1)) == 2 else 1.0
        self.gamma = 1.0 if self.sign < 0 else config.gamma
        self.stochastic = not bool(getattr(model, "deterministic", True))
        self.last_simulations = 0
        self.last_seconds = 0.0

    def _node(self, state: Any, terminal: bool, rng: np.random.Generator) -> _Node:
        actions = np.arange(0) if terminal else np.asarray(self.model.legal_actions(state))
        return _Node(state, actions, terminal or len(actions) == 0, rng)

    def _rollout(self, state: Any, rng: np.random.Generator) -> float:
        """Value of ``state`` for the player to move (two-player) or its return (one player)."""
        limit = self.config.rollout_limit
        fast = getattr(self.model, "rollout", None)
        if fast is not None and self.sign < 0:
            return float(fast(state, rng, limit))
        rewards = []
        for _ in range(limit):
            actions = self.model.legal_actions(state)
            if len(actions) == 0:
                break
            state, reward, done = self.model.step(state, int(actions[rng.integers(len(actions))]))
            rewards.append(reward)
            if done:
                break
        value = 0.0
        for reward in reversed(rewards):
            value = reward + self.sign * self.gamma * value
        return value

    def search(self, state: Any, rng: np.random.Generator, simulations: int | None = None):
        if hasattr(self.model, "rng"):
            self.model.rng = rng
        start = time.perf_counter()
        root = self._node(state, False, rng)
        if root.terminal:
            raise ValueError("cannot search from a terminal state")
        c, sign, gamma = self.config.c, self.sign, self.gamma
        n_sims = simulations or self.config.simulations
        # single-player returns have no fixed scale: Q is normalised to [0, 1] with the
        # smallest and largest backed-up values of this search (as MuZero), so c is scale-free
        normalise = sign > 0
        lo, hi = math.inf, -math.inf
        for _ in range(n_sims):
            node, path = root, []
            while True:
                if node.terminal:
                    value = 0.0
                    break
                if node.untried:
                    i = node.untried.pop()
                    child_state, reward, done = self.model.step(node.state, int(node.actions[i]))
                    child = self._node(child_state, done, rng)
                    if self.stochastic:
                        node.children[i] = {_key(child_state): (child, reward)}
                    else:
                        node.children[i] = child
                        node.rewards[i] = reward
                    path.append((node, i, reward))
                    value = 0.0 if done else self._rollout(child_state, rng)
                    break
                q = node.w / node.n
                if normalise and hi > lo:
                    q = (q - lo) / (hi - lo)
                ucb = q + c * np.sqrt(math.log(node.visits) / node.n)
                i = int(np.argmax(ucb))
                if self.stochastic:
                    child_state, reward, done = self.model.step(node.state, int(node.actions[i]))
                    known = node.children[i].get(_key(child_state))
                    if known is None:
                        child = self._node(child_state, done, rng)
                        node.children[i][_key(child_state)] = (child, reward)
                        path.append((node, i, reward))
                        value = 0.0 if done else self._rollout(child_state, rng)
                        break
                    child = known[0]
                else:
                    child, reward = node.children[i], node.rewards[i]
                path.append((node, i, reward))
                node = child
            for parent, i, reward in reversed(path):
                value = reward + sign * gamma * value
                if normalise:
                    lo, hi = min(lo, value), max(hi, value)
                parent.n[i] += 1
                parent.w[i] += value
                parent.visits += 1
        self.last_simulations = n_sims
        self.last_seconds = time.perf_counter() - start
        q = np.divide(root.w, root.n, out=np.zeros_like(root.w), where=root.n > 0)
        return root.actions, root.n, q


def _key(state: Any) -> Any:
    if isinstance(state, (int, np.integer)):
        return int(state)
    if isinstance(state, np.ndarray):
        return state.tobytes()
    if isinstance(state, tuple):
        return tuple(_key(s) for s in state)
    return state


# --- the agent --------------------------------------------------------------------------


class MCTSAgent:
    """UCT with random rollouts; see the module docstring. Bind an env (``bind_env``) before ``act``."""

    name: ClassVar[str] = "mcts"
    Config: ClassVar[type] = MCTSConfig
    num_envs = 1

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: MCTSConfig | None = None, seed: int = 0) -> None:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise IncompatibleEnvironment(f"mcts needs a discrete action space, this environment has {action_space}")
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config or MCTSConfig()
        self.seed = int(seed)
        self._search: UCTSearch | None = None
        self.simulations_per_second = 0.0

    @property
    def eval_env_kwargs(self) -> dict[str, Any]:
        """Env kwargs the platform adds for ``simdrive eval``: on two-player board games
        (Dict observations with an ``action_mask``) the env answers with random moves so the
        summed reward is the agent's score; single-player envs get nothing."""
        space = self.observation_space
        if isinstance(space, gym.spaces.Dict) and "action_mask" in space.spaces:
            return {"opponent": "random"}
        return {}

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise IncompatibleEnvironment(f"mcts needs a discrete action space, this environment has {env.action_space}")
        make_planner(env)

    def bind_env(self, env: gym.Env) -> None:
        """Plan with ``env``'s model from now on (see the module docstring)."""
        self._search = UCTSearch(make_planner(env), self.config)

    def search(self, obs: Any, simulations: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run a search from the position behind ``obs``: (legal actions, visit counts, mean values)."""
        if self._search is None:
            raise RuntimeError("MCTSAgent has no model to plan with: call agent.bind_env(env) (train() does it)")
        rng = obs_seed(self.seed, obs)
        model = self._search.model
        state = model.state_from_obs(obs)
        try:
            out = self._search.search(state, rng, simulations)
        finally:
            if isinstance(model, EnvPlanner):  # the search stepped the live env: put it back
                model.env.set_state(state)
        if self._search.last_seconds > 0:
            self.simulations_per_second = self._search.last_simulations / self._search.last_seconds
        return out

    def act(self, obs: Any, explore: bool = False) -> int:
        actions, visits, q = self.search(obs)
        if explore:
            rng = obs_seed(self.seed + 1, obs)
            return int(actions[rng.choice(len(actions), p=visits / visits.sum())])
        best = np.flatnonzero(visits == visits.max())
        return int(actions[best[np.argmax(q[best])]])

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        """Planning only: plays episodes with the search choosing every action and reports them."""
        self.bind_env(env)
        steps = episodes = 0
        while not budget.done(steps, episodes):
            obs, _ = env.reset(seed=self.seed + episodes)
            ret, length, done, sims, seconds = 0.0, 0, False, 0, 0.0
            while not done:
                action = self.act(obs)
                sims += self._search.last_simulations
                seconds += self._search.last_seconds
                obs, reward, terminated, truncated, _ = env.step(action)
                ret += float(reward)
                length += 1
                steps += 1
                done = terminated or truncated
                if budget.steps is not None and steps >= budget.steps:
                    break
            if done:
                episodes += 1
                callbacks.on_episode_end(steps, ret, length)
            callbacks.on_metrics(steps, {"simulations_per_second": sims / max(seconds, 1e-9)})
            if not callbacks.on_step(steps, episodes):
                return

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "mcts", "version": 1}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("kind") != "mcts":
            raise ValueError("not an MCTS agent state")
