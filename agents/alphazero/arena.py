"""Arena: matches between two players, alternating who starts (alpha-zero-general's Arena).

A *player* is a function ``(states) -> actions`` choosing one move for each position of a
batch (``GameAdapter.core`` positions, a 1-D array), so an AlphaZero player searches all
the games where it is to move in one batched search (one network call per simulation
round for all of them). Games are played in pairs: game ``2j`` has player A first, game
``2j+1`` player B first, and both games of a pair open with the same ``opening_moves``
random plies, so the pair is fair and deterministic players still meet varied positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from agents.alphazero.game import GameAdapter
from agents.alphazero.search import PUCTSearch, best_actions

Player = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class MatchResult:
    """Outcome counts from player A's point of view."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """(wins + draws / 2) / games, in [0, 1]."""
        return (self.wins + 0.5 * self.draws) / max(1, self.games)

    @property
    def decisive_win_rate(self) -> float:
        """wins / (wins + losses); 0.5 when every game was drawn."""
        decisive = self.wins + self.losses
        return self.wins / decisive if decisive else 0.5


def random_openings(game: GameAdapter, pairs: int, plies: int, rng: np.random.Generator) -> np.ndarray:
    """``pairs`` positions after ``plies`` uniformly random moves each (fewer if a game ends:
    an opening never ends the game)."""
    core = game.core
    states = core.initial(pairs)
    for _ in range(plies):
        legal = core.legal(states)
        choice = np.array([rng.choice(np.flatnonzero(row)) for row in legal])
        nxt, _, terminal = core.step(states, choice)
        states = np.where(terminal, states, nxt)
    return states


def play_match(game: GameAdapter, player_a: Player, player_b: Player, games: int, rng: np.random.Generator, opening_moves: int = 0) -> MatchResult:
    """Play ``games`` games (A starts the even ones); returns A's wins, draws, losses."""
    first, second = match_outcomes(game, player_a, player_b, games, rng, opening_moves)
    outcomes = np.concatenate([first, second])
    return MatchResult(int((outcomes > 0).sum()), int((outcomes == 0).sum()), int((outcomes < 0).sum()))


def match_outcomes(game: GameAdapter, player_a: Player, player_b: Player, games: int, rng: np.random.Generator, opening_moves: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes for A (+1 win, 0 draw, -1 loss) of the games A started and of those B started."""
    core = game.core
    openings = random_openings(game, (games + 1) // 2, opening_moves, rng)
    states = openings[np.arange(games) // 2]
    a_to_move = np.arange(games) % 2 == 0  # A moves first in the even games
    result = np.zeros(games)  # for A
    live = np.ones(games, dtype=bool)
    while live.any():
        for player, is_a in ((player_a, True), (player_b, False)):
            mine = np.flatnonzero(live & (a_to_move == is_a))
            if mine.size == 0:
                continue
            actions = np.asarray(player(states[mine]), dtype=np.int64)
            nxt, reward, terminal = core.step(states[mine], actions)
            states[mine] = nxt
            a_to_move[mine] = not is_a
            ended = mine[terminal]
            result[ended] = reward[terminal] * (1.0 if is_a else -1.0)
            live[ended] = False
    return result[0::2], result[1::2]


def search_player(search: PUCTSearch, evaluate: Any, simulations: int) -> Player:
    """A deterministic AlphaZero player: fresh PUCT trees, no noise, most visited move."""

    def play(states: np.ndarray) -> np.ndarray:
        return best_actions(search.run(states, evaluate, simulations))

    return play
