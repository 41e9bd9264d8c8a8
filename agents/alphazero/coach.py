"""Self-play, the replay window and training (alpha-zero-general's Coach).

One iteration:
1. **Self-play**: ``games_per_iteration`` games played in parallel by the best network,
   with PUCT (``simulations`` per move, Dirichlet noise at the root, subtree reuse); the
   move is sampled from the visit counts (tau = 1) for the first ``temperature_moves``
   plies, then the most visited move (tau = 0). Every position is stored with its search
   policy (visit counts, tau = 1) and the final outcome z from the point of view of the
   player to move there, together with all its symmetric copies.
2. **Training**: ``train_steps`` minibatches drawn uniformly from the replay window (the
   positions of the last ``replay_iterations`` iterations): cross-entropy to the search
   policy plus squared error to z.
3. **Arena**: the trained network plays the best one; it becomes the best when it wins at
   least ``arena_threshold`` of the decisive games (see ``arena.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from agents.alphazero.game import GameAdapter
from agents.alphazero.search import PUCTSearch, best_action, visit_policy


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
class SelfPlayStats:
    games: int
    moves: int
    lengths: list[int]
    first_player_returns: list[float]
    simulations: int
    seconds: float


def self_play(
    game: GameAdapter,
    search: PUCTSearch,
    evaluate,
    games: int,
    simulations: int,
    temperature_moves: int,
    rng: np.random.Generator,
) -> tuple[Examples, SelfPlayStats]:
    """Play ``games`` self-play games in parallel; returns their (augmented) positions."""
    start = time.perf_counter()
    sims_before = search.simulations
    roots = [search.new_root(game.initial_state()) for _ in range(games)]
    history: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(games)]
    outcome: list[float | None] = [None] * games  # value for the player to move at the end
    lengths = [0] * games
    while True:
        live = [g for g in range(games) if outcome[g] is None]
        if not live:
            break
        search.run([roots[g] for g in live], evaluate, simulations, rng, noise=True)
        for g in live:
            root = roots[g]
            history[g].append((game.encode(root.state), visit_policy(root, game.n_actions, 1.0)))
            if lengths[g] < temperature_moves:
                pi = visit_policy(root, game.n_actions, 1.0)
                action = int(rng.choice(game.n_actions, p=pi))
            else:
                action = best_action(root)
            child = root.child_for(action)
            if child is None:
                child = search.new_root(game.step(root.state, action)[0])
            roots[g] = child
            lengths[g] += 1
            if child.terminal:
                outcome[g] = game.terminal_value(child.state)
    planes, policies, values, first_returns = [], [], [], []
    for g in range(games):
        n = len(history[g])
        # z for the player to move at ply t: the end value, negated once per ply in between
        for t, (p, pi) in enumerate(history[g]):
            z = outcome[g] * (1.0 if (n - t) % 2 == 0 else -1.0)
            for sym_planes, sym_pi in game.symmetries(p, pi):
                planes.append(sym_planes)
                policies.append(sym_pi)
                values.append(z)
        first_returns.append(outcome[g] * (1.0 if n % 2 == 0 else -1.0))
    examples = Examples(
        np.asarray(planes, dtype=np.float32), np.asarray(policies, dtype=np.float32), np.asarray(values, dtype=np.float32)
    )
    stats = SelfPlayStats(
        games, sum(lengths), lengths, first_returns, search.simulations - sims_before, time.perf_counter() - start
    )
    return examples, stats
