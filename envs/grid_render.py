"""Drawing of grid worlds to RGB arrays, and the pygame window that shows them.

One implementation for every grid environment (``GridWorld4x4/5x5``, ``Maze``) and for the
platform's value-table / greedy-policy views:

* :func:`draw_grid` turns a :class:`GridScene` (static layout) plus the agent's cell and
  optional per-cell values and actions into a ``uint8`` (H, W, 3) RGB image with opencv;
* :class:`HumanWindow` shows such an array in a pygame window (pygame imported lazily, so
  ``rgb_array`` rendering and headless training never need a display).

Actions on grids share one convention: 0=up, 1=right, 2=down, 3=left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

#: Default cell size [px].
CELL_PX = 64

# Colours, RGB.
BACKGROUND = (245, 245, 245)
GRID_LINE = (190, 190, 190)
WALL = (60, 60, 70)
GOAL = (90, 190, 90)
START = (200, 225, 250)
CARROT = (245, 150, 40)
TRAP = (215, 60, 60)
TERMINAL = (200, 200, 200)
AGENT = (40, 90, 220)
TEXT = (20, 20, 20)
ARROW = (30, 30, 30)

#: Unit moves (d_row, d_col) of the grid actions 0=up, 1=right, 2=down, 3=left.
ACTION_DELTAS = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class GridScene:
    """The static part of a grid picture."""

    shape: tuple[int, int]
    """(rows, cols) [cells]."""
    walls: np.ndarray | None = None
    """(rows, cols) bool, True where a wall is; None = no walls."""
    fills: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    """Cell -> RGB background colour (goal, traps, terminal states, ...)."""
    labels: dict[tuple[int, int], str] = field(default_factory=dict)
    """Cell -> short text drawn in the cell ("A", "B'", "G", ...)."""
    markers: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    """Cell -> RGB colour of a small diamond marker (e.g. carrots not yet eaten)."""
    cell_px: int = CELL_PX
    """Cell size [px]."""


def draw_grid(
    scene: GridScene,
    agent: tuple[int, int] | None = None,
    *,
    values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
    hidden_markers: frozenset[tuple[int, int]] | set[tuple[int, int]] = frozenset(),
    background: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``scene`` as a (rows*cell_px, cols*cell_px, 3) uint8 RGB array.

    Args:
        scene: the static layout.
        agent: the agent's (row, col), drawn as a blue disc; None = no agent.
        values: optional (rows, cols) float array, shown as a red (low) / green (high) tint
            and the number; NaN cells (e.g. walls) are left alone.
        policy: optional (rows, cols) int array of actions (0=up 1=right 2=down 3=left),
            drawn as arrows; negative entries are skipped.
        hidden_markers: cells whose marker is not drawn (eaten carrots).
        background: a previous result of ``draw_static(scene)`` to start from (speed).
    """
    img = draw_static(scene) if background is None else background.copy()
    px = scene.cell_px
    rows, cols = scene.shape
    if values is not None:
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (rows, cols):
            raise ValueError(f"values must have shape {(rows, cols)}, got {values.shape}")
        finite = np.isfinite(values)
        if scene.walls is not None:
            finite &= ~scene.walls
        if finite.any():
            scale = max(float(np.abs(values[finite]).max()), 1e-12)
            for r, c in zip(*np.nonzero(finite)):
                v = values[r, c] / scale
                color = (255, int(255 * (1 + v)), int(255 * (1 + v))) if v < 0 else (
                    int(255 * (1 - v)), 255, int(255 * (1 - v)))
                tint = np.array(color, dtype=np.float64)
                cell = img[r * px + 1:(r + 1) * px, c * px + 1:(c + 1) * px]
                cell[:] = (0.55 * cell + 0.45 * tint).astype(np.uint8)
                _put_text(img, f"{values[r, c]:.2f}", (r, c), px, scale=0.3, anchor="bottom")
    for (r, c), color in scene.markers.items():
        if (r, c) not in hidden_markers:
            cx, cy, s = c * px + px // 2, r * px + px // 2, px // 4
            pts = np.array([[cx, cy - s], [cx + s, cy], [cx, cy + s], [cx - s, cy]], dtype=np.int32)
            cv2.fillConvexPoly(img, pts, color, cv2.LINE_AA)
    if policy is not None:
        policy = np.asarray(policy)
        if policy.shape != (rows, cols):
            raise ValueError(f"policy must have shape {(rows, cols)}, got {policy.shape}")
        for r, c in zip(*np.nonzero(policy >= 0)):
            dr, dc = ACTION_DELTAS[int(policy[r, c]) % 4]
            center = np.array([c * px + px // 2, r * px + px // 2])
            tip = center + np.array([dc, dr]) * int(px * 0.32)
            tail = center - np.array([dc, dr]) * int(px * 0.32)
            cv2.arrowedLine(img, tuple(int(x) for x in tail), tuple(int(x) for x in tip), ARROW,
                            max(1, px // 32), cv2.LINE_AA, tipLength=0.35)
    if agent is not None:
        r, c = agent
        cv2.circle(img, (c * px + px // 2, r * px + px // 2), int(px * 0.3), AGENT, -1, cv2.LINE_AA)
    return img


def draw_static(scene: GridScene) -> np.ndarray:
    """The background of ``scene``: cell fills, walls, grid lines and labels."""
    rows, cols = scene.shape
    px = scene.cell_px
    img = np.empty((rows * px, cols * px, 3), dtype=np.uint8)
    img[:] = BACKGROUND
    for (r, c), color in scene.fills.items():
        img[r * px:(r + 1) * px, c * px:(c + 1) * px] = color
    if scene.walls is not None:
        walls = np.asarray(scene.walls, dtype=bool)
        if walls.shape != (rows, cols):
            raise ValueError(f"walls must have shape {(rows, cols)}, got {walls.shape}")
        mask = np.repeat(np.repeat(walls, px, axis=0), px, axis=1)
        img[mask] = WALL
    for i in range(rows + 1):
        y = min(i * px, rows * px - 1)
        img[y, :] = GRID_LINE
    for j in range(cols + 1):
        x = min(j * px, cols * px - 1)
        img[:, x] = GRID_LINE
    for (r, c), text in scene.labels.items():
        _put_text(img, text, (r, c), px, scale=px / 80.0, anchor="center")
    return img


def _put_text(img: np.ndarray, text: str, cell: tuple[int, int], px: int, scale: float, anchor: str) -> None:
    r, c = cell
    thickness = max(1, int(round(scale * 2)))
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = c * px + (px - w) // 2
    y = r * px + (px + h) // 2 if anchor == "center" else (r + 1) * px - 4
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT, thickness, cv2.LINE_AA)


class HumanWindow:
    """A pygame window showing RGB arrays at a fixed frame rate (pygame imported lazily)."""

    def __init__(self, title: str, fps: float) -> None:
        self.title = title
        self.fps = fps
        self._screen = None
        self._clock = None
        self._pygame = None

    def show(self, frame: np.ndarray) -> None:
        """Display ``frame`` ((H, W, 3) uint8 RGB), pump events and wait for the frame rate."""
        if self._pygame is None:
            try:
                import pygame
            except ImportError as exc:  # pragma: no cover - pygame is a core dependency
                raise ImportError("render_mode='human' needs pygame: pip install pygame") from exc
            pygame.display.init()  # display only: no audio device needed
            pygame.display.set_caption(self.title)
            self._pygame = pygame
            self._clock = pygame.time.Clock()
        pygame = self._pygame
        h, w = frame.shape[:2]
        if self._screen is None or self._screen.get_size() != (w, h):
            self._screen = pygame.display.set_mode((w, h))
        pygame.event.pump()
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        self._screen.blit(surface, (0, 0))
        pygame.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        """Close the window; safe to call more than once."""
        if self._pygame is not None:
            self._pygame.display.quit()
        self._pygame = None
        self._screen = None
        self._clock = None


def state_tables_to_grid(
    shape: tuple[int, int],
    cells: np.ndarray,
    values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Scatter per-state tables onto the grid for :func:`draw_grid`.

    Args:
        shape: (rows, cols) of the grid.
        cells: (n, 2) int array, the (row, col) of each of the n states shown.
        values: (n,) floats for those states, or None.
        policy: (n,) actions for those states, or None.

    Returns:
        ``(values_grid, policy_grid)``: (rows, cols) arrays with NaN / -1 where no state is shown.
    """
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    value_grid = policy_grid = None
    if values is not None:
        value_grid = np.full(shape, np.nan)
        value_grid[cells[:, 0], cells[:, 1]] = np.asarray(values, dtype=np.float64)
    if policy is not None:
        policy_grid = np.full(shape, -1, dtype=np.int64)
        policy_grid[cells[:, 0], cells[:, 1]] = np.asarray(policy, dtype=np.int64)
    return value_grid, policy_grid
