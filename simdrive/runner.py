"""Training and evaluation runs: the glue between agents, environments, progress,
tracking and checkpoints. Agents report events through ``Callbacks``; this module turns
them into a progress bar, MLflow metrics and periodic checkpoints.

A training run reads as a pipeline: :func:`~simdrive.training_plan.plan_training` resolves a :class:`TrainRequest`
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
from agents.checkpoint import save_checkpoint
from simdrive import plots
from simdrive.agents_registry import bind_to_env, describe_config, instantiate, resolve_policy, restore_state
from simdrive.config import to_yaml
from simdrive.envs_registry import make_env, make_training_env
from simdrive.errors import UserError
from simdrive.training_plan import (  # noqa: F401 - TrainRequest, plan_training are the runner's API
    EvalPlan,
    TrainPlan,
    TrainRequest,
    plan_training,
)
from simdrive.tracking import MlflowTracker, NullTracker, check_tracking, make_tracker, runs_view_url, tracking_uri

CHECKPOINT_NAME = "checkpoint.sdckpt"
BEST_CHECKPOINT_NAME = "best.sdckpt"  # the best evaluation during training, beside the last checkpoint
MAX_EVAL_EPISODE_STEPS = 100_000


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
    suite: dict[str, float] = field(default_factory=dict)  # --eval-suite: mean suite scores, flattened as suite_<name>

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.update(data.pop("driving"))
        data.update({f"suite_{key}": value for key, value in data.pop("suite").items()})
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
        "eval_suite": plan.eval_suite.name if plan.eval_suite is not None else None,
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
        suite_scores: dict[str, float] = {}
        if plan.eval_suite is not None:
            from simdrive.evaluation.suite import suite_means

            suite_scores = suite_means(plan.eval_suite, str(checkpoint_path))
            tracker.log_metrics({f"suite_{key}": value for key, value in suite_scores.items()}, step=callbacks.steps)
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
        suite=suite_scores,
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
