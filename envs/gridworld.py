"""The small grid worlds of Sutton & Barto, with their dynamics exposed as a model.

* :class:`GridWorld4x4Env` - Example 4.1 (episodic, -1 per move, two terminal corners);
* :class:`GridWorld5x5Env` - Example 3.5 (continuing, A->A' +10, B->B' +5, -1 off-grid).

Both keep one deterministic dynamics table ``(next_state, reward)`` per (state, action);
``step()`` reads it and ``model`` (a :class:`~envs.tabular_model.TabularModel`) is built
from it, so the two can never disagree.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.grid_render import (
    ACTION_DELTAS, TERMINAL, GridScene, HumanWindow, draw_grid, draw_static, state_tables_to_grid,
)
from envs.tabular_model import TabularModel, start_state_option


class _GridWorldEnv(gym.Env[int, int]):
    """Shared machinery: a deterministic grid with a (S, A) next-state and reward table.

    Subclasses set ``rows``, ``cols`` and implement ``_transition(row, col, action)``
    returning ``(next_row, next_col, reward)``, plus ``_terminal_cells`` and ``_scene_extras``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array"], "render_fps": 4}
    rows: ClassVar[int]
    cols: ClassVar[int]
    _terminal_cells: ClassVar[tuple[tuple[int, int], ...]] = ()

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        self.render_mode = render_mode
        n_states, n_actions = self.rows * self.cols, 4
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(n_actions)

        self._terminal = np.zeros(n_states, dtype=bool)
        for r, c in self._terminal_cells:
            self._terminal[r * self.cols + c] = True
        self._next_state = np.zeros((n_states, n_actions), dtype=np.int64)
        self._reward = np.zeros((n_states, n_actions), dtype=np.float64)
        for s in range(n_states):
            for a in range(n_actions):
                if self._terminal[s]:
                    self._next_state[s, a] = s
                    continue
                r2, c2, reward = self._transition(*self.cell_of_state(s), a)
                self._next_state[s, a] = r2 * self.cols + c2
                self._reward[s, a] = reward
        p = np.zeros((n_states, n_actions, n_states))
        p[np.arange(n_states)[:, None], np.arange(n_actions)[None, :], self._next_state] = 1.0
        self._model = TabularModel(p, self._reward.copy(), self._terminal.copy())

        self._state = 0
        extras = self._scene_extras()
        fills = {cell: TERMINAL for cell in self._terminal_cells} | extras.pop("fills", {})
        self._scene = GridScene(shape=(self.rows, self.cols), fills=fills, **extras)
        self._background: np.ndarray | None = None
        self._window: HumanWindow | None = None

    # --- dynamics ---------------------------------------------------------------------

    def _transition(self, row: int, col: int, action: int) -> tuple[int, int, float]:
        raise NotImplementedError

    def _scene_extras(self) -> dict[str, Any]:
        return {}

    def _move(self, row: int, col: int, action: int) -> tuple[int, int, bool]:
        """One grid move; returns (row, col, bumped) with bumped=True if it left the grid."""
        dr, dc = ACTION_DELTAS[action]
        r2, c2 = row + int(dr), col + int(dc)
        if 0 <= r2 < self.rows and 0 <= c2 < self.cols:
            return r2, c2, False
        return row, col, True

    # --- the model and grid helpers ------------------------------------------------------

    @property
    def model(self) -> TabularModel:
        """The exact dynamics: p(s'|s,a), E[r|s,a], terminal mask."""
        return self._model

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid [cells]."""
        return (self.rows, self.cols)

    def cell_of_state(self, state: int) -> tuple[int, int]:
        """(row, col) of a state; states are numbered row-major."""
        return divmod(int(state), self.cols)

    def draw_values(self, values: np.ndarray | None = None, policy: np.ndarray | None = None) -> np.ndarray:
        """An RGB picture of per-state ``values`` (S,) and/or greedy ``policy`` (S,) actions
        on the grid (no agent); arrows are left out on terminal states."""
        cells = np.array([self.cell_of_state(s) for s in range(self.observation_space.n)])
        if policy is not None:
            policy = np.where(self._terminal, -1, np.asarray(policy, dtype=np.int64))
        value_grid, policy_grid = state_tables_to_grid(self.grid_shape, cells, values, policy)
        return draw_grid(self._scene, None, values=value_grid, policy=policy_grid)

    # --- Gymnasium API -------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        start = start_state_option(options, self.observation_space.n, self._terminal)
        if start is None:
            candidates = np.flatnonzero(~self._terminal)
            start = int(candidates[self.np_random.integers(len(candidates))])
        self._state = start
        if self.render_mode == "human":
            self.render()
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"action must be in [0, 4), got {action!r}")
        s = self._state
        self._state = int(self._next_state[s, a])
        reward = float(self._reward[s, a])
        terminated = bool(self._terminal[self._state])
        if self.render_mode == "human":
            self.render()
        return self._state, reward, terminated, False, {}

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        if self._background is None:
            self._background = draw_static(self._scene)
        frame = draw_grid(self._scene, self.cell_of_state(self._state), background=self._background)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = HumanWindow(type(self).__name__, self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None


class GridWorld4x4Env(_GridWorldEnv):
    """Sutton & Barto's Example 4.1: the 4x4 grid world used to illustrate policy evaluation.

    ## Description
    A 4x4 grid; states 0..15 numbered row-major (state = 4 * row + col). The corners 0
    (top-left) and 15 (bottom-right) are terminal. Every move costs -1, so the optimal
    policy walks to the nearest terminal corner; under the equiprobable random policy the
    values are the table of Figure 4.1 (0, -14, -20, -22, ...).

    ## Action Space
    ``Discrete(4)``: 0 = up, 1 = right, 2 = down, 3 = left.
    A move that would leave the grid leaves the state unchanged (and still costs -1).

    ## Observation Space
    ``Discrete(16)``: the state index.

    ## Rewards
    -1 on every transition from a non-terminal state.

    ## Starting State
    Uniform over the 14 non-terminal states, or ``reset(options={"start_state": s})`` for
    any non-terminal ``s`` (a terminal ``s`` raises ``ValueError``).

    ## Episode End
    Terminated when a terminal corner is reached. Truncated by the registered time limit
    (200 steps for ``simdrive/GridWorld4x4-v0``).

    ## Model
    ``env.unwrapped.model`` is the exact :class:`~envs.tabular_model.TabularModel`;
    ``grid_shape`` and ``cell_of_state(s)`` map states to cells for drawing.

    ## Arguments
    ``render_mode``: ``None``, ``"rgb_array"`` (256x256x3 uint8) or ``"human"`` (pygame window).

    ## Version History
    * v0: initial version.
    """

    rows = 4
    cols = 4
    _terminal_cells = ((0, 0), (3, 3))

    def _transition(self, row: int, col: int, action: int) -> tuple[int, int, float]:
        r2, c2, _ = self._move(row, col, action)
        return r2, c2, -1.0


class GridWorld5x5Env(_GridWorldEnv):
    """Sutton & Barto's Example 3.5: the 5x5 grid world with two special jumps.

    ## Description
    A 5x5 grid; states 0..24 numbered row-major (state = 5 * row + col). From cell
    A = (0, 1) every action moves the agent to A' = (4, 1) with reward +10; from
    B = (0, 3) every action moves it to B' = (2, 3) with reward +5. Elsewhere moves are
    deterministic; trying to leave the grid keeps the state and gives -1, other moves 0.
    With gamma = 0.9 the optimal value of A is 24.4 (Figure 3.5).

    ## Action Space
    ``Discrete(4)``: 0 = up, 1 = right, 2 = down, 3 = left.

    ## Observation Space
    ``Discrete(25)``: the state index.

    ## Rewards
    +10 leaving A, +5 leaving B, -1 for a move off the grid, 0 otherwise.

    ## Starting State
    Uniform over all 25 states, or ``reset(options={"start_state": s})``.

    ## Episode End
    A continuing task: never terminated. Truncated by the registered time limit
    (100 steps for ``simdrive/GridWorld5x5-v0``); agents should bootstrap through truncation.

    ## Model
    ``env.unwrapped.model`` is the exact :class:`~envs.tabular_model.TabularModel`
    (no terminal states); ``grid_shape`` and ``cell_of_state(s)`` map states to cells.

    ## Arguments
    ``render_mode``: ``None``, ``"rgb_array"`` (320x320x3 uint8) or ``"human"`` (pygame window).

    ## Version History
    * v0: initial version.
    """

    rows = 5
    cols = 5
    A, A_PRIME, B, B_PRIME = (0, 1), (4, 1), (0, 3), (2, 3)

    def _transition(self, row: int, col: int, action: int) -> tuple[int, int, float]:
        if (row, col) == self.A:
            return (*self.A_PRIME, 10.0)
        if (row, col) == self.B:
            return (*self.B_PRIME, 5.0)
        r2, c2, bumped = self._move(row, col, action)
        return r2, c2, (-1.0 if bumped else 0.0)

    def _scene_extras(self) -> dict[str, Any]:
        return {
            "labels": {self.A: "A", self.A_PRIME: "A'", self.B: "B", self.B_PRIME: "B'"},
            "fills": {self.A: (250, 230, 160), self.B: (200, 230, 250)},
        }
