"""Connect Four strength: AlphaZero trained for a wall-clock budget vs UCT-MCTS.

Trains ``agents.alphazero`` on ``simdrive/ConnectFour-v0`` for ``--minutes`` (default 30)
on ``--threads`` torch threads, then plays ``--games`` (default 100) games against UCT-MCTS
with ``--mcts-simulations`` random-rollout simulations per move (default 1000), alternating
who starts; the MCTS seed changes with every game pair so the games differ. All games are
played at once: every AlphaZero move of the match is part of one batched search over the
games where AlphaZero is to move. Prints the AlphaZero score (win = 1, draw = 1/2), the
record by who started, the simulations per second of both players and of self-play, and
one JSON line. Target: a score of 0.80.

The defaults are the settings the README reports. For comparisons on a busy machine,
``--clock cpu`` measures the training budget in process CPU time instead of wall time.
``--save``/``--load`` keep a trained agent to evaluate it again; ``--throughput-only S``
only measures self-play and search speed for about S seconds.

Not part of CI. A quick run::

    .venv/bin/python benchmarks/connect4_strength.py --minutes 5 --games 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import envs  # noqa: E402,F401
from agents.alphazero import AlphaZeroAgent, AlphaZeroConfig  # noqa: E402
from agents.base import Budget, Callbacks  # noqa: E402
from agents.mcts import MCTSAgent, MCTSConfig  # noqa: E402

ENV_ID = "simdrive/ConnectFour-v0"


class Deadline(Callbacks):
    """Stops training at the deadline (wall or process CPU seconds), prints one line per
    iteration, keeps self-play totals and, with ``lr_final``, anneals the agent's Adam
    learning rate from its configured value to ``lr_final`` along a cosine over the budget."""

    def __init__(self, seconds: float, clock: str, agent: AlphaZeroAgent | None = None, lr_final: float | None = None) -> None:
        self.clock = time.time if clock == "wall" else time.process_time
        self.start = self.clock()
        self.deadline = self.start + seconds
        self.agent = agent
        self.lr_final = lr_final
        self.selfplay_seconds = 0.0
        self.selfplay_moves = 0
        self.selfplay_simulations = 0.0

    def on_metrics(self, step, metrics):
        seconds = metrics["selfplay_moves"] / max(metrics["selfplay_moves_per_second"], 1e-9)
        self.selfplay_seconds += seconds
        self.selfplay_moves += int(metrics["selfplay_moves"])
        self.selfplay_simulations += metrics["selfplay_simulations_per_second"] * seconds
        keys = ("iteration", "loss_policy", "loss_value", "selfplay_game_length", "selfplay_moves_per_second",
                "selfplay_simulations_per_second", "selfplay_positions_per_call", "arena_win_rate", "promoted")
        text = " ".join(f"{k.replace('selfplay_', 'sp_')}={metrics[k]:.3g}" for k in keys if k in metrics)
        lr = self.agent.optimizer.param_groups[0]["lr"] if self.agent is not None else float("nan")
        print(f"[{self.clock() - self.start:6.0f}s] moves={step} {text} lr={lr:.2g}", flush=True)

    def on_step(self, step, episodes):
        now = self.clock()
        if self.agent is not None and self.lr_final is not None:
            fraction = min(1.0, (now - self.start) / max(self.deadline - self.start, 1e-9))
            lr0 = self.agent.config.lr
            lr = self.lr_final + 0.5 * (lr0 - self.lr_final) * (1.0 + np.cos(np.pi * fraction))
            for group in self.agent.optimizer.param_groups:
                group["lr"] = lr
        return now < self.deadline


def build_config(args: argparse.Namespace) -> AlphaZeroConfig:
    return AlphaZeroConfig(
        channels=args.channels, blocks=args.blocks, simulations=args.selfplay_simulations, fast_simulations=args.fast_simulations,
        full_search_prob=args.full_search_prob, value_target_mix=args.value_target_mix, eval_simulations=args.eval_simulations,
        dirichlet_alpha=1.0, temperature_moves=args.temperature_moves, games_per_iteration=args.games_per_iteration,
        parallel_games=args.parallel_games, train_steps=args.train_steps, batch_size=args.batch_size, lr=args.lr,
        replay_iterations=args.replay_iterations, arena_games=args.arena_games, arena_simulations=args.arena_simulations,
        arena_opening_moves=2, precision=args.precision, train_precision=args.train_precision, num_threads=args.threads, solver=args.solver,
    )


def play_match(agent: AlphaZeroAgent, env: gym.Env, games: int, mcts_simulations: int, seed: int) -> dict:
    """``games`` games against UCT-MCTS, all in lockstep (AlphaZero searches its positions in one batch)."""
    game = env.unwrapped.game
    states = [game.initial_state() for _ in range(games)]
    az_first = [g % 2 == 0 for g in range(games)]
    # one MCTS seed per game pair (seed 0: seeds 0, 1, 2, ...; seed s: 1000 s, 1000 s + 1, ...)
    mcts = [MCTSAgent(env.observation_space, env.action_space, MCTSConfig(simulations=mcts_simulations), seed=1000 * seed + g // 2) for g in range(games)]
    for player in mcts:
        player.bind_env(env)
    obs = lambda s: {"board": game.encode(s), "action_mask": game.legal_mask(s).astype(np.int8)}  # noqa: E731
    time_az = time_mcts = 0.0
    sims_az = sims_mcts = 0
    while True:
        live = [g for g in range(games) if not game.is_terminal(states[g])]
        if not live:
            break
        az_turn = [g for g in live if (states[g].moves % 2 == 0) == az_first[g]]
        if az_turn:
            t = time.perf_counter()
            actions = agent.act_many([obs(states[g]) for g in az_turn])
            time_az += time.perf_counter() - t
            sims_az += agent.config.eval_simulations * len(az_turn)
            for g, action in zip(az_turn, actions):
                states[g] = game.next_state(states[g], int(action))
        for g in live:
            if g in az_turn or game.is_terminal(states[g]):
                continue
            t = time.perf_counter()
            action = mcts[g].act(obs(states[g]))
            time_mcts += time.perf_counter() - t
            sims_mcts += mcts_simulations
            states[g] = game.next_state(states[g], action)
    record = {"az_first": [0, 0, 0], "mcts_first": [0, 0, 0]}  # AlphaZero wins, draws, losses
    for g, state in enumerate(states):
        az_player = 1 if az_first[g] else -1
        column = 1 if state.winner == 0 else (0 if state.winner == az_player else 2)
        record["az_first" if az_first[g] else "mcts_first"][column] += 1
        outcome = "draw" if state.winner == 0 else ("AlphaZero" if state.winner == az_player else "MCTS") + " wins"
        print(f"game {g + 1}: {'AlphaZero' if az_first[g] else 'MCTS'} first, {outcome} in {state.moves} moves")
    record["az_sims_per_s"] = sims_az / max(time_az, 1e-9)
    record["mcts_sims_per_s"] = sims_mcts / max(time_mcts, 1e-9)
    record["match_seconds"] = time_az + time_mcts
    return record


def versus(agent: AlphaZeroAgent, other_path: Path, games: int, simulations: int, seed: int) -> dict:
    """``agent`` against the agent in checkpoint ``other_path``: ``games`` games (pairs with
    the same 4 random opening plies, alternating who starts), both searching ``simulations``
    per move in batched searches."""
    from agents.alphazero.arena import play_match as arena_match
    from agents.alphazero.arena import search_player
    from agents.alphazero.network import Evaluator
    from agents.alphazero.search import PUCTSearch
    from agents.checkpoint import load_checkpoint

    ckpt = load_checkpoint(other_path)
    other = AlphaZeroAgent(agent.observation_space, agent.action_space, AlphaZeroConfig(**ckpt.config), seed=seed)
    other.load_state_dict(ckpt.state)
    game = agent.game
    players = [search_player(PUCTSearch(game, a.config.c_puct, solver=agent.config.solver), Evaluator(a.best_net, agent.config.precision), simulations)
               for a in (agent, other)]
    result = arena_match(game, players[0], players[1], games, np.random.default_rng(seed), opening_moves=4)
    print(f"versus {other_path}: {result.wins} wins, {result.draws} draws, {result.losses} losses, score {result.score:.3f}")
    return {"benchmark": "connect4_versus", "other": str(other_path), "wins": result.wins, "draws": result.draws,
            "losses": result.losses, "score": round(result.score, 3)}


def throughput(agent: AlphaZeroAgent, env: gym.Env, seconds: float) -> dict:
    """Self-play positions and simulations per second (iterations of ``games_per_iteration``
    games, training skipped), then one batched search of 50 positions and one single-position search."""
    cfg = agent.config
    moves = sims = 0
    spent = 0.0

    class Count(Callbacks):
        def on_metrics(self, step, metrics):
            nonlocal moves, sims, spent
            t = metrics["selfplay_moves"] / metrics["selfplay_moves_per_second"]
            moves, sims, spent = moves + metrics["selfplay_moves"], sims + metrics["selfplay_simulations_per_second"] * t, spent + t

    while spent < seconds:
        agent.train(env, Budget(episodes=agent.episodes + cfg.games_per_iteration), Count())
    rng = np.random.default_rng(0)
    game = env.unwrapped.game
    positions = []
    for _ in range(50):
        state = game.initial_state()
        for _ in range(int(rng.integers(0, 10))):
            state = game.next_state(state, int(rng.choice(game.legal_actions(state))))
        positions.append({"board": game.encode(state), "action_mask": game.legal_mask(state).astype(np.int8)})
    agent.act_many(positions)
    batched = agent.simulations_per_second
    agent.act(positions[0])
    single = agent.simulations_per_second
    return {"selfplay_moves_per_s": round(moves / spent), "selfplay_sims_per_s": round(sims / spent),
            "search_sims_per_s_50_positions": round(batched), "search_sims_per_s_1_position": round(single)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget [min]")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="what --minutes measures: wall time or process CPU time")
    parser.add_argument("--games", type=int, default=100, help="evaluation games against MCTS")
    parser.add_argument("--mcts-simulations", type=int, default=1000, help="UCT simulations (random rollouts) per MCTS move")
    parser.add_argument("--eval-simulations", type=int, default=800, help="PUCT simulations per AlphaZero move in the match")
    parser.add_argument("--selfplay-simulations", type=int, default=50, help="PUCT simulations per full self-play search")
    parser.add_argument("--fast-simulations", type=int, default=10, help="PUCT simulations per fast self-play search")
    parser.add_argument("--full-search-prob", type=float, default=1.0, help="share of self-play moves searched fully and kept for training")
    parser.add_argument("--value-target-mix", type=float, default=0.0, help="weight of the search value in the value target")
    parser.add_argument("--solver", action=argparse.BooleanOptionalAction, default=False, help="MCTS-Solver in every search (proven wins/losses)")
    parser.add_argument("--temperature-moves", type=int, default=8, help="self-play plies sampled from the visit counts")
    parser.add_argument("--channels", type=int, default=32, help="ResNet width")
    parser.add_argument("--blocks", type=int, default=2, help="ResNet residual blocks")
    parser.add_argument("--games-per-iteration", type=int, default=256)
    parser.add_argument("--parallel-games", type=int, default=256, help="self-play games in flight (positions per network call)")
    parser.add_argument("--train-steps", type=int, default=100, help="gradient steps per iteration")
    parser.add_argument("--batch-size", type=int, default=256, help="positions per gradient step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--lr-final", type=float, help="anneal the learning rate to this value over the budget (cosine); default: constant")
    parser.add_argument("--replay-iterations", type=int, default=10, help="iterations kept in the replay window")
    parser.add_argument("--arena-games", type=int, default=0, help="new-vs-best gating games per iteration (0 = no gating)")
    parser.add_argument("--arena-simulations", type=int, default=25, help="PUCT simulations per arena move")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default="auto", help="network inference precision in the search")
    parser.add_argument("--train-precision", choices=("auto", "float32", "bfloat16"), default="float32", help="gradient steps: autocast precision")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, help="write the trained agent to this checkpoint")
    parser.add_argument("--load", type=Path, help="evaluate this checkpoint instead of training")
    parser.add_argument("--versus", type=Path, help="play the agent against this checkpoint (AlphaZero vs AlphaZero) instead of MCTS")
    parser.add_argument("--throughput-only", type=float, metavar="SECONDS", help="only measure self-play and search speed")
    args = parser.parse_args(argv)

    from agents.checkpoint import load_checkpoint, save_checkpoint

    torch.set_num_threads(args.threads)
    env = gym.make(ENV_ID)
    config = build_config(args)
    train_seconds = 0.0
    totals = Deadline(0, args.clock)
    if args.load:
        ckpt = load_checkpoint(args.load)
        config = AlphaZeroConfig(**{**ckpt.config, "eval_simulations": args.eval_simulations, "precision": args.precision,
                                    "num_threads": args.threads, "solver": args.solver})
        agent = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=args.seed)
        agent.load_state_dict(ckpt.state)
        agent.bind_env(env)
        print(f"loaded {args.load}: {config.channels}x{config.blocks} ResNet, {agent.iteration} iterations, {agent.steps} self-play moves")
    else:
        if args.throughput_only:
            agent = AlphaZeroAgent(env.observation_space, env.action_space, replace(config, train_steps=0, arena_games=0), seed=args.seed)
            agent.bind_env(env)
            result = {"benchmark": "connect4_throughput", "network": f"{args.channels}x{args.blocks}", **throughput(agent, env, args.throughput_only)}
            print(json.dumps(result))
            return result
        agent = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=args.seed)
        print(f"training AlphaZero ({args.channels}x{args.blocks} ResNet) for {args.minutes:g} {args.clock} min on {args.threads} threads", flush=True)
        totals = Deadline(60 * args.minutes, args.clock, agent, args.lr_final)
        start = time.time()
        agent.train(env, Budget(steps=10**12), totals)
        train_seconds = time.time() - start
        print(f"trained {agent.iteration} iterations, {agent.episodes} self-play games, {agent.steps} moves in {train_seconds:.0f}s wall; "
              f"self-play {totals.selfplay_moves / max(totals.selfplay_seconds, 1e-9):.0f} moves/s, "
              f"{totals.selfplay_simulations / max(totals.selfplay_seconds, 1e-9):.0f} simulations/s", flush=True)
        if args.save:
            save_checkpoint(args.save, agent="alphazero", config=config, env_id=ENV_ID, state=agent.state_dict())

    if args.versus:
        result = versus(agent, args.versus, args.games, config.eval_simulations, args.seed)
        print(json.dumps(result))
        return result
    record = play_match(agent, env, args.games, args.mcts_simulations, args.seed)
    first, second = record["az_first"], record["mcts_first"]
    wins, draws, losses = first[0] + second[0], first[1] + second[1], first[2] + second[2]
    score = (wins + 0.5 * draws) / max(1, args.games)
    print()
    print(f"{'':<22}{'AZ wins':>9}{'draws':>7}{'MCTS wins':>11}")
    print(f"{'AlphaZero moves first':<22}{first[0]:>9}{first[1]:>7}{first[2]:>11}")
    print(f"{'MCTS moves first':<22}{second[0]:>9}{second[1]:>7}{second[2]:>11}")
    print(f"AlphaZero score vs MCTS-{args.mcts_simulations}: {score:.3f} (target 0.80)")
    print(f"simulations per second in the match: AlphaZero {record['az_sims_per_s']:.0f} (PUCT, batched over the games), "
          f"MCTS {record['mcts_sims_per_s']:.0f} (UCT, random rollouts); match {record['match_seconds']:.0f}s")
    result = {
        "benchmark": "connect4_strength", "minutes": args.minutes, "clock": args.clock, "train_seconds": round(train_seconds, 1),
        "iterations": agent.iteration, "selfplay_games": agent.episodes, "selfplay_moves": agent.steps,
        "selfplay_moves_per_s": round(totals.selfplay_moves / max(totals.selfplay_seconds, 1e-9)),
        "selfplay_sims_per_s": round(totals.selfplay_simulations / max(totals.selfplay_seconds, 1e-9)),
        "games": args.games, "mcts_simulations": args.mcts_simulations, "eval_simulations": config.eval_simulations,
        "network": f"{config.channels}x{config.blocks}", "threads": args.threads, "precision": args.precision,
        "az_first": first, "mcts_first": second, "wins": wins, "draws": draws, "losses": losses, "score": round(score, 3), "target": 0.8,
        "az_sims_per_s": round(record["az_sims_per_s"]), "mcts_sims_per_s": round(record["mcts_sims_per_s"]),
        "match_seconds": round(record["match_seconds"]),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
