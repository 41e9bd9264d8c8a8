"""Maze layouts: the typed static map, and its ASCII form.

A :class:`MazeLayout` is the part of a maze that never changes during an episode: walls,
start, goal, carrots and traps. It is built from ASCII text (:func:`parse_ascii`) or by the
generator (:mod:`envs.maze.generator`), and turned back into text by :meth:`MazeLayout.to_ascii`.

ASCII characters::

    #  wall            .  free cell        S  start (exactly one)
    G  goal (exactly one, terminal)        C  carrot (positive reward, eaten once; at most 6)
    T  trap (negative reward; terminal unless the env says otherwise)

Rows must all have the same length. Leading/trailing blank lines and a common indentation
are removed, so a triple-quoted string can be passed as is. Cells outside the map behave
like walls (a move off the map leaves the agent where it is).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

WALL, FREE, START, GOAL, CARROT, TRAP = "#", ".", "S", "G", "C", "T"
VALID_CHARS = WALL + FREE + START + GOAL + CARROT + TRAP

#: Most carrots a layout may hold: each one doubles the number of states (the eaten-carrot
#: bitmask is part of the state, to keep the observation Markov), so 6 -> 64x the cells.
MAX_CARROTS = 6

#: Sutton & Barto's Dyna maze (Figure 8.2): 6x9, start on the left, goal top-right.
DYNA_MAZE = """
.......#G
..#....#.
S.#....#.
..#......
.....#...
.........
"""

#: Sutton & Barto's cliff walking grid (Example 6.6), with the cliff as traps.
CLIFF = """
............
............
............
STTTTTTTTTTG
"""


@dataclass(frozen=True, eq=False)
class MazeLayout:
    """The static map of a maze."""

    walls: np.ndarray
    """(rows, cols) bool, True where a wall is."""
    start: tuple[int, int]
    """(row, col) of the start cell."""
    goal: tuple[int, int]
    """(row, col) of the goal cell (terminal)."""
    carrots: tuple[tuple[int, int], ...] = ()
    """(row, col) of each carrot, in bit order of the eaten-carrot mask (bit i = carrot i)."""
    traps: tuple[tuple[int, int], ...] = ()
    """(row, col) of each trap."""

    def __post_init__(self) -> None:
        walls = np.array(self.walls, dtype=bool)
        if walls.ndim != 2 or walls.size == 0:
            raise ValueError(f"walls must be a non-empty 2-D array, got shape {walls.shape}")
        walls.flags.writeable = False
        object.__setattr__(self, "walls", walls)
        object.__setattr__(self, "start", _cell(self.start))
        object.__setattr__(self, "goal", _cell(self.goal))
        object.__setattr__(self, "carrots", tuple(_cell(c) for c in self.carrots))
        object.__setattr__(self, "traps", tuple(_cell(c) for c in self.traps))
        if len(self.carrots) > MAX_CARROTS:
            raise ValueError(
                f"a maze may hold at most {MAX_CARROTS} carrots (each doubles the state count), "
                f"got {len(self.carrots)}"
            )
        specials = [("start", self.start), ("goal", self.goal)]
        specials += [("carrot", c) for c in self.carrots] + [("trap", t) for t in self.traps]
        seen: dict[tuple[int, int], str] = {}
        rows, cols = walls.shape
        for name, (r, c) in specials:
            if not (0 <= r < rows and 0 <= c < cols):
                raise ValueError(f"{name} cell {(r, c)} is outside the {rows}x{cols} map")
            if walls[r, c]:
                raise ValueError(f"{name} cell {(r, c)} is a wall")
            if (r, c) in seen:
                raise ValueError(f"{name} cell {(r, c)} is also the {seen[(r, c)]} cell")
            seen[(r, c)] = name

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) [cells]."""
        return (int(self.walls.shape[0]), int(self.walls.shape[1]))

    def to_ascii(self) -> str:
        """The layout as ASCII text (the inverse of :func:`parse_ascii`)."""
        chars = np.where(self.walls, WALL, FREE).astype("<U1")
        chars[self.start] = START
        chars[self.goal] = GOAL
        for cell in self.carrots:
            chars[cell] = CARROT
        for cell in self.traps:
            chars[cell] = TRAP
        return "\n".join("".join(row) for row in chars)


def _cell(value) -> tuple[int, int]:
    r, c = value
    return (int(r), int(c))


def parse_ascii(text: str) -> MazeLayout:
    """Parse an ASCII maze (see the module docstring); bad input raises ``ValueError``."""
    if not isinstance(text, str):
        raise ValueError(f"layout must be a str, got {type(text).__name__}")
    lines = [line.rstrip() for line in textwrap.dedent(text).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ValueError("layout is empty")
    width = len(lines[0])
    for i, line in enumerate(lines):
        if len(line) != width:
            raise ValueError(
                f"layout rows must all have the same length: row 0 has {width} characters, "
                f"row {i} has {len(line)} ({line!r})"
            )
        for j, ch in enumerate(line):
            if ch not in VALID_CHARS:
                raise ValueError(
                    f"unknown character {ch!r} at row {i}, column {j} of the layout; "
                    f"valid: '#' wall, '.' free, 'S' start, 'G' goal, 'C' carrot, 'T' trap"
                )
    grid = np.array([list(line) for line in lines])
    found = {ch: [(int(r), int(c)) for r, c in zip(*np.nonzero(grid == ch))] for ch in (START, GOAL)}
    for ch, name in ((START, "start"), (GOAL, "goal")):
        if len(found[ch]) != 1:
            where = f" at {found[ch]}" if found[ch] else ""
            raise ValueError(f"layout needs exactly one {name} {ch!r}, found {len(found[ch])}{where}")
    return MazeLayout(
        walls=grid == WALL,
        start=found[START][0],
        goal=found[GOAL][0],
        carrots=tuple((int(r), int(c)) for r, c in zip(*np.nonzero(grid == CARROT))),
        traps=tuple((int(r), int(c)) for r, c in zip(*np.nonzero(grid == TRAP))),
    )
