"""The maze environment: a grid with walls, a goal, optional carrots and traps, and
optional slippery moves; its exact dynamics are exposed as a :class:`TabularModel`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.grid_render import (
    ACTION_DELTAS, CARROT, GOAL, START, TRAP, GridScene, HumanWindow, draw_grid, draw_static,
    state_tables_to_grid,
)
from envs.maze.generator import generate_maze
from envs.maze.layout import DYNA_MAZE, MAX_CARROTS, MazeLayout, parse_ascii
from envs.tabular_model import TabularModel, start_state_option

#: Largest dense model (S * A * S float64 entries) built on request [bytes].
MAX_MODEL_BYTES = 1 << 30


class ModelTooLarge(AttributeError, ValueError):
    """The maze is too large for a dense model. An ``AttributeError`` too, so that
    ``getattr(env.unwrapped, "model", None)`` / ``hasattr`` report "no model" instead of failing."""


@dataclass(frozen=True)
class MazeConfig:
    """Everything that defines a maze environment; fixed for the env's lifetime.

    The map comes from ``layout`` (ASCII) or, when ``maze_size`` is given, from the seeded
    generator; with neither, the Dyna maze of Sutton & Barto (Figure 8.2) is used.
    """

    layout: str | None = None
    """ASCII map ('#' wall, '.' free, 'S' start, 'G' goal, 'C' carrot, 'T' trap); None = default or generated."""
    maze_size: tuple[int, int] | None = None
    """(rows, cols) of a generated maze [rooms]; the grid is (2*rows+1, 2*cols+1) [cells]. Excludes ``layout``."""
    maze_seed: int = 0
    """Seed of the generator [-]: the layout is fixed per env construction, not per episode."""
    loop_fraction: float = 0.0
    """Fraction of remaining interior walls removed from the generated perfect maze, adding loops [-]."""
    n_carrots: int = 0
    """Carrots placed in a generated maze (at most 6) [-]."""
    n_traps: int = 0
    """Traps placed in a generated maze, never on the shortest start-goal path [-]."""
    slip_prob: float = 0.0
    """Probability that a move goes in one of the two perpendicular directions instead (split evenly) [-]."""
    goal_reward: float = 1.0
    """Reward for reaching the goal, which ends the episode [reward]."""
    step_reward: float = -0.01
    """Reward added on every step, including the last (negative = per-step cost) [reward/step]."""
    carrot_reward: float = 0.5
    """Reward for the first step of an episode that ends on a carrot's cell (the carrot is eaten) [reward]."""
    trap_reward: float = -1.0
    """Reward for every step that ends on a trap cell [reward]."""
    trap_terminal: bool = True
    """Whether entering a trap ends the episode (True) or the agent may walk on (False)."""

    def __post_init__(self) -> None:
        if isinstance(self.maze_size, list):
            object.__setattr__(self, "maze_size", tuple(self.maze_size))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            ok = {
                "layout": value is None or isinstance(value, str),
                "maze_size": value is None or (
                    isinstance(value, tuple) and len(value) == 2
                    and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
                ),
                "trap_terminal": isinstance(value, (bool, np.bool_)),
            }.get(f.name)
            if ok is None:  # numeric fields
                kind = int if isinstance(f.default, int) and not isinstance(f.default, bool) else float
                ok = isinstance(value, (int, np.integer) if kind is int else (int, float, np.integer, np.floating))
                ok = ok and not isinstance(value, bool) and math.isfinite(value)
            if not ok:
                raise ValueError(f"MazeConfig.{f.name}: invalid value {value!r} (expected {f.type})")
        checks = [
            ("slip_prob", 0.0 <= self.slip_prob <= 1.0, "must be in [0, 1]"),
            ("loop_fraction", 0.0 <= self.loop_fraction <= 1.0, "must be in [0, 1]"),
            ("n_carrots", 0 <= self.n_carrots <= MAX_CARROTS, f"must be in [0, {MAX_CARROTS}]"),
            ("n_traps", self.n_traps >= 0, "must be >= 0"),
            ("maze_size", self.maze_size is None or (
                min(self.maze_size) >= 1 and self.maze_size[0] * self.maze_size[1] >= 2), "needs >= 1x2 rooms"),
        ]
        for name, good, why in checks:
            if not good:
                raise ValueError(f"MazeConfig.{name} {why}, got {getattr(self, name)!r}")
        if self.layout is not None and self.maze_size is not None:
            raise ValueError("MazeConfig: give either layout (ASCII) or maze_size (generated), not both")
        if self.maze_size is None:
            for name in ("maze_seed", "loop_fraction", "n_carrots", "n_traps"):
                if getattr(self, name) != getattr(MazeConfig, name):
                    raise ValueError(f"MazeConfig.{name} only applies to generated mazes (set maze_size)")

    @classmethod
    def from_kwargs(cls, config: MazeConfig | None = None, **kwargs: Any) -> MazeConfig:
        """``config`` (or the defaults) with ``kwargs`` overriding fields; unknown keys raise ValueError."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise ValueError(f"unknown MazeConfig key(s) {', '.join(unknown)}; valid keys: {', '.join(names)}")
        if config is not None and not isinstance(config, cls):
            raise ValueError(f"config must be a MazeConfig, got {type(config).__name__}")
        return dataclasses.replace(config or cls(), **kwargs)

    def build_layout(self) -> MazeLayout:
        """The static map this configuration describes."""
        if self.maze_size is not None:
            return generate_maze(self.maze_size, self.maze_seed, self.loop_fraction, self.n_carrots, self.n_traps)
        return parse_ascii(DYNA_MAZE if self.layout is None else self.layout)


class MazeEnv(gym.Env[int, int]):
    """A maze: reach the goal, maybe eat carrots on the way, avoid traps.

    ## Description
    A grid of walls and free cells (from ASCII text, a seeded maze generator, or by
    default Sutton & Barto's 6x9 Dyna maze). The agent starts on 'S' and the episode
    ends on 'G'. Carrots 'C' give a bonus the first time they are entered in an episode;
    traps 'T' give a penalty (and end the episode when ``trap_terminal``). With
    ``slip_prob`` > 0 a move goes perpendicular to the chosen direction with that
    probability (each side half of it), which makes transitions stochastic.

    ## Action Space
    ``Discrete(4)``: 0 = up, 1 = right, 2 = down, 3 = left. A move into a wall or off
    the map leaves the agent in place.

    ## Observation Space
    ``Discrete(n_cells * 2**n_carrots)``: ``state = mask * n_cells + cell_index`` where
    ``cell_index`` numbers the free (non-wall) cells row-major and ``mask`` has bit i
    set once carrot i has been eaten, so the observation is Markov. ``cell_of_state(s)``
    gives the (row, col) of a state, ``state_of(cell, mask)`` the inverse.

    ## Rewards
    ``step_reward`` every step, plus ``goal_reward`` on entering the goal, plus
    ``carrot_reward`` for a step ending on an uneaten carrot, plus ``trap_reward`` for every step
    that ends on a trap (walking in, or bumping a wall while standing on it).

    ## Starting State
    The 'S' cell with no carrot eaten, or ``reset(options={"start_state": s})`` for any
    non-terminal state ``s`` (including states with carrots already eaten).

    ## Episode End
    Terminated on reaching the goal, or a trap when ``trap_terminal`` is True (default).
    Truncated by the registered time limit (500 steps for ``simdrive/Maze-v0``).

    ## Model
    ``env.unwrapped.model`` is the exact :class:`~envs.tabular_model.TabularModel`
    (built on first access; a dense (S, A, S) array, so above 1 GiB it raises
    ``ModelTooLarge``, a ``ValueError`` and ``AttributeError``: ``hasattr(env, "model")`` is False).

    ## Arguments
    ``render_mode``: ``None``, ``"rgb_array"`` or ``"human"``; ``config``: a
    :class:`MazeConfig`; any :class:`MazeConfig` field as a keyword overrides it, e.g.
    ``gym.make("simdrive/Maze-v0", maze_size=(8, 8), maze_seed=3, slip_prob=0.1)``.
    Unknown keys or bad values raise ``ValueError`` naming them.

    ## Info
    ``step`` returns ``{"event": "" | "wall" | "carrot" | "trap" | "goal", "slipped": bool}``.

    ## Version History
    * v0: initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array"], "render_fps": 8}

    def __init__(self, render_mode: str | None = None, config: MazeConfig | None = None, **kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.config = MazeConfig.from_kwargs(config, **kwargs)
        self.layout = self.config.build_layout()
        layout, cfg = self.layout, self.config

        free = ~layout.walls
        self._cells = np.argwhere(free)  # (n_cells, 2) row-major
        self._cell_index = np.full(layout.shape, -1, dtype=np.int64)
        self._cell_index[free] = np.arange(len(self._cells))
        n_cells = len(self._cells)
        n_masks = 1 << len(layout.carrots)
        self._n_cells = n_cells
        n_states = n_cells * n_masks
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(4)

        cell_bit = np.zeros(n_cells, dtype=np.int64)  # carrot bit of each cell (0 = none)
        for i, cell in enumerate(layout.carrots):
            cell_bit[self._cell_index[cell]] = 1 << i
        is_trap = np.zeros(n_cells, dtype=bool)
        for cell in layout.traps:
            is_trap[self._cell_index[cell]] = True
        is_goal = np.zeros(n_cells, dtype=bool)
        is_goal[self._cell_index[layout.goal]] = True
        rows, cols = layout.shape
        r2 = self._cells[:, None, 0] + ACTION_DELTAS[None, :, 0]  # (n_cells, 4)
        c2 = self._cells[:, None, 1] + ACTION_DELTAS[None, :, 1]
        inside = (r2 >= 0) & (r2 < rows) & (c2 >= 0) & (c2 < cols)
        dest = np.where(inside, self._cell_index[r2.clip(0, rows - 1), c2.clip(0, cols - 1)], -1)
        stay = dest < 0
        dest = np.where(stay, np.arange(n_cells)[:, None], dest)  # walls and the map edge: stay

        # Deterministic outcome of moving in each direction from each state, as
        # (n_masks, n_cells, 4) arrays flattened to (S, 4): the one dynamics function;
        # step() samples a direction, the model enumerates them.
        mask = np.arange(n_masks)[:, None, None]
        bit = cell_bit[dest][None]
        new_carrot = (bit != 0) & ((mask & bit) == 0)
        reward = (cfg.step_reward + cfg.carrot_reward * new_carrot + cfg.trap_reward * is_trap[dest][None]
                  + cfg.goal_reward * is_goal[dest][None])
        event = np.select(
            [is_goal[dest][None], is_trap[dest][None], new_carrot, stay[None]],
            [_EV_GOAL, _EV_TRAP, _EV_CARROT, _EV_WALL], _EV_NONE,
        )
        self._next = ((mask | bit) * n_cells + dest[None]).reshape(n_states, 4)
        self._reward = np.broadcast_to(reward, (n_masks, n_cells, 4)).reshape(n_states, 4).astype(np.float64)
        self._event = np.broadcast_to(event, (n_masks, n_cells, 4)).reshape(n_states, 4).astype(np.int8)
        terminal_cell = is_goal | is_trap if cfg.trap_terminal else is_goal
        self._terminal = np.tile(terminal_cell, n_masks)
        self._start = int(self._cell_index[layout.start])
        self._model: TabularModel | None = None

        self._state = self._start
        self._scene = GridScene(
            shape=layout.shape,
            walls=layout.walls,
            fills={layout.start: START, layout.goal: GOAL} | {t: TRAP for t in layout.traps},
            labels={layout.goal: "G"},
            markers={c: CARROT for c in layout.carrots},
            cell_px=max(4, min(64, 720 // max(rows, cols))),
        )
        self._background: np.ndarray | None = None
        self._window: HumanWindow | None = None

    # --- the model and grid helpers ------------------------------------------------------

    @property
    def model(self) -> TabularModel:
        """The exact dynamics (p(s'|s,a), E[r|s,a], terminal mask), built on first access."""
        if self._model is None:
            n_states = self.observation_space.n
            n_bytes = n_states * n_states * 4 * 8
            if n_bytes > MAX_MODEL_BYTES:
                raise ModelTooLarge(
                    f"the dense model of this maze would take {n_bytes / 2**30:.1f} GiB "
                    f"({n_states} states); use a smaller maze or fewer carrots"
                )
            p = np.zeros((n_states, 4, n_states))
            r = np.zeros((n_states, 4))
            for a in range(4):
                for direction, prob in self._direction_probs(a):
                    np.add.at(p, (np.arange(n_states), a, self._next[:, direction]), prob)
                    r[:, a] += prob * self._reward[:, direction]
            term = np.flatnonzero(self._terminal)
            p[term] = 0.0
            p[term, :, term] = 1.0
            r[term] = 0.0
            self._model = TabularModel(p, r, self._terminal.copy())
        return self._model

    def _direction_probs(self, action: int) -> list[tuple[int, float]]:
        slip = self.config.slip_prob
        out = [(action, 1.0 - slip)] if slip < 1.0 else []
        if slip > 0.0:
            out += [((action + 1) % 4, slip / 2), ((action + 3) % 4, slip / 2)]
        return out

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid [cells]."""
        return self.layout.shape

    def cell_of_state(self, state: int) -> tuple[int, int]:
        """(row, col) of the agent's position in ``state`` (ignores the carrot mask)."""
        r, c = self._cells[int(state) % self._n_cells]
        return (int(r), int(c))

    def carrot_mask_of_state(self, state: int) -> int:
        """Bitmask of eaten carrots in ``state`` (bit i = ``layout.carrots[i]``)."""
        return int(state) // self._n_cells

    def state_of(self, cell: tuple[int, int], carrot_mask: int = 0) -> int:
        """The state index of standing on ``cell`` with the carrots of ``carrot_mask`` eaten."""
        r, c = cell
        if not (0 <= r < self.grid_shape[0] and 0 <= c < self.grid_shape[1]) or self._cell_index[r, c] < 0:
            raise ValueError(f"cell {cell} is a wall or outside the maze")
        if not 0 <= carrot_mask < (1 << len(self.layout.carrots)):
            raise ValueError(f"carrot_mask {carrot_mask} out of range for {len(self.layout.carrots)} carrots")
        return int(carrot_mask * self._n_cells + self._cell_index[r, c])

    def draw_values(
        self, values: np.ndarray | None = None, policy: np.ndarray | None = None, carrot_mask: int = 0
    ) -> np.ndarray:
        """An RGB picture of per-state ``values`` (S,) and/or greedy ``policy`` (S,) actions
        for the states with ``carrot_mask`` eaten (the maze has one such state per free cell);
        arrows are left out on terminal states, eaten carrots are not drawn."""
        states = self.state_of(self.layout.start, carrot_mask) - self._start + np.arange(self._n_cells)
        sub_values = None if values is None else np.asarray(values, dtype=np.float64)[states]
        sub_policy = None
        if policy is not None:
            sub_policy = np.where(self._terminal[states], -1, np.asarray(policy, dtype=np.int64)[states])
        value_grid, policy_grid = state_tables_to_grid(self.grid_shape, self._cells, sub_values, sub_policy)
        eaten = {c for i, c in enumerate(self.layout.carrots) if carrot_mask >> i & 1}
        return draw_grid(self._scene, None, values=value_grid, policy=policy_grid, hidden_markers=eaten)

    # --- Gymnasium API -------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        start = start_state_option(options, self.observation_space.n, self._terminal)
        self._state = self._start if start is None else start
        if self.render_mode == "human":
            self.render()
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"action must be in [0, 4), got {action!r}")
        direction = a
        slip = self.config.slip_prob
        if slip > 0.0:
            u = self.np_random.random()
            if u < slip:
                direction = (a + 1) % 4 if u < slip / 2 else (a + 3) % 4
        s = self._state
        self._state = int(self._next[s, direction])
        reward = float(self._reward[s, direction])
        terminated = bool(self._terminal[self._state])
        info = {"event": _EVENTS[self._event[s, direction]], "slipped": direction != a}
        if self.render_mode == "human":
            self.render()
        return self._state, reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        if self._background is None:
            self._background = draw_static(self._scene)
        mask = self.carrot_mask_of_state(self._state)
        eaten = {c for i, c in enumerate(self.layout.carrots) if mask >> i & 1}
        frame = draw_grid(self._scene, self.cell_of_state(self._state), hidden_markers=eaten,
                          background=self._background)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = HumanWindow("SimDrive maze", self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None


_EV_NONE, _EV_WALL, _EV_CARROT, _EV_TRAP, _EV_GOAL = range(5)
_EVENTS = ("", "wall", "carrot", "trap", "goal")
