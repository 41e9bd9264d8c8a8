"""Monte Carlo and temporal-difference agents: prediction against DP values, control
against the optimal policy (GridWorld4x4) and the BFS shortest path (a generated maze)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.tabular.mc import MCExploringStartsAgent, MCOnPolicyAgent, MCPredictionAgent, first_visits, returns
from agents.tabular.td import (
    DoubleQLearningAgent,
    ExpectedSarsaAgent,
    QLearningAgent,
    SarsaAgent,
    TD0PredictionAgent,
)
from tests.agents.tabular_helpers import (
    ChainEnv,
    Recorder,
    bfs_shortest_path,
    checkpoint_round_trip,
    greedy_rollout_length,
    make_agent,
    optimal_action_sets,
    optimal_q,
    policy_values,
    uniform_policy,
)

TD_CONTROL = [SarsaAgent, QLearningAgent, DoubleQLearningAgent, ExpectedSarsaAgent]
# GLIE-style exploration for the control tests: epsilon 0.2 -> 0 over 70% of the budget.
DECAY = dict(epsilon=0.2, epsilon_final=0.0, epsilon_decay=0.7)


@pytest.fixture
def maze():
    env = gym.make("simdrive/Maze-v0", maze_size=(6, 6), maze_seed=3)
    yield env
    env.close()


@pytest.fixture(scope="module")
def random_policy_values():
    env = gym.make("simdrive/GridWorld4x4-v0")
    return policy_values(env.unwrapped.model, uniform_policy(16, 4), gamma=1.0)


def test_returns_and_first_visits():
    np.testing.assert_allclose(returns([1.0, 0.0, 2.0], 0.5), [1.5, 1.0, 2.0])
    assert first_visits([3, 1, 3, 2, 1]).tolist() == [True, True, False, True, False]


# --- prediction -------------------------------------------------------------------------


@pytest.mark.parametrize("visits", ["first", "every"])
def test_mc_prediction_converges_to_the_dp_values(grid4, random_policy_values, visits):
    """8000 episodes of the random policy: max |V - V_pi| < 1.5 and RMS < 1.0 (values span 0..-22).

    (Seeds 0-9 all pass, worst max error 1.29; at 5000 episodes every-visit fails one seed in ten.)"""
    agent = make_agent(MCPredictionAgent, grid4, seed=0, gamma=1.0, visits=visits)
    recorder = Recorder()
    agent.train(grid4, Budget(episodes=8000), recorder)
    error = agent.value_table() - random_policy_values
    assert np.abs(error).max() < 1.5 and np.sqrt(np.mean(error**2)) < 1.0, error
    assert len(recorder.episodes) == 8000 and recorder.episodes[-1][0] == agent.counters.steps


def test_td0_converges_to_the_dp_values(grid4, random_policy_values):
    """5000 episodes, alpha 0.05 -> 0.002: RMS |V - V_pi| < 1.0 and max < 2.0.

    (Seeds 0-9 all pass: worst RMS 0.73, worst max 1.59.)"""
    agent = make_agent(TD0PredictionAgent, grid4, seed=0, gamma=1.0, alpha=0.05, alpha_final=0.002)
    agent.train(grid4, Budget(episodes=5000), Callbacks())
    error = agent.value_table() - random_policy_values
    assert np.sqrt(np.mean(error**2)) < 1.0 and np.abs(error).max() < 2.0, error


# --- control on GridWorld4x4 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, config",
    [(MCExploringStartsAgent, {}), (MCOnPolicyAgent, dict(epsilon=0.3, epsilon_final=0.0, epsilon_decay=0.8))],
)
def test_mc_control_finds_the_optimal_policy(grid4, cls, config):
    agent = make_agent(cls, grid4, seed=0, gamma=1.0, **config)
    agent.train(grid4, Budget(episodes=10_000), Callbacks())
    best = optimal_action_sets(optimal_q(grid4.unwrapped.model, 1.0))
    greedy = agent.greedy_actions()
    live = ~grid4.unwrapped.model.terminal
    assert best[np.arange(16), greedy][live].all(), f"non-optimal greedy actions in states {np.flatnonzero(~best[np.arange(16), greedy] & live)}"


def test_exploring_starts_need_the_start_state_option(grid4):
    MCExploringStartsAgent.check_env(grid4)  # the grid worlds support it
    with pytest.raises(IncompatibleEnvironment, match="exploring starts"):
        MCExploringStartsAgent.check_env(ChainEnv())


# --- TD control ------------------------------------------------------------------------------


def test_td_control_updates_differ_only_in_the_bootstrapped_value(grid4):
    q_next = np.array([1.0, 4.0, 2.0, 4.0])  # Q(s2, .) with a tie for the greedy action
    expected_next = {
        "sarsa": 2.0,  # Q(s2, a2) with a2 = 2
        "q-learning": 4.0,
        "expected-sarsa": 0.2 / 4 * q_next.sum() + 0.8 / 2 * 8.0,  # epsilon-greedy; the tie splits the greedy mass
    }
    for cls in (SarsaAgent, QLearningAgent, ExpectedSarsaAgent):
        agent = make_agent(cls, grid4, alpha=0.5, gamma=0.9, epsilon=0.2)
        agent.q[5] = q_next
        agent.q[1, 3] = 1.0
        agent._update(1, 3, -1.0, 5, 2, False)
        after = 1.0 + 0.5 * (-1.0 + 0.9 * expected_next[cls.name] - 1.0)
        assert agent.q[1, 3] == pytest.approx(after), cls.name
        agent._update(1, 3, -1.0, 5, 2, True)  # terminated: the target is the reward alone
        assert agent.q[1, 3] == pytest.approx(after + 0.5 * (-1.0 - after)), cls.name
    # Double Q: the updated table's greedy action, valued by the other table.
    seen = set()
    for seed in range(10):
        double = make_agent(DoubleQLearningAgent, grid4, seed=seed, alpha=1.0, gamma=1.0)
        double.q1[5] = [2.0, 3.0, 0.0, 0.0]  # q1's greedy action is 1, which q2 values 5
        double.q2[5] = [9.0, 5.0, 0.0, 0.0]  # q2's greedy action is 0, which q1 values 2
        double._update(1, 3, 0.0, 5, 0, False)
        pair = (double.q1[1, 3], double.q2[1, 3])
        assert pair in {(5.0, 0.0), (0.0, 2.0)}
        assert double.q[1, 3] == pytest.approx(sum(pair) / 2)
        seen.add(pair)
    assert len(seen) == 2  # both tables get updated


# --- TD control on a generated maze -----------------------------------------------------------


@pytest.mark.parametrize("cls", TD_CONTROL, ids=lambda c: c.name)
def test_td_control_finds_a_shortest_path_in_a_maze(maze, cls):
    agent = make_agent(cls, maze, seed=0, **DECAY)
    recorder = Recorder()
    agent.train(maze, Budget(episodes=300), recorder)
    start, _ = maze.reset(seed=0)
    length, reached = greedy_rollout_length(agent, maze)
    assert reached and length == bfs_shortest_path(maze.unwrapped.model, int(start))
    # With epsilon annealed to 0 the start state's value is the optimal one (about 0.40 here).
    v_star = optimal_q(maze.unwrapped.model, agent.config.gamma)[start].max()
    assert agent.value_table()[start] == pytest.approx(v_star, abs=1e-3)
    eps = recorder.metric("epsilon")
    assert eps[0] == pytest.approx(0.2, abs=0.01) and eps[-1] == 0.0


# --- contracts shared by the learning agents ------------------------------------------------


LEARNERS = [MCPredictionAgent, MCExploringStartsAgent, MCOnPolicyAgent, TD0PredictionAgent, *TD_CONTROL]


@pytest.mark.parametrize("cls", LEARNERS, ids=lambda c: c.name)
def test_same_seed_same_result_and_checkpoint_round_trip(grid4, tmp_path, cls):
    tables = []
    for _ in range(2):
        agent = make_agent(cls, grid4, seed=7)
        agent.train(grid4, Budget(episodes=30), Callbacks())
        tables.append(agent.q_table())
    np.testing.assert_array_equal(tables[0], tables[1])
    actions = [agent.act(s) for s in range(16)]
    assert [agent.act(s, explore=False) for s in range(16)] == actions
    assert actions == agent.greedy_actions().tolist()
    loaded = checkpoint_round_trip(agent, grid4, tmp_path)
    assert [loaded.act(s) for s in range(16)] == actions
    np.testing.assert_array_equal(loaded.value_table(), agent.value_table())
    # Resume: counters continue, the budget is a total.
    assert loaded.counters.episodes == 30
    loaded.train(grid4, Budget(episodes=40), Callbacks())
    assert loaded.counters.episodes == 40 and loaded.counters.steps > agent.counters.steps


@pytest.mark.parametrize("cls", [MCOnPolicyAgent, QLearningAgent, TD0PredictionAgent], ids=lambda c: c.name)
def test_step_budget_and_early_stop(grid4, cls):
    agent = make_agent(cls, grid4, seed=0)
    agent.train(grid4, Budget(steps=500), Callbacks())
    assert agent.counters.steps == 500
    agent = make_agent(cls, grid4, seed=0)
    recorder = Recorder(stop_after=3)
    agent.train(grid4, Budget(episodes=1000), recorder)
    assert agent.counters.episodes == 3 and len(recorder.episodes) == 3


def test_td_agents_reject_continuous_observations():
    with pytest.raises(IncompatibleEnvironment, match="discrete observation"):
        QLearningAgent.check_env(gym.make("CartPole-v1"))
