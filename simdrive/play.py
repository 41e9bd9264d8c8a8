"""``simdrive play``: play a board game against a trained agent, or pit two players.

``play(player, vs=..., games=N)``:

* ``player``: a checkpoint path (``.sdckpt`` from ``simdrive train``), an agent object, or
  a player spec (below).
* ``vs``: ``"human"`` opens a pygame window where a person plays with the mouse (click a
  cell in tic-tac-toe, a column in Connect Four; Esc or closing the window stops);
  ``"mcts:N"`` is UCT-MCTS with N simulations per move; ``"random"`` a uniformly random
  player; or another checkpoint path.

Players alternate who moves first (game 0: ``player`` first). Returns a
:class:`MatchSummary`: wins, draws and losses of ``player`` overall and split by who
started, and how many distinct games were played; ``verbose`` prints it. Both sides choose
deterministically (``explore=False``), so each pair of games opens with ``opening_moves``
random plies (seeded by ``seed`` and the pair): by default ``DEFAULT_OPENING_MOVES`` when
two programs play, none against a person. Against a person, every game starts by saying
which side the person plays (on stdout and in the window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from simdrive.errors import UserError

#: Random opening plies of each pair of games when no person plays (agents are deterministic:
#: without them, every pair of games would repeat the same two games) [plies].
DEFAULT_OPENING_MOVES = 2


@dataclass
class SideRecord:
    wins: int = 0
    draws: int = 0
    losses: int = 0

    def add(self, outcome: int) -> None:
        if outcome > 0:
            self.wins += 1
        elif outcome < 0:
            self.losses += 1
        else:
            self.draws += 1

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


@dataclass
class MatchSummary:
    """Results from the point of view of player A (the first argument of ``play``)."""

    player_a: str
    player_b: str
    env_id: str
    total: SideRecord = field(default_factory=SideRecord)
    a_first: SideRecord = field(default_factory=SideRecord)
    b_first: SideRecord = field(default_factory=SideRecord)
    outcomes: list[int] = field(default_factory=list)
    games_seen: set[tuple[int, ...]] = field(default_factory=set)  # move sequences played

    @property
    def distinct_games(self) -> int:
        return len(self.games_seen)

    @property
    def score(self) -> float:
        """A's score in [0, 1]: (wins + draws / 2) / games."""
        return (self.total.wins + 0.5 * self.total.draws) / max(1, self.total.games)

    def as_dict(self) -> dict[str, Any]:
        side = lambda r: {"wins": r.wins, "draws": r.draws, "losses": r.losses}  # noqa: E731
        return {
            "env_id": self.env_id, "player_a": self.player_a, "player_b": self.player_b, "games": self.total.games,
            "score_a": self.score, "total": side(self.total), "a_moves_first": side(self.a_first), "b_moves_first": side(self.b_first),
            "distinct_games": self.distinct_games,
        }

    def __str__(self) -> str:
        t, f, s = self.total, self.a_first, self.b_first
        return "\n".join([
            f"{self.env_id}: {self.player_a} (A) vs {self.player_b} (B), {t.games} games",
            f"{'':<18}{'A wins':>8}{'draws':>8}{'B wins':>8}",
            f"{'A moves first':<18}{f.wins:>8}{f.draws:>8}{f.losses:>8}",
            f"{'B moves first':<18}{s.wins:>8}{s.draws:>8}{s.losses:>8}",
            f"{'total':<18}{t.wins:>8}{t.draws:>8}{t.losses:>8}",
            f"A's score (draw = 1/2): {self.score:.3f}; {self.distinct_games} distinct games",
        ])


class RandomPlayer:
    """Uniformly random legal moves (seeded)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: Any, explore: bool = False) -> int:
        legal = np.flatnonzero(np.asarray(obs["action_mask"]))
        return int(legal[self.rng.integers(len(legal))])


def load_agent(path: str | Path, seed: int = 0) -> tuple[Any, str, dict[str, Any]]:
    """Build the agent stored in a checkpoint; returns (agent, env_id, env_kwargs without the opponent)."""
    from simdrive.agents_registry import load_agent as load_saved_agent

    loaded = load_saved_agent(path, seed=seed)
    env_kwargs = {k: v for k, v in loaded.checkpoint.env_kwargs.items() if k not in ("opponent", "render_mode")}
    return loaded.agent, loaded.checkpoint.env_id, env_kwargs


def _player(spec: Any, env: gym.Env, seed: int) -> tuple[Any, str]:
    """(player object with ``act(obs)``, display name) for a spec, agent or checkpoint path."""
    if not isinstance(spec, (str, Path)):
        name = getattr(spec, "name", type(spec).__name__)
    elif str(spec) == "random":
        return RandomPlayer(seed), "random"
    elif str(spec).startswith("mcts:"):
        from agents.mcts import MCTSAgent, MCTSConfig

        try:
            simulations = int(str(spec).split(":", 1)[1])
            if simulations < 1:
                raise ValueError
        except ValueError:
            raise UserError(f"bad player '{spec}': use mcts:N with N simulations per move, e.g. mcts:1000") from None
        spec, name = MCTSAgent(env.observation_space, env.action_space, MCTSConfig(simulations=simulations), seed), str(spec)
    else:
        path = Path(spec)
        if not path.is_file():
            raise UserError(f"'{spec}' is neither a checkpoint file nor one of: human, random, mcts:N")
        env_id = env.spec.id if env.spec is not None else None
        agent, trained_on, _ = load_agent(path, seed)
        if env_id is not None and trained_on != env_id:
            raise UserError(f"checkpoint {path} was trained on {trained_on}, not {env_id}; "
                            "play it on its own game (leave out --env) or pick a checkpoint of this game")
        spec, name = agent, path.name
    if hasattr(spec, "bind_env"):
        spec.bind_env(env)
    return spec, name


def _env_id_of(player: Any, env_id: str | None) -> str:
    if env_id is not None:
        return env_id
    if isinstance(player, (str, Path)) and Path(player).is_file():
        from simdrive.agents_registry import read_checkpoint

        return read_checkpoint(player).env_id
    raise UserError("name the game with --env (e.g. --env simdrive/TicTacToe-v0) when the player is not a checkpoint")


def play(
    player: Any,
    vs: Any = "human",
    games: int = 2,
    env_id: str | None = None,
    seed: int = 0,
    opening_moves: int | None = None,
    verbose: bool = True,
) -> MatchSummary:
    """Play ``games`` games of ``player`` against ``vs`` (see the module docstring)."""
    if games < 1:
        raise UserError(f"games must be >= 1, got {games}")
    if seed < 0:
        raise UserError(f"seed must be >= 0, got {seed}")
    if opening_moves is None:
        opening_moves = 0 if vs == "human" else DEFAULT_OPENING_MOVES
    if opening_moves < 0:
        raise UserError(f"opening moves must be >= 0, got {opening_moves}")
    from simdrive.envs_registry import make_env, resolve_env_id

    env_id = resolve_env_id(_env_id_of(player, env_id))
    env = make_env(env_id)
    if getattr(env.unwrapped, "game", None) is None:
        raise UserError(f"{env_id} is not a two-player board game; 'simdrive play' needs simdrive/TicTacToe-v0 or simdrive/ConnectFour-v0")
    a, a_name = _player(player, env, seed)
    human = vs == "human"
    if human:
        b, b_name = None, "human"
    else:
        b, b_name = _player(vs, env, seed + 1)
    summary = MatchSummary(a_name, b_name, env_id)
    window = None
    if human:
        from envs.boardgames.render import BoardWindow

        window = BoardWindow(env.unwrapped.game, title=f"SimDrive: you vs {a_name}")
    try:
        for game_index in range(games):
            a_first = game_index % 2 == 0
            if human and verbose:
                print(f"game {game_index + 1}: you play {_side_name(env.unwrapped.game, not a_first)}, "
                      f"{a_name} plays {_side_name(env.unwrapped.game, a_first)}")
            played = _play_one(env, a, b, a_first=a_first, window=window,
                               opening_moves=opening_moves, pair_seed=seed + game_index // 2)
            if played is None:  # the person closed the window
                break
            outcome, moves = played
            summary.games_seen.add(moves)
            summary.outcomes.append(outcome)
            summary.total.add(outcome)
            (summary.a_first if game_index % 2 == 0 else summary.b_first).add(outcome)
            if verbose:
                result = {1: f"{a_name} wins", 0: "draw", -1: f"{b_name} wins"}[outcome]
                print(f"game {game_index + 1}: {result}")
            if window is not None and window.closed:
                break
    finally:
        if window is not None:
            window.close()
        env.close()
    if verbose:
        print(summary)
    return summary


def _side_name(game: Any, first: bool) -> str:
    """The mark of the side that moves first (X, or red in Connect Four) or second (O, yellow)."""
    if getattr(game, "gravity", False):
        return "red (moves first)" if first else "yellow (moves second)"
    return "X (moves first)" if first else "O (moves second)"


def _play_one(env: gym.Env, a: Any, b: Any, a_first: bool, window: Any, opening_moves: int,
              pair_seed: int) -> tuple[int, tuple[int, ...]] | None:
    """One game: (+1 if A won, 0 draw, -1 if B (or the human) won; the moves); None if the window closed."""
    from envs.boardgames.render import draw_board

    game = env.unwrapped.game
    obs, _ = env.reset(seed=pair_seed)
    opening = np.random.default_rng(pair_seed)  # both games of a pair get the same opening
    ply = 0
    last = None
    terminated = False
    moves: list[int] = []
    you = "you play " + _side_name(game, not a_first).split(" (")[0]
    while not terminated:
        state = env.unwrapped.get_state()
        a_to_move = (ply % 2 == 0) == a_first
        if ply < opening_moves:
            legal = game.legal_actions(state)
            action = int(legal[opening.integers(len(legal))])
        elif a_to_move:
            action = int(a.act(obs, explore=False))
        elif b is not None:
            action = int(b.act(obs, explore=False))
        else:
            window.show(draw_board(game, state, last), caption=f"{you}: your move, click")
            action = window.wait_for_action(state)
            if action is None:
                return None
        obs, reward, terminated, truncated, info = env.step(action)
        moves.append(action)
        if info.get("illegal_action"):
            return (-1 if a_to_move else 1), tuple(moves)
        last = action
        ply += 1
        terminated = terminated or truncated
    winner = env.unwrapped.get_state().winner
    outcome = 0
    if winner != 0:
        a_player = 1 if a_first else -1
        outcome = 1 if winner == a_player else -1
    if window is not None:
        text = {1: "I win", 0: "draw", -1: "you win"}[outcome] + " - click for the next game"
        window.show(draw_board(game, env.unwrapped.get_state(), last), caption=text)
        window.wait_for_action(game.initial_state())
    return outcome, tuple(moves)
