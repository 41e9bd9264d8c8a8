"""Connect Four strength: AlphaZero trained for a wall-clock budget vs UCT-MCTS.

Trains ``agents.alphazero`` on ``simdrive/ConnectFour-v0`` for ``--minutes`` (default 30)
on ``--threads`` torch threads (default 1; the process uses one core for the network
and search, a second core helps only when the machine is otherwise idle), then plays ``--games`` (default 100) games
against UCT-MCTS with ``--mcts-simulations`` random-rollout simulations per move (default
1000), alternating who starts; the MCTS seed changes with every game pair so the games
differ. Prints the AlphaZero score (win = 1, draw = 1/2), the record by who started,
simulations per second of both players, and one JSON line. Target: a score of 0.80.

Not part of CI. A quick run::

    .venv/bin/python benchmarks/connect4_strength.py --minutes 5 --games 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import envs  # noqa: E402,F401
from agents.alphazero import AlphaZeroAgent, AlphaZeroConfig  # noqa: E402
from agents.base import Budget, Callbacks  # noqa: E402
from agents.mcts import MCTSAgent, MCTSConfig  # noqa: E402


class Deadline(Callbacks):
    """Stops training at the deadline and prints one line per iteration."""

    def __init__(self, deadline: float, start: float) -> None:
        self.deadline = deadline
        self.start = start

    def on_metrics(self, step, metrics):
        keys = ("iteration", "loss_policy", "loss_value", "selfplay_game_length", "arena_win_rate", "promoted", "selfplay_simulations_per_second")
        text = " ".join(f"{k}={metrics[k]:.3g}" for k in keys if k in metrics)
        print(f"[{time.time() - self.start:6.0f}s] moves={step} {text}", flush=True)

    def on_step(self, step, episodes):
        return time.time() < self.deadline


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training wall-clock budget [min]")
    parser.add_argument("--games", type=int, default=100, help="evaluation games against MCTS")
    parser.add_argument("--mcts-simulations", type=int, default=1000, help="UCT simulations (random rollouts) per MCTS move")
    parser.add_argument("--eval-simulations", type=int, default=200, help="PUCT simulations per AlphaZero move in the match")
    parser.add_argument("--selfplay-simulations", type=int, default=50, help="PUCT simulations per self-play move")
    parser.add_argument("--channels", type=int, default=64, help="ResNet width")
    parser.add_argument("--blocks", type=int, default=4, help="ResNet residual blocks")
    parser.add_argument("--games-per-iteration", type=int, default=32)
    parser.add_argument("--train-steps", type=int, default=100, help="gradient steps per iteration")
    parser.add_argument("--arena-games", type=int, default=10, help="new-vs-best gating games per iteration (0 = no gating)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: on a shared 2-core machine 2 threads were 10-100x slower)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    env = gym.make("simdrive/ConnectFour-v0")
    config = AlphaZeroConfig(
        channels=args.channels, blocks=args.blocks, simulations=args.selfplay_simulations, eval_simulations=args.eval_simulations,
        dirichlet_alpha=1.0, temperature_moves=8, games_per_iteration=args.games_per_iteration, train_steps=args.train_steps,
        replay_iterations=10, arena_games=args.arena_games, arena_simulations=25, arena_opening_moves=2, num_threads=args.threads,
    )
    agent = AlphaZeroAgent(env.observation_space, env.action_space, config, seed=args.seed)
    start = time.time()
    print(f"training AlphaZero ({args.channels}x{args.blocks} ResNet) for {args.minutes:g} min on {args.threads} threads", flush=True)
    agent.train(env, Budget(steps=10**12), Deadline(start + 60 * args.minutes, start))
    train_seconds = time.time() - start
    print(f"trained {agent.iteration} iterations, {agent.episodes} self-play games, {agent.steps} moves in {train_seconds:.0f}s; "
          f"best network from iteration {agent.best_iteration}", flush=True)

    record = {"az_first": [0, 0, 0], "mcts_first": [0, 0, 0]}  # AlphaZero wins, draws, losses
    time_az = time_mcts = 0.0
    sims_az = sims_mcts = 0
    game = env.unwrapped.game
    for g in range(args.games):
        mcts = MCTSAgent(env.observation_space, env.action_space, MCTSConfig(simulations=args.mcts_simulations), seed=args.seed + g // 2)
        mcts.bind_env(env)
        az_first = g % 2 == 0
        obs, _ = env.reset(seed=g)
        ply, done = 0, False
        while not done:
            az_to_move = (ply % 2 == 0) == az_first
            t = time.perf_counter()
            if az_to_move:
                action = agent.act(obs)
                time_az += time.perf_counter() - t
                sims_az += config.eval_simulations
            else:
                action = mcts.act(obs)
                time_mcts += time.perf_counter() - t
                sims_mcts += args.mcts_simulations
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            ply += 1
        winner = env.unwrapped.get_state().winner
        az_player = 1 if az_first else -1
        column = 1 if winner == 0 else (0 if winner == az_player else 2)  # AZ win, draw, AZ loss
        record["az_first" if az_first else "mcts_first"][column] += 1
        print(f"game {g + 1}: {'AlphaZero' if az_first else 'MCTS'} first, "
              f"{'draw' if winner == 0 else ('AlphaZero' if winner == az_player else 'MCTS') + ' wins'} in {ply} moves", flush=True)
    wins = record["az_first"][0] + record["mcts_first"][0]
    draws = record["az_first"][1] + record["mcts_first"][1]
    losses = record["az_first"][2] + record["mcts_first"][2]
    score = (wins + 0.5 * draws) / max(1, args.games)
    print()
    print(f"{'':<22}{'AZ wins':>9}{'draws':>7}{'MCTS wins':>11}")
    print(f"{'AlphaZero moves first':<22}{record['az_first'][0]:>9}{record['az_first'][1]:>7}{record['az_first'][2]:>11}")
    print(f"{'MCTS moves first':<22}{record['mcts_first'][0]:>9}{record['mcts_first'][1]:>7}{record['mcts_first'][2]:>11}")
    print(f"AlphaZero score vs MCTS-{args.mcts_simulations}: {score:.3f} (target 0.80)")
    print(f"simulations per second: AlphaZero {sims_az / max(time_az, 1e-9):.0f} (PUCT, network), "
          f"MCTS {sims_mcts / max(time_mcts, 1e-9):.0f} (UCT, random rollouts)")
    result = {
        "benchmark": "connect4_strength", "minutes": args.minutes, "train_seconds": round(train_seconds, 1),
        "iterations": agent.iteration, "selfplay_games": agent.episodes, "games": args.games,
        "mcts_simulations": args.mcts_simulations, "eval_simulations": args.eval_simulations,
        "network": f"{args.channels}x{args.blocks}", "threads": args.threads, "arena_games": args.arena_games,
        "wins": wins, "draws": draws, "losses": losses, "score": round(score, 3), "target": 0.8,
        "az_sims_per_s": round(sims_az / max(time_az, 1e-9)), "mcts_sims_per_s": round(sims_mcts / max(time_mcts, 1e-9)),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
