"""Showing episodes: a pygame window with a heads-up display, or a video file.

Frames come from the environment's render: ``rgb_array`` gives one frame per step;
``rgb_array_list`` (the driving environments) gives every frame since the last call, one per
physics step, so a window or video at the environment's ``render_fps`` runs in real time.
The HUD is drawn onto the frame with opencv, so a recording shows exactly what the window
shows. pygame is only imported when a window is opened.
"""

from __future__ import annotations

import os
import time
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
    """Writes frames to an .mp4 (opencv, streamed to disk as they come) or a .gif (Pillow,
    palette frames kept until the end) under a temporary name, renamed on :meth:`close`.
    ``fps`` is the video's frame rate: the frames' real-time rate makes a real-time video."""

    def __init__(self, path: str | os.PathLike[str], fps: float):
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise UserError(f"--record needs a .mp4 or .gif file name, got '{self.path.name}'")
        self.fps = fps
        self.count = 0  # frames added
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{os.getpid()}{self.path.suffix}")
        self._gif: list[Any] = []
        self._writer: Any = None
        self._size: tuple[int, int] | None = None  # (width, height) of the video

    def add(self, frame: np.ndarray) -> None:
        if self._size is None:
            self._size = (frame.shape[1], frame.shape[0])
        elif frame.shape[:2] != (self._size[1], self._size[0]):
            frame = cv2.resize(frame, self._size)
        if self.path.suffix.lower() == ".gif":
            from PIL import Image

            self._gif.append(Image.fromarray(frame).quantize(256))
        else:
            if self._writer is None:
                self._make_folder()
                self._writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._size)
                if not self._writer.isOpened():
                    self.abort()
                    raise UserError(f"opencv cannot write {self.path}; try a .gif instead")
            self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.count += 1

    def close(self) -> Path:
        try:
            if not self.count:
                raise UserError("nothing to record: the episode produced no frames")
            try:
                if self._gif:
                    self._make_folder()
                    # GIF delays are whole centiseconds: alternate them so the total time stays exact
                    ends = np.round(np.arange(1, len(self._gif) + 1) * 100.0 / self.fps) * 10
                    durations = np.diff(np.concatenate([[0.0], ends])).astype(int).tolist()
                    self._gif[0].save(self.tmp, save_all=True, append_images=self._gif[1:], duration=durations, loop=0)
                if self._writer is not None:
                    self._writer.release()
                    self._writer = None
                os.replace(self.tmp, self.path)
            except OSError as error:
                raise UserError(f"cannot write {self.path}: {error.strerror or error}; choose another --record path") from None
        finally:
            self.abort()
        return self.path

    def _make_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create the folder of {self.path}: {error.strerror or error}; choose another --record path") from None

    def abort(self) -> None:
        """Drop what was written so far (the temporary file); the target is left untouched."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._gif = []
        if self.tmp.exists():
            self.tmp.unlink()


PAUSE_SIGN = "PAUSED - space resumes, Esc quits"


def paused_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` dimmed, with a pause sign (two bars and a caption) across its middle."""
    out = (np.asarray(frame[..., :3], dtype=np.float32) * 0.55).astype(np.uint8)
    height, width = out.shape[:2]
    band = max(40, height // 6)
    top = (height - band) // 2
    out[top:top + band] = (0.4 * out[top:top + band]).astype(np.uint8)
    bar_h = band - 16
    bar_w = max(4, bar_h // 4)
    x0 = 12
    for x in (x0, x0 + 2 * bar_w):
        cv2.rectangle(out, (x, top + 8), (x + bar_w, top + 8 + bar_h), (255, 255, 255), -1)
    scale = max(0.45, min(0.9, width / 900))
    text_y = top + band // 2 + int(10 * scale)
    cv2.putText(out, PAUSE_SIGN, (x0 + 3 * bar_w + 12, text_y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


class Window:
    """A pygame window that shows RGB frames at a fixed rate (``fps`` frames per second, on a
    schedule that catches up after a slow frame), with a pause sign while paused."""

    CATCH_UP_LIMIT = 0.25  # [s] further behind schedule than this, the schedule restarts

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
        self.title = title
        self.fps = fps
        self.paused = False
        self.closed = False
        self.last_frame: np.ndarray | None = None
        self._due: float | None = None  # when the next frame is due [s, perf_counter]

    def _blit(self, frame: np.ndarray) -> None:
        pygame = self.pygame
        height, width = frame.shape[:2]
        if self.screen is None or self.screen.get_size() != (width, height):
            self.screen = pygame.display.set_mode((width, height))
        surface = pygame.surfarray.make_surface(np.transpose(frame, (1, 0, 2)))
        self.screen.blit(surface, (0, 0))
        pygame.display.flip()

    def show(self, frame: np.ndarray) -> None:
        """Show ``frame`` when it is due: frame k at start + k / fps, so the window keeps real time."""
        now = time.perf_counter()
        if self._due is None or now - self._due > self.CATCH_UP_LIMIT:
            self._due = now
        elif self._due > now:
            time.sleep(self._due - now)
        self.last_frame = frame
        self._blit(frame)
        self._due += 1.0 / self.fps

    def set_paused(self, paused: bool) -> None:
        """Pause or resume; while paused the last frame is shown dimmed under a pause sign."""
        self.paused = paused
        self.pygame.display.set_caption(f"{self.title} (paused)" if paused else self.title)
        if paused and self.last_frame is not None:
            self._blit(paused_frame(self.last_frame))
        self._due = None  # the schedule restarts after a pause

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
                    self.set_paused(not self.paused)
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
    """Yield HUD-annotated frames of ``episodes`` episodes played by ``policy``: one per step
    (``rgb_array``), or all the frames the env rendered during each step (``rgb_array_list``);
    those before a step's last frame still show the HUD of the step before (their time)."""
    min_lines = 2 + (MAX_EXTRA_HUD_LINES if extra_hud else 0)
    for episode in range(episodes):
        obs, info = env.reset(seed=seed + episode)
        if reset_hook is not None:
            reset_hook()
        total, step, reward, done = 0.0, 0, 0.0, False
        lines: list[str] = []
        while True:
            rendered = env.render()
            frames = rendered if isinstance(rendered, list) else [rendered]
            if rendered is None or not frames or any(frame is None for frame in frames):
                raise UserError("this environment cannot render frames (no rgb_array render mode)")
            extra = list(extra_hud(info))[:MAX_EXTRA_HUD_LINES] if extra_hud else []
            before, lines = lines, hud_lines(FrameInfo(episode + 1, step, total, reward, extra))
            for frame in frames[:-1]:
                yield draw_hud(frame, before or lines, min_lines=min_lines)
            yield draw_hud(frames[-1], lines, min_lines=min_lines)
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
    """Show (or, with ``record``, write to a video) ``episodes`` episodes at ``fps`` frames per second."""
    frames = rollout_frames(env, policy, episodes, seed, extra_hud, reset_hook)
    if record:
        recorder = VideoRecorder(record, fps)
        try:
            for frame in frames:
                recorder.add(frame)
        except BaseException:
            recorder.abort()
            raise
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
