"""Training runs: the resolved plan, evaluation during training (best.sdckpt, stop at a
return), and resumes with no budget left."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from agents.base import Budget
from simdrive.cli import app
from simdrive.errors import UserError
from simdrive.runner import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, TrainRequest, evaluate, plan_training, train


class DriftingChoiceEnv(gym.Env):
    """One-step episodes with two actions; for the first ``switch_after`` steps of an env
    instance action 0 pays 1, afterwards action 1 does. Training on one instance past the
    switch makes the greedy policy collapse on a fresh instance (the evaluation env), where
    action 0 still pays: a constructed collapse with a known best policy."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, switch_after: int = 300, render_mode: str | None = None):
        self.switch_after = switch_after
        self.render_mode = render_mode
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        good = 0 if self.steps < self.switch_after else 1
        self.steps += 1
        return 0, float(int(action) == good), True, False, {}


DRIFT_ID = "test/DriftingChoice-v0"
if DRIFT_ID not in gym.registry:
    gym.register(DRIFT_ID, entry_point=DriftingChoiceEnv)


def _request(tmp_path: Path, **kwargs) -> TrainRequest:
    base = dict(agent="q-learning", env_id=DRIFT_ID, budget=Budget(episodes=600), track=False, show_progress=False,
                out_dir=tmp_path, eval_every=50, eval_episodes=5, overrides=("alpha=0.5", "epsilon=0.2"))
    base.update(kwargs)
    return TrainRequest(**base)


def _greedy_return(checkpoint: Path) -> float:
    from simdrive.agents_registry import load_agent

    env = gym.make(DRIFT_ID)  # a fresh instance: action 0 pays
    return evaluate(load_agent(checkpoint, env).agent, env, 5, seed=0).mean


def test_a_collapsing_policy_still_leaves_the_best_checkpoint(tmp_path):
    summary = train(_request(tmp_path))
    assert summary.eval_return_mean == 0.0  # collapsed: the last policy picks the action that stopped paying
    assert summary.best_eval_return == 1.0 and summary.best_eval_step < 300  # before the switch
    assert summary.best_checkpoint == str(tmp_path / BEST_CHECKPOINT_NAME) and summary.evaluations >= 10
    assert _greedy_return(tmp_path / BEST_CHECKPOINT_NAME) == 1.0
    assert _greedy_return(tmp_path / CHECKPOINT_NAME) == 0.0
    # control: without evaluation during training nothing keeps the good policy
    control = train(_request(tmp_path / "off", eval_every=0))
    assert control.best_checkpoint is None and not (tmp_path / "off" / BEST_CHECKPOINT_NAME).exists()
    assert control.eval_return_mean == 0.0


def test_training_stops_once_an_evaluation_reaches_the_return(tmp_path):
    request = TrainRequest(agent="q-learning", env_id="simdrive/GridWorld4x4-v0", budget=Budget(episodes=5000), track=False,
                           show_progress=False, out_dir=tmp_path, eval_every=20, eval_episodes=10, stop_at_return=-3.0)
    summary = train(request)
    assert summary.stopped_at_return == -3.0 and summary.best_eval_return >= -3.0
    assert summary.train_episodes < 5000 and summary.train_episodes % 20 == 0
    never = train(TrainRequest(**{**request.__dict__, "budget": Budget(episodes=200), "out_dir": tmp_path / "never",
                                  "stop_at_return": float("nan")}))
    assert never.stopped_at_return is None and never.train_episodes == 200  # 'none': the whole budget


def test_plan_defaults_for_evaluation():
    cartpole = plan_training(TrainRequest(agent="dqn", env_id="simdrive/CartPole-v1", track=False, use_hparams=False))
    assert cartpole.evaluation.stop_at_return == 475.0  # the registered reward_threshold
    assert cartpole.evaluation.stop_source == "reward_threshold of simdrive/CartPole-v1"
    assert cartpole.evaluation.every == cartpole.budget.steps // 10 and cartpole.evaluation.unit == "steps"
    maze = plan_training(TrainRequest(agent="q-learning", env_id="simdrive/Maze-v0", budget=Budget(episodes=100),
                                      track=False, use_hparams=False))
    assert maze.evaluation.stop_at_return is None and maze.evaluation.unit == "episodes" and maze.evaluation.every == 10
    dp = plan_training(TrainRequest(agent="value-iteration", env_id="simdrive/GridWorld4x4-v0", track=False))
    assert dp.evaluation.every == 0  # planners are evaluated once, at the end
    with pytest.raises(UserError, match="--stop-at-return needs evaluation"):
        plan_training(TrainRequest(agent="dqn", env_id="simdrive/CartPole-v1", track=False, eval_every=0, stop_at_return=100.0))


def test_resume_with_no_budget_left_says_so_in_one_line(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "30", "--out", str(tmp_path / "a"),
                                "--no-track", "--json"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "30", "--out", str(tmp_path / "b"),
                                "--no-track", "--resume", str(tmp_path / "a" / CHECKPOINT_NAME)])
    assert again.exit_code == 2
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: nothing to train") and "--episodes 60" in lines[0], again.stderr
    assert not (tmp_path / "b").exists()  # nothing written
    more = runner.invoke(app, ["train", "q-learning", "simdrive/GridWorld4x4-v0", "--episodes", "50", "--out", str(tmp_path / "c"),
                               "--no-track", "--json", "--resume", str(tmp_path / "a" / CHECKPOINT_NAME)])
    assert more.exit_code == 0 and json.loads(more.stdout.strip().splitlines()[-1])["train_episodes"] == 50


def test_evaluations_during_training_do_not_change_the_training(tmp_path):
    """Deterministic evaluation episodes on a separate env leave training's randomness alone:
    the agent after N steps is the same with and without them (DQN on CartPole, 2000 steps).
    Control: another seed gives another agent, so the comparison can fail."""
    import torch

    from agents.checkpoint import load_checkpoint
    from simdrive.runner import run_plan

    def trained(every: int, seed: int) -> dict:
        plan = plan_training(TrainRequest(agent="dqn", env_id="simdrive/CartPole-v1", budget=Budget(steps=2000), track=False,
                                          show_progress=False, eval_every=every, eval_episodes=2, use_hparams=False, seed=seed,
                                          stop_at_return=float("nan"), out_dir=tmp_path / f"{every}-{seed}",
                                          overrides=("learning_starts=200", "train_freq=50", "gradient_steps=10", "hidden=16")))
        run_plan(plan)
        return load_checkpoint(plan.out_dir / CHECKPOINT_NAME).state["q"]

    def same(a: dict, b: dict) -> bool:
        return all(torch.equal(torch.as_tensor(np.asarray(a[k])), torch.as_tensor(np.asarray(b[k]))) for k in a)

    without, with_evaluations = trained(0, 0), trained(500, 0)
    assert same(without, with_evaluations)
    assert not same(without, trained(0, 1))
