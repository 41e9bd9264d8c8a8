"""`simdrive watch`: play a saved agent's (or the expert's) episodes on screen or into a video.

Environments that render every physics step (``rgb_array_list`` in their render modes: the
driving environments) are shown frame by frame at their ``render_fps``, the simulation
frequency, so the window and the video run in real time; the others show one frame per step at
``DEFAULT_FPS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import gymnasium as gym

from simdrive import viewer
from simdrive.agents_registry import bind_to_env, resolve_policy
from simdrive.envs_registry import make_env
from simdrive.runner import eval_env_kwargs

DEFAULT_FPS = 10.0  # frames per second for environments with one frame per step


def render_mode_for(env_id: str) -> str:
    """``rgb_array_list`` when the environment renders every physics step itself, else ``rgb_array``."""
    try:
        creator = gym.spec(env_id).entry_point
        if isinstance(creator, str):
            from gymnasium.envs.registration import load_env_creator

            creator = load_env_creator(creator)
        modes = getattr(creator, "metadata", {}).get("render_modes", [])
    except (gym.error.Error, ImportError, AttributeError, ValueError):
        modes = []
    return "rgb_array_list" if "rgb_array_list" in modes else "rgb_array"


def watch(source: Path | str, env_id: str | None, episodes: int, fps: float | None, seed: int, record: str | None,
          env_kwargs: Mapping[str, Any] | None = None) -> Path | None:
    """Show (or record) ``episodes`` episodes; ``fps`` None means real time where the env says
    what that is (its ``render_fps`` with ``rgb_array_list``), else ``DEFAULT_FPS``."""
    policy = resolve_policy(source, env_id, seed, env_kwargs)
    agent = policy.agent
    mode = render_mode_for(policy.env_id)
    env = make_env(policy.env_id, eval_env_kwargs(agent, policy.env_kwargs), render_mode=mode)
    if fps is None:
        fps = float(env.metadata.get("render_fps") or DEFAULT_FPS) if mode == "rgb_array_list" else DEFAULT_FPS
    bind_to_env(agent, env)
    try:
        return viewer.play(
            env,
            lambda obs: agent.act(obs, explore=False),
            episodes=episodes,
            seed=seed,
            fps=fps,
            record=record,
            title=f"SimDrive: {policy.agent_name} on {policy.env_id}",
            extra_hud=viewer.info_hud,
            reset_hook=getattr(agent, "reset_episode", None),
        )
    finally:
        env.close()
