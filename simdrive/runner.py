"""Training and evaluation runs: the glue between agents, environments, progress,
tracking and checkpoints. Agents report events through ``Callbacks``; this module turns
them into a progress bar, MLflow metrics and periodic checkpoints.
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
from typing import Any, Iterator, Mapping

import gymnasium as gym
import numpy as np

from agents.base import Budget, Callbacks, IncompatibleEnvironment
from agents.checkpoint import save_checkpoint
from simdrive import plots
from simdrive.agents_registry import (
    agent_class,
    agent_config,
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
from simdrive.tracking import MlflowTracker, NullTracker, check_tracking, make_tracker, tracking_uri

CHECKPOINT_NAME = "checkpoint.sdckpt"
MAX_EVAL_EPISODE_STEPS = 100_000


@dataclass(frozen=True)
class TrainRequest:
    agent: str
    env_id: str
    budget: Budget | None = None  # None: the agent's default budget
    seed: int = 0
    overrides: tuple[str, ...] = ()
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None
    track: bool = True
    eval_episodes: int = 10
    checkpoint_every: int | None = None  # [environment steps]
    resume: Path | None = None
    show_progress: bool = True
    threads: int = 1  # torch CPU threads; small networks run fastest on one [-]


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

    def __init__(self, tracker, progress: _Progress, save, checkpoint_every: int | None):
        self.tracker = tracker
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


def train(request: TrainRequest) -> RunSummary:
    """Train an agent, evaluate it, write its checkpoint and track the run."""
    started = time.perf_counter()
    if request.resume is not None:
        checkpoint = read_checkpoint(request.resume)
        if checkpoint.agent != request.agent:
            raise UserError(
                f"--resume checkpoint holds agent '{checkpoint.agent}', not '{request.agent}'; "
                f"run 'simdrive train {checkpoint.agent} {checkpoint.env_id} --resume {request.resume}'"
            )
        env_id = resolve_env_id(request.env_id)
        if env_id != checkpoint.env_id:
            raise UserError(f"--resume checkpoint was trained on {checkpoint.env_id}, not {env_id}")
        base_config = checkpoint.config
        env_kwargs = {**checkpoint.env_kwargs, **request.env_kwargs}
    else:
        checkpoint = None
        env_id = resolve_env_id(request.env_id)
        base_config = None
        env_kwargs = dict(request.env_kwargs)
    cls = agent_class(request.agent)
    set_torch_threads(request.threads)
    if checkpoint is not None:  # the stored configuration is checked like --set, and blamed on the file
        config = checkpoint_config(cls, checkpoint, request.resume, request.overrides)
    else:
        config = agent_config(cls, request.overrides, base_config)
    if request.seed < 0:
        raise UserError(f"--seed must be >= 0, got {request.seed}")
    probe_env = make_env(env_id, env_kwargs)
    check_compatible(cls, probe_env, env_id)
    probe_env.close()
    if request.track:
        check_tracking()  # an unusable store fails here, in seconds, before anything is trained
    budget = request.budget or getattr(cls, "default_budget", None) or Budget(steps=100_000)

    num_envs = int(getattr(config, "num_envs", 1) or 1)
    env = make_training_env(env_id, num_envs, env_kwargs)
    agent = instantiate(cls, env, config, request.seed)
    if checkpoint is not None:
        restore_state(agent, checkpoint, request.resume)

    out_dir = Path(request.out_dir) if request.out_dir else _default_out_dir(request.agent, env_id)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create output folder {out_dir} ({error.strerror or error}); choose another --out") from None
    checkpoint_path = out_dir / CHECKPOINT_NAME
    params = {
        "agent": request.agent,
        "env": env_id,
        "seed": request.seed,
        "budget_steps": budget.steps,
        "budget_episodes": budget.episodes,
        "num_envs": num_envs,
        **{f"agent.{k}": v for k, v in describe_config(config).items()},
        **{f"env.{k}": v for k, v in env_kwargs.items()},
    }
    if request.resume is not None:
        params["resumed_from"] = str(request.resume)
    tracker = make_tracker(request.track, run_name=f"train {request.agent} {env_id}", tags={"simdrive.command": "train"})

    def save() -> Path:
        return save_checkpoint(
            checkpoint_path,
            agent=request.agent,
            config=config,
            env_id=env_id,
            env_kwargs=env_kwargs,
            state=agent.state_dict(),
            extra={"seed": request.seed, "run_id": tracker.run_id},
        )

    progress = _Progress(request.show_progress, budget, f"{request.agent} on {env_id}")
    callbacks = PlatformCallbacks(tracker, progress, save, request.checkpoint_every)
    status = "FAILED"
    restore_sigterm = _on_sigterm(_terminate_as_interrupt)
    try:
        tracker.log_params(params)
        tracker.log_text(to_yaml({"agent": request.agent, "env": env_id, "seed": request.seed,
                                  "env_kwargs": env_kwargs, "config": describe_config(config)}), "config.yaml")
        with _graceful_interrupt(callbacks):
            try:
                agent.train(env, budget, callbacks)
            except IncompatibleEnvironment as error:
                raise UserError(f"agent '{request.agent}' cannot run on {env_id}: {error}") from None
        if callbacks.steps == 0 and callbacks.episodes == 0:  # nothing trained (e.g. a resumed budget already spent)
            callbacks.steps = int(getattr(agent, "steps", getattr(getattr(agent, "counters", None), "steps", 0)) or 0)
            callbacks.episodes = int(getattr(agent, "episodes", getattr(getattr(agent, "counters", None), "episodes", 0)) or 0)
        progress.close()
        save()
        elapsed = time.perf_counter() - started
        eval_env = make_env(env_id, eval_env_kwargs(agent, env_kwargs))
        result = evaluate(agent, eval_env, request.eval_episodes, seed=request.seed + 10_000)
        tracker.log_metrics(
            {"eval_return_mean": result.mean, "eval_return_std": result.std, "train_wall_seconds": elapsed,
             "eval_episode_length_mean": float(np.mean(result.lengths)) if result.lengths else 0.0,
             **_driving_metrics(result)},
            step=callbacks.steps,
        )
        tracker.flush()
        tracker.log_artifact(checkpoint_path)
        with tempfile.TemporaryDirectory() as scratch:
            _log_pictures(tracker, agent, eval_env, callbacks, f"{request.agent} on {env_id}", Path(scratch))
        eval_env.close()
        status = "KILLED" if callbacks.stop_requested else "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        restore_sigterm()
        progress.close()
        env.close()
        tracker.end(status)
    return RunSummary(
        run_id=tracker.run_id,
        agent=request.agent,
        env=env_id,
        checkpoint=str(checkpoint_path),
        eval_return_mean=result.mean,
        eval_return_std=result.std,
        eval_episodes=len(result.returns),
        wall_seconds=time.perf_counter() - started,
        **_train_counts(agent, callbacks),
        interrupted=callbacks.stop_requested,
        tracking_uri=tracking_uri() if tracker.enabled else None,
        driving=result.driving,
    )


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


__all__ = ["TrainRequest", "RunSummary", "EvalResult", "train", "evaluate", "evaluate_checkpoint", "MlflowTracker", "NullTracker"]
