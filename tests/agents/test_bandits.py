"""Bandit agents: the 10-armed testbed (shapes of Figures 2.2-2.4) and the agent contract."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.tabular.bandits import (
    EpsilonGreedyBandit,
    EpsilonGreedyConfig,
    ThompsonBandit,
    ThompsonConfig,
    UCBBandit,
    UCBConfig,
    make_batched,
    run_testbed,
)
from tests.agents.tabular_helpers import Recorder, checkpoint_round_trip, make_agent

BANDITS = [EpsilonGreedyBandit, UCBBandit, ThompsonBandit]


@pytest.fixture(scope="module")
def testbed():
    """2000 seeded runs of 1000 pulls on the Gaussian 10-armed testbed (about 4 s in all)."""
    configs = {
        "greedy": EpsilonGreedyConfig(epsilon=0.0),
        "eps=0.01": EpsilonGreedyConfig(epsilon=0.01),
        "eps=0.1": EpsilonGreedyConfig(epsilon=0.1),
        "optimistic": EpsilonGreedyConfig(epsilon=0.0, alpha=0.1, initial_value=5.0),
        "realistic": EpsilonGreedyConfig(epsilon=0.1, alpha=0.1),
        "ucb": UCBConfig(c=2.0),
        "thompson": ThompsonConfig(),
    }
    return {name: run_testbed(config, runs=2000, steps=1000, k=10, seed=0) for name, config in configs.items()}


def test_ucb_and_thompson_beat_epsilon_greedy(testbed):
    """Figure 2.4: over the last 500 pulls UCB (c=2) and Thompson sampling earn more than eps=0.1."""
    late = {name: curves.average_reward[500:].mean() for name, curves in testbed.items()}
    assert late["ucb"] > late["eps=0.1"] + 0.05
    assert late["thompson"] > late["eps=0.1"] + 0.05


def test_greedy_finds_the_optimal_arm_least_often(testbed):
    """Figure 2.2: greedy < eps=0.01 < eps=0.1 in % optimal action over the last 100 pulls,
    with the book's rough levels (greedy about 1/3, eps=0.1 about 80%) and average rewards."""
    optimal = {name: curves.optimal_action[-100:].mean() for name, curves in testbed.items()}
    assert optimal["greedy"] < optimal["eps=0.01"] < optimal["eps=0.1"]
    assert 0.25 < optimal["greedy"] < 0.45 and 0.7 < optimal["eps=0.1"] < 0.9
    reward = {name: curves.average_reward[-100:].mean() for name, curves in testbed.items()}
    assert 0.9 < reward["greedy"] < 1.15 and 1.25 < reward["eps=0.1"] < 1.45
    # The first pull of every method is a uniformly random arm: about 1/10 optimal.
    assert abs(testbed["greedy"].optimal_action[0] - 0.1) < 0.03


def test_optimistic_initial_values_beat_realistic_epsilon_greedy(testbed):
    """Figure 2.3: Q1=5, eps=0 ends with more optimal actions than Q1=0, eps=0.1 (alpha=0.1 both)."""
    assert testbed["optimistic"].optimal_action[-200:].mean() > testbed["realistic"].optimal_action[-200:].mean()


def test_beta_thompson_on_bernoulli_arms():
    eps = run_testbed(EpsilonGreedyConfig(epsilon=0.1), runs=500, steps=500, seed=1, variant="bernoulli")
    ts = run_testbed(ThompsonConfig(prior="beta"), runs=500, steps=500, seed=1, variant="bernoulli")
    assert ts.average_reward[250:].mean() > eps.average_reward[250:].mean()


def test_testbed_is_seeded():
    a = run_testbed(UCBConfig(), runs=50, steps=100, seed=3)
    b = run_testbed(UCBConfig(), runs=50, steps=100, seed=3)
    c = run_testbed(UCBConfig(), runs=50, steps=100, seed=4)
    np.testing.assert_array_equal(a.average_reward, b.average_reward)
    assert not np.array_equal(a.average_reward, c.average_reward)


def test_batched_updates_follow_the_formulas():
    rng = np.random.default_rng(0)
    algo = make_batched(EpsilonGreedyConfig(epsilon=0.0), runs=2, k=3, rng=rng)
    algo.update(np.array([0, 2]), np.array([1.0, -2.0]))
    algo.update(np.array([0, 2]), np.array([3.0, 0.0]))
    np.testing.assert_allclose(algo.q, [[2.0, 0, 0], [0, 0, -1.0]])  # sample averages
    ucb = make_batched(UCBConfig(c=1.0), runs=1, k=3, rng=rng)
    assert sorted(int(_pull(ucb, r)) for r in (0.0, 0.0, 0.0)) == [0, 1, 2]  # untried arms first
    ts = make_batched(ThompsonConfig(prior_std=1.0, noise_std=1.0), runs=1, k=2, rng=rng)
    ts.update(np.array([1]), np.array([3.0]))
    np.testing.assert_allclose(ts.estimates(), [[0.0, 1.5]])  # posterior mean 3 / (1 + 1)


def _pull(algorithm, reward):
    arm = algorithm.select()
    algorithm.update(arm, np.array([reward]))
    return arm[0]


@pytest.mark.parametrize("cls", BANDITS, ids=lambda c: c.name)
def test_agents_learn_on_the_bandit_env(cls):
    """Ten bandit problems of 1000 pulls: optimal arm well above the 1/10 of random pulls."""
    env = gym.make("simdrive/Bandit-v0")
    agent = make_agent(cls, env, seed=0)
    recorder = Recorder()
    agent.train(env, Budget(episodes=10), recorder)
    assert [length for _, _, length in recorder.episodes] == [1000] * 10
    assert np.mean(recorder.metric("optimal_action_fraction")) > 0.6
    assert agent.steps == 10_000 and agent.episodes == 10


@pytest.mark.parametrize("cls", BANDITS, ids=lambda c: c.name)
def test_act_is_deterministic_and_survives_a_checkpoint(cls, tmp_path):
    env = gym.make("simdrive/Bandit-v0")
    agent = make_agent(cls, env, seed=0)
    agent.train(env, Budget(steps=300), Callbacks())
    assert agent.steps == 300 and agent.episodes == 0  # an episode cut by the budget is not counted
    greedy = agent.act(0)
    assert all(agent.act(0, explore=False) == greedy for _ in range(20))
    assert greedy == int(np.argmax(agent.estimates())) == agent.greedy_actions()[0]
    loaded = checkpoint_round_trip(agent, env, tmp_path)
    assert loaded.act(0) == greedy
    np.testing.assert_array_equal(loaded.estimates(), agent.estimates())


def test_estimates_reset_with_each_new_problem():
    env = gym.make("simdrive/Bandit-v0")
    fresh = make_agent(EpsilonGreedyBandit, env, seed=0)
    persistent = make_agent(EpsilonGreedyBandit, env, seed=0, reset_each_episode=False)
    for agent in (fresh, persistent):
        agent.train(env, Budget(steps=1500), Callbacks())
    assert fresh.algorithm.counts.sum() == 500  # the second problem's pulls only
    assert persistent.algorithm.counts.sum() == 1500


def test_bandits_need_a_single_state_env():
    with pytest.raises(IncompatibleEnvironment, match="single-state"):
        UCBBandit.check_env(gym.make("simdrive/GridWorld4x4-v0"))
