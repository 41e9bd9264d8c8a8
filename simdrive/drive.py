"""`simdrive drive`: a person drives the ego vehicle with the arrow keys.

Continuous control (the default for this command): Left/Right steer, Up is throttle,
Down is brake, each held as long as the key is down. With meta-actions (``--env-arg
action=meta``) a key press is one decision: Left/Right change lane, Up is faster, Down is
slower. With the seven discrete actions, held keys pick the closest combination.
Esc quits, space pauses, R restarts the episode.
"""

from __future__ import annotations

from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from simdrive import viewer
from simdrive.envs_registry import make_env
from simdrive.errors import UserError

KEYS = ("left", "right", "up", "down")
META = {"left": 0, "right": 2, "up": 3, "down": 4}  # lane_left, idle(1), lane_right, faster, slower
DISCRETE_NONE, DISCRETE_ACCELERATE, DISCRETE_BRAKE, DISCRETE_LEFT, DISCRETE_LEFT_BRAKE, DISCRETE_RIGHT, DISCRETE_RIGHT_BRAKE = range(7)


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


def drive(env_id: str, env_kwargs: Mapping[str, Any], fps: float, seed: int, max_steps: int | None = None) -> dict[str, float]:
    """Open the window and let a person drive; returns the last episode's summary."""
    probe = make_env(env_id)
    if not callable(getattr(probe.unwrapped, "expert_action", None)):
        probe.close()
        raise UserError(f"{env_id} is not a driving environment; try simdrive/Highway-v0 (simdrive envs lists them)")
    # A person steers continuously: decide at the display rate (capped by the physics rate),
    # and stretch the registered step limit so an episode lasts as many seconds as before.
    probe.close()
    probe = make_env(env_id, {"action": "continuous"} | dict(env_kwargs))
    config = probe.unwrapped.config
    decisions = min(float(fps), float(config.sim_frequency))
    limit = probe.spec.max_episode_steps if probe.spec is not None else None
    probe.close()
    kwargs = {"action": "continuous", "policy_frequency": decisions, **dict(env_kwargs)}
    if limit is not None:
        kwargs["max_episode_steps"] = int(round(limit * float(kwargs["policy_frequency"]) / config.policy_frequency))
    env = make_env(env_id, kwargs, render_mode="rgb_array")
    window = viewer.Window(f"SimDrive: driving {env_id}", fps)
    pygame = window.pygame
    key_names = {pygame.K_LEFT: "left", pygame.K_RIGHT: "right", pygame.K_UP: "up", pygame.K_DOWN: "down"}
    episode, steps = 1, 0
    summary: dict[str, float] = {}
    try:
        obs, info = env.reset(seed=seed)
        total, episode_steps = 0.0, 0
        while not window.closed and (max_steps is None or steps < max_steps):
            tapped = set()
            restart = False
            for event in window.poll():
                if event.key in key_names:
                    tapped.add(key_names[event.key])
                elif event.key == pygame.K_r:
                    restart = True
            if window.paused:
                window.clock.tick(30)
                continue
            pressed = pygame.key.get_pressed()
            held = {name for key, name in key_names.items() if pressed[key]}
            obs, reward, terminated, truncated, info = env.step(keyboard_action(env.action_space, held, tapped))
            total += float(reward)
            steps += 1
            episode_steps += 1
            frame = viewer.draw_hud(env.render(), viewer.hud_lines(
                viewer.FrameInfo(episode, episode_steps, total, float(reward), viewer.info_hud(info))),
                min_lines=2 + viewer.MAX_EXTRA_HUD_LINES)
            window.show(frame)
            summary = {"episode": episode, "steps": episode_steps, "return": total}
            if terminated or truncated or restart:
                episode += 1
                obs, info = env.reset(seed=seed + episode - 1)
                total, episode_steps = 0.0, 0
    finally:
        window.close()
        env.close()
    return summary
