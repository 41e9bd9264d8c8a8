"""AlphaZero split as alpha-zero-general: ``game`` (Game adapter), ``network`` (NeuralNet),
``search`` (MCTS with PUCT), ``coach`` (self-play), ``arena`` (Arena), ``agent`` (the agent)."""

from agents.alphazero.agent import AlphaZeroAgent, AlphaZeroConfig

__all__ = ["AlphaZeroAgent", "AlphaZeroConfig"]
