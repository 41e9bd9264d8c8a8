"""`simdrive drive`: a person drives the ego vehicle with the arrow keys (and, with
``--record``, makes demonstrations).

Continuous control (the default for the driving environments): Left/Right steer, Up is
throttle, Down is brake, each held as long as the key is down. With meta-actions (``--env-arg
action=meta``) a key press is one decision: Left/Right change lane, Up is faster, Down is
slower. With the seven discrete actions (``action=discrete``, or CarRacing), held keys pick the
closest combination.

Keys: Esc quits (a recording is saved), space pauses, R restarts the episode (the unfinished
episode is not recorded), D discards the last recorded episode. When an episode ends the
window says how (crash, off-road, success, time out) and waits: Enter (or N) starts the next
episode, D discards the one that just ended. The key legend stays on screen.

With ``--record NAME`` every finished episode goes into the Minari dataset ``NAME`` (see
:mod:`simdrive.data`): observations of every sensor, the actions in the env's action space,
per-episode metadata with ``source: human``. The last episode is held back until the next
one ends (so D can drop it); Esc, closing the window or Ctrl-C write it and keep the dataset.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import cv2
import gymnasium as gym
import numpy as np

from simdrive import viewer
from simdrive.envs_registry import make_env
from simdrive.errors import UserError

KEYS = ("left", "right", "up", "down")
META = {"left": 0, "right": 2, "up": 3, "down": 4}  # lane_left, idle(1), lane_right, faster, slower
DISCRETE_NONE, DISCRETE_ACCELERATE, DISCRETE_BRAKE, DISCRETE_LEFT, DISCRETE_LEFT_BRAKE, DISCRETE_RIGHT, DISCRETE_RIGHT_BRAKE = range(7)
LEGEND = "arrows drive  space pause  R restart  D discard last  Esc quit"
OUTCOME_TEXT = {"crash": "crash", "offroad": "off the road", "success": "route completed", "timeout": "time out", "end": "episode over"}


def keyboard_action(action_space: gym.Space, held: set[str], tapped: set[str]) -> Any:
    """The action for the arrow keys ``held`` down now and ``tapped`` since the last step.

    Steering is positive to the left, as in the driving environments.
    """
    steer = float("left" in held) - float("right" in held)
    if isinstance(action_space, gym.spaces.Box) and action_space.shape == (3,):
        return np.array([steer, float("up" in held), float("down" in held)], dtype=action_space.dtype)
    if isinstance(action_space, gym.spaces.Discrete) and action_space.n == 5:
        for key in ("left", "right", "up", "down"):
            if key in tapped:
                return META[key]
        return 1  # idle
    if isinstance(action_space, gym.spaces.Discrete) and action_space.n == 7:
        brake = "down" in held
        if steer > 0:
            return DISCRETE_LEFT_BRAKE if brake else DISCRETE_LEFT
        if steer < 0:
            return DISCRETE_RIGHT_BRAKE if brake else DISCRETE_RIGHT
        if brake:
            return DISCRETE_BRAKE
        return DISCRETE_ACCELERATE if "up" in held else DISCRETE_NONE
    raise UserError(f"cannot drive an environment with actions {action_space} from the keyboard; use a driving environment")


def _drive_env(env_id: str, env_kwargs: Mapping[str, Any], fps: float, record: str | None) -> gym.Env:
    """The env a person drives: driving envs decide at the display rate with continuous control
    (unless told otherwise); envs with a keyboard-drivable expert task (CarRacing) as they are."""
    probe = make_env(env_id)
    drivable = callable(getattr(probe.unwrapped, "expert_action", None))
    config = getattr(probe.unwrapped, "config", None)
    probe.close()
    if not drivable:
        raise UserError(f"{env_id} is not a driving environment; try simdrive/Highway-v0 (simdrive envs lists them)")
    if config is None or not hasattr(config, "sim_frequency"):
        return make_env(env_id, dict(env_kwargs), render_mode="rgb_array")
    # A person steers continuously: decide at the display rate (capped by the physics rate),
    # and stretch the registered step limit so an episode lasts as many seconds as before.
    probe = make_env(env_id, {"action": "continuous"} | dict(env_kwargs))
    config = probe.unwrapped.config
    decisions = min(float(fps), float(config.sim_frequency))
    limit = probe.spec.max_episode_steps if probe.spec is not None else None
    probe.close()
    kwargs = {"action": "continuous", "policy_frequency": decisions, **dict(env_kwargs)}
    if record is not None and "observation" not in kwargs:
        from simdrive.data import ALL_SENSORS

        kwargs["observation"] = ALL_SENSORS
    if limit is not None and "max_episode_steps" not in env_kwargs:
        kwargs["max_episode_steps"] = int(round(limit * float(kwargs["policy_frequency"]) / config.policy_frequency))
    return make_env(env_id, kwargs, render_mode="rgb_array")


def banner(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """``frame`` with a dark box of centred text lines over its middle (a copy)."""
    img = frame.copy()
    h, w = img.shape[:2]
    scale = max(0.45, min(0.8, w / 900))
    sizes = [cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0] for line in lines]
    box_w = min(w, max(s[0] for s in sizes) + 24)
    step = int(max(s[1] for s in sizes) * 1.9)
    box_h = step * len(lines) + 14
    x0, y0 = (w - box_w) // 2, max(0, (h - box_h) // 2)
    img[y0 : y0 + box_h, x0 : x0 + box_w] = (img[y0 : y0 + box_h, x0 : x0 + box_w] * 0.25).astype(np.uint8)
    for i, (line, size) in enumerate(zip(lines, sizes)):
        cv2.putText(img, line, ((w - size[0]) // 2, y0 + 10 + step * (i + 1) - step // 4), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def drive(env_id: str, env_kwargs: Mapping[str, Any], fps: float, seed: int, max_steps: int | None = None,
          record: str | None = None, overwrite: bool = False,
          key_script: Callable[[int], list[int]] | None = None) -> dict[str, Any]:
    """Open the window and let a person drive; returns the last episode's summary (and, with
    ``record``, the dataset written). ``key_script(frame)`` (tests) posts key presses."""
    from simdrive.data import DatasetWriter, EpisodeRecorder, outcome

    env = _drive_env(env_id, env_kwargs, fps, record)
    writer = DatasetWriter(record, env, source="human", description=f"keyboard demonstrations on {env_id}",
                           overwrite=overwrite, hold_last=True) if record else None
    window = viewer.Window(f"SimDrive: driving {env_id}" + (f" (recording {record})" if record else ""), fps)
    pygame = window.pygame
    key_names = {pygame.K_LEFT: "left", pygame.K_RIGHT: "right", pygame.K_UP: "up", pygame.K_DOWN: "down"}
    episode, steps, frame_no = 1, 0, 0
    summary: dict[str, Any] = {}
    notice = ""  # a short message shown on the HUD (discarded, paused, ...)

    def events() -> list[Any]:
        nonlocal frame_no
        if key_script is not None:
            for key in key_script(frame_no):
                pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        frame_no += 1
        return window.poll()

    def hud(frame: np.ndarray, info: Mapping[str, Any], episode_steps: int, total: float, reward: float) -> np.ndarray:
        extra = viewer.info_hud(dict(info))[: viewer.MAX_EXTRA_HUD_LINES - 2]
        rec = f"recording {record}: {writer.episodes} episodes" if writer else ""
        lines = [LEGEND, "  ".join(x for x in (rec, notice) if x), *extra]
        return viewer.draw_hud(frame, viewer.hud_lines(viewer.FrameInfo(episode, episode_steps, total, reward, lines)),
                               min_lines=2 + viewer.MAX_EXTRA_HUD_LINES)

    def discard() -> None:
        nonlocal notice
        if writer is None:
            notice = "not recording"
        else:
            notice = "discarded the last episode" if writer.discard_last() else "nothing to discard"

    try:
        obs, info = env.reset(seed=seed)
        recorder = EpisodeRecorder(obs, info) if writer else None
        total, episode_steps, frame = 0.0, 0, None
        while not window.closed and (max_steps is None or steps < max_steps):
            tapped, restart = set(), False
            for event in events():
                if event.key in key_names:
                    tapped.add(key_names[event.key])
                elif event.key == pygame.K_r:
                    restart = True
                elif event.key == pygame.K_d:
                    discard()
            if window.paused:
                if frame is not None:
                    window.show(banner(frame, ["paused", "space: continue"]))
                else:
                    window.clock.tick(30)
                continue
            if restart:
                notice = "restarted (episode not recorded)"
                obs, info = env.reset(seed=seed + episode)
                episode += 1
                recorder = EpisodeRecorder(obs, info) if writer else None
                total, episode_steps = 0.0, 0
                continue
            pressed = pygame.key.get_pressed()
            held = {name for key, name in key_names.items() if pressed[key]}
            action = keyboard_action(env.action_space, held, tapped)
            obs, reward, terminated, truncated, info = env.step(action)
            if recorder is not None:
                recorder.step(action, obs, reward, terminated, truncated, info)
            total += float(reward)
            steps += 1
            episode_steps += 1
            frame = hud(env.render(), info, episode_steps, total, float(reward))
            window.show(frame)
            summary = {"episode": episode, "steps": episode_steps, "return": total}
            if terminated or truncated:
                how = outcome(info, terminated, truncated)
                summary["outcome"] = how
                if writer is not None and recorder is not None:
                    writer.add(recorder.finish({"seed": seed + episode - 1, "source": "human", "env_id": env_id,
                                                "scenario": "", "perturbed": False, "outcome": how}))
                choice = _wait_after_episode(window, events, frame, episode, how, total, writer is not None,
                                             stop=lambda: max_steps is not None and steps >= max_steps)
                if choice == "discard":
                    discard()
                if window.closed or choice == "quit":
                    break
                obs, info = env.reset(seed=seed + episode)
                episode += 1
                recorder = EpisodeRecorder(obs, info) if writer else None
                total, episode_steps = 0.0, 0
                notice = notice if choice == "discard" else ""
    except KeyboardInterrupt:
        pass  # keep what was recorded
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        window.close()
        env.close()
    if writer is not None:
        path = writer.close()
        summary.update(dataset=record, path=str(path) if path else None, recorded=writer.written)
    return summary


def _wait_after_episode(window, events, frame, episode: int, how: str, total: float, recording: bool,
                        stop: Callable[[], bool]) -> str:
    """Show how the episode ended and wait: 'next' (Enter/N), 'discard' (D), 'quit' (Esc)."""
    pygame = window.pygame
    lines = [f"episode {episode}: {OUTCOME_TEXT.get(how, how)}  (return {total:.2f})",
             "Enter: next episode" + ("   D: discard this episode" if recording else "") + "   Esc: quit"]
    shown = banner(frame, lines)
    while not window.closed:
        window.show(shown)
        for event in events():
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_n):
                return "next"
            if event.key == pygame.K_d and recording:
                return "discard"
        if stop():
            return "quit"
    return "quit"
