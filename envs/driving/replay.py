"""Blind replay: how much a driving env demands reacting (issue 8's measure).

The expert drives the episode of seed ``source``; its action list is then replayed without
looking on other seeds. An env where such a list often succeeds can be driven without watching
the traffic. Shared by ``benchmarks/expert_quality.py`` and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable

import gymnasium as gym


def expert_actions(env: gym.Env, seed: int) -> list:
    """The expert's actions over the episode of ``seed`` on ``env`` (a registered driving env)."""
    env.reset(seed=seed)
    actions = []
    for _ in range(env.spec.max_episode_steps):
        actions.append(env.unwrapped.expert_action())
        _, _, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            break
    return actions


def replay_success(env: gym.Env, actions: list, seeds: Iterable[int]) -> float:
    """Share of ``seeds`` on which ``actions``, replayed blindly (the last one held once they run
    out), complete the route without a collision, leaving the road, a red-light run or a failure
    to yield."""
    seeds = list(seeds)
    ok = 0
    for seed in seeds:
        env.reset(seed=seed)
        clean = True
        for t in range(env.spec.max_episode_steps):
            _, _, terminated, truncated, info = env.step(actions[min(t, len(actions) - 1)])
            clean &= not (info["ran_red_light"] or info["failed_to_yield"])
            if terminated or truncated:
                break
        ok += bool(info["route_completed"] and not info["crashed"] and not info["offroad"] and clean)
    return ok / len(seeds)
