"""Training and evaluation runs: the glue between agents, environments, progress,
tracking and checkpoints. Agents report events through ``Callbacks``; this module turns
them into a progress bar, MLflow metrics and periodic checkpoints.

A training run reads as a pipeline: :func:`plan_training` resolves a :class:`TrainRequest`
once (agent class, environment id and arguments, tuned hyperparameters from
``simdrive/hparams``, ``--set`` overrides, resume state, budget, evaluation settings) into a
typed :class:`TrainPlan`; :func:`run_plan` then trains, evaluates during training
(:class:`TrainingEvaluation`: ``best.sdckpt``, stop at a return) and after it, and records.
"""

from __future__ import annotations

import math
import signal
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.checkpoint import Checkpoint, save_checkpoint
from simdrive import plots
from simdrive.agents_registry import (
    agent_class,
    bind_to_env,
    checkpoint_config,
    check_compatible,
    describe_config,
    instantiate,
    read_checkpoint,
    resolve_policy,
    restore_state,
)
from simdrive.config import to_yaml
from simdrive.envs_registry import make_env, make_training_env, resolve_env_id
from simdrive.errors import UserError
from simdrive.hparams import DEFAULT, TunedEntry, resolve_settings, tuned_entry
from simdrive.tracking import MlflowTracker, NullTracker, check_tracking, make_tracker, runs_view_url, tracking_uri

CHECKPOINT_NAME = "checkpoint.sdckpt"
BEST_CHECKPOINT_NAME = "best.sdckpt"  # the best evaluation during training, beside the last checkpoint
MAX_EVAL_EPISODE_STEPS = 100_000


@dataclass(frozen=True)
class TrainRequest:
    """What the user asked for (the command line's arguments); :func:`plan_training` resolves it."""

    agent: str  # agent name
    env_id: str  # environment id (a bare SimDrive name such as Maze-v0 is accepted)
    budget: Budget | None = None  # None: the tuned file's, else the agent's default budget
    seed: int = 0  # run seed [-]
    overrides: tuple[str, ...] = ()  # --set key=value
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)  # --env-arg key=value, parsed
    out_dir: Path | None = None  # output folder (default runs/AGENT-ENV-TIME)
    track: bool = True  # record the run in MLflow
    eval_episodes: int | None = None  # episodes per evaluation; None: the tuned file's, else 10 [-]
    checkpoint_every: int | None = None  # [environment steps]
    resume: Path | None = None  # continue from this checkpoint
    show_progress: bool = True  # progress bar on stderr
    threads: int = 1  # torch CPU threads; small networks run fastest on one [-]
    hparams: Path | None = None  # --hparams FILE: tuned settings from this file instead of the shipped one
    use_hparams: bool = True  # False (--no-hparams): the agent's own defaults, no tuned file
    eval_every: int | None = None  # evaluation interval [steps, or episodes for an episode budget]; 0 off; None default
    stop_at_return: float | None = None  # stop once an evaluation reaches it; None: the env's reward_threshold; nan: never
    tracking_tags: Mapping[str, str] = field(default_factory=dict)  # extra MLflow run tags (a sweep's mlflow.parentRunId)


@dataclass(frozen=True)
class EvalResult:
    returns: list[float]
    lengths: list[int]
    driving: dict[str, Any] = field(default_factory=dict)  # driving metrics (driving envs; simdrive.evaluation)

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.returns)) if self.returns else float("nan")


@dataclass(frozen=True)
class RunSummary:
    run_id: str | None
    agent: str
    env: str
    checkpoint: str | None
    eval_return_mean: float
    eval_return_std: float
    eval_episodes: int
    wall_seconds: float
    train_steps: int = 0
    train_episodes: int = 0
    interrupted: bool = False
    tracking_uri: str | None = None
    train_sweeps: int | None = None  # planning agents (DP): sweeps over the states instead of env steps
    best_checkpoint: str | None = None  # best.sdckpt: the best evaluation during training
    best_eval_return: float | None = None  # its mean return over the evaluation episodes [reward]
    best_eval_step: int | None = None  # the training step it was taken at [steps]
    evaluations: int = 0  # evaluations during training [-]
    stopped_at_return: float | None = None  # training ended because an evaluation reached this return
    train_seconds: float | None = None  # wall time of training alone, evaluations during training excluded [s]
    ui_url: str | None = None  # the run in the MLflow UI (model-training view), once `mlflow ui` serves the store
    driving: dict[str, Any] = field(default_factory=dict)  # driving metrics of the evaluation, flattened by as_dict

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.update(data.pop("driving"))
        for key, value in data.items():
            if isinstance(value, float) and not math.isfinite(value):
                data[key] = None
        return data


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool, budget: Budget, description: str):
        self._bar = None
        self._by_steps = budget.steps is not None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("return {task.fields[ret]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        total = budget.steps if self._by_steps else budget.episodes
        self._task = self._bar.add_task(description, total=total, unit="steps" if self._by_steps else "episodes", ret="-")
        self._bar.start()

    def update(self, steps: int, episodes: int, recent_return: float | None) -> None:
        if self._bar is None:
            return
        fields = {} if recent_return is None else {"ret": f"{recent_return:.2f}"}
        self._bar.update(self._task, completed=steps if self._by_steps else episodes, **fields)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


class PlatformCallbacks(Callbacks):
    """Turns agent events into progress, metrics and periodic checkpoints."""

    def __init__(self, tracker, progress: _Progress, save, checkpoint_every: int | None,
                 evaluation: "TrainingEvaluation | None" = None):
        self.tracker = tracker
        self.evaluation = evaluation
        self.progress = progress
        self.save = save
        self.checkpoint_every = checkpoint_every
        self.next_checkpoint = checkpoint_every
        self.episode_steps: list[int] = []
        self.episode_returns: list[float] = []
        self.stop_requested = False
        self.steps = 0
        self.episodes = 0
        self.started = time.perf_counter()

    def on_episode_end(self, step: int, episode_return: float, episode_length: int) -> None:
        self.episode_steps.append(int(step))
        self.episode_returns.append(float(episode_return))
        self.tracker.log_metrics({"episode_return": episode_return, "episode_length": episode_length}, step)

    def on_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        self.tracker.log_metrics(metrics, step)

    def on_step(self, step: int, episodes: int) -> bool:
        self.steps, self.episodes = int(step), int(episodes)
        recent = float(np.mean(self.episode_returns[-20:])) if self.episode_returns else None
        self.progress.update(self.steps, self.episodes, recent)
        if self.checkpoint_every and self.next_checkpoint is not None and step >= self.next_checkpoint:
            self.save()
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            self.tracker.log_metrics({"steps_per_second": step / elapsed}, step)
            while self.next_checkpoint <= step:
                self.next_checkpoint += self.checkpoint_every
        if self.evaluation is not None and not self.stop_requested and self.evaluation.due(self.steps, self.episodes):
            if not self.evaluation.run(self.steps, self.episodes):
                return False
        return not self.stop_requested


@contextmanager
def _graceful_interrupt(callbacks: PlatformCallbacks) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM) asks the agent to stop (a checkpoint is still written); the second aborts."""

    def handler(signum, frame):
        if callbacks.stop_requested:
            raise KeyboardInterrupt
        callbacks.stop_requested = True

    with _signals(handler):
        yield


@contextmanager
def _signals(handler: Any) -> Iterator[None]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only), restoring the previous handlers."""
    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not in the main thread
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _terminate_as_interrupt(signum, frame):
    """SIGTERM outside training: stop like Ctrl-C (the run is recorded as KILLED)."""
    raise KeyboardInterrupt


def _on_sigterm(handler: Any) -> Any:
    """Install ``handler`` for SIGTERM (main thread only); returns a function that restores the previous one."""
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def _train_counts(agent: Any, callbacks: PlatformCallbacks) -> dict[str, Any]:
    """Steps and episodes trained; planning agents (DP) report sweeps, not environment steps."""
    if hasattr(agent, "sweeps"):
        return {"train_steps": 0, "train_episodes": 0, "train_sweeps": callbacks.steps}
    return {"train_steps": callbacks.steps, "train_episodes": callbacks.episodes}


def set_torch_threads(threads: int) -> None:
    """Limit torch's intra-op threads if the agent uses torch (it is then already imported)."""
    torch = sys.modules.get("torch")
    if torch is not None and threads > 0:
        torch.set_num_threads(threads)


def _default_out_dir(agent: str, env_id: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{agent.replace(':', '-')}-{env_id.split('/')[-1]}-{stamp}"


def evaluate(agent: Any, env: gym.Env, episodes: int, seed: int) -> EvalResult:
    """Run ``episodes`` greedy episodes (seeds ``seed``, ``seed+1``, ...).

    Agents marked ``online_evaluation`` (bandits: each episode is a new problem) keep
    exploring and learning from every reward through ``observe(action, reward)``.
    """
    from simdrive.evaluation.episodes import driving_summary, evaluate_driving, is_driving_env

    if is_driving_env(env):  # driving metrics: route completion, collisions, CARLA and nuPlan scores, ...
        rets, lens, records = evaluate_driving(agent, env, episodes, seed, getattr(agent, "name", ""))
        return EvalResult(rets, lens, driving_summary(records))
    returns, lengths = [], []
    bind_to_env(agent, env)
    online = bool(getattr(agent, "online_evaluation", False))
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        reset_hook = getattr(agent, "reset_episode", None)
        if reset_hook is not None:
            reset_hook()
        total, length, done = 0.0, 0, False
        while not done and length < MAX_EVAL_EPISODE_STEPS:
            action = agent.act(obs, explore=online)
            obs, reward, terminated, truncated, _ = env.step(action)
            if online:
                agent.observe(action, float(reward))
            total += float(reward)
            length += 1
            done = terminated or truncated
        returns.append(total)
        lengths.append(length)
    return EvalResult(returns, lengths)


def eval_env_kwargs(agent: Any, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Environment arguments for evaluation: two-player agents ask for an opponent."""
    merged = dict(getattr(agent, "eval_env_kwargs", {}) or {})
    merged.update(env_kwargs)
    return merged


def _log_pictures(tracker, agent, env, callbacks: PlatformCallbacks, title: str, folder: Path) -> None:
    curve = plots.learning_curve(callbacks.episode_steps, callbacks.episode_returns, folder / "learning_curve.png", title)
    if curve is not None:
        tracker.log_artifact(curve)
    table = plots.value_table(agent, env, folder / "value_table.png", title)
    if table is not None:
        tracker.log_artifact(table)
    confusion = getattr(agent, "confusion_matrix", None)  # classifiers (behavioural cloning)
    matrix = confusion() if callable(confusion) else None
    if matrix is not None:
        from simdrive.imitation import class_names, confusion_png

        tracker.log_artifact(confusion_png(matrix, class_names(env, len(matrix)), folder / "confusion_matrix.png", title))


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class ResumeState:
    """A checkpoint to continue from."""

    path: Path  # the checkpoint file
    checkpoint: Checkpoint  # its validated contents


@dataclass(frozen=True)
class EvalPlan:
    """Evaluation during training and after it."""

    every: int  # interval between evaluations during training [steps, or episodes when ``unit`` is episodes]; 0 = off
    unit: str  # "steps" or "episodes": the counter ``every`` is measured in (the budget's)
    episodes: int  # deterministic episodes per evaluation, during and after training [-]
    seed: int  # seed of the first episode of every evaluation during training (then +1, ...) [-]
    final_seed: int  # seed of the first held-out episode of the evaluation after training [-]
    stop_at_return: float | None  # end training once an evaluation's mean return reaches this [reward]; None = never
    every_source: str  # where ``every`` comes from: "default", the tuned file, "--eval-every"
    episodes_source: str  # where ``episodes`` comes from
    stop_source: str  # where ``stop_at_return`` comes from: "--stop-at-return", the env's reward_threshold, "-"


@dataclass(frozen=True)
class TrainPlan:
    """Everything a training run needs, resolved once from a :class:`TrainRequest` before
    anything is built: train -> evaluate -> record then only read it."""

    agent: str  # agent name, e.g. "dqn"
    agent_cls: type  # the agent class
    env_id: str  # registered environment id
    env_kwargs: Mapping[str, Any]  # environment arguments (a resumed checkpoint's, updated by --env-arg)
    config: Any  # the agent's frozen configuration
    sources: Mapping[str, str]  # setting -> where its value comes from (default, tuned file, checkpoint, --set)
    tuned: TunedEntry | None  # the tuned entry used (None: agent defaults, or a resumed run)
    budget: Budget  # total training budget (a resumed run counts on from the checkpoint's counters)
    budget_source: str  # --steps/--episodes, the tuned file, or the agent's default
    num_envs: int  # sub-environments of the training env [-]
    seed: int  # run seed [-]
    resume: ResumeState | None  # the checkpoint to continue from
    evaluation: EvalPlan  # evaluation during and after training
    out_dir: Path  # folder of checkpoint.sdckpt and best.sdckpt
    track: bool  # record the run in MLflow
    checkpoint_every: int | None  # also checkpoint every N environment steps [steps]
    show_progress: bool  # progress bar on stderr
    threads: int  # torch CPU threads [-]
    tracking_tags: Mapping[str, str] = field(default_factory=dict)  # extra MLflow run tags

    def describe(self) -> list[tuple[str, str, str]]:
        """(what, value, source) rows: what ``simdrive agents AGENT --env ENV`` prints."""
        budget = ", ".join(f"{value} {key}" for key, value in (("steps", self.budget.steps), ("episodes", self.budget.episodes))
                           if value is not None)
        ev = self.evaluation
        rows = [("budget", budget, self.budget_source),
                ("eval_every", f"{ev.every} {ev.unit}" if ev.every else "off", ev.every_source),
                ("eval_episodes", str(ev.episodes), ev.episodes_source),
                ("stop_at_return", "-" if ev.stop_at_return is None else f"{ev.stop_at_return:g}", ev.stop_source)]
        rows += [(key, _show(value), self.sources.get(key, DEFAULT)) for key, value in describe_config(self.config).items()]
        return rows


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


#: Agents not evaluated during training by default: planners (DP converges in sweeps, evaluated
#: once at the end), bandits (every episode is a new problem, learnt online) and learners from
#: datasets (bc, dagger: their own validation decides when to stop).
NO_EVAL_DURING_TRAINING = frozenset({"policy-evaluation", "policy-iteration", "value-iteration", "epsilon-greedy", "ucb",
                                     "thompson", "bc", "dagger"})
#: Evaluations during a run when neither --eval-every nor a tuned file gives the interval [-].
DEFAULT_EVALUATIONS = 10
DEFAULT_EVAL_EPISODES = 10
DEFAULT_BUDGET = Budget(steps=100_000)


def _resolve_checkpoint(request: TrainRequest, env_id: str) -> ResumeState | None:
    if request.resume is None:
        return None
    checkpoint = read_checkpoint(request.resume)
    if checkpoint.agent != request.agent:
        raise UserError(
            f"--resume checkpoint holds agent '{checkpoint.agent}', not '{request.agent}'; "
            f"run 'simdrive train {checkpoint.agent} {checkpoint.env_id} --resume {request.resume}'"
        )
    if env_id != checkpoint.env_id:
        raise UserError(f"--resume checkpoint was trained on {checkpoint.env_id}, not {env_id}")
    return ResumeState(Path(request.resume), checkpoint)


def _eval_plan(request: TrainRequest, env_id: str, budget: Budget, tuned: TunedEntry | None) -> EvalPlan:
    unit = "steps" if budget.steps is not None else "episodes"
    total = budget.steps if budget.steps is not None else budget.episodes
    if request.eval_every is not None:
        every, every_source = int(request.eval_every), "--eval-every"
    elif tuned is not None and tuned.eval_every is not None:
        every, every_source = tuned.eval_every, tuned.source
    elif request.agent in NO_EVAL_DURING_TRAINING:
        every, every_source = 0, f"default (off for {request.agent})"
    else:
        every, every_source = max(1, int(total) // DEFAULT_EVALUATIONS), f"default (budget / {DEFAULT_EVALUATIONS})"
    if every < 0:
        raise UserError(f"--eval-every must be >= 0 (0 turns evaluation during training off), got {every}")
    if request.eval_episodes is not None:
        episodes, episodes_source = int(request.eval_episodes), "--eval-episodes"
    elif tuned is not None and tuned.eval_episodes is not None:
        episodes, episodes_source = tuned.eval_episodes, tuned.source
    else:
        episodes, episodes_source = DEFAULT_EVAL_EPISODES, DEFAULT
    if episodes < 1:
        raise UserError(f"--eval-episodes must be >= 1, got {episodes}")
    stop, stop_source = request.stop_at_return, "--stop-at-return"
    if request.stop_at_return is None:
        threshold = gym.spec(env_id).reward_threshold
        stop, stop_source = (None, "-") if threshold is None else (float(threshold), f"reward_threshold of {env_id}")
        if not every:
            stop, stop_source = None, "- (no evaluation during training)"
    elif not math.isfinite(request.stop_at_return):
        stop, stop_source = None, "--stop-at-return none"
    elif not every:
        raise UserError("--stop-at-return needs evaluation during training; give --eval-every N (N > 0)")
    return EvalPlan(every, unit, episodes, request.seed + 20_000, request.seed + 10_000, stop, every_source,
                    episodes_source, stop_source)


def plan_training(request: TrainRequest) -> TrainPlan:
    """Resolve a request into a :class:`TrainPlan`: agent class, env id and arguments, tuned
    hyperparameters, overrides, resume state, budget and evaluation. Nothing is trained or
    written; every user error is raised here, before the run starts."""
    if request.seed < 0:
        raise UserError(f"--seed must be >= 0, got {request.seed}")
    env_id = resolve_env_id(request.env_id)
    resume = _resolve_checkpoint(request, env_id)
    cls = agent_class(request.agent)
    if resume is not None:  # the stored configuration is checked like --set, and blamed on the file
        if request.hparams is not None:
            raise UserError("--hparams does not apply to --resume (the checkpoint holds the settings); use --set to change one")
        checkpoint_config(cls, resume.checkpoint, resume.path)
        tuned = None
        resolved = resolve_settings(cls, None, request.overrides, base=resume.checkpoint.config)
        env_kwargs = {**resume.checkpoint.env_kwargs, **request.env_kwargs}
    else:
        tuned = tuned_entry(request.agent, env_id, request.hparams) if request.use_hparams or request.hparams else None
        resolved = resolve_settings(cls, tuned, request.overrides)
        env_kwargs = dict(request.env_kwargs)
    probe_env = make_env(env_id, env_kwargs)
    try:
        check_compatible(cls, probe_env, env_id)
    finally:
        probe_env.close()
    if request.budget is not None:
        budget, budget_source = request.budget, "--steps" if request.budget.steps is not None else "--episodes"
    elif tuned is not None and tuned.budget is not None:
        budget, budget_source = tuned.budget, tuned.source
    elif getattr(cls, "default_budget", None) is not None:
        budget, budget_source = cls.default_budget, f"default ({request.agent})"
    else:
        budget, budget_source = DEFAULT_BUDGET, DEFAULT
    return TrainPlan(
        agent=request.agent, agent_cls=cls, env_id=env_id, env_kwargs=env_kwargs, config=resolved.config,
        sources=dict(resolved.sources), tuned=tuned, budget=budget, budget_source=budget_source,
        num_envs=int(getattr(resolved.config, "num_envs", 1) or 1), seed=request.seed, resume=resume,
        evaluation=_eval_plan(request, env_id, budget, tuned),
        out_dir=Path(request.out_dir) if request.out_dir else _default_out_dir(request.agent, env_id),
        track=request.track, checkpoint_every=request.checkpoint_every, show_progress=request.show_progress,
        threads=request.threads, tracking_tags=dict(request.tracking_tags),
    )


# ----------------------------------------------------------------------------- evaluation during training


class TrainingEvaluation:
    """Deterministic evaluations every ``plan.every`` steps (or episodes) on a separate env:
    logs them, writes ``best.sdckpt`` whenever the mean return improves, and asks training to
    stop once it reaches ``plan.stop_at_return`` (as RL Zoo's ``EvalCallback``)."""

    def __init__(self, plan: EvalPlan, agent: Any, eval_env: gym.Env, train_env: Any, save_best: Any, tracker: Any,
                 observer: "Callable[[int, EvalResult, float], bool | None] | None" = None):
        self.plan = plan
        self.observer = observer
        self.agent = agent
        self.eval_env = eval_env
        self.train_env = train_env
        self.save_best = save_best
        self.tracker = tracker
        self.next = plan.every if plan.every else None
        self.best_return = -math.inf
        self.best_step: int | None = None
        self.best_path: Path | None = None
        self.last_counter: int | None = None
        self.evaluations = 0
        self.reached = False  # an evaluation reached stop_at_return
        self.seconds = 0.0  # wall time spent evaluating [s]

    def _counter(self, steps: int, episodes: int) -> int:
        return steps if self.plan.unit == "steps" else episodes

    def due(self, steps: int, episodes: int) -> bool:
        return self.next is not None and self._counter(steps, episodes) >= self.next

    def run(self, steps: int, episodes: int) -> bool:
        """Evaluate now; False when the return reached ``stop_at_return`` (stop training)."""
        started = time.perf_counter()
        counter = self._counter(steps, episodes)
        if self.next is not None:
            while self.next <= counter:
                self.next += self.plan.every
        result = evaluate(self.agent, self.eval_env, self.plan.episodes, self.plan.seed)
        if self.train_env is not None and not hasattr(self.train_env, "num_envs"):
            bind_to_env(self.agent, self.train_env)  # agents bound to an env (alphazero) go back to training's
        self.evaluations += 1
        self.last_counter = counter
        mean = result.mean
        metrics = {"periodic_eval_return_mean": mean, "periodic_eval_return_std": result.std,
                   **{f"periodic_{k}": v for k, v in _driving_metrics(result).items()}}
        if math.isfinite(mean) and mean > self.best_return:
            self.best_return, self.best_step = mean, int(steps)
            self.best_path = self.save_best()
        metrics["best_eval_return"] = self.best_return
        self.tracker.log_metrics(metrics, step=int(steps))
        self.seconds += time.perf_counter() - started
        if self.observer is not None and self.observer(int(steps), result, self.best_return) is False:
            return False  # the observer (a sweep's scheduler) stopped the run
        if self.plan.stop_at_return is not None and mean >= self.plan.stop_at_return:
            self.reached = True
            return False
        return True


# ----------------------------------------------------------------------------- a run


def _agent_counts(agent: Any) -> tuple[int, int]:
    """(steps, episodes) an agent has trained, from whichever counters it keeps."""
    counters = getattr(agent, "counters", None)
    model = getattr(agent, "model", None)
    steps = getattr(agent, "steps", getattr(counters, "steps", getattr(model, "num_timesteps", getattr(agent, "sweeps", 0))))
    episodes = getattr(agent, "episodes", getattr(counters, "episodes", getattr(agent, "sweeps", 0)))
    return int(steps or 0), int(episodes or 0)


def _check_budget_left(plan: TrainPlan, agent: Any) -> None:
    """A resumed run whose total budget is already spent: one line, nothing trained."""
    steps, episodes = _agent_counts(agent)
    if plan.resume is None or not plan.budget.done(steps, episodes):
        return
    unit, total, done = (("steps", plan.budget.steps, steps) if plan.budget.steps is not None and steps >= plan.budget.steps
                         else ("episodes", plan.budget.episodes, episodes))
    raise UserError(f"nothing to train: --resume checkpoint {plan.resume.path} has already trained {done} {unit}, "
                    f"the whole budget of {total} {unit} (budgets are totals over the run); give a larger one, "
                    f"e.g. --{unit} {2 * int(total or 1)}")


def train(request: TrainRequest) -> RunSummary:
    """Train an agent, evaluate it, write its checkpoint and track the run."""
    return run_plan(plan_training(request))


def run_plan(plan: TrainPlan, on_evaluation: "Callable[[int, EvalResult, float], bool | None] | None" = None) -> RunSummary:
    """Train -> evaluate -> record, as ``plan`` says. ``on_evaluation(step, result, best_return)``
    is called after every evaluation during training (a sweep reports them to Ray Tune); if it
    returns False, training stops there (the run still ends normally)."""
    started = time.perf_counter()
    set_torch_threads(plan.threads)
    if plan.track:
        check_tracking()  # an unusable store fails here, in seconds, before anything is trained
    budget, ev = plan.budget, plan.evaluation
    env = make_training_env(plan.env_id, plan.num_envs, plan.env_kwargs)
    try:
        agent = instantiate(plan.agent_cls, env, plan.config, plan.seed)
        if plan.resume is not None:
            restore_state(agent, plan.resume.checkpoint, plan.resume.path)
            _check_budget_left(plan, agent)
        try:
            plan.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"cannot create output folder {plan.out_dir} ({error.strerror or error}); choose another --out") from None
    except BaseException:
        env.close()
        raise
    checkpoint_path = plan.out_dir / CHECKPOINT_NAME
    best_path = plan.out_dir / BEST_CHECKPOINT_NAME
    params = {
        "agent": plan.agent,
        "env": plan.env_id,
        "seed": plan.seed,
        "budget_steps": budget.steps,
        "budget_episodes": budget.episodes,
        "num_envs": plan.num_envs,
        "eval_every": ev.every,
        "eval_episodes": ev.episodes,
        "stop_at_return": ev.stop_at_return,
        "hparams": plan.tuned.source if plan.tuned is not None else None,
        **{f"agent.{k}": v for k, v in describe_config(plan.config).items()},
        **{f"env.{k}": v for k, v in plan.env_kwargs.items()},
    }
    if plan.resume is not None:
        params["resumed_from"] = str(plan.resume.path)
    tracker = make_tracker(plan.track, run_name=f"train {plan.agent} {plan.env_id}",
                           tags={"simdrive.command": "train", **plan.tracking_tags})

    def save(path: Path = checkpoint_path) -> Path:
        return save_checkpoint(
            path,
            agent=plan.agent,
            config=plan.config,
            env_id=plan.env_id,
            env_kwargs=plan.env_kwargs,
            state=agent.state_dict(),
            extra={"seed": plan.seed, "run_id": tracker.run_id},
        )

    progress = _Progress(plan.show_progress, budget, f"{plan.agent} on {plan.env_id}")
    eval_env = None
    status = "FAILED"
    restore_sigterm = _on_sigterm(_terminate_as_interrupt)
    try:
        eval_env = make_env(plan.env_id, eval_env_kwargs(agent, plan.env_kwargs))
        evaluation = TrainingEvaluation(ev, agent, eval_env, env, lambda: save(best_path), tracker, on_evaluation)
        callbacks = PlatformCallbacks(tracker, progress, save, plan.checkpoint_every, evaluation)
        tracker.log_params(params)
        tracker.log_text(to_yaml({"agent": plan.agent, "env": plan.env_id, "seed": plan.seed,
                                  "env_kwargs": plan.env_kwargs, "config": describe_config(plan.config),
                                  "budget": {"steps": budget.steps, "episodes": budget.episodes},
                                  "sources": dict(plan.sources)}), "config.yaml")
        train_started = time.perf_counter()
        with _graceful_interrupt(callbacks):
            try:
                agent.train(env, budget, callbacks)
            except IncompatibleEnvironment as error:
                raise UserError(f"agent '{plan.agent}' cannot run on {plan.env_id}: {error}") from None
            callbacks.steps, callbacks.episodes = _final_counts(agent, callbacks)
            train_seconds = time.perf_counter() - train_started - evaluation.seconds
            progress.close()
            if ev.every and not callbacks.stop_requested and evaluation.last_counter != evaluation._counter(
                    callbacks.steps, callbacks.episodes):
                evaluation.run(callbacks.steps, callbacks.episodes)  # the final policy competes for best.sdckpt too
        save()
        elapsed = time.perf_counter() - started
        result = evaluate(agent, eval_env, ev.episodes, seed=ev.final_seed)
        tracker.log_metrics(
            {"eval_return_mean": result.mean, "eval_return_std": result.std, "train_wall_seconds": elapsed,
             "eval_episode_length_mean": float(np.mean(result.lengths)) if result.lengths else 0.0,
             **_driving_metrics(result)},
            step=callbacks.steps,
        )
        tracker.flush()
        tracker.log_artifact(checkpoint_path)
        if evaluation.best_path is not None:
            tracker.log_artifact(evaluation.best_path)
        with tempfile.TemporaryDirectory() as scratch:
            _log_pictures(tracker, agent, eval_env, callbacks, f"{plan.agent} on {plan.env_id}", Path(scratch))
        status = "KILLED" if callbacks.stop_requested else "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        restore_sigterm()
        progress.close()
        env.close()
        if eval_env is not None:
            eval_env.close()
        tracker.end(status)
    return RunSummary(
        run_id=tracker.run_id,
        agent=plan.agent,
        env=plan.env_id,
        checkpoint=str(checkpoint_path),
        eval_return_mean=result.mean,
        eval_return_std=result.std,
        eval_episodes=len(result.returns),
        wall_seconds=time.perf_counter() - started,
        **_train_counts(agent, callbacks),
        interrupted=callbacks.stop_requested,
        tracking_uri=tracking_uri() if tracker.enabled else None,
        best_checkpoint=str(evaluation.best_path) if evaluation.best_path is not None else None,
        best_eval_return=evaluation.best_return if evaluation.best_path is not None else None,
        best_eval_step=evaluation.best_step,
        evaluations=evaluation.evaluations,
        stopped_at_return=ev.stop_at_return if evaluation.reached else None,
        train_seconds=train_seconds,
        ui_url=runs_view_url(tracker.experiment_id, tracker.run_id) if tracker.enabled else None,
        driving=result.driving,
    )


def _final_counts(agent: Any, callbacks: PlatformCallbacks) -> tuple[int, int]:
    """Steps and episodes after training: the callbacks' last report, or the agent's own
    counters when it reported nothing (a resumed budget already spent)."""
    if callbacks.steps == 0 and callbacks.episodes == 0:
        return _agent_counts(agent)
    return callbacks.steps, callbacks.episodes


def evaluate_checkpoint(
    path: Path | str, env_id: str | None, episodes: int, seed: int, track: bool, env_kwargs: Mapping[str, Any] | None = None
) -> RunSummary:
    """Evaluate a saved agent (or a built-in policy such as ``expert``) and track the run."""
    started = time.perf_counter()
    if seed < 0:
        raise UserError(f"--seed must be >= 0, got {seed}")
    source = resolve_policy(path, env_id, seed, env_kwargs)
    if track:
        check_tracking()  # before the episodes: an unusable store fails in seconds
    env = make_env(source.env_id, eval_env_kwargs(source.agent, source.env_kwargs))
    tracker = make_tracker(track, run_name=f"eval {source.agent_name} {source.env_id}", tags={"simdrive.command": "eval"})
    status = "FAILED"
    restore_sigterm = _on_sigterm(_terminate_as_interrupt)
    try:
        tracker.log_params({"agent": source.agent_name, "env": source.env_id, "checkpoint": str(source.checkpoint or path),
                            "episodes": episodes, "seed": seed, **{f"env.{k}": v for k, v in source.env_kwargs.items()}})
        result = evaluate(source.agent, env, episodes, seed)
        for index, (ret, length) in enumerate(zip(result.returns, result.lengths)):
            tracker.log_metrics({"episode_return": ret, "episode_length": length}, step=index)
        tracker.log_metrics({"eval_return_mean": result.mean, "eval_return_std": result.std, **_driving_metrics(result)},
                            step=episodes)
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        restore_sigterm()
        env.close()
        tracker.end(status)
    return RunSummary(
        run_id=tracker.run_id,
        agent=source.agent_name,
        env=source.env_id,
        checkpoint=str(source.checkpoint) if source.checkpoint else None,
        eval_return_mean=result.mean,
        eval_return_std=result.std,
        eval_episodes=len(result.returns),
        wall_seconds=time.perf_counter() - started,
        tracking_uri=tracking_uri() if tracker.enabled else None,
        driving=result.driving,
    )


def _driving_metrics(result: EvalResult) -> dict[str, float]:
    """The scalar driving metrics of an evaluation, as MLflow metrics ``eval_<name>``."""
    return {f"eval_{k}": float(v) for k, v in result.driving.items() if isinstance(v, (int, float)) and v is not None}


__all__ = ["TrainRequest", "TrainPlan", "EvalPlan", "plan_training", "run_plan", "RunSummary", "EvalResult", "train", "evaluate", "evaluate_checkpoint", "MlflowTracker", "NullTracker"]
