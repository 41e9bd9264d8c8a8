"""`simdrive watch`: real-time videos of driving episodes (every physics frame, at the physics
frequency), `--env-arg`, and a window that keeps real time and shows when it is paused."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import time

import cv2
import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

import envs  # noqa: F401
from simdrive import viewer
from simdrive.cli import app
from simdrive.errors import UserError

runner = CliRunner()


def _expert_episode_steps(env_id, seed, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=seed)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.unwrapped.expert_action())
        steps += 1
        done = terminated or truncated
    substeps, sim = env.unwrapped.config.substeps, env.unwrapped.config.sim_frequency
    env.close()
    return steps, substeps, sim


def test_driving_video_plays_in_real_time(tmp_path):
    """Highway decides once a second; the video holds every physics frame at the physics rate,
    so its duration is the simulated time (before: one frame per decision, ten times too fast)."""
    target = tmp_path / "x.mp4"
    result = runner.invoke(app, ["watch", "expert", "simdrive/Highway-v0", "--episodes", "1", "--seed", "2",
                                 "--env-arg", "route_length=60", "--record", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    steps, substeps, sim = _expert_episode_steps("simdrive/Highway-v0", 2, route_length=60)
    assert 2 <= steps < 10  # --env-arg reached the environment: a 60 m route, not 750 m
    video = cv2.VideoCapture(str(target))
    fps, frames = video.get(cv2.CAP_PROP_FPS), int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    video.release()
    assert fps == pytest.approx(sim)
    assert frames == 1 + steps * substeps
    assert (frames - 1) / fps == pytest.approx(steps * substeps / sim)  # video seconds = simulated seconds
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]  # no temporary file left


def test_fps_option_sets_the_video_rate(tmp_path):
    target = tmp_path / "x.gif"
    result = runner.invoke(app, ["watch", "expert", "simdrive/Highway-v0", "--episodes", "1", "--fps", "7.5",
                                 "--env-arg", "route_length=30", "--env-arg", "vehicles=0", "--record", str(target)])
    assert result.exit_code == 0, result.output
    steps, substeps, _ = _expert_episode_steps("simdrive/Highway-v0", 0, route_length=30, vehicles=0)
    from PIL import Image

    with Image.open(target) as gif:
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    frames = 1 + steps * substeps
    assert sum(durations) == pytest.approx(frames * 1000 / 7.5, abs=10)  # centisecond delays, exact in total


def test_bad_env_arg_is_one_line(tmp_path):
    result = runner.invoke(app, ["watch", "expert", "simdrive/Highway-v0", "--env-arg", "lanes", "--record", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["watch", "expert", "simdrive/Highway-v0", "--env-arg", "lanes=99", "--record", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2 and "lanes" in result.stderr and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_watch_renders_physics_frames_only_for_envs_that_have_them():
    from simdrive.watch import render_mode_for

    assert render_mode_for("simdrive/Highway-v0") == "rgb_array_list"
    assert render_mode_for("simdrive/GridWorld4x4-v0") == "rgb_array"  # one frame per step, as before


def test_rollout_frames_one_per_step_for_plain_envs():
    env = gym.make("simdrive/GridWorld4x4-v0", render_mode="rgb_array")
    frames = list(viewer.rollout_frames(env, lambda obs: 0, episodes=1, seed=0))
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
        done = terminated or truncated
    assert len(frames) == steps + 1


def test_recorder_aborts_without_leaving_files(tmp_path):
    rec = viewer.VideoRecorder(tmp_path / "v.mp4", 15.0)
    rec.add(np.zeros((32, 48, 3), np.uint8))
    assert rec.tmp.exists()  # written as it comes, under a temporary name
    rec.abort()
    assert not list(tmp_path.iterdir())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="choose another --record path"):
        viewer.VideoRecorder(blocker / "sub" / "v.mp4", 15.0).add(np.zeros((8, 8, 3), np.uint8))


# ------------------------------------------------------------------ the window
@pytest.fixture
def window():
    w = viewer.Window("test window", fps=50.0)
    yield w
    w.close()


def test_window_keeps_the_frame_rate(window):
    frame = np.zeros((40, 60, 3), np.uint8)
    start = time.perf_counter()
    for _ in range(10):
        window.show(frame)
    assert time.perf_counter() - start >= 9 / 50 - 0.01  # frame k shown at start + k / fps


def test_window_shows_a_pause_sign(window):
    pygame = window.pygame
    frame = np.full((120, 200, 3), 180, np.uint8)
    window.show(frame)
    screen = lambda: np.transpose(pygame.surfarray.array3d(pygame.display.get_surface()), (1, 0, 2))  # noqa: E731
    assert np.array_equal(screen(), frame)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
    window.poll()
    assert window.paused
    shown = screen()
    assert np.array_equal(shown, viewer.paused_frame(frame))
    assert shown.mean() < 0.7 * frame.mean()  # dimmed ...
    band = shown[45:75]
    assert (band.min(-1) > 200).sum() > 100  # ... with the sign's bars and caption in white
    assert "(paused)" in pygame.display.get_caption()[0]
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE))
    window.poll()
    assert not window.paused and "(paused)" not in pygame.display.get_caption()[0]
