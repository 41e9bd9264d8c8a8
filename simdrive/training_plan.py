"""The training plan: a user's request (:class:`TrainRequest`, the command line's arguments)
resolved once, before anything is built, into a typed :class:`TrainPlan` (agent class,
environment id and arguments, tuned hyperparameters from ``simdrive/hparams``, ``--set``
overrides, resume state, budget, evaluation settings) that :func:`simdrive.runner.run_plan`
then only reads. Every user error of a training command is raised here."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import gymnasium as gym

from agents.base import Budget
from agents.checkpoint import Checkpoint
from simdrive.agents_registry import agent_class, check_compatible, checkpoint_config, describe_config, read_checkpoint
from simdrive.envs_registry import make_env, resolve_env_id
from simdrive.errors import UserError
from simdrive.hparams import DEFAULT, TunedEntry, resolve_settings, tuned_entry


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
    eval_suite: str | None = None  # --eval-suite: score the final checkpoint on this scenario suite (name or file)


def _default_out_dir(agent: str, env_id: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{agent.replace(':', '-')}-{env_id.split('/')[-1]}-{stamp}"


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
    eval_suite: Any = None  # the scenario suite (SuiteSpec) the final checkpoint is scored on; None: none

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
        eval_suite=_load_eval_suite(request.eval_suite, env_id),
    )


def _load_eval_suite(name: str | None, env_id: str) -> Any:
    """The suite of ``--eval-suite``, read (and validated) before anything is trained; the
    policy must be trained on a driving env, whose observations the suite's envs give."""
    if name is None:
        return None
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    from envs.driving.env import DrivingEnv
    from simdrive.evaluation.schema import load_suite

    suite = load_suite(name)
    entry = gym.spec(env_id).entry_point
    creator = load_env_creator(entry) if isinstance(entry, str) else entry
    if not (isinstance(creator, type) and issubclass(creator, DrivingEnv)):
        raise UserError(f"--eval-suite scores driving policies, and {env_id} is not a driving environment; "
                        "train on one such as simdrive/Highway-v0, or leave out --eval-suite")
    return suite
