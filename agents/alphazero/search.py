"""PUCT tree search guided by the policy-value network, batched over many trees.

Each simulation walks down from the root choosing
``argmax_a  Q(s, a) + c_puct * P(s, a) * sqrt(N(s) + 1) / (1 + N(s, a))``
(Q = 0 for unvisited edges), creates the child it reaches, asks the network for the
child's priors and value, and backs the value up, negating it at every ply (zero-sum,
alternating players). A move that ends the game is valued by the game's reward instead.

Batching: ``run`` advances many roots together (the self-play games of an iteration,
the games of an arena match) and, within one tree, collects up to ``leaf_batch`` leaves
per round using *virtual loss* (each edge on a pending path counts as one extra visit
that was lost), so one network call evaluates ``len(roots) * leaf_batch`` positions.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from agents.alphazero.game import GameAdapter

Evaluate = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class Node:
    """A position in the tree; edge statistics are arrays over the legal actions."""

    __slots__ = ("state", "terminal", "actions", "prior", "n", "w", "children", "rewards", "visits", "expanded", "pending")

    def __init__(self, state: Any, terminal: bool) -> None:
        self.state = state
        self.terminal = terminal
        self.expanded = False
        self.pending = False
        self.visits = 0
        self.actions = self.prior = self.n = self.w = self.rewards = None
        self.children: list[Node | None] = []

    def expand(self, actions: np.ndarray, prior: np.ndarray) -> None:
        self.actions = actions
        total = prior.sum()
        self.prior = prior / total if total > 0 else np.full(len(actions), 1.0 / len(actions))
        self.n = np.zeros(len(actions))
        self.w = np.zeros(len(actions))
        self.rewards = np.zeros(len(actions))
        self.children = [None] * len(actions)
        self.expanded = True

    def policy(self, n_actions: int) -> np.ndarray:
        """Visit counts spread over all ``n_actions`` (zeros for illegal actions)."""
        counts = np.zeros(n_actions)
        counts[self.actions] = self.n
        return counts

    def child_for(self, action: int) -> "Node | None":
        """The subtree after ``action`` (for tree reuse), if it was explored."""
        hits = np.flatnonzero(self.actions == action) if self.actions is not None else []
        return self.children[int(hits[0])] if len(hits) else None


class PUCTSearch:
    """Batched PUCT over a :class:`GameAdapter` with a network ``evaluate`` function."""

    def __init__(self, game: GameAdapter, c_puct: float = 1.5, leaf_batch: int = 1, dirichlet_alpha: float = 0.5, dirichlet_eps: float = 0.25) -> None:
        self.game = game
        self.c_puct = c_puct
        self.leaf_batch = max(1, int(leaf_batch))
        self.dirichlet_alpha = dirichlet_alpha
        self.dirichlet_eps = dirichlet_eps
        self.simulations = 0  # total simulations run (for simulations per second)

    def new_root(self, state: Any) -> Node:
        return Node(state, self.game.is_terminal(state))

    def _expand(self, nodes: list[Node], evaluate: Evaluate) -> np.ndarray:
        """Evaluate and expand ``nodes`` with one network call; returns their values."""
        if not nodes:
            return np.zeros(0)
        planes = np.stack([self.game.encode(node.state) for node in nodes])
        masks = np.stack([self.game.legal_mask(node.state) for node in nodes])
        priors, values = evaluate(planes, masks)
        for node, prior, mask in zip(nodes, priors, masks):
            actions = np.flatnonzero(mask)
            node.expand(actions, prior[actions].astype(np.float64))
        return values

    def add_noise(self, root: Node, rng: np.random.Generator) -> None:
        """Mix Dirichlet noise into the root priors (self-play exploration)."""
        if self.dirichlet_eps <= 0 or not root.expanded or len(root.actions) < 2:
            return
        noise = rng.dirichlet(np.full(len(root.actions), self.dirichlet_alpha))
        root.prior = (1.0 - self.dirichlet_eps) * root.prior + self.dirichlet_eps * noise

    def _select(self, root: Node) -> tuple[list[tuple[Node, int]], Node]:
        """Walk to a leaf, adding a virtual loss on every edge taken."""
        node, path = root, []
        c = self.c_puct
        while node.expanded and not node.terminal:
            q = np.divide(node.w, node.n, out=np.zeros_like(node.w), where=node.n > 0)
            u = q + c * node.prior * np.sqrt(node.visits + 1) / (1.0 + node.n)
            i = int(np.argmax(u))
            node.n[i] += 1
            node.w[i] -= 1.0  # virtual loss, removed in _backup
            node.visits += 1
            path.append((node, i))
            child = node.children[i]
            if child is None:
                state, reward, done = self.game.step(node.state, int(node.actions[i]))
                child = Node(state, done)
                node.children[i] = child
                node.rewards[i] = reward
            node = child
        return path, node

    @staticmethod
    def _undo(path: list[tuple[Node, int]]) -> None:
        for node, i in path:
            node.n[i] -= 1
            node.w[i] += 1.0
            node.visits -= 1

    @staticmethod
    def _backup(path: list[tuple[Node, int]], value: float) -> None:
        """``value`` is for the player to move at the leaf; each parent sees reward - child value."""
        for node, i in reversed(path):
            value = node.rewards[i] - value
            node.w[i] += 1.0 + value  # remove the virtual loss, add the real value

    def run(self, roots: list[Node], evaluate: Evaluate, simulations: int, rng: np.random.Generator | None = None, noise: bool = False) -> None:
        """Run ``simulations`` simulations in every non-terminal root (roots are expanded
        first; Dirichlet noise is added to their priors if ``noise``)."""
        roots = [root for root in roots if not root.terminal]
        fresh = [root for root in roots if not root.expanded]
        self._expand(fresh, evaluate)
        if noise:
            if rng is None:
                raise ValueError("noise needs an rng")
            for root in roots:
                self.add_noise(root, rng)
        remaining = [simulations] * len(roots)
        while any(r > 0 for r in remaining):
            leaves: list[tuple[list[tuple[Node, int]], Node]] = []
            for k, root in enumerate(roots):
                for _ in range(min(self.leaf_batch, remaining[k])):
                    path, leaf = self._select(root)
                    if leaf.terminal:
                        self._backup(path, 0.0)
                        remaining[k] -= 1
                        self.simulations += 1
                        continue
                    if leaf.pending:  # same leaf twice in this batch: try again next round
                        self._undo(path)
                        break
                    leaf.pending = True
                    leaves.append((path, leaf))
                    remaining[k] -= 1
            values = self._expand([leaf for _, leaf in leaves], evaluate)
            for (path, leaf), value in zip(leaves, values):
                leaf.pending = False
                self._backup(path, float(value))
            self.simulations += len(leaves)


def visit_policy(root: Node, n_actions: int, temperature: float) -> np.ndarray:
    """pi(a) proportional to N(a)^(1/temperature); temperature 0 puts all mass on the most
    visited actions (ties shared)."""
    counts = root.policy(n_actions)
    if temperature <= 0:
        best = counts == counts.max()
        return best / best.sum()
    counts = counts ** (1.0 / temperature)
    return counts / counts.sum()


def best_action(root: Node) -> int:
    """The most visited action; ties go to the higher prior, then the lower index."""
    top = np.flatnonzero(root.n == root.n.max())
    return int(root.actions[top[np.argmax(root.prior[top])]])
