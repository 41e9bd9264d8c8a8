"""AlphaZero: self-play with PUCT search guided by a policy-value network.

Structure (as alpha-zero-general): ``game.py`` (the Game adapter), ``network.py``
(NeuralNet), ``search.py`` (MCTS/PUCT), ``coach.py`` (self-play), ``arena.py`` (Arena);
this module ties them into an agent of the SimDrive protocol.

Budget: ``steps`` counts self-play *moves* (positions generated, the transitions of the
self-play games) and ``episodes`` counts self-play *games*. Training runs whole
iterations (``games_per_iteration`` games, then training, then the arena) and stops after
the iteration in which the budget is reached, or after the current phase when
``callbacks.on_step`` returns False. So ``simdrive train alphazero simdrive/TicTacToe-v0
--steps 5000`` plays about 5000 / 8 = 600 self-play games.

Acting: with the env bound (``bind_env``; ``train`` does it), ``act`` runs
``eval_simulations`` PUCT simulations from the observed position with the *best* network
(no noise) and plays the most visited move (``explore=True``: sampled from the visit
counts). Without a bound env it plays the network's most probable legal move (from
``obs["board"]`` and ``obs["action_mask"]`` alone). ``act_many(observations)`` searches
many positions in one batched search (the arena and benchmarks use it).

Speed: self-play keeps ``parallel_games`` games in flight and evaluates the leaves of all
their trees in one network call per simulation round; the search runs on the game's
numpy bitboard core; inference uses a batch-norm-folded snapshot of the network, in
bfloat16 where ``precision`` asks for it.

Metrics (``callbacks.on_metrics``): ``loss_policy``, ``loss_value``, ``selfplay_game_length``,
``selfplay_moves``, ``selfplay_moves_per_second``, ``selfplay_simulations_per_second``,
``selfplay_positions_per_call`` (positions per network call), ``arena_win_rate`` (decisive
games won by the new network), ``arena_draw_rate``, ``arena_score``, ``promoted`` (1 if the
new network became the best), ``replay_positions``, ``iteration``, ``best_iteration``.
"""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import gymnasium as gym
import numpy as np
import torch

from agents.alphazero.arena import play_match, search_player
from agents.alphazero.coach import Examples, SelfPlaySettings, self_play
from agents.alphazero.game import GameAdapter
from agents.alphazero.network import Evaluator, PolicyValueNet, resolve_precision, train_step
from agents.alphazero.search import PUCTSearch, best_actions
from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.config_checks import Range, Spec


@dataclass(frozen=True)
class AlphaZeroConfig:
    channels: int = 64
    """Width of the residual trunk ``ResNet(in_channels, channels, blocks)`` [-]."""
    blocks: int = 4
    """Residual blocks in the trunk [-]."""
    value_hidden: int = 64
    """Hidden units of the value head [-]."""
    simulations: int = 50
    """PUCT simulations of a full self-play search (every move unless ``full_search_prob`` < 1) [-]."""
    fast_simulations: int = 10
    """PUCT simulations of a fast self-play search (playout cap randomisation; used when ``full_search_prob`` < 1) [-]."""
    full_search_prob: float = 1.0
    """Probability that a self-play move gets the full search and is kept for training (1 = always) [-]."""
    value_target_mix: float = 0.0
    """Weight m of the root search value q in the value target (1 - m) * z + m * q (0 = the game result z only) [-]."""
    eval_simulations: int = 100
    """PUCT simulations per move in ``act`` (evaluation, play) [-]."""
    c_puct: float = 1.5
    """Exploration constant of PUCT [-]."""
    solver: bool = False
    """MCTS-Solver in every search: proven wins and losses are backed up exactly and a proven win is always played (see ``search.py``)."""
    leaf_batch: int = 1
    """Leaves collected per tree per network call, with virtual loss (1 = none) [-]."""
    dirichlet_alpha: float = 1.0
    """Concentration of the Dirichlet noise at self-play roots (about 10 / legal moves) [-]."""
    dirichlet_eps: float = 0.25
    """Weight of the Dirichlet noise in the root priors [-]."""
    temperature_moves: int = 4
    """Self-play plies with temperature 1 (moves sampled from visit counts); later plies take the most visited move [plies]."""
    games_per_iteration: int = 32
    """Self-play games per iteration [games]."""
    parallel_games: int = 32
    """Self-play games in flight at once; the leaves of all their trees share one network call [games]."""
    replay_iterations: int = 8
    """Iterations whose positions stay in the replay window [-]."""
    train_steps: int = 100
    """Gradient steps per iteration [-]."""
    batch_size: int = 128
    """Positions per gradient step [-]."""
    lr: float = 1e-3
    """Adam learning rate [-]."""
    weight_decay: float = 1e-4
    """L2 weight decay (Adam's weight_decay) [-]."""
    arena_games: int = 20
    """Games new-vs-best per iteration (0 = no gating: the new network always becomes the best) [games]."""
    arena_simulations: int = 25
    """PUCT simulations per arena move [-]."""
    arena_threshold: float = 0.55
    """Share of the decisive arena games the new network must win to replace the best [-]."""
    arena_opening_moves: int = 3
    """Random opening plies of each arena game pair, for variety between deterministic players [plies]."""
    precision: str = "float32"
    """Network inference in the search: "float32", "bfloat16" (2-3x faster on CPUs with
    AVX512-BF16) or "auto" (bfloat16 where the CPU has it) [-]."""
    train_precision: str = "float32"
    """Gradient steps: "float32", "bfloat16" (autocast, float32 weights; about 1.7x faster with AVX512-BF16) or "auto" [-]."""
    num_threads: int = 1
    """torch intra-op threads while training (0 = leave torch's setting). The networks are
    small: on a shared 2-core machine 2 threads ran 10-100x slower than 1 (OpenMP contention) [-]."""

    #: Valid values of the numeric settings (checked by ``agents.config_checks.check_config``).
    RANGES: ClassVar[Mapping[str, Spec]] = {
        "channels": Range(1, 1024), "blocks": Range(0, 64), "value_hidden": Range(1, 4096),
        "simulations": Range(1, 1_000_000), "eval_simulations": Range(1, 1_000_000), "c_puct": Range(0.0, 1000.0),
        "fast_simulations": Range(1, 1_000_000), "full_search_prob": Range(0.0, 1.0), "value_target_mix": Range(0.0, 1.0),
        "parallel_games": Range(1, 100_000),
        "leaf_batch": Range(1, 1024), "dirichlet_alpha": Range(0.0, 1000.0, low_open=True), "dirichlet_eps": Range(0.0, 1.0),
        "temperature_moves": Range(0, 10_000), "games_per_iteration": Range(1, 100_000), "replay_iterations": Range(1, 10_000),
        "train_steps": Range(0, 10_000_000), "batch_size": Range(1, 65_536), "lr": Range(0.0, 10.0, low_open=True),
        "weight_decay": Range(0.0, 1.0), "arena_games": Range(0, 100_000), "arena_simulations": Range(1, 1_000_000),
        "arena_threshold": Range(0.0, 1.0), "arena_opening_moves": Range(0, 1000), "num_threads": Range(0, 1024),
    }

    def __post_init__(self) -> None:
        for name in ("channels", "value_hidden", "simulations", "fast_simulations", "eval_simulations", "leaf_batch", "games_per_iteration",
                     "parallel_games", "replay_iterations", "batch_size", "arena_simulations"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("blocks", "temperature_moves", "train_steps", "arena_games", "arena_opening_moves", "num_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.arena_threshold <= 1.0:
            raise ValueError(f"arena_threshold must be in [0, 1], got {self.arena_threshold}")
        if not 0.0 <= self.dirichlet_eps <= 1.0 or self.dirichlet_alpha <= 0:
            raise ValueError("dirichlet_eps must be in [0, 1] and dirichlet_alpha > 0")
        for name in ("full_search_prob", "value_target_mix"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        resolve_precision(self.precision)
        resolve_precision(self.train_precision)


class AlphaZeroAgent:
    """AlphaZero for two-player board games (see the module docstring)."""

    name: ClassVar[str] = "alphazero"
    Config: ClassVar[type] = AlphaZeroConfig
    #: Env kwargs the platform adds for ``simdrive eval``: the env answers with random moves,
    #: so the summed reward is the agent's score (+1 win, 0 draw, -1 loss).
    eval_env_kwargs: ClassVar[dict[str, Any]] = {"opponent": "random"}
    num_envs = 1

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: AlphaZeroConfig | None = None, seed: int = 0) -> None:
        self._check_spaces(observation_space, action_space)
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config or AlphaZeroConfig()
        self.seed = int(seed)
        self.input_shape = tuple(int(v) for v in observation_space["board"].shape)
        self.n_actions = int(action_space.n)
        cfg = self.config
        with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the global RNG
            torch.manual_seed(self.seed)
            self.net = PolicyValueNet(self.input_shape, self.n_actions, cfg.channels, cfg.blocks, cfg.value_hidden)
        self.best_net = copy.deepcopy(self.net)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.iteration = 0
        self.steps = 0
        self.episodes = 0
        self.best_iteration = 0
        self.replay: list[Examples] = []
        self.game: GameAdapter | None = None
        self.simulations_per_second = 0.0
        self._best_evaluator: Evaluator | None = None  # inference snapshot of best_net, rebuilt when it changes

    # --- environment -----------------------------------------------------------------------

    @staticmethod
    def _check_spaces(observation_space: gym.Space, action_space: gym.Space) -> None:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise IncompatibleEnvironment(f"alphazero needs a discrete action space, this environment has {action_space}")
        if not isinstance(observation_space, gym.spaces.Dict) or "board" not in observation_space.spaces or "action_mask" not in observation_space.spaces:
            raise IncompatibleEnvironment("alphazero needs Dict observations with 'board' planes (C, H, W) and an 'action_mask'")
        if len(observation_space["board"].shape) != 3:
            raise IncompatibleEnvironment(f"alphazero needs 'board' planes of shape (C, H, W), got {observation_space['board'].shape}")

    @classmethod
    def check_env(cls, env: gym.Env) -> None:
        cls._check_spaces(env.observation_space, env.action_space)
        GameAdapter.from_env(env)

    def bind_env(self, env: gym.Env) -> None:
        """Use ``env.unwrapped.game`` for search in ``act`` (and self-play in ``train``)."""
        game = GameAdapter.from_env(env)
        if game.input_shape != self.input_shape or game.n_actions != self.n_actions:
            raise IncompatibleEnvironment(
                f"this network was built for boards {self.input_shape} with {self.n_actions} actions, the env has {game.input_shape}, {game.n_actions}"
            )
        self.game = game

    def _search(self) -> PUCTSearch:
        cfg = self.config
        return PUCTSearch(self.game, cfg.c_puct, cfg.leaf_batch, cfg.dirichlet_alpha, cfg.dirichlet_eps, cfg.solver)

    # --- acting ---------------------------------------------------------------------------

    def act(self, obs: Mapping[str, np.ndarray], explore: bool = False) -> int:
        with _torch_threads(self.config.num_threads):
            return self._act(obs, explore)

    def act_many(self, observations: list[Mapping[str, np.ndarray]]) -> np.ndarray:
        """``act(obs)`` (deterministic) for many positions at once: one batched search, all
        the trees sharing each network call. Needs a bound env."""
        if self.game is None:
            raise RuntimeError("act_many searches with the game's rules: call agent.bind_env(env) first")
        with _torch_threads(self.config.num_threads):
            return best_actions(self._run_search(observations))

    def _run_search(self, observations: list[Mapping[str, np.ndarray]]):
        states = self.game.core.from_states([self.game.state_from_obs(obs) for obs in observations])
        search = self._search()
        start = time.perf_counter()
        result = search.run(states, self.best_evaluator, self.config.eval_simulations)
        self.simulations_per_second = search.simulations / max(time.perf_counter() - start, 1e-9)
        return result

    def _act(self, obs: Mapping[str, np.ndarray], explore: bool) -> int:
        if self.game is None:
            return self._act_policy_only(obs)
        result = self._run_search([obs])
        if explore:
            counts = result.visits[0] / result.visits[0].sum()
            rng = np.random.default_rng([self.seed, int(result.visits[0].sum()), int(np.asarray(obs["board"]).sum())])
            return int(rng.choice(len(counts), p=counts))
        return int(best_actions(result)[0])

    def _act_policy_only(self, obs: Mapping[str, np.ndarray]) -> int:
        planes = np.asarray(obs["board"], dtype=np.float32)[None]
        mask = np.asarray(obs["action_mask"], dtype=bool)[None]
        priors, _ = self.best_evaluator(planes, mask)
        return int(np.argmax(priors[0]))

    @property
    def best_evaluator(self) -> Evaluator:
        """Inference snapshot of the best network (rebuilt after it changes)."""
        if self._best_evaluator is None:
            self._best_evaluator = Evaluator(self.best_net, self.config.precision)
        return self._best_evaluator

    def _set_best(self, iteration: int) -> None:
        self.best_net.load_state_dict(self.net.state_dict())
        self.best_iteration = iteration
        self._best_evaluator = None

    # --- training -------------------------------------------------------------------------

    def train(self, env: gym.Env, budget: Budget, callbacks: Callbacks) -> None:
        self.bind_env(env)
        with _torch_threads(self.config.num_threads):
            while not budget.done(self.steps, self.episodes):
                if not self._iterate(budget, callbacks):
                    return

    def _iterate(self, budget: Budget, callbacks: Callbacks) -> bool:
        """One self-play / train / arena iteration; False if the callbacks asked to stop."""
        cfg, game = self.config, self.game
        rng = np.random.default_rng([self.seed, self.iteration])  # per iteration: resuming reproduces the run
        games = cfg.games_per_iteration
        if budget.episodes is not None:
            games = max(1, min(games, budget.episodes - self.episodes))
        search = self._search()
        settings = SelfPlaySettings(
            games=games, parallel_games=cfg.parallel_games, simulations=cfg.simulations, fast_simulations=cfg.fast_simulations,
            full_search_prob=cfg.full_search_prob, temperature_moves=cfg.temperature_moves, value_target_mix=cfg.value_target_mix,
        )
        examples, stats = self_play(game, search, self.best_evaluator, settings, rng)
        for length, ret in zip(stats.lengths, stats.first_player_returns):
            self.steps += length
            self.episodes += 1
            callbacks.on_episode_end(self.steps, ret, length)
        self.replay = (self.replay + [examples])[-cfg.replay_iterations:]
        self.simulations_per_second = stats.simulations / max(stats.seconds, 1e-9)
        metrics: dict[str, float] = {
            "iteration": float(self.iteration + 1),
            "selfplay_game_length": float(np.mean(stats.lengths)),
            "selfplay_simulations_per_second": self.simulations_per_second,
            "selfplay_moves": float(stats.moves),
            "selfplay_moves_per_second": stats.moves / max(stats.seconds, 1e-9),
            "selfplay_positions_per_call": stats.evaluations / max(stats.network_calls, 1),
        }
        if not callbacks.on_step(self.steps, self.episodes):
            self.iteration += 1
            return False
        metrics.update(self._train_network(rng))
        metrics.update(self._arena(rng))
        self.iteration += 1
        metrics["best_iteration"] = float(self.best_iteration)
        callbacks.on_metrics(self.steps, metrics)
        return callbacks.on_step(self.steps, self.episodes)

    def _train_network(self, rng: np.random.Generator) -> dict[str, float]:
        cfg = self.config
        data = Examples.concat(self.replay)
        policy_losses, value_losses = [], []
        for _ in range(cfg.train_steps):
            idx = rng.integers(len(data), size=min(cfg.batch_size, len(data)))
            lp, lv = train_step(self.net, self.optimizer, data.planes[idx], data.policies[idx], data.values[idx], cfg.train_precision)
            policy_losses.append(lp)
            value_losses.append(lv)
        return {
            "loss_policy": float(np.mean(policy_losses)) if policy_losses else float("nan"),
            "loss_value": float(np.mean(value_losses)) if value_losses else float("nan"),
            "replay_positions": float(len(data)),
        }

    def _arena(self, rng: np.random.Generator) -> dict[str, float]:
        cfg = self.config
        if cfg.arena_games == 0:
            self._set_best(self.iteration + 1)
            return {"promoted": 1.0}
        search = self._search()
        new = search_player(search, Evaluator(self.net, cfg.precision), cfg.arena_simulations)
        best = search_player(search, self.best_evaluator, cfg.arena_simulations)
        result = play_match(self.game, new, best, cfg.arena_games, rng, cfg.arena_opening_moves)
        promoted = result.wins + result.losses > 0 and result.decisive_win_rate >= cfg.arena_threshold
        if promoted:
            self._set_best(self.iteration + 1)
        return {
            "arena_win_rate": result.decisive_win_rate,
            "arena_draw_rate": result.draws / result.games,
            "arena_score": result.score,
            "promoted": float(promoted),
        }

    # --- checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "net": self.net.state_dict(),
            "best_net": self.best_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "iteration": self.iteration,
            "steps": self.steps,
            "episodes": self.episodes,
            "best_iteration": self.best_iteration,
            "replay": [examples.as_dict() for examples in self.replay],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net.load_state_dict(_tensors(state["net"]))
        self.best_net.load_state_dict(_tensors(state["best_net"]))
        self.optimizer.load_state_dict(_optimizer_state(state["optimizer"]))
        self.iteration = int(state["iteration"])
        self.steps = int(state["steps"])
        self.episodes = int(state["episodes"])
        self.best_iteration = int(state["best_iteration"])
        self._best_evaluator = None
        self.replay = [
            Examples(np.asarray(p["planes"], np.float32), np.asarray(p["policies"], np.float32), np.asarray(p["values"], np.float32))
            for p in state["replay"]
        ]


@contextlib.contextmanager
def _torch_threads(threads: int):
    """Run with ``threads`` torch intra-op threads (0: unchanged), restoring the setting after."""
    before = torch.get_num_threads()
    if threads and threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if threads and threads != before:
            torch.set_num_threads(before)


def _tensors(tree: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    return {key: torch.as_tensor(np.asarray(value)) if not isinstance(value, torch.Tensor) else value for key, value in tree.items()}


def _optimizer_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Undo the checkpoint's JSON round trip: tuples (betas) came back as lists."""
    state = copy.deepcopy(dict(state))
    for group in state.get("param_groups", []):
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    return state
