"""Showing episodes: a pygame window with a heads-up display, or a video file.

Frames come from the environment's ``rgb_array`` render; the HUD is drawn onto the
frame with opencv, so a recording shows exactly what the window shows. pygame is only
imported when a window is opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import cv2
import numpy as np

from simdrive.errors import UserError

VIDEO_SUFFIXES = (".mp4", ".gif")
MAX_EPISODE_FRAMES = 10_000  # an episode shown or recorded stops here if the env has no time limit


@dataclass
class FrameInfo:
    """What the HUD shows for one frame."""

    episode: int
    step: int
    episode_return: float
    reward: float
    extra: Sequence[str] = ()


MAX_EXTRA_HUD_LINES = 4


def draw_hud(frame: np.ndarray, lines: Sequence[str], min_lines: int = 0) -> np.ndarray:
    """Return ``frame`` with a dark heads-up bar above it holding ``lines`` of text
    (a bar rather than an overlay, so small frames such as grid worlds stay visible).
    ``min_lines`` keeps the bar's height fixed so every frame of a video has one size."""
    image = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
    width = image.shape[1]
    scale = max(0.4, min(0.6, width / 1000))
    line_height = int(round(34 * scale))
    bar = np.full((line_height * max(len(lines), min_lines) + 8, width, 3), 30, dtype=np.uint8)
    for index, line in enumerate(lines):
        y = 4 + line_height * (index + 1) - line_height // 4
        cv2.putText(bar, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)
    return np.concatenate([bar, image], axis=0)


def hud_lines(info: FrameInfo) -> list[str]:
    return [
        f"episode {info.episode}  step {info.step}",
        f"return {info.episode_return:.2f}  reward {info.reward:+.2f}",
        *info.extra,
    ]


class VideoRecorder:
    """Collects frames and writes an .mp4 (opencv) or .gif (Pillow) atomically."""

    def __init__(self, path: str | os.PathLike[str], fps: float):
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise UserError(f"--record needs a .mp4 or .gif file name, got '{self.path.name}'")
        self.fps = fps
        self.frames: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        self.frames.append(frame)

    def close(self) -> Path:
        if not self.frames:
            raise UserError("nothing to record: the episode produced no frames")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.tmp{os.getpid()}{self.path.suffix}")
        try:
            if self.path.suffix.lower() == ".gif":
                from PIL import Image

                images = [Image.fromarray(frame) for frame in self.frames]
                images[0].save(tmp, save_all=True, append_images=images[1:], duration=int(1000 / self.fps), loop=0)
            else:
                height, width = self.frames[0].shape[:2]
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
                if not writer.isOpened():
                    raise UserError(f"opencv cannot write {self.path}; try a .gif instead")
                for frame in self.frames:
                    if frame.shape[:2] != (height, width):
                        frame = cv2.resize(frame, (width, height))
                    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                writer.release()
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return self.path


class Window:
    """A pygame window that shows RGB frames at a fixed rate."""

    def __init__(self, title: str, fps: float):
        try:
            import pygame
        except ImportError:  # pragma: no cover - pygame is a dependency
            raise UserError("the viewer needs pygame; reinstall simdrive") from None
        self.pygame = pygame
        pygame.display.init()  # not pygame.init(): no audio device is needed
        pygame.display.set_caption(title)
        self.screen = None
        self.clock = pygame.time.Clock()
        self.fps = fps
        self.paused = False
        self.closed = False

    def show(self, frame: np.ndarray) -> None:
        pygame = self.pygame
        height, width = frame.shape[:2]
        if self.screen is None or self.screen.get_size() != (width, height):
            self.screen = pygame.display.set_mode((width, height))
        surface = pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2)))
        self.screen.blit(surface, (0, 0))
        pygame.display.flip()
        self.clock.tick(self.fps)

    def poll(self) -> list[Any]:
        """Handle window events (close, Esc quits, space pauses); return the key events."""
        pygame = self.pygame
        keys = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.closed = True
            elif event.type == pygame.KEYDOWN:
                if event.key in (pygame.K_ESCAPE, pygame.K_q):
                    self.closed = True
                elif event.key == pygame.K_SPACE:
                    self.paused = not self.paused
                keys.append(event)
        return keys

    def close(self) -> None:
        self.pygame.display.quit()


def rollout_frames(
    env: Any,
    policy: Callable[[Any], Any],
    episodes: int,
    seed: int,
    extra_hud: Callable[[dict], Sequence[str]] | None = None,
    reset_hook: Callable[[], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield HUD-annotated frames of ``episodes`` episodes played by ``policy``."""
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        if reset_hook is not None:
            reset_hook()
        total, step, reward, done = 0.0, 0, 0.0, False
        while True:
            frame = env.render()
            if frame is None:
                raise UserError("this environment cannot render frames (no rgb_array render mode)")
            extra = list(extra_hud(info))[:MAX_EXTRA_HUD_LINES] if extra_hud else []
            yield draw_hud(frame, hud_lines(FrameInfo(episode + 1, step, total, reward, extra)),
                           min_lines=2 + (MAX_EXTRA_HUD_LINES if extra_hud else 0))
            if done or step >= MAX_EPISODE_FRAMES:
                break
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            reward = float(reward)
            total += reward
            step += 1
            done = bool(terminated or truncated)


def play(
    env: Any,
    policy: Callable[[Any], Any],
    episodes: int,
    seed: int,
    fps: float,
    record: str | None,
    title: str,
    extra_hud: Callable[[dict], Sequence[str]] | None = None,
    reset_hook: Callable[[], None] | None = None,
) -> Path | None:
    """Show (or, with ``record``, write to a video) ``episodes`` episodes."""
    frames = rollout_frames(env, policy, episodes, seed, extra_hud, reset_hook)
    if record:
        recorder = VideoRecorder(record, fps)
        for frame in frames:
            recorder.add(frame)
        return recorder.close()
    window = Window(title, fps)
    try:
        for frame in frames:
            window.show(frame)
            window.poll()
            while window.paused and not window.closed:
                window.poll()
                window.clock.tick(30)
            if window.closed:
                break
    finally:
        window.close()
    return None


def info_hud(info: dict) -> list[str]:
    """Extra HUD lines from an env's ``info``: the events that are true now (collision,
    off-road, ...), and the string-valued ones (what was hit). Numbers are left to the
    environment's own display."""
    lines = []
    for key, value in info.items():
        if isinstance(value, (bool, np.bool_)) and value:
            lines.append(key.replace("_", " "))
        elif isinstance(value, str) and value and value != "none" and len(value) < 40:
            lines.append(f"{key.replace('_', ' ')}: {value}")
    return lines[:MAX_EXTRA_HUD_LINES]
