"""Seeded random mazes: a perfect maze by randomized depth-first search (recursive
backtracker), optionally with loops added by knocking down a fraction of the remaining walls.

The maze has ``rows x cols`` rooms on a ``(2*rows+1) x (2*cols+1)`` grid: rooms at odd
(row, col), walls everywhere else except the passages the search opens between adjacent
rooms. Without loops the free cells form a tree (one path between any two cells). Start is
the top-left room, goal the bottom-right room. Same arguments -> same layout.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from envs.maze.layout import MAX_CARROTS, MazeLayout

_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))


def generate_maze(
    rooms: tuple[int, int],
    seed: int,
    loop_fraction: float = 0.0,
    n_carrots: int = 0,
    n_traps: int = 0,
) -> MazeLayout:
    """Generate a maze layout.

    Args:
        rooms: (rows, cols) of the room lattice [rooms]; the grid is (2*rows+1, 2*cols+1).
        seed: seed of the layout's own random generator (independent of episode seeds).
        loop_fraction: fraction in [0, 1] of the interior walls left between adjacent rooms
            that are removed after the perfect maze is carved (0 = perfect maze).
        n_carrots: carrots placed on random rooms other than start and goal (<= MAX_CARROTS).
        n_traps: traps placed on random rooms that are not start, goal, carrots, nor on the
            shortest start-goal path (so the goal stays reachable without stepping on a trap).
    """
    n_rows, n_cols = int(rooms[0]), int(rooms[1])
    if n_rows < 1 or n_cols < 1 or n_rows * n_cols < 2:
        raise ValueError(f"maze_size must be at least 1x2 rooms, got {rooms}")
    if not 0.0 <= loop_fraction <= 1.0:
        raise ValueError(f"loop_fraction must be in [0, 1], got {loop_fraction}")
    if not 0 <= n_carrots <= MAX_CARROTS:
        raise ValueError(f"n_carrots must be in [0, {MAX_CARROTS}], got {n_carrots}")
    if n_traps < 0:
        raise ValueError(f"n_traps must be >= 0, got {n_traps}")
    rng = np.random.default_rng(seed)
    walls = np.ones((2 * n_rows + 1, 2 * n_cols + 1), dtype=bool)

    # Randomized DFS over rooms (iterative, so large mazes do not hit the recursion limit).
    visited = np.zeros((n_rows, n_cols), dtype=bool)
    stack = [(0, 0)]
    visited[0, 0] = True
    walls[1, 1] = False
    while stack:
        r, c = stack[-1]
        options = [
            (r + dr, c + dc) for dr, dc in _STEPS
            if 0 <= r + dr < n_rows and 0 <= c + dc < n_cols and not visited[r + dr, c + dc]
        ]
        if not options:
            stack.pop()
            continue
        nr, nc = options[int(rng.integers(len(options)))]
        visited[nr, nc] = True
        walls[2 * nr + 1, 2 * nc + 1] = False
        walls[r + nr + 1, c + nc + 1] = False  # the passage between the two rooms
        stack.append((nr, nc))

    if loop_fraction > 0.0:
        # Interior walls separating two horizontally or vertically adjacent rooms.
        candidates = [
            (r, c) for r in range(1, walls.shape[0] - 1) for c in range(1, walls.shape[1] - 1)
            if walls[r, c] and (r % 2) != (c % 2)
        ]
        n_remove = int(round(loop_fraction * len(candidates)))
        if n_remove:
            for i in rng.choice(len(candidates), size=n_remove, replace=False):
                walls[candidates[int(i)]] = False

    start = (1, 1)
    goal = (2 * n_rows - 1, 2 * n_cols - 1)
    room_cells = [(2 * r + 1, 2 * c + 1) for r in range(n_rows) for c in range(n_cols)]
    free = [cell for cell in room_cells if cell not in (start, goal)]
    if n_carrots > len(free):
        raise ValueError(f"n_carrots={n_carrots} does not fit in a {n_rows}x{n_cols} maze")
    picks = rng.permutation(len(free))[:n_carrots]
    carrots = tuple(free[int(i)] for i in sorted(picks))
    path = set(shortest_path(walls, start, goal))
    trap_free = [cell for cell in free if cell not in carrots and cell not in path]
    if n_traps > len(trap_free):
        raise ValueError(
            f"n_traps={n_traps} does not fit: only {len(trap_free)} rooms are off the start-goal path"
        )
    picks = rng.permutation(len(trap_free))[:n_traps]
    traps = tuple(trap_free[int(i)] for i in sorted(picks))
    return MazeLayout(walls=walls, start=start, goal=goal, carrots=carrots, traps=traps)


def shortest_path(walls: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]]:
    """Cells of a shortest 4-connected path from ``start`` to ``goal`` (BFS); [] if none."""
    rows, cols = walls.shape
    parent: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path = []
            node: tuple[int, int] | None = cell
            while node is not None:
                path.append(node)
                node = parent[node]
            return path[::-1]
        for dr, dc in _STEPS:
            nxt = (cell[0] + dr, cell[1] + dc)
            if 0 <= nxt[0] < rows and 0 <= nxt[1] < cols and not walls[nxt] and nxt not in parent:
                parent[nxt] = cell
                queue.append(nxt)
    return []
