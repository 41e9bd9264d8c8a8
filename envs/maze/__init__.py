"""The maze environment, split by concern: ``layout`` (typed static map + ASCII),
``generator`` (seeded random mazes), ``env`` (the Gymnasium env and its config).
Drawing is shared with the grid worlds in :mod:`envs.grid_render`."""

from envs.maze.env import MazeConfig, MazeEnv, ModelTooLarge
from envs.maze.generator import generate_maze, shortest_path
from envs.maze.layout import CLIFF, DYNA_MAZE, MAX_CARROTS, MazeLayout, parse_ascii

__all__ = [
    "CLIFF", "DYNA_MAZE", "MAX_CARROTS", "MazeConfig", "MazeEnv", "MazeLayout", "ModelTooLarge",
    "generate_maze", "parse_ascii", "shortest_path",
]
