"""PUCT tree search guided by the policy-value network, vectorised over many trees.

Each simulation walks down from the root choosing
``argmax_a  Q(s, a) + c_puct * P(s, a) * sqrt(N(s) + 1) / (1 + N(s, a))``
(Q = 0 for unvisited edges), creates the child it reaches, asks the network for the
child's priors and value, and backs the value up, negating it at every ply (zero-sum,
alternating players). A move that ends the game is valued by the game's reward instead.

Batching: :class:`Trees` keeps ``n_trees`` independent trees in arrays (one row per tree:
the self-play games of an iteration, the games of an arena match) and advances all of
them together. One :meth:`Trees.round` walks every tree down once per *lane* (numpy
operations over trees, one Python loop over depth), then evaluates all the new leaves of
all trees in **one** network call and backs them up. With ``leaf_batch`` lanes a tree
contributes several leaves per round, kept apart by *virtual loss* (each edge on a
pending path counts as one extra visit that was lost), so one call evaluates up to
``n_trees * leaf_batch`` positions. Positions are the game core's arrays
(``GameAdapter.core``: bitboards for the k-in-a-row games), so a round costs a few dozen
numpy calls whatever the number of trees.

Solver (``solver=True``, MCTS-Solver of Winands et al. 2008, for wins and losses): a node
is *proven* won for the player to move when one of its moves wins (ends the game or
leads to a proven loss for the opponent) and proven lost when every legal move leads to a
proven win for the opponent. Proven nodes are not searched further (their exact value is
backed up instead of the network's), a proven win is always taken, proven losing moves are
avoided while another move is unproven, and :func:`best_actions` plays a proven win first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from agents.alphazero.game import GameAdapter

Evaluate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(planes (B, C, H, W) float32, legal masks (B, A) bool) -> (priors (B, A), values (B,))``,
values for the player to move."""


@dataclass(frozen=True)
class SearchResult:
    """Root statistics of searched positions."""

    visits: np.ndarray
    """(n, n_actions) visit counts of the root edges (0 for illegal actions) [-]."""
    priors: np.ndarray
    """(n, n_actions) network priors at the roots (after noise, if any) [-]."""
    values: np.ndarray
    """(n,) mean value of the root for the player to move, in [-1, 1] [-]."""
    legal: np.ndarray
    """(n, n_actions) bool: the legal moves at the roots."""
    proven: np.ndarray
    """(n, n_actions) int8: +1 the move is proven to win, -1 proven to lose, 0 unknown (always 0 without the solver)."""


class Trees:
    """``n_trees`` PUCT trees of at most ``capacity`` nodes each, stored as arrays.

    Node 0 of a tree is its root. Edge arrays are (n_trees, capacity, n_actions):
    ``children`` (node index, -1 none yet), ``prior``, ``n`` (visits), ``w`` (summed value for
    the player to move at the parent), ``reward`` (the mover's reward of that move).
    """

    def __init__(self, search: "PUCTSearch", n_trees: int, capacity: int) -> None:
        core = search.game.core
        self.search = search
        self.core = core
        self.n_trees = n_trees
        self.capacity = capacity
        shape, actions = (n_trees, capacity), core.n_actions
        self.states = np.zeros(shape, dtype=core.state_dtype) if core.state_dtype != object else np.empty(shape, dtype=object)
        self.children = np.full((*shape, actions), -1, dtype=np.int32)
        self.prior = np.zeros((*shape, actions), dtype=np.float32)
        self.legal = np.zeros((*shape, actions), dtype=bool)
        self.n = np.zeros((*shape, actions), dtype=np.float32)
        self.w = np.zeros((*shape, actions), dtype=np.float32)
        self.reward = np.zeros((*shape, actions), dtype=np.float32)
        self.visits = np.zeros(shape, dtype=np.float32)
        self.expanded = np.zeros(shape, dtype=bool)
        self.terminal = np.zeros(shape, dtype=bool)
        self.proven = np.zeros(shape, dtype=np.int8)  # +1 won / -1 lost for the player to move (solver), 0 unknown
        self.count = np.zeros(n_trees, dtype=np.int64)
        self.noise = np.zeros(n_trees, dtype=bool)

    def reset(self, trees: np.ndarray, states: np.ndarray, noise: bool | np.ndarray = False) -> None:
        """Start fresh trees at rows ``trees`` with root positions ``states`` (games not over);
        roots are expanded by the next :meth:`round`, with Dirichlet noise where ``noise``."""
        trees = np.asarray(trees, dtype=np.intp)
        self._init_nodes(trees, np.zeros(len(trees), dtype=np.intp))
        self.states[trees, 0] = states
        self.terminal[trees, 0] = False
        self.count[trees] = 1
        self.noise[trees] = noise

    def _init_nodes(self, trees: np.ndarray, nodes: np.ndarray) -> None:
        self.children[trees, nodes] = -1
        self.n[trees, nodes] = 0.0
        self.w[trees, nodes] = 0.0
        self.visits[trees, nodes] = 0.0
        self.expanded[trees, nodes] = False
        self.proven[trees, nodes] = 0

    # --- one round ---------------------------------------------------------------------

    def round(self, evaluate: Evaluate, remaining: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Advance every tree with ``remaining > 0``: expand its root if new, else run up to
        ``leaf_batch`` simulations; all new positions go through one ``evaluate`` call.
        Returns the simulations completed per tree (n_trees,) and lowers ``remaining`` by them."""
        search = self.search
        active = np.flatnonzero(remaining > 0)
        done = np.zeros(self.n_trees, dtype=np.int64)
        if active.size == 0:
            return done
        fresh = active[~self.expanded[active, 0]]
        pending_trees, pending_nodes = [fresh], [np.zeros(len(fresh), dtype=np.intp)]
        lanes = []  # (trees, levels, leaf node, evaluated?) per lane, for the backup
        grown = active[self.expanded[active, 0]]
        for lane in range(search.leaf_batch):
            trees = grown[remaining[grown] > lane]
            if trees.size == 0:
                break
            levels, leaf, outcome = self._descend(trees)
            lanes.append((trees, levels, leaf, outcome))
            needs_eval = outcome == _NEW
            pending_trees.append(trees[needs_eval])
            pending_nodes.append(leaf[needs_eval])
        trees = np.concatenate(pending_trees)
        nodes = np.concatenate(pending_nodes)
        values = np.zeros(0, dtype=np.float32)
        if trees.size:
            states = self.states[trees, nodes]
            masks = self.core.legal(states)
            priors, values = evaluate(self.core.encode(states), masks)
            priors = np.where(masks, priors, 0.0).astype(np.float32)
            total = priors.sum(axis=1, keepdims=True)
            uniform = masks / np.maximum(masks.sum(axis=1, keepdims=True), 1)
            priors = np.where(total > 0, priors / np.where(total > 0, total, 1.0), uniform).astype(np.float32)
            roots = len(fresh)
            noisy = self.noise[fresh]
            if noisy.any():
                if rng is None:
                    raise ValueError("Dirichlet noise at the roots needs an rng")
                priors[:roots][noisy] = search.add_noise(priors[:roots][noisy], masks[:roots][noisy], rng)
            self.prior[trees, nodes] = priors
            self.legal[trees, nodes] = masks
            self.expanded[trees, nodes] = True
            search.evaluations += len(trees)
            search.network_calls += 1
        offset = len(fresh)
        for trees_l, levels, leaf, outcome in lanes:
            leaf_value = np.zeros(len(trees_l), dtype=np.float32)
            evaluated = outcome == _NEW
            count = int(evaluated.sum())
            leaf_value[evaluated] = values[offset: offset + count]
            offset += count
            exact = outcome == _PROVEN
            leaf_value[exact] = self.proven[trees_l[exact], leaf[exact]]
            ok = outcome != _COLLISION
            self._backup(trees_l, levels, leaf_value, ok)
            if search.solver:
                self._prove(trees_l, levels)
            np.add.at(done, trees_l[ok], 1)
        remaining -= done
        search.simulations += int(done.sum())
        return done

    def _descend(self, trees: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
        """Walk each tree (one per entry of ``trees``, no repeats) from the root to a leaf,
        adding a virtual loss on every edge taken. Returns the path as levels
        ``(lanes alive at this depth, node, action)``, the leaf node per lane and its outcome:
        ``_NEW`` (a new node to evaluate), ``_TERMINAL`` (game over: value 0), ``_PROVEN``
        (solver: its proven value is exact) or ``_COLLISION`` (it reached a node another lane
        created this round: the path is undone)."""
        c = self.search.c_puct
        solver = self.search.solver
        k = len(trees)
        node = np.zeros(k, dtype=np.intp)
        leaf = np.zeros(k, dtype=np.intp)
        outcome = np.zeros(k, dtype=np.int8)
        live = np.arange(k)
        levels = []
        while live.size:
            b, nd = trees[live], node[live]
            n, w, prior = self.n[b, nd], self.w[b, nd], self.prior[b, nd]
            q = np.divide(w, n, out=np.zeros_like(w), where=n > 0)
            u = q + (c * np.sqrt(self.visits[b, nd] + 1.0))[:, None] * prior / (1.0 + n)
            legal = self.legal[b, nd]
            u[~legal] = -np.inf
            if solver:
                status = self._child_status(b, nd)
                losing = (status < 0) & legal
                avoid = losing & ~np.all(losing == legal, axis=1, keepdims=True)  # unless every move loses
                u[avoid] = -np.inf
                u[status > 0] = np.inf  # a proven win is always taken
            a = np.argmax(u, axis=1)
            levels.append((live, nd, a))
            self.n[b, nd, a] += 1.0
            self.w[b, nd, a] -= 1.0  # virtual loss, removed in _backup
            self.visits[b, nd] += 1.0
            child = self.children[b, nd, a].astype(np.intp)
            new = child < 0
            if new.any():
                child[new] = self._add_children(b[new], nd[new], a[new])
            terminal = self.terminal[b, child]
            proven = self.proven[b, child] != 0
            stop = new | terminal | proven | ~self.expanded[b, child]
            kind = np.where(new, _NEW, np.where(proven, _PROVEN, _COLLISION))
            outcome[live[stop]] = np.where(terminal, _TERMINAL, kind)[stop]
            leaf[live[stop]] = child[stop]
            node[live] = child
            live = live[~stop]
        return levels, leaf, outcome

    def _add_children(self, trees: np.ndarray, parents: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Create the child of each (tree, parent, action) edge; returns the new node indices."""
        index = self.count[trees].astype(np.intp)
        if np.any(index >= self.capacity):
            raise RuntimeError(f"search tree capacity {self.capacity} exceeded")
        self.count[trees] += 1
        states, reward, terminal = self.core.step(self.states[trees, parents], actions)
        self._init_nodes(trees, index)
        self.states[trees, index] = states
        self.terminal[trees, index] = terminal
        if self.search.solver:  # the player to move after a winning move has lost
            self.proven[trees, index] = np.where(reward > 0, -1, 0)
        self.reward[trees, parents, actions] = reward
        self.children[trees, parents, actions] = index
        return index

    def _backup(self, trees: np.ndarray, levels: list, leaf_value: np.ndarray, ok: np.ndarray) -> None:
        """Back ``leaf_value`` (for the player to move at the leaf) up each completed path;
        paths of collided lanes (``~ok``) only lose their virtual loss."""
        value = leaf_value.astype(np.float32)
        for live, nd, a in reversed(levels):
            b = trees[live]
            good = ok[live]
            value[live] = self.reward[b, nd, a] - value[live]
            # completed: remove the virtual loss (+1) and add the value; collided: undo the visit
            self.w[b, nd, a] += np.where(good, 1.0 + value[live], 1.0)
            self.n[b, nd, a] -= np.where(good, 0.0, 1.0)
            self.visits[b, nd] -= np.where(good, 0.0, 1.0)

    def _child_status(self, trees: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """(k, A) int8 from the point of view of the player to move at ``nodes``: +1 the move
        is proven to win (its child is proven lost), -1 proven to lose, 0 unknown or no child."""
        kids = self.children[trees, nodes]
        status = -self.proven[trees[:, None], np.maximum(kids, 0)]
        return np.where(kids >= 0, status, 0).astype(np.int8)

    def _prove(self, trees: np.ndarray, levels: list) -> None:
        """Solver: update the proven status of the nodes on the paths, deepest first."""
        for live, nd, _ in reversed(levels):
            b = trees[live]
            status, legal = self._child_status(b, nd), self.legal[b, nd]
            won = np.any((status > 0) & legal, axis=1)
            lost = np.all(~legal | (status < 0), axis=1) & legal.any(axis=1)
            self.proven[b, nd] = np.where(won, 1, np.where(lost, -1, self.proven[b, nd]))

    # --- results -----------------------------------------------------------------------

    def result(self, trees: np.ndarray) -> SearchResult:
        """Root statistics of ``trees``."""
        n = self.n[trees, 0].astype(np.float64)
        w = self.w[trees, 0].astype(np.float64)
        total = n.sum(axis=1)
        values = w.sum(axis=1) / np.maximum(total, 1.0)
        proven = self._child_status(trees, np.zeros(len(trees), dtype=np.intp))
        return SearchResult(n, self.prior[trees, 0].astype(np.float64), values, self.legal[trees, 0].copy(), proven)

    def root_states(self, trees: np.ndarray) -> np.ndarray:
        return self.states[trees, 0]


_NEW, _TERMINAL, _COLLISION, _PROVEN = 0, 1, 2, 3


class PUCTSearch:
    """Batched PUCT over a :class:`GameAdapter` (see the module docstring)."""

    def __init__(self, game: GameAdapter, c_puct: float = 1.5, leaf_batch: int = 1, dirichlet_alpha: float = 0.5, dirichlet_eps: float = 0.25,
                 solver: bool = False) -> None:
        self.game = game
        self.solver = solver
        self.c_puct = c_puct
        self.leaf_batch = max(1, int(leaf_batch))
        self.dirichlet_alpha = dirichlet_alpha
        self.dirichlet_eps = dirichlet_eps
        self.simulations = 0  # simulations completed (for simulations per second)
        self.evaluations = 0  # positions evaluated by the network
        self.network_calls = 0

    def trees(self, n_trees: int, simulations: int) -> Trees:
        """Room for ``n_trees`` trees of ``simulations`` simulations each (plus the root)."""
        return Trees(self, n_trees, simulations + self.leaf_batch + 1)

    def add_noise(self, priors: np.ndarray, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mix Dirichlet(alpha) noise over the legal actions into root priors (self-play exploration)."""
        if self.dirichlet_eps <= 0:
            return priors
        noise = np.where(masks, rng.gamma(self.dirichlet_alpha, size=priors.shape), 0.0)
        noise /= np.maximum(noise.sum(axis=1, keepdims=True), 1e-12)
        mixed = (1.0 - self.dirichlet_eps) * priors + self.dirichlet_eps * noise
        single = masks.sum(axis=1) < 2  # one legal move: nothing to explore
        mixed[single] = priors[single]
        return mixed.astype(np.float32)

    def run(self, states: np.ndarray, evaluate: Evaluate, simulations: int, rng: np.random.Generator | None = None, noise: bool = False) -> SearchResult:
        """Search every position of ``states`` (core positions, games not over) with
        ``simulations`` simulations each, all trees advancing together."""
        trees = self.trees(len(states), simulations)
        rows = np.arange(len(states))
        trees.reset(rows, states, noise)
        remaining = np.full(len(states), simulations, dtype=np.int64)
        while np.any(remaining > 0):  # the first round expands the roots, the others simulate
            trees.round(evaluate, remaining, rng)
        return trees.result(rows)


def visit_policy(visits: np.ndarray, temperature: float) -> np.ndarray:
    """pi(a) proportional to N(a)^(1/temperature) per row of ``visits`` (n, A); temperature 0
    puts all mass on the most visited actions (ties shared)."""
    visits = np.atleast_2d(np.asarray(visits, dtype=np.float64))
    if temperature <= 0:
        best = visits == visits.max(axis=1, keepdims=True)
        return best / best.sum(axis=1, keepdims=True)
    counts = visits ** (1.0 / temperature)
    return counts / counts.sum(axis=1, keepdims=True)


def best_actions(result: SearchResult) -> np.ndarray:
    """The most visited action of each root; ties go to the higher prior, then the lower index.
    With the solver, a proven win comes first and a proven loss last."""
    key = 2.0 * result.visits + result.priors + 1e12 * result.proven  # priors < 1 < a visit's weight 2
    key = np.where(result.legal, key, -np.inf)
    return np.argmax(key, axis=1)
