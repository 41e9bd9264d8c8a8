"""Two-player board games (tic-tac-toe, Connect Four): pure-functional rules for search
(:class:`KInARowGame`) and Gymnasium environments with action masks and copyable state."""

from envs.boardgames.base import BoardGameEnv, BoardState, KInARowGame, random_opponent
from envs.boardgames.connect4 import ConnectFour, ConnectFourEnv
from envs.boardgames.tictactoe import TicTacToe, TicTacToeEnv

__all__ = [
    "BoardGameEnv",
    "BoardState",
    "ConnectFour",
    "ConnectFourEnv",
    "KInARowGame",
    "TicTacToe",
    "TicTacToeEnv",
    "random_opponent",
]
