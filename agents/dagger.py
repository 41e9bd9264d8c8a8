"""DAgger (Ross, Gordon, Bagnell 2011): imitation learning that asks the expert about the
states the learner itself visits.

    D <- demonstrations (``data``), or the expert's own episodes
    pi_0 <- behavioural cloning on D
    for i = 1 .. iterations:
        run pi_{i-1} (the expert's action is executed with probability ``beta``);
        label every visited state with the expert's action
        D <- D + those (state, expert action) pairs
        pi_i <- behavioural cloning on D (warm start, ``epochs_per_iteration``)

The expert is the environment's own (``env.unwrapped.expert_action()``, the driving
simulator's autopilot), which reads the state it is in, so labelling costs one call per
step. Each policy pi_0 .. pi_N drives ``episodes_per_iteration`` episodes (new seeds every
iteration); their driving statistics are reported per iteration as metrics with the
iteration as step: ``dagger_return``, ``dagger_route_completion``, ``dagger_success_rate``,
``dagger_crash_rate``, ``dagger_offroad_rate``, ``dagger_expert_agreement`` (share of steps
where the learner chose the expert's action) and ``dagger_samples`` (size of D). The rollouts
of pi_N only score it. Everything else (network, balancing, early stopping) is :mod:`agents.bc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import gymnasium as gym
import numpy as np

from .base import Budget, Callbacks, IncompatibleEnvironment
from .bc import BCAgent, BCConfig, Demonstrations, concat_demos
from .config_checks import Range, Spec


@dataclass(frozen=True)
class DAggerConfig(BCConfig):
    """DAgger settings on top of behavioural cloning's."""

    iterations: int = 5  # aggregation rounds after the first policy [-]
    episodes_per_iteration: int = 10  # learner episodes labelled (and scored) per round [-]
    expert_episodes: int = 20  # expert episodes that start D when no `data` is given [-]
    beta: float = 0.0  # probability of executing the expert's action in the learner's episodes [-]
    epochs_per_iteration: int = 10  # most epochs of each retraining (early stopping still applies) [-]
    max_episode_steps: int = 10_000  # safety cap on one rollout [steps]

    RANGES: ClassVar[Mapping[str, Spec]] = {
        **BCConfig.RANGES, "iterations": Range(0, 1000), "episodes_per_iteration": Range(1, 100_000),
        "expert_episodes": Range(1, 100_000), "beta": Range(0.0, 1.0), "epochs_per_iteration": Range(1, 100_000),
        "max_episode_steps": Range(1, 10_000_000),
    }


class DAggerAgent(BCAgent):
    """Dataset aggregation with the environment's expert as the teacher."""

    name: ClassVar[str] = "dagger"
    Config: ClassVar[type] = DAggerConfig

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DAggerConfig | None = None, seed: int = 0) -> None:
        super().__init__(observation_space, action_space, config or DAggerConfig(), seed)
        self.history: list[dict[str, float]] = []  # per-iteration driving statistics

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        super().check_env(env)
        if not callable(getattr(env.unwrapped, "expert_action", None)):
            raise IncompatibleEnvironment("dagger needs an environment with a built-in expert (env.unwrapped.expert_action()), "
                                          "e.g. simdrive/Highway-v0")

    def rollout(self, env: gym.Env, episodes: int, seed: int, beta: float) -> tuple[Demonstrations, dict[str, float]]:
        """Episodes driven by the learner (the expert with probability ``beta`` per step), every
        visited state labelled with the expert's action; returns the labels and statistics."""
        self.check_env(env)
        rng = np.random.default_rng([self.seed, seed])
        obs_list, labels, eps = [], [], []
        stats = {"return": [], "route_completion": [], "success": [], "crash": [], "offroad": [], "agree": []}
        for e in range(episodes):
            obs, info = env.reset(seed=seed + e)
            done, steps, total = False, 0, 0.0
            while not done and steps < self.config.max_episode_steps:
                expert = env.unwrapped.expert_action()
                mine = self.act(obs)
                obs_list.append(self._select(obs))
                labels.append(expert)
                eps.append(seed + e)
                stats["agree"].append(float(np.all(np.asarray(mine) == np.asarray(expert))))
                action = expert if rng.random() < beta else mine
                obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                steps += 1
                done = terminated or truncated
            stats["return"].append(total)
            stats["route_completion"].append(float(info.get("route_completion", np.nan)))
            stats["success"].append(float(bool(info.get("route_completed", info.get("success", False)))))
            stats["crash"].append(float(bool(info.get("crashed", False))))
            stats["offroad"].append(float(bool(info.get("offroad", False))))
        acts = np.asarray(labels)
        acts = acts.astype(np.int64).reshape(-1) if self.discrete else acts.astype(np.float32).reshape(len(acts), -1)
        demos = Demonstrations(np.stack(obs_list), acts, np.asarray(eps, np.int64) + 10**9)
        summary = {"return": float(np.mean(stats["return"])), "route_completion": float(np.nanmean(stats["route_completion"])),
                   "success_rate": float(np.mean(stats["success"])), "crash_rate": float(np.mean(stats["crash"])),
                   "offroad_rate": float(np.mean(stats["offroad"])), "expert_agreement": float(np.mean(stats["agree"]))}
        return demos, summary

    def _base_seed(self) -> int:
        return 1_000_000 + 10_000 * (self.seed % 1000)  # rollout seeds, apart from evaluation seeds

    def start(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> Demonstrations:
        """D (the ``data`` demonstrations, or the expert's own episodes) and pi_0 trained on it."""
        cfg = self.config
        self.check_env(env)
        if cfg.data:
            demos = self.load_demonstrations(cfg.data)
        else:
            demos, _ = self.rollout(env, cfg.expert_episodes, self._base_seed(), beta=1.0)
        self.fit(demos, budget, callbacks)
        return demos

    def iterate(self, env: gym.Env, demos: Demonstrations, it: int, budget: Budget, callbacks: Callbacks,
                retrain: bool = True) -> tuple[Demonstrations, dict[str, float]]:
        """Round ``it``: pi_{it} drives and is scored; with ``retrain``, its states labelled by the
        expert join D and pi_{it+1} is trained on it. Returns D and pi_{it}'s statistics."""
        cfg = self.config
        seed = self._base_seed() + 100_000 + it * cfg.episodes_per_iteration
        new, summary = self.rollout(env, cfg.episodes_per_iteration, seed, beta=cfg.beta if retrain else 0.0)
        summary["samples"] = float(len(demos))
        self.history.append({"iteration": float(it), **summary})
        callbacks.on_metrics(it, {f"dagger_{k}": v for k, v in summary.items()})
        if retrain:
            demos = concat_demos([demos, new])
            self.fit(demos, budget, callbacks, epochs=cfg.epochs_per_iteration)
        return demos, summary

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        demos = self.start(env, budget, callbacks)
        for it in range(self.config.iterations + 1):
            last = it == self.config.iterations
            demos, _ = self.iterate(env, demos, it, budget, callbacks, retrain=not last)
            if last or not callbacks.on_step(self.samples, self.epochs):
                break
        callbacks.on_step(self.samples, self.epochs)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["history"] = [dict(h) for h in self.history]
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.history = [dict(h) for h in state.get("history", [])]
