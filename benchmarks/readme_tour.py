"""The README tour's training commands at their stated budgets: does each end with an agent
that solves its task?

Every ``simdrive train`` command of the README's tour (``TOUR`` below; a test checks that
the README shows each one verbatim) runs as a user would type it, in a scratch working
directory (so ``runs/...`` paths land there), with ``--no-track --json`` added. Then the
checkpoint it leaves (``checkpoint.sdckpt``, the one ``watch it:`` names) is judged by an
oracle that does not share code with the agent:

* CartPole: the mean return of 20 deterministic held-out episodes (seeds 1000-1019) is at
  least 475 (Gymnasium's reward threshold); the best checkpoint's figure is shown beside it;
* tabular agents on mazes and grid worlds: the greedy policy reaches the goal in exactly
  the number of moves of a breadth-first search over the env's model, from the start state
  of each of 20 episodes (the maze's shortest path);
* value iteration on GridWorld5x5 (gamma 0.9): its values match Sutton & Barto's Figure 3.5
  to one decimal;
* AlphaZero on tic-tac-toe: it never loses, from both sides, against every line of a
  perfect (minimax) opponent and against every legal line of any opponent;
* driving: success and at-fault collision rates over 100 held-out seeds.

    python benchmarks/readme_tour.py                  # every command
    python benchmarks/readme_tour.py --fast           # the CI subset (tabular, seconds)
    python benchmarks/readme_tour.py --only sarsa,dqn # commands whose text contains a word
    python benchmarks/readme_tour.py --mazes          # every TD control agent, default budget, 12 mazes x 2 seeds

Prints a table and, last, one JSON line. Exit status 1 if a command fails its check.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELD_OUT_SEED = 1000  # first seed of the judging episodes (training evaluates on seed+10000, seed+20000...)
CARTPOLE_EPISODES = 20
CARTPOLE_TARGET = 475.0
PATH_EPISODES = 20
DRIVING_EPISODES = 100
DRIVING_SUCCESS, DRIVING_AT_FAULT = 0.90, 0.05

FIGURE_3_5 = (  # Sutton & Barto (2018), Figure 3.5: v* of the 5x5 grid world, gamma 0.9
    (22.0, 24.4, 22.0, 19.4, 17.5),
    (19.8, 22.0, 19.8, 17.8, 16.0),
    (17.8, 19.8, 17.8, 16.0, 14.4),
    (16.0, 17.8, 16.0, 14.4, 13.0),
    (14.4, 16.0, 14.4, 13.0, 11.7),
)


@dataclass(frozen=True)
class TourCommand:
    command: str  # as the README shows it (without the leading "simdrive ")
    check: str  # the oracle: cartpole, shortest_path, figure_3_5, never_loses, driving, resume
    fast: bool = False  # part of the CI subset (seconds)


TOUR: tuple[TourCommand, ...] = (
    TourCommand("train q-learning simdrive/Maze-v0 --episodes 500 --seed 0", "shortest_path", fast=True),
    TourCommand("train value-iteration simdrive/GridWorld5x5-v0 --set gamma=0.9", "figure_3_5", fast=True),
    TourCommand('train sarsa simdrive/Maze-v0 --env-arg "maze_size=[5,5]" --env-arg maze_seed=3 --episodes 400 --out runs/sarsa',
                "shortest_path", fast=True),
    TourCommand("train dqn simdrive/CartPole-v1 --steps 50000 --checkpoint-every 10000 --out runs/dqn", "cartpole"),
    TourCommand("train a2c simdrive/CartPole-v1 --steps 100000", "cartpole"),
    TourCommand("train a2c simdrive/CartPole-v1 --steps 200000 --set backbone=lstm --set n_steps=32 --set learning_rate=2e-3", "cartpole"),
    TourCommand("train reinforce simdrive/CartPole-v1 --steps 100000", "cartpole"),
    TourCommand("train sb3:ppo simdrive/CartPole-v1 --steps 50000", "cartpole"),
    TourCommand("train sb3:dqn simdrive/CartPole-v1 --steps 50000", "cartpole"),
    TourCommand("train sb3:a2c simdrive/CartPole-v1 --steps 100000", "cartpole"),
    TourCommand("train sb3:ppo simdrive/Highway-v0 --out runs/ppo-highway", "driving"),
    TourCommand("train alphazero simdrive/TicTacToe-v0 --steps 4000 --out runs/alphazero", "never_loses"),
    TourCommand("train q-learning simdrive/GridWorld4x4-v0 --episodes 200 --json", "shortest_path", fast=True),
    TourCommand("train dqn simdrive/CartPole-v1 --steps 100000 --out runs/dqn2 --resume runs/dqn/checkpoint.sdckpt", "resume"),
)


#: ``--mazes``: the tabular control agents with their tuned defaults on the Dyna maze and generated mazes.
MAZE_AGENTS = ("q-learning", "sarsa", "expected-sarsa", "double-q-learning")
MAZES = ("", *(f'--env-arg "maze_size=[5,5]" --env-arg maze_seed={s}' for s in range(8)),
         *(f'--env-arg "maze_size=[8,8]" --env-arg maze_seed={s}' for s in range(3)))
MAZE_SEEDS = (0, 1)


def maze_commands() -> list[TourCommand]:
    return [TourCommand(f"train {agent} simdrive/Maze-v0 {maze} --seed {seed}".replace("  ", " "), "shortest_path")
            for agent in MAZE_AGENTS for maze in MAZES for seed in MAZE_SEEDS]


@dataclass
class Outcome:
    command: str
    ok: bool
    result: str  # the measured figure, in words
    target: str
    wall_seconds: float  # the train command's wall time [s]
    train_steps: int | None = None
    train_episodes: int | None = None


# --- oracles -------------------------------------------------------------------------


def _load(checkpoint: str | Path, env_id: str | None = None):
    from simdrive.agents_registry import resolve_policy

    return resolve_policy(str(checkpoint), env_id, seed=0)


def _mean_return(checkpoint: str | Path, episodes: int) -> float:
    from simdrive.envs_registry import make_env
    from simdrive.runner import eval_env_kwargs, evaluate

    source = _load(checkpoint)
    env = make_env(source.env_id, eval_env_kwargs(source.agent, source.env_kwargs))
    return evaluate(source.agent, env, episodes, HELD_OUT_SEED).mean


def check_cartpole(summary: dict[str, Any], cwd: Path) -> tuple[bool, str, str]:
    final = _mean_return(summary["checkpoint"], CARTPOLE_EPISODES)
    text = f"final {final:.1f}"
    if summary.get("best_checkpoint"):
        text += f", best {_mean_return(summary['best_checkpoint'], CARTPOLE_EPISODES):.1f}"
    return final >= CARTPOLE_TARGET, text, f">= {CARTPOLE_TARGET:g} over {CARTPOLE_EPISODES} held-out episodes"


def bfs_distances(model) -> "Any":
    """Moves to the nearest terminal state from every state of a deterministic tabular model (-1: none)."""
    import numpy as np

    successor = model.transition_probs.argmax(axis=2)  # (S, A): deterministic next states
    if not np.allclose(model.transition_probs.max(axis=2), 1.0):
        raise ValueError("the shortest-path oracle needs deterministic moves")
    n_states = successor.shape[0]
    predecessors: list[list[int]] = [[] for _ in range(n_states)]
    for state in range(n_states):
        if not model.terminal[state]:
            for nxt in set(successor[state].tolist()):
                predecessors[nxt].append(state)
    distance = np.full(n_states, -1)
    queue = deque(np.flatnonzero(model.terminal).tolist())
    distance[list(queue)] = 0
    while queue:
        state = queue.popleft()
        for previous in predecessors[state]:
            if distance[previous] < 0:
                distance[previous] = distance[state] + 1
                queue.append(previous)
    return distance


def check_shortest_path(summary: dict[str, Any], cwd: Path) -> tuple[bool, str, str]:
    from simdrive.envs_registry import make_env

    source = _load(summary["checkpoint"])
    env = make_env(source.env_id, source.env_kwargs)
    distance = bfs_distances(env.unwrapped.model)
    optimal = 0
    for episode in range(PATH_EPISODES):
        obs, _ = env.reset(seed=HELD_OUT_SEED + episode)
        shortest, moves, terminated, truncated = int(distance[int(obs)]), 0, False, False
        while not (terminated or truncated) and moves <= shortest:
            obs, _, terminated, truncated, _ = env.step(source.agent.act(obs))
            moves += 1
        optimal += int(terminated and moves == shortest)
    return optimal == PATH_EPISODES, f"shortest path in {optimal}/{PATH_EPISODES} episodes", "shortest path in every episode"


def check_figure_3_5(summary: dict[str, Any], cwd: Path) -> tuple[bool, str, str]:
    import numpy as np

    values = _load(summary["checkpoint"]).agent.value_table().reshape(5, 5)
    error = float(np.abs(values - np.array(FIGURE_3_5)).max())
    return error <= 0.05 + 1e-9, f"max |v - Figure 3.5| = {error:.3f}", "Figure 3.5 to one decimal"


def check_never_loses(summary: dict[str, Any], cwd: Path) -> tuple[bool, str, str]:
    import numpy as np

    from tests.agents.minimax import exhaustive_results

    source = _load(summary["checkpoint"])
    env = __import__("gymnasium").make(source.env_id)
    game = env.unwrapped.game
    agent = source.agent
    agent.bind_env(env)

    def choose(state):
        return agent.act({"board": game.encode(state), "action_mask": game.legal_mask(state).astype(np.int8)})

    perfect = exhaustive_results(choose, game, "optimal")
    anyone = exhaustive_results(choose, game, "all")
    losses = perfect["losses"] + anyone["losses"]
    text = (f"vs every perfect line: {perfect['losses']} losses of {sum(perfect.values())}; "
            f"vs every line: {anyone['losses']} losses of {sum(anyone.values())} ({anyone['wins']} wins)")
    return losses == 0, text, "no loss from either side"


def check_driving(summary: dict[str, Any], cwd: Path) -> tuple[bool, str, str]:
    from simdrive.envs_registry import make_env
    from simdrive.runner import evaluate

    def rates(checkpoint: str) -> tuple[float, float]:
        source = _load(checkpoint)
        env = make_env(source.env_id, source.env_kwargs)
        driving = evaluate(source.agent, env, DRIVING_EPISODES, HELD_OUT_SEED).driving
        return driving["success_rate"], driving["at_fault_collision_rate"]

    success, at_fault = rates(summary["checkpoint"])
    ok = success >= DRIVING_SUCCESS and at_fault <= DRIVING_AT_FAULT
    text = f"success {success:.0%}, at-fault collisions {at_fault:.0%}"
    if summary.get("best_checkpoint"):
        text += " (best: {:.0%}, {:.0%})".format(*rates(summary["best_checkpoint"]))
    return ok, text, f"success >= {DRIVING_SUCCESS:.0%}, at-fault <= {DRIVING_AT_FAULT:.0%} over {DRIVING_EPISODES} seeds"


def check_resume(summary: dict[str, Any], cwd: Path) -> tuple[bool, str, str]:
    ok, text, target = check_cartpole(summary, cwd)
    return ok, f"resumed to {summary['train_steps']} steps; {text}", target


CHECKS: dict[str, Callable[[dict[str, Any], Path], tuple[bool, str, str]]] = {
    "cartpole": check_cartpole, "shortest_path": check_shortest_path, "figure_3_5": check_figure_3_5,
    "never_loses": check_never_loses, "driving": check_driving, "resume": check_resume,
}


# --- running -------------------------------------------------------------------------


def run_command(item: TourCommand, cwd: Path, timeout: float) -> Outcome:
    """Run one tour command in ``cwd`` as a user would (plus --no-track --json) and judge it."""
    args = shlex.split(item.command)
    argv = [sys.executable, "-m", "simdrive.cli", *args, "--no-track", "--json", "--no-progress"]
    environment = {**os.environ, "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment)
    except subprocess.TimeoutExpired:
        return Outcome(item.command, False, f"did not finish in {timeout:.0f} s", "-", time.perf_counter() - started)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return Outcome(item.command, False, f"exit {done.returncode}: {last[:200]}", "-", wall)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("checkpoint", "best_checkpoint"):  # paths relative to the command's working directory
        if summary.get(key):
            summary[key] = str(cwd / summary[key])
    ok, result, target = CHECKS[item.check](summary, cwd)
    return Outcome(item.command, ok, result, target, wall, summary.get("train_steps"), summary.get("train_episodes"))


def select(fast: bool, only: str | None) -> list[TourCommand]:
    chosen = [item for item in TOUR if item.fast or not fast]
    if only:
        words = [word.strip() for word in only.split(",") if word.strip()]
        chosen = [item for item in chosen if any(word in item.command for word in words)]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help="only the CI subset (tabular commands, seconds)")
    parser.add_argument("--only", help="comma-separated words: run the commands containing any of them")
    parser.add_argument("--mazes", action="store_true", help="the TD control agents on 12 mazes x 2 seeds instead of the tour")
    parser.add_argument("--timeout", type=float, default=1800.0, help="limit per command [s]")
    parser.add_argument("--workdir", type=Path, help="working directory (default: a temporary one)")
    args = parser.parse_args(argv)

    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="readme-tour-") as scratch:
        cwd = args.workdir or Path(scratch)
        cwd.mkdir(parents=True, exist_ok=True)
        for item in (maze_commands() if args.mazes else select(args.fast, args.only)):
            outcome = run_command(item, cwd, args.timeout)
            outcomes.append(outcome)
            mark = "ok" if outcome.ok else "FAIL"
            print(f"{mark:4} {outcome.wall_seconds:7.1f} s  simdrive {outcome.command}\n"
                  f"     {outcome.result}  (target: {outcome.target})", flush=True)
    print()
    print("| command | wall s | result | target | solved |")
    print("|---|---|---|---|---|")
    for o in outcomes:
        print(f"| `simdrive {o.command}` | {o.wall_seconds:.0f} | {o.result} | {o.target} | {'yes' if o.ok else '**no**'} |")
    print(json.dumps({"benchmark": "readme_tour", "passed": sum(o.ok for o in outcomes), "commands": len(outcomes),
                      "outcomes": [asdict(o) for o in outcomes]}))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
