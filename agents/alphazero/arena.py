"""Arena: matches between two players, alternating who starts (alpha-zero-general's Arena).

A *player* is a function ``(states: list) -> list[int]`` choosing one move for each
position it is given (batched, so AlphaZero players evaluate all games in one network call
per simulation). Games are played in pairs: game ``2j`` has player A first, game ``2j+1``
player B first, and both games of a pair open with the same ``opening_moves`` random
plies, so the pair is fair and deterministic players still meet varied positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from agents.alphazero.game import GameAdapter
from agents.alphazero.search import PUCTSearch, best_action

Player = Callable[[list], list[int]]


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


def play_match(game: GameAdapter, player_a: Player, player_b: Player, games: int, rng: np.random.Generator, opening_moves: int = 0) -> MatchResult:
    """Play ``games`` games (A starts the even ones); returns A's wins, draws, losses."""
    states, first_is_a = [], []
    for j in range(games):
        if j % 2 == 0:
            state = game.initial_state()
            for _ in range(opening_moves):
                if game.is_terminal(state):
                    break
                legal = np.flatnonzero(game.legal_mask(state))
                state = game.step(state, int(legal[rng.integers(len(legal))]))[0]
            opening = state
        states.append(opening)
        first_is_a.append(j % 2 == 0)
    ply = [0] * games
    while True:
        live = [j for j in range(games) if not game.is_terminal(states[j])]
        if not live:
            break
        for player, is_a in ((player_a, True), (player_b, False)):
            mine = [j for j in live if not game.is_terminal(states[j]) and (first_is_a[j] == (ply[j] % 2 == 0)) == is_a]
            if not mine:
                continue
            actions = player([states[j] for j in mine])
            for j, action in zip(mine, actions):
                states[j] = game.step(states[j], int(action))[0]
                ply[j] += 1
    wins = draws = losses = 0
    for j in range(games):
        value = game.terminal_value(states[j])  # for the player to move, who did not make the last move
        if value == 0:
            draws += 1
            continue
        # the player who moved last made ply[j] - 1 (0-based); A moves on even plies iff A started
        last_mover_is_a = first_is_a[j] == ((ply[j] - 1) % 2 == 0)
        mover_won = value < 0
        if mover_won == last_mover_is_a:
            wins += 1
        else:
            losses += 1
    return MatchResult(wins, draws, losses)


def search_player(search: PUCTSearch, evaluate: Any, simulations: int) -> Player:
    """A deterministic AlphaZero player: fresh PUCT trees, no noise, most visited move."""

    def play(states: list) -> list[int]:
        roots = [search.new_root(state) for state in states]
        search.run(roots, evaluate, simulations)
        return [best_action(root) for root in roots]

    return play
