"""Self-play: many games at once, one network call per simulation round (alpha-zero-general's Coach).

``self_play`` keeps ``parallel_games`` games in flight, each with its own search tree (rows
of one :class:`~agents.alphazero.search.Trees`). Every round advances every tree by one
simulation (or expands its new root), and the leaves of all of them go through one network
call, so a call evaluates about ``parallel_games`` positions. A tree that has used its
simulations plays its move at once and starts a fresh tree for the next position, so
games never wait for each other; a finished game is replaced by a new one until
``games`` have been started.

Per move:

* **Playout cap randomisation** (KataGo, Wu 2019): with probability ``full_search_prob``
  the move gets a *full* search (``simulations``, Dirichlet noise at the root) and its
  position is kept for training; otherwise a *fast* search (``fast_simulations``, no noise)
  only chooses the move and nothing is recorded. Games get longer searches where the
  policy target is made and cheap ones elsewhere, so more games (value targets) per second.
* The move is sampled from the visit counts (tau = 1) for the first ``temperature_moves``
  plies, then the most visited move is played (tau = 0).
* Each recorded position keeps its search policy (visit counts, tau = 1) and a value
  target ``(1 - m) * z + m * q``: ``z`` the final outcome for the player to move there,
  ``q`` the search's mean root value, ``m = value_target_mix``; with all symmetric copies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from agents.alphazero.game import GameAdapter
from agents.alphazero.search import Evaluate, PUCTSearch, best_actions, visit_policy


@dataclass
class Examples:
    """Training positions as arrays: planes (N, C, H, W) float32, policies (N, A) float32, values (N,) float32."""

    planes: np.ndarray
    policies: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"planes": self.planes, "policies": self.policies, "values": self.values}

    @classmethod
    def concat(cls, parts: list["Examples"]) -> "Examples":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("planes", "policies", "values")))


@dataclass(frozen=True)
class SelfPlaySettings:
    """How one batch of self-play games is played."""

    games: int
    """Games to play [games]."""
    parallel_games: int
    """Games in flight at once (their leaves share each network call) [games]."""
    simulations: int
    """Simulations of a full search (recorded for training) [-]."""
    fast_simulations: int
    """Simulations of a fast search (move choice only, not recorded) [-]."""
    full_search_prob: float
    """Probability that a move gets the full search; 1 = every move (no playout cap randomisation) [-]."""
    temperature_moves: int
    """Plies whose move is sampled from the visit counts (tau = 1); later plies take the most visited [plies]."""
    value_target_mix: float
    """Weight m of the search value in the value target (1 - m) * z + m * q [-]."""


@dataclass(frozen=True)
class SelfPlayStats:
    games: int
    moves: int
    lengths: list[int]
    first_player_returns: list[float]
    simulations: int
    seconds: float
    positions: int  # positions recorded for training (full searches), before symmetries
    evaluations: int  # positions evaluated by the network
    network_calls: int


def self_play(game: GameAdapter, search: PUCTSearch, evaluate: Evaluate, settings: SelfPlaySettings, rng: np.random.Generator) -> tuple[Examples, SelfPlayStats]:
    """Play ``settings.games`` self-play games (see the module docstring); returns their
    (augmented) training positions and statistics."""
    start = time.perf_counter()
    before = (search.simulations, search.evaluations, search.network_calls)
    core = game.core
    slots = max(1, min(settings.parallel_games, settings.games))
    trees = search.trees(slots, max(settings.simulations, settings.fast_simulations))
    game_of = np.full(slots, -1, dtype=np.int64)
    ply = np.zeros(slots, dtype=np.int64)
    full = np.zeros(slots, dtype=bool)
    remaining = np.zeros(slots, dtype=np.int64)
    records: list[list[tuple[int, np.ndarray, np.ndarray, float]]] = []  # per game: (ply, planes, pi, q)
    last_reward: list[float] = []
    lengths: list[int] = []

    def begin_move(rows: np.ndarray, states: np.ndarray) -> None:
        full[rows] = rng.random(len(rows)) < settings.full_search_prob
        remaining[rows] = np.where(full[rows], settings.simulations, settings.fast_simulations)
        trees.reset(rows, states, noise=full[rows])

    def start_games(rows: np.ndarray) -> None:
        for row in rows:
            game_of[row] = len(records)
            records.append([])
            last_reward.append(0.0)
            lengths.append(0)
        ply[rows] = 0
        begin_move(rows, core.initial(len(rows)))

    start_games(np.arange(slots))
    while np.any(game_of >= 0):
        trees.round(evaluate, remaining, rng)
        ready = np.flatnonzero((remaining == 0) & (game_of >= 0))
        if ready.size == 0:
            continue
        result = trees.result(ready)
        states = trees.root_states(ready)
        kept = full[ready]
        if kept.any():
            planes = core.encode(states[kept])
            policies = visit_policy(result.visits[kept], 1.0).astype(np.float32)
            for j, row in enumerate(ready[kept]):
                records[game_of[row]].append((int(ply[row]), planes[j], policies[j], float(result.values[kept][j])))
        actions = best_actions(result)
        sampled = ply[ready] < settings.temperature_moves
        if sampled.any():
            actions[sampled] = _sample_rows(visit_policy(result.visits[sampled], 1.0), rng)
        states, reward, terminal = core.step(states, actions)
        ply[ready] += 1
        ended = ready[terminal]
        for row, r in zip(ended, reward[terminal]):
            last_reward[game_of[row]] = float(r)
            lengths[game_of[row]] = int(ply[row])
        game_of[ended] = -1
        remaining[ended] = 0
        more = ended[: max(0, settings.games - len(records))]
        if more.size:
            start_games(more)
        going = ~terminal
        if going.any():
            begin_move(ready[going], states[going])
    examples = _targets(game, records, last_reward, lengths, settings.value_target_mix)
    first_returns = [r if (n - 1) % 2 == 0 else -r for r, n in zip(last_reward, lengths)]
    stats = SelfPlayStats(
        len(records), sum(lengths), lengths, first_returns, search.simulations - before[0], time.perf_counter() - start,
        sum(len(r) for r in records), search.evaluations - before[1], search.network_calls - before[2],
    )
    return examples, stats


def _sample_rows(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` (n, A), drawn with those probabilities."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cumulative[:, -1:]
    return np.minimum((cumulative <= u).sum(axis=1), probs.shape[1] - 1)


def _targets(game: GameAdapter, records: list, last_reward: list[float], lengths: list[int], mix: float) -> Examples:
    """Training examples with value targets and symmetric copies.

    The last mover got ``last_reward`` (+1 win, 0 draw); the player to move at ply t is the
    last mover when ``lengths - 1 - t`` is even, so ``z_t = last_reward * (-1)^(lengths - 1 - t)``."""
    planes, policies, values = [], [], []
    for moves, reward, length in zip(records, last_reward, lengths):
        for t, p, pi, q in moves:
            z = reward if (length - 1 - t) % 2 == 0 else -reward
            target = (1.0 - mix) * z + mix * q
            for sym_planes, sym_pi in game.symmetries(p, pi):
                planes.append(sym_planes)
                policies.append(sym_pi)
                values.append(target)
    shape = (0, *game.input_shape)
    return Examples(
        np.asarray(planes, dtype=np.float32).reshape(-1, *shape[1:]),
        np.asarray(policies, dtype=np.float32).reshape(-1, game.n_actions),
        np.asarray(values, dtype=np.float32),
    )
