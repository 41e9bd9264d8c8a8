"""SimDrive's agent library.

``AGENTS`` maps each command-line name to an ``AgentSpec``; the agent class itself is
imported only when needed, so listing agents never imports torch.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import import_module
from typing import Callable


@dataclass(frozen=True)
class AgentSpec:
    name: str
    description: str
    load: Callable[[], type]


def _lazy(module: str, cls: str) -> Callable[[], type]:
    def load() -> type:
        return getattr(import_module(module, __name__), cls)

    return load


AGENTS: dict[str, AgentSpec] = {}


def _add(name: str, description: str, module: str, cls: str) -> None:
    AGENTS[name] = AgentSpec(name, description, _lazy(module, cls))


# Tabular: dynamic programming (need an environment with a model)
_add("policy-evaluation", "Iterative policy evaluation of the equiprobable random policy (DP, needs a model)", ".tabular.dp", "PolicyEvaluationAgent")
_add("policy-iteration", "Policy iteration (DP, needs a model)", ".tabular.dp", "PolicyIterationAgent")
_add("value-iteration", "Value iteration (DP, needs a model)", ".tabular.dp", "ValueIterationAgent")
# Tabular: Monte Carlo
_add("mc-prediction", "First-/every-visit Monte Carlo prediction of the random policy", ".tabular.mc", "MCPredictionAgent")
_add("mc-es", "Monte Carlo control with exploring starts", ".tabular.mc", "MCExploringStartsAgent")
_add("mc-control", "On-policy first-visit Monte Carlo control, epsilon-greedy", ".tabular.mc", "MCOnPolicyAgent")
# Tabular: temporal difference
_add("td0", "TD(0) prediction of the random policy", ".tabular.td", "TD0PredictionAgent")
_add("sarsa", "Sarsa: on-policy TD control", ".tabular.td", "SarsaAgent")
_add("q-learning", "Q-learning: off-policy TD control", ".tabular.td", "QLearningAgent")
_add("double-q-learning", "Double Q-learning", ".tabular.td", "DoubleQLearningAgent")
_add("expected-sarsa", "Expected Sarsa", ".tabular.td", "ExpectedSarsaAgent")
# Bandits
_add("epsilon-greedy", "Bandit: epsilon-greedy, sample-average or constant step size", ".tabular.bandits", "EpsilonGreedyBandit")
_add("ucb", "Bandit: upper confidence bound action selection", ".tabular.bandits", "UCBBandit")
_add("thompson", "Bandit: Thompson sampling (Beta-Bernoulli or Gaussian)", ".tabular.bandits", "ThompsonBandit")
# Planning and self-play on board games
_add("mcts", "Monte Carlo tree search (UCT, random rollouts); plans with the env's game or tabular model", ".mcts", "MCTSAgent")
_add("alphazero", "AlphaZero: PUCT search + policy-value ResNet trained by self-play (two-player board games)", ".alphazero", "AlphaZeroAgent")
# Built-in policies of environments
_add("expert", "The environment's rule-based expert (driving autopilot); use with eval/watch: simdrive eval expert ENV", ".expert", "ExpertAgent")

# Deep RL (torch)
_add("dqn", "Deep Q-Network: replay buffer (uniform or prioritized), target network, Double DQN, CNN for pixels", ".dqn", "DQNAgent")
_add("reinforce", "REINFORCE policy gradient with a learned value baseline (discrete or continuous actions)", ".reinforce", "ReinforceAgent")
_add("a2c", "Advantage actor-critic: batched envs, GAE, entropy bonus, optional LSTM/GRU backbone", ".a2c", "A2CAgent")
# Imitation learning (torch; Minari datasets)
_add("bc", "Behavioural cloning: CNN (or MLP) on demonstrations (simdrive train bc ENV --data DATASET), class balancing, early stopping", ".bc", "BCAgent")
_add("dagger", "DAgger: behavioural cloning + the env's expert labelling the learner's own states, N aggregation rounds", ".dagger", "DAggerAgent")
# Stable-Baselines3 adapters (optional dependency)
_add("sb3:ppo", "Stable-Baselines3 PPO through the SimDrive agent protocol", ".sb3", "SB3PPOAgent")
_add("sb3:dqn", "Stable-Baselines3 DQN through the SimDrive agent protocol", ".sb3", "SB3DQNAgent")
_add("sb3:a2c", "Stable-Baselines3 A2C through the SimDrive agent protocol", ".sb3", "SB3A2CAgent")


def get_spec(name: str) -> AgentSpec:
    """The spec for ``name``; a ``KeyError`` names the closest match and the valid names."""
    try:
        return AGENTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(AGENTS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise KeyError(f"unknown agent '{name}'{hint}; valid agents: {', '.join(AGENTS)}") from None
