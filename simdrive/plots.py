"""Pictures logged with a run: the learning curve and, for tabular agents on grid
worlds, the value table with the greedy policy drawn as arrows."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def learning_curve(steps: Sequence[int], returns: Sequence[float], path: Path, title: str) -> Path | None:
    """Episode returns against environment steps, with a moving average."""
    if not returns:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, returns, lw=0.6, alpha=0.4, label="episode return")
    window = max(1, min(100, len(returns) // 10))
    if window > 1:
        smooth = np.convolve(np.asarray(returns, float), np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=1.8, label=f"moving average ({window})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# Grid worlds number their actions up, right, down, left.
_ARROWS = {0: (0, -0.3), 1: (0.3, 0), 2: (0, 0.3), 3: (-0.3, 0)}


def value_table(agent: Any, env: Any, path: Path, title: str) -> Path | None:
    """Heat map of state values with greedy-action arrows, for agents exposing
    ``value_table()``/``greedy_actions()`` on envs exposing ``grid_shape``/``cell_of_state``."""
    base = getattr(env, "unwrapped", env)
    if not (hasattr(agent, "value_table") and hasattr(base, "grid_shape") and hasattr(base, "cell_of_state")):
        return None
    values = np.asarray(agent.value_table(), dtype=float)
    greedy = np.asarray(agent.greedy_actions()) if hasattr(agent, "greedy_actions") else None
    rows, cols = base.grid_shape
    grid = np.full((rows, cols), np.nan)
    arrows: dict[tuple[int, int], int] = {}
    terminal = getattr(getattr(base, "model", None), "terminal", None)
    for state in range(values.shape[0]):
        row, col = base.cell_of_state(state)
        if np.isnan(grid[row, col]):  # first (e.g. no carrot eaten) layer of a multi-layer state space
            grid[row, col] = values[state]
            if greedy is not None and not (terminal is not None and terminal[state]):
                arrows[(row, col)] = int(greedy[state])
    plt = _pyplot()
    size = max(3.0, min(10.0, 0.6 * max(rows, cols)))
    fig, ax = plt.subplots(figsize=(size + 1.5, size), dpi=100)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis")
    fig.colorbar(image, ax=ax, shrink=0.8, label="state value")
    if rows * cols <= 100:
        for (row, col), value in np.ndenumerate(grid):
            if not np.isnan(value):
                ax.text(col, row + 0.3, f"{value:.1f}", ha="center", va="center", fontsize=7, color="white")
    for (row, col), action in arrows.items():
        dx, dy = _ARROWS.get(action, (0, 0))
        ax.arrow(col - dx / 2, row - dy / 2, dx, dy, head_width=0.15, color="red", length_includes_head=True)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
