"""Tabular agents (Sutton & Barto, chapters 2-6) for environments with Discrete spaces.

- ``dp``: policy evaluation, policy iteration, value iteration (need ``env.unwrapped.model``);
- ``mc``: Monte Carlo prediction, exploring starts, on-policy epsilon-greedy control;
- ``td``: TD(0) prediction, Sarsa, Q-learning, Expected Sarsa, Double Q-learning;
- ``bandits``: epsilon-greedy, UCB, Thompson sampling and the vectorized ``run_testbed``;
- ``common``: environment checks, action selection, the Q-table views and counters.

Every agent exposes ``value_table()`` (S,) and ``greedy_actions()`` (S,), and ``q_table()``
(S, A) for drawing values and policies.
"""
