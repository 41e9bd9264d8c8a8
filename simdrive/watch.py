"""`simdrive watch`: play a saved agent's (or the expert's) episodes on screen or into a video."""

from __future__ import annotations

from pathlib import Path

from simdrive import viewer
from simdrive.agents_registry import bind_to_env, resolve_policy
from simdrive.envs_registry import make_env
from simdrive.runner import eval_env_kwargs


def watch(source: Path | str, env_id: str | None, episodes: int, fps: float, seed: int, record: str | None) -> Path | None:
    policy = resolve_policy(source, env_id, seed)
    agent = policy.agent
    env = make_env(policy.env_id, eval_env_kwargs(agent, policy.env_kwargs), render_mode="rgb_array")
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
