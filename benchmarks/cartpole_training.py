"""CartPole-v1 training speed: our DQN and A2C against Stable-Baselines3, side by side.

For every algorithm and seed, both implementations train on ``simdrive/CartPole-v1``
(ours with the settings ``simdrive train ALGO simdrive/CartPole-v1`` uses, the shipped
defaults that ``simdrive agents ALGO --env simdrive/CartPole-v1`` prints; SB3 with RL
Zoo's tuned CartPole-v1 hyperparameters) and are evaluated every
``--eval-every`` environment steps on ``--eval-episodes`` deterministic episodes. A run
is *solved* the first time the mean evaluation return reaches 475; we report the
training wall time until then (evaluation time excluded, for both), the steps, and the
ratio ours / SB3. Everything runs with ``torch.set_num_threads(1)``.

    python benchmarks/cartpole_training.py                      # DQN + A2C, seeds 0-4
    python benchmarks/cartpole_training.py --algos a2c --seeds 0

Prints a table and, last, one JSON line with every run. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENV_ID = "simdrive/CartPole-v1"
THRESHOLD = 475.0

# RL Zoo (hyperparams/dqn.yml, a2c.yml) CartPole-v1 settings
SB3_DQN = dict(
    learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
    target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
    exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]),
)
SB3_DQN_STEPS = 50_000
SB3_A2C = dict(ent_coef=0.0)
SB3_A2C_ENVS = 8
SB3_A2C_STEPS = 500_000


@dataclass
class Run:
    algo: str
    impl: str
    seed: int
    solved: bool
    solve_seconds: float | None  # training wall time until first solved evaluation [s]
    solve_steps: int | None  # env steps at that evaluation
    total_seconds: float  # training wall time of the whole run (evaluation excluded) [s]
    total_steps: int
    best_eval: float


def evaluate(policy: Callable[[np.ndarray], int], episodes: int, threshold: float = THRESHOLD) -> float:
    """Mean return of ``episodes`` deterministic episodes (seeds 10000+i). Stops early,
    returning the optimistic bound, once reaching ``threshold`` is impossible."""
    import gymnasium as gym

    env = gym.make(ENV_ID)
    total, limit = 0.0, env.spec.max_episode_steps
    for i in range(episodes):
        obs, _ = env.reset(seed=10_000 + i)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += reward
            done = terminated or truncated
        if (total + (episodes - i - 1) * limit) / episodes < threshold:
            return (total + (episodes - i - 1) * limit) / episodes
    return total / episodes


class Watch:
    """Evaluate every ``every`` steps with the clock paused; remember the first solve."""

    def __init__(self, policy: Callable[[np.ndarray], int], every: int, episodes: int) -> None:
        self.policy, self.every, self.episodes = policy, every, episodes
        self.next = every
        self.eval_seconds = 0.0
        self.start = time.perf_counter()
        self.solved_steps: int | None = None
        self.solved_seconds: float | None = None
        self.best = -np.inf

    def train_seconds(self) -> float:
        return time.perf_counter() - self.start - self.eval_seconds

    def check(self, steps: int) -> bool:
        """Returns False once solved (stop training)."""
        if steps < self.next:
            return True
        while self.next <= steps:
            self.next += self.every
        elapsed = self.train_seconds()
        t0 = time.perf_counter()
        mean = evaluate(self.policy, self.episodes)
        self.eval_seconds += time.perf_counter() - t0
        self.best = max(self.best, mean)
        if mean >= THRESHOLD:
            self.solved_steps, self.solved_seconds = steps, elapsed
            return False
        return True


def shipped_plan(algo: str, seed: int, overrides: list[str]):
    """What ``simdrive train ALGO simdrive/CartPole-v1 --seed SEED [--set ...]`` would run:
    the agent's config (shipped tuned file, else the agent's defaults) and budget."""
    from simdrive.runner import TrainRequest, plan_training

    return plan_training(TrainRequest(agent=algo, env_id=ENV_ID, seed=seed, overrides=tuple(overrides), track=False))


def run_ours(algo: str, seed: int, every: int, episodes: int, max_steps: int, overrides: list[str] | None = None) -> Run:
    from agents.base import Budget, Callbacks
    from simdrive.agents_registry import instantiate
    from simdrive.envs_registry import make_training_env

    plan = shipped_plan(algo, seed, overrides or [])
    env = make_training_env(plan.env_id, plan.num_envs, plan.env_kwargs)
    agent = instantiate(plan.agent_cls, env, plan.config, plan.seed)
    max_steps = max_steps or plan.budget.steps
    watch = Watch(agent.act, every, episodes)

    class Stop(Callbacks):
        def on_step(self, step: int, episodes: int) -> bool:
            return watch.check(step)

    watch.start = time.perf_counter()
    agent.train(env, Budget(steps=max_steps), Stop())
    total = watch.train_seconds()
    return Run(algo, "ours", seed, watch.solved_steps is not None, watch.solved_seconds, watch.solved_steps, total, agent.steps, watch.best)


def run_sb3(algo: str, seed: int, every: int, episodes: int, max_steps: int) -> Run:
    import gymnasium as gym
    from stable_baselines3 import A2C, DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    import envs  # noqa: F401

    if algo == "dqn":
        model = DQN("MlpPolicy", gym.make(ENV_ID), seed=seed, device="cpu", verbose=0, **SB3_DQN)
    else:
        model = A2C("MlpPolicy", make_vec_env(ENV_ID, n_envs=SB3_A2C_ENVS, seed=seed), seed=seed, device="cpu", verbose=0, **SB3_A2C)
    watch = Watch(lambda obs: int(model.predict(obs, deterministic=True)[0]), every, episodes)

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return watch.check(int(self.num_timesteps))

    watch.start = time.perf_counter()
    model.learn(total_timesteps=max_steps, callback=Stop())
    total = watch.train_seconds()
    return Run(algo, "sb3", seed, watch.solved_steps is not None, watch.solved_seconds, watch.solved_steps, total, int(model.num_timesteps), watch.best)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algos", default="dqn,a2c", help="comma-separated: dqn, a2c")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--impls", default="ours,sb3", help="comma-separated: ours, sb3")
    parser.add_argument("--eval-every", type=int, default=0, help="env steps between evaluations (default: dqn 2500, a2c 5000)")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--max-steps", type=int, default=0, help="override the step budgets (default: ours the shipped budget, SB3 RL Zoo's: dqn 5e4, a2c 5e5)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting of ours, as `simdrive train --set` does (repeatable)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    runs: list[Run] = []
    print(f"{'algo':5} {'impl':5} {'seed':>4} {'solved':>6} {'solve s':>8} {'solve steps':>11} {'total s':>8} {'steps':>7} {'best':>6} {'ours/sb3':>8}")
    for algo in args.algos.split(","):
        every = args.eval_every or (2500 if algo == "dqn" else 5000)
        sb3_steps = args.max_steps or (SB3_DQN_STEPS if algo == "dqn" else SB3_A2C_STEPS)
        for seed in (int(s) for s in args.seeds.split(",")):
            pair: dict[str, Run] = {}
            for impl in args.impls.split(","):
                if impl == "ours":
                    run = run_ours(algo, seed, every, args.eval_episodes, args.max_steps, args.set)
                else:
                    run = run_sb3(algo, seed, every, args.eval_episodes, sb3_steps)
                pair[impl] = run
                runs.append(run)
                ratio = ""
                if impl == "sb3" and "ours" in pair and pair["ours"].solved and run.solved:
                    ratio = f"{pair['ours'].solve_seconds / run.solve_seconds:.2f}"
                solve_s = f"{run.solve_seconds:.1f}" if run.solved else "-"
                solve_n = str(run.solve_steps) if run.solved else "-"
                print(f"{algo:5} {impl:5} {seed:>4} {str(run.solved):>6} {solve_s:>8} {solve_n:>11} {run.total_seconds:>8.1f} {run.total_steps:>7} {run.best_eval:>6.1f} {ratio:>8}", flush=True)
    summary = {}
    for algo in args.algos.split(","):
        ours = [r for r in runs if r.algo == algo and r.impl == "ours"]
        sb3 = {r.seed: r for r in runs if r.algo == algo and r.impl == "sb3"}
        ratios = [o.solve_seconds / sb3[o.seed].solve_seconds for o in ours if o.solved and o.seed in sb3 and sb3[o.seed].solved]
        summary[algo] = {
            "ours_solved": sum(r.solved for r in ours),
            "sb3_solved": sum(r.solved for r in sb3.values()),
            "seeds": len(ours) or len(sb3),
            "max_ratio": max(ratios) if ratios else None,
            "target_met": bool(ours) and all(r.solved for r in ours) and len(ratios) == len(ours) and max(ratios) <= 1 / 3,
        }
    print(json.dumps({"benchmark": "cartpole_training", "env": ENV_ID, "threshold": THRESHOLD, "summary": summary, "runs": [asdict(r) for r in runs]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
