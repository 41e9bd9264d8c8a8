"""Dynamic programming agents against the figures of Sutton & Barto (chapters 3 and 4)."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

from agents import AGENTS
from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.tabular.dp import PolicyEvaluationAgent, PolicyIterationAgent, ValueIterationAgent
from tests.agents.tabular_helpers import (
    ChainEnv,
    Recorder,
    checkpoint_round_trip,
    make_agent,
    optimal_action_sets,
    optimal_q,
    policy_values,
    uniform_policy,
)

FIGURE_4_1 = np.array([
    [0, -14, -20, -22],
    [-14, -18, -20, -20],
    [-20, -20, -18, -14],
    [-22, -20, -14, 0],
])
FIGURE_3_2 = np.array([
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
])
FIGURE_3_5 = np.array([
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
])


@pytest.mark.parametrize("in_place", [False, True])
def test_policy_evaluation_reproduces_figure_4_1(grid4, in_place):
    agent = make_agent(PolicyEvaluationAgent, grid4, gamma=1.0, in_place=in_place)
    recorder = Recorder()
    agent.train(grid4, Budget(steps=10_000), recorder)
    assert agent.converged
    np.testing.assert_array_equal(np.round(agent.value_table()).reshape(4, 4), FIGURE_4_1)
    # Against the exact solution of the linear system, not just the rounded figure.
    exact = policy_values(grid4.unwrapped.model, uniform_policy(16, 4), gamma=1.0)
    np.testing.assert_allclose(agent.value_table(), exact, atol=1e-4)
    deltas = recorder.metric("delta")
    assert len(deltas) == agent.sweeps and deltas[-1] < agent.config.theta <= deltas[0]


def test_in_place_evaluation_needs_fewer_sweeps(grid4):
    sweeps = {}
    for in_place in (False, True):
        agent = make_agent(PolicyEvaluationAgent, grid4, in_place=in_place)
        agent.train(grid4, Budget(steps=10_000), Callbacks())
        sweeps[in_place] = agent.sweeps
    assert sweeps[True] < sweeps[False]


def test_policy_evaluation_reproduces_figure_3_2(grid5):
    agent = make_agent(PolicyEvaluationAgent, grid5, gamma=0.9)
    agent.train(grid5, Budget(steps=10_000), Callbacks())
    np.testing.assert_allclose(agent.value_table().reshape(5, 5), FIGURE_3_2, atol=0.05 + 1e-9)


@pytest.mark.parametrize("cls", [PolicyIterationAgent, ValueIterationAgent])
def test_optimal_values_and_policy_reproduce_figure_3_5(grid5, cls):
    agent = make_agent(cls, grid5, gamma=0.9)
    agent.train(grid5, Budget(steps=10_000), Callbacks())
    assert agent.converged
    np.testing.assert_allclose(agent.value_table().reshape(5, 5), FIGURE_3_5, atol=0.05 + 1e-9)
    best = optimal_action_sets(optimal_q(grid5.unwrapped.model, 0.9), tol=1e-6)
    greedy = agent.greedy_actions()
    assert best[np.arange(25), greedy].all(), "a greedy action is not optimal"
    # act(explore=False) is the greedy policy.
    assert [agent.act(s) for s in range(25)] == greedy.tolist()


def test_policy_and_value_iteration_agree_on_the_optimal_action_sets(grid5, grid4):
    for env, gamma in ((grid5, 0.9), (grid4, 1.0)):
        sets = []
        for cls in (PolicyIterationAgent, ValueIterationAgent):
            agent = make_agent(cls, env, gamma=gamma)
            agent.train(env, Budget(steps=10_000), Callbacks())
            sets.append(optimal_action_sets(agent.q_table(), tol=1e-4))
        np.testing.assert_array_equal(sets[0], sets[1])


def test_policy_iteration_reports_policy_changes_until_stable(grid4):
    agent = make_agent(PolicyIterationAgent, grid4)
    recorder = Recorder()
    agent.train(grid4, Budget(steps=10_000), recorder)
    changes = recorder.metric("policy_changes")
    assert changes[-1] == 0 and all(c > 0 for c in changes[:-1]) and len(changes) >= 2
    v_star = -np.array([0, 1, 2, 3, 1, 2, 3, 2, 2, 3, 2, 1, 3, 2, 1, 0])  # steps to the nearest corner
    np.testing.assert_allclose(agent.value_table(), v_star, atol=1e-6)


def test_budget_caps_sweeps_and_callbacks_stop_planning(grid4):
    agent = make_agent(ValueIterationAgent, grid4)
    agent.train(grid4, Budget(steps=2), Callbacks())
    assert agent.sweeps == 2 and not agent.converged
    agent = make_agent(PolicyEvaluationAgent, grid4)
    recorder = Recorder(stop_after=3)
    agent.train(grid4, Budget(steps=10_000), recorder)
    assert agent.sweeps == 3 and not agent.converged


@pytest.mark.parametrize("name", ["policy-evaluation", "policy-iteration", "value-iteration"])
def test_dp_needs_a_model(name):
    cls = AGENTS[name].load()
    with pytest.raises(IncompatibleEnvironment, match=rf"{name} needs an environment that exposes its model"):
        cls.check_env(gym.make("simdrive/Bandit-v0"))
    with pytest.raises(IncompatibleEnvironment, match="ChainEnv has none"):
        cls.check_env(ChainEnv())
    with pytest.raises(IncompatibleEnvironment, match="discrete observation"):
        cls.check_env(gym.make("CartPole-v1"))


def test_gamma_one_on_a_continuing_task_is_refused(grid5):
    agent = make_agent(ValueIterationAgent, grid5, gamma=1.0)
    with pytest.raises(IncompatibleEnvironment, match="continuing task .* set gamma < 1"):
        agent.train(grid5, Budget(steps=100), Callbacks())


@pytest.mark.parametrize("cls", [PolicyEvaluationAgent, PolicyIterationAgent, ValueIterationAgent])
def test_checkpoint_round_trip_gives_the_same_actions(grid4, tmp_path, cls):
    agent = make_agent(cls, grid4)
    agent.train(grid4, Budget(steps=10_000), Callbacks())
    first = [agent.act(s) for s in range(16)]
    assert [agent.act(s) for s in range(16)] == first  # deterministic without exploration
    loaded = checkpoint_round_trip(agent, grid4, tmp_path)
    assert [loaded.act(s) for s in range(16)] == first
    np.testing.assert_array_equal(loaded.value_table(), agent.value_table())
    np.testing.assert_array_equal(loaded.greedy_actions(), agent.greedy_actions())
    assert loaded.sweeps == agent.sweeps


TABULAR = [
    "policy-evaluation", "policy-iteration", "value-iteration", "mc-prediction", "mc-es", "mc-control",
    "td0", "sarsa", "q-learning", "double-q-learning", "expected-sarsa", "epsilon-greedy", "ucb", "thompson",
]


@pytest.mark.parametrize("name", TABULAR)
def test_registered_tabular_agents_load_with_frozen_configs(name):
    cls = AGENTS[name].load()
    assert cls.name == name and cls.num_envs == 1
    config = cls.Config()
    assert dataclasses.is_dataclass(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, dataclasses.fields(config)[0].name, 0)
    assert isinstance(cls.default_budget, Budget)
