"""Drawing board positions (opencv on numpy arrays) and the pygame window with mouse input.

``draw_board`` returns an RGB image; ``pixel_to_action`` / ``event_to_action`` map a click
to a move (a cell for tic-tac-toe, a column for Connect Four); ``BoardWindow`` shows frames
and waits for a click. pygame is imported only inside ``BoardWindow`` and ``event_to_action``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from envs.boardgames.base import BoardState, KInARowGame

CELL = 80  # [px] side of one board cell
MARGIN = 10  # [px] border around the board
BACKGROUND = (235, 235, 225)
GRID = (60, 60, 60)
FIRST = (200, 40, 40)  # X / red
SECOND = (30, 90, 200)  # O / yellow-blue
HIGHLIGHT = (60, 180, 60)


def board_pixels(game: KInARowGame, cell: int = CELL) -> tuple[int, int]:
    """(width, height) of the image ``draw_board`` returns [px]."""
    return game.cols * cell + 2 * MARGIN, game.rows * cell + 2 * MARGIN


def draw_board(game: KInARowGame, state: BoardState, last_action: int | None = None, cell: int = CELL) -> np.ndarray:
    """(H, W, 3) uint8 RGB picture of ``state``; the last move's cell is outlined in green."""
    width, height = board_pixels(game, cell)
    image = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    board = np.asarray(state.board)
    if game.gravity:
        cv2.rectangle(image, (MARGIN, MARGIN), (width - MARGIN, height - MARGIN), (40, 70, 160), -1)
    for r in range(game.rows + 1):
        y = MARGIN + r * cell
        if not game.gravity and 0 < r < game.rows:
            cv2.line(image, (MARGIN, y), (width - MARGIN, y), GRID, 3)
    for c in range(game.cols + 1):
        x = MARGIN + c * cell
        if not game.gravity and 0 < c < game.cols:
            cv2.line(image, (x, MARGIN), (x, height - MARGIN), GRID, 3)
    last_cell = _last_cell(game, board, last_action)
    for r in range(game.rows):
        for c in range(game.cols):
            cx, cy = MARGIN + c * cell + cell // 2, MARGIN + r * cell + cell // 2
            stone = int(board[r, c])
            if game.gravity:
                color = {1: (220, 40, 40), -1: (240, 210, 40), 0: BACKGROUND}[stone]
                cv2.circle(image, (cx, cy), int(cell * 0.4), color, -1, cv2.LINE_AA)
            elif stone == 1:
                d = int(cell * 0.3)
                cv2.line(image, (cx - d, cy - d), (cx + d, cy + d), FIRST, 6, cv2.LINE_AA)
                cv2.line(image, (cx - d, cy + d), (cx + d, cy - d), FIRST, 6, cv2.LINE_AA)
            elif stone == -1:
                cv2.circle(image, (cx, cy), int(cell * 0.32), SECOND, 6, cv2.LINE_AA)
            if last_cell == (r, c):
                x0, y0 = MARGIN + c * cell, MARGIN + r * cell
                cv2.rectangle(image, (x0 + 3, y0 + 3), (x0 + cell - 3, y0 + cell - 3), HIGHLIGHT, 3)
    return image


def _last_cell(game: KInARowGame, board: np.ndarray, action: int | None) -> tuple[int, int] | None:
    if action is None:
        return None
    if game.gravity:
        filled = np.flatnonzero(board[:, action] != 0)
        return (int(filled[0]), int(action)) if filled.size else None
    return divmod(int(action), game.cols)


def pixel_to_action(game: KInARowGame, x: float, y: float, cell: int = CELL) -> int | None:
    """The action under pixel (x, y) of a ``draw_board`` image, or None outside the board.
    Connect Four: the column clicked (any row); tic-tac-toe: the cell clicked."""
    col = int((x - MARGIN) // cell)
    row = int((y - MARGIN) // cell)
    if not (0 <= col < game.cols and 0 <= row < game.rows) or x < MARGIN or y < MARGIN:
        return None
    return col if game.gravity else row * game.cols + col


def event_to_action(event: Any, game: KInARowGame, state: BoardState | None = None, cell: int = CELL) -> int | None:
    """Map a pygame event to a move: a left click on a cell/column gives its action; anything
    else (other events, clicks outside the board, illegal moves when ``state`` is given) gives None."""
    import pygame

    if event.type != pygame.MOUSEBUTTONDOWN or getattr(event, "button", 1) != 1:
        return None
    action = pixel_to_action(game, event.pos[0], event.pos[1], cell)
    if action is None:
        return None
    if state is not None and not game.legal_mask(state)[action]:
        return None
    return action


class BoardWindow:
    """A pygame window showing board images; ``wait_for_action`` blocks until a legal click."""

    def __init__(self, game: KInARowGame, title: str = "SimDrive board game", cell: int = CELL) -> None:
        try:
            import pygame
        except ImportError as error:  # pragma: no cover - pygame is a core dependency
            raise ImportError("the human view needs pygame: pip install pygame") from error
        self._pygame = pygame
        self.game = game
        self.cell = cell
        pygame.display.init()  # not pygame.init(): no audio device is needed
        pygame.font.init()
        self.size = board_pixels(game, cell)
        self.screen = pygame.display.set_mode((self.size[0], self.size[1] + 30))
        pygame.display.set_caption(title)
        self.clock = pygame.time.Clock()
        self.font = pygame.font.Font(None, 24)
        self.closed = False

    def show(self, frame: np.ndarray, caption: str = "", fps: float | None = None) -> None:
        pygame = self._pygame
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        self.screen.fill((255, 255, 255))
        self.screen.blit(surface, (0, 0))
        if caption:
            self.screen.blit(self.font.render(caption, True, (0, 0, 0)), (8, self.size[1] + 6))
        pygame.display.flip()
        pygame.event.pump()  # keep the window responsive; events stay queued for wait_for_action
        if fps:
            self.clock.tick(fps)

    def wait_for_action(self, state: BoardState) -> int | None:
        """Block until the user clicks a legal move (returns it) or closes the window (None)."""
        pygame = self._pygame
        while True:
            event = pygame.event.poll()  # one event at a time: later clicks stay queued
            if event.type == pygame.NOEVENT:
                self.clock.tick(30)
                continue
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                self.closed = True
                return None
            action = event_to_action(event, self.game, state, self.cell)
            if action is not None:
                return action

    def close(self) -> None:
        self._pygame.display.quit()
