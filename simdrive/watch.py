"""`simdrive watch`: play a saved agent's episodes on screen or into a video."""

from __future__ import annotations

from pathlib import Path

from simdrive import viewer
from simdrive.agents_registry import agent_class, check_compatible, load_agent, read_checkpoint
from simdrive.envs_registry import make_env, resolve_env_id
from simdrive.runner import eval_env_kwargs


def watch(checkpoint: Path, env_id: str | None, episodes: int, fps: float, seed: int, record: str | None) -> Path | None:
    saved = read_checkpoint(checkpoint)
    target = resolve_env_id(env_id) if env_id else saved.env_id
    kwargs = saved.env_kwargs if target == saved.env_id else {}
    probe = make_env(target, kwargs)
    check_compatible(agent_class(saved.agent), probe, target)
    loaded = load_agent(checkpoint, env=probe, seed=seed)
    probe.close()
    env = make_env(target, eval_env_kwargs(loaded.agent, kwargs), render_mode="rgb_array")
    agent = loaded.agent
    try:
        return viewer.play(
            env,
            lambda obs: agent.act(obs, explore=False),
            episodes=episodes,
            seed=seed,
            fps=fps,
            record=record,
            title=f"SimDrive: {saved.agent} on {target}",
            extra_hud=viewer.info_hud,
            reset_hook=getattr(agent, "reset_episode", None),
        )
    finally:
        env.close()
