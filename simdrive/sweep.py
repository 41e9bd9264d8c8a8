"""Hyperparameter sweeps on Ray Tune: ``simdrive sweep AGENT ENV --space SPACE.yaml --trials N``.

Every trial is ``simdrive train AGENT ENV`` (tuned defaults, budget and evaluation as
``train`` resolves them) with sampled ``--set`` values; its evaluations during training are
reported to Tune, whose ASHA scheduler stops the weak trials early. Each trial is an MLflow
child run under one parent run of the sweep. The best trial (highest best evaluation
return; ties, such as several trials reaching ``--stop-at-return``, go to the shortest
training time) is printed and written as a hyperparameter file that ``simdrive train
--hparams FILE`` reads (:mod:`simdrive.hparams`), saying how it was produced.

The search space is YAML: one entry per agent setting, a fixed value or one distribution::

    learning_rate: {loguniform: [1.0e-4, 1.0e-2]}
    gamma: {uniform: [0.95, 0.999]}
    batch_size: {choice: [32, 64, 128]}
    hidden: {choice: [[64, 64], [256, 256]]}
    n_steps: {randint: [4, 32]}           # both bounds included
    double_dqn: true                      # fixed

Every value a distribution can produce is checked against the agent's documented ranges
before Ray starts. Ray is an optional extra (``pip install 'simdrive[ray]'``), imported only
here, inside the functions that need it.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from simdrive.errors import UserError

#: Distributions of a search space and the number of arguments each takes.
DISTRIBUTIONS = {"choice": None, "uniform": 2, "loguniform": 2, "randint": 2}
#: MLflow tag naming a child run's Tune trial.
TRIAL_TAG = "simdrive.sweep.trial"
#: ASHA: evaluations a trial gets before it can be stopped, and the fraction kept per rung.
GRACE_EVALUATIONS = 2
REDUCTION_FACTOR = 2


@dataclass(frozen=True)
class Dimension:
    """One setting of the search space."""

    name: str  # the agent setting
    kind: str  # "fixed", "choice", "uniform", "loguniform" or "randint"
    values: tuple[Any, ...]  # the fixed value, the choices, or (low, high) [setting's unit]

    def extremes(self) -> tuple[Any, ...]:
        """Values that together cover what the dimension can produce (for validation)."""
        return self.values

    def describe(self) -> str:
        if self.kind == "fixed":
            return repr(self.values[0])
        return f"{self.kind}{list(self.values)}"


@dataclass(frozen=True)
class SweepRequest:
    """What ``simdrive sweep`` was asked for."""

    agent: str  # agent name
    env_id: str  # environment id
    space: Path  # the search space YAML file
    trials: int  # trials to sample [-]
    workers: int = 1  # trials run at the same time (CPUs of a local Ray) [-]
    ray_address: str | None = None  # an existing Ray cluster; None starts a local one
    budget: Any = None  # agents.base.Budget per trial; None: train's default
    seed: int = 0  # the seed of every trial (configurations compete on the same seed) and of the sampling [-]
    overrides: tuple[str, ...] = ()  # --set values shared by every trial
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)  # --env-arg values
    eval_every: int | None = None  # as train's --eval-every
    eval_episodes: int | None = None  # as train's --eval-episodes
    stop_at_return: float | None = None  # as train's --stop-at-return
    hparams: Path | None = None  # base tuned file (as train's --hparams)
    use_hparams: bool = True  # start from the shipped tuned settings
    out_dir: Path | None = None  # sweep folder (default runs/sweep-AGENT-ENV-TIME)
    out_file: Path | None = None  # the hyperparameter file to write (default OUT_DIR/hparams.yml)
    track: bool = True  # MLflow parent and child runs
    command: str = ""  # the command line, recorded as the file's provenance


@dataclass(frozen=True)
class TrialOutcome:
    """One finished (or early-stopped) trial."""

    trial: str  # Tune's trial id
    settings: Mapping[str, Any]  # the sampled settings
    best_eval_return: float  # best mean evaluation return during training [reward]
    evaluations: int  # evaluations reported [-]
    train_seconds: float  # training wall time, evaluations excluded [s]
    steps: int  # training steps done [steps]
    completed: bool  # ran its whole budget (or reached --stop-at-return); False: stopped by ASHA or failed
    run_id: str | None  # its MLflow child run
    error: str | None = None  # why it failed


@dataclass(frozen=True)
class SweepResult:
    best: TrialOutcome
    trials: list[TrialOutcome]
    hparams_file: Path
    parent_run_id: str | None
    tracking_uri: str | None


# --- the search space ----------------------------------------------------------------


def load_space(path: Path, config_cls: type, agent: str) -> list[Dimension]:
    """Read and check a search space (see the module docstring)."""
    from simdrive.config import build_config, check_keys, load_yaml, read_text_file
    from simdrive.hparams import MAX_FILE_BYTES

    content = load_yaml(read_text_file(path, "search space", "--space", MAX_FILE_BYTES), str(path))
    if not isinstance(content, Mapping) or not content:
        raise UserError(f"{path}: expected a mapping from {agent} settings to a value or a distribution "
                        "({choice: [...]}, {uniform: [low, high]}, {loguniform: [low, high]}, {randint: [low, high]})")
    check_keys(config_cls, content, agent)
    dimensions = []
    for name, spec in content.items():
        if isinstance(spec, Mapping):
            if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
                raise UserError(f"{path}: setting '{name}' needs one distribution of {', '.join(DISTRIBUTIONS)}, got {dict(spec)}")
            kind, values = next(iter(spec.items()))
            values = values if isinstance(values, list) else [values]
            if DISTRIBUTIONS[kind] is not None and len(values) != DISTRIBUTIONS[kind]:
                raise UserError(f"{path}: setting '{name}': {kind} takes [low, high], got {values}")
            if kind == "choice" and not values:
                raise UserError(f"{path}: setting '{name}': choice needs at least one value")
            values = [_number(v) for v in values]
            if kind != "choice":
                if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values) \
                        or values[0] > values[1]:
                    raise UserError(f"{path}: setting '{name}': {kind} needs two finite numbers low <= high, got {values}")
                if kind == "loguniform" and values[0] <= 0:
                    raise UserError(f"{path}: setting '{name}': loguniform needs low > 0, got {values[0]}")
                if kind == "randint" and not all(isinstance(v, int) for v in values):
                    raise UserError(f"{path}: setting '{name}': randint needs whole numbers, got {values}")
            dimensions.append(Dimension(str(name), kind, tuple(_plain(v) for v in values)))
        else:
            dimensions.append(Dimension(str(name), "fixed", (_plain(_number(spec)),)))
    for dimension in dimensions:  # every value a trial can get passes the agent's checks
        for value in dimension.extremes():
            try:
                build_config(config_cls, {dimension.name: value}, agent)
            except UserError as error:
                raise UserError(f"{path}: setting '{dimension.name}' can take {value!r}, which {agent} refuses: {error}") from None
    return dimensions


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-3`` as a string: numbers written so become numbers."""
    from simdrive.config import _numbers

    return _numbers(value)


def _plain(value: Any) -> Any:
    return tuple(_plain(v) for v in value) if isinstance(value, list) else value


def _param_space(dimensions: list[Dimension]) -> dict[str, Any]:
    from ray import tune

    space: dict[str, Any] = {}
    for d in dimensions:
        if d.kind == "fixed":
            space[d.name] = d.values[0]
        elif d.kind == "choice":
            space[d.name] = tune.choice(list(d.values))
        elif d.kind == "uniform":
            space[d.name] = tune.uniform(*d.values)
        elif d.kind == "loguniform":
            space[d.name] = tune.loguniform(*d.values)
        else:
            space[d.name] = tune.randint(d.values[0], d.values[1] + 1)  # Tune's upper bound is exclusive
    return space


def _as_override(name: str, value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"{name}={','.join(map(str, value))}"
    return f"{name}={value!r}" if isinstance(value, float) else f"{name}={value}"


# --- one trial (runs in a Ray worker) ------------------------------------------------


def _trial(config: dict[str, Any], base: dict[str, Any]) -> None:
    """A Tune function trainable: ``simdrive train`` with the sampled settings, reporting every
    evaluation during training (``eval_return``) and finally the run's summary."""
    from ray import tune

    from simdrive.runner import plan_training, run_plan

    if base["tracking_uri"]:
        os.environ["MLFLOW_TRACKING_URI"] = base["tracking_uri"]
    settings = {key: tuple(value) if isinstance(value, list) else value for key, value in config.items()}
    context = tune.get_context()
    trial_id = context.get_trial_id() if context is not None else "trial"
    request = replace(base["request"], overrides=(*base["request"].overrides, *(_as_override(k, v) for k, v in settings.items())),
                      out_dir=Path(base["out_dir"]) / f"trial-{trial_id}",
                      tracking_tags={**base["request"].tracking_tags, TRIAL_TAG: trial_id})
    plan = plan_training(request)
    progress = {"evaluations": 0}
    started = time.perf_counter()

    def report(step: int, result: Any, best: float) -> bool:
        progress["evaluations"] += 1
        try:
            tune.report({"eval_return": float(result.mean) if math.isfinite(result.mean) else -1e30,
                         "best_eval_return": float(best), "steps": int(step), "done_training": False,
                         "train_seconds": time.perf_counter() - started})
        except SystemExit:  # Tune's way of stopping a trial (ASHA): end the run normally
            return False
        return True

    summary = run_plan(plan, on_evaluation=report)
    best = summary.best_eval_return if summary.best_eval_return is not None else summary.eval_return_mean
    tune.report({"eval_return": float(best), "best_eval_return": float(best), "steps": int(summary.train_steps),
                 "done_training": True, "train_seconds": float(summary.train_seconds or summary.wall_seconds),
                 "mlflow_run_id": summary.run_id or ""})


# --- the sweep -----------------------------------------------------------------------


def _import_ray():
    try:
        import ray
        from ray import tune  # noqa: F401
    except ImportError as error:
        raise UserError(f"simdrive sweep needs Ray Tune, which is not installed ({error.name}): "
                        "pip install 'simdrive[ray]'") from None
    return ray


def sweep(request: SweepRequest, show: Any = print) -> SweepResult:
    """Run the sweep; ``show`` prints progress lines."""
    from simdrive.hparams import Provenance, write_file
    from simdrive.runner import TrainRequest, plan_training
    from simdrive.tracking import check_tracking, make_tracker, tracking_uri

    if request.trials < 1:
        raise UserError(f"--trials must be >= 1, got {request.trials}")
    if request.workers < 1:
        raise UserError(f"--workers must be >= 1, got {request.workers}")
    base = TrainRequest(agent=request.agent, env_id=request.env_id, budget=request.budget, seed=request.seed,
                        overrides=request.overrides, env_kwargs=dict(request.env_kwargs), track=request.track,
                        eval_episodes=request.eval_episodes, show_progress=False, threads=1, hparams=request.hparams,
                        use_hparams=request.use_hparams, eval_every=request.eval_every, stop_at_return=request.stop_at_return)
    plan = plan_training(base)  # every argument checked here, before Ray starts
    if not plan.evaluation.every:
        raise UserError("a sweep compares evaluations during training; give --eval-every N (N > 0)")
    dimensions = load_space(Path(request.space), plan.agent_cls.Config, request.agent)
    out_dir = Path(request.out_dir or Path("runs") / f"sweep-{request.agent.replace(':', '-')}-"
                   f"{plan.env_id.split('/')[-1]}-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    out_file = Path(request.out_file) if request.out_file else out_dir / "hparams.yml"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        out_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {out_dir} ({error.strerror or error}); choose another --out") from None
    uri = check_tracking() if request.track else None
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's console tables off (verbose=0 below); results are ours to print
    ray = _import_ray()
    total = plan.budget.steps if plan.budget.steps is not None else plan.budget.episodes
    max_evaluations = max(1, math.ceil(total / plan.evaluation.every))
    parent = make_tracker(request.track, run_name=f"sweep {request.agent} {plan.env_id}", tags={"simdrive.command": "sweep"})
    status = "FAILED"
    started_ray = False
    try:
        parent.log_params({"agent": request.agent, "env": plan.env_id, "trials": request.trials, "workers": request.workers,
                           "seed": request.seed, "budget_steps": plan.budget.steps, "budget_episodes": plan.budget.episodes,
                           "eval_every": plan.evaluation.every, "scheduler": "ASHA", "grace_evaluations": GRACE_EVALUATIONS,
                           **{f"space.{d.name}": d.describe() for d in dimensions}})
        trial_request = replace(base, out_dir=None, tracking_tags={"mlflow.parentRunId": parent.run_id} if parent.run_id else {})
        constants = {"request": trial_request, "out_dir": str(out_dir), "tracking_uri": uri}
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": request.ray_address} if request.ray_address else {
                "num_cpus": request.workers, "include_dashboard": False}
            ray.init(log_to_driver=False, logging_level="ERROR", configure_logging=True, **kwargs)
            started_ray = True
        show(f"sweep: {request.trials} trials of {request.agent} on {plan.env_id}, {request.workers} at a time, "
             f"ASHA over up to {max_evaluations} evaluations each")
        results = _fit(dimensions, constants, request, max_evaluations)
        trials = _outcomes(results)
        finished = [t for t in trials if t.error is None and math.isfinite(t.best_eval_return)]
        if not finished:
            errors = "; ".join(t.error or "no evaluation" for t in trials)[:500]
            raise UserError(f"no trial finished ({errors})")
        best = max(finished, key=lambda t: (t.best_eval_return, t.completed, -t.train_seconds))
        settings = {**(dict(plan.tuned.settings) if plan.tuned is not None else {}), **_parse_overrides(request.overrides),
                    **{k: list(v) if isinstance(v, tuple) else v for k, v in best.settings.items()}}
        provenance = Provenance(
            command=request.command or f"simdrive sweep {request.agent} {plan.env_id} --space {request.space} --trials {request.trials}",
            seeds=(request.seed,),
            result=f"best of {len(trials)} trials: best evaluation return {best.best_eval_return:.4g} "
                   f"after {best.steps} steps, {best.train_seconds:.1f} s of training",
        )
        written = write_file(out_file, plan.env_id, settings, provenance, budget=plan.budget,
                             eval_every=plan.evaluation.every, eval_episodes=plan.evaluation.episodes)
        _close_children(parent, {t.trial: t for t in trials})
        parent.log_metrics({"best_eval_return": best.best_eval_return, "trials_completed": float(sum(t.completed for t in trials))},
                           step=len(trials))
        parent.log_artifact(written)
        parent.set_tags({"simdrive.sweep.best_run_id": best.run_id or "", "simdrive.sweep.best_trial": best.trial})
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if started_ray:
            ray.shutdown()
        parent.end(status)
    return SweepResult(best, trials, written, parent.run_id, tracking_uri() if parent.enabled else None)


def _fit(dimensions: list[Dimension], constants: dict[str, Any], request: SweepRequest, max_evaluations: int) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    scheduler = ASHAScheduler(time_attr="training_iteration", max_t=max_evaluations + 1,
                              grace_period=min(GRACE_EVALUATIONS, max_evaluations), reduction_factor=REDUCTION_FACTOR)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(_trial, base=constants), {"cpu": 1}),
        param_space=_param_space(dimensions),
        tune_config=tune.TuneConfig(metric="eval_return", mode="max", num_samples=request.trials, scheduler=scheduler,
                                    max_concurrent_trials=request.workers,
                                    search_alg=BasicVariantGenerator(random_state=request.seed)),
        run_config=tune.RunConfig(name="tune", storage_path=str(Path(constants["out_dir"]) / "ray"), verbose=0,
                                  log_to_file=True),
    )
    return tuner.fit()


def _outcomes(results: Any) -> list[TrialOutcome]:
    outcomes = []
    for result in results:
        metrics = result.metrics or {}
        settings = dict(result.config or {})
        error = None if result.error is None else " ".join(str(result.error).split())[-300:]
        outcomes.append(TrialOutcome(
            trial=str(metrics.get("trial_id", result.path.rsplit("/", 1)[-1] if result.path else "?")),
            settings=settings,
            best_eval_return=float(metrics.get("best_eval_return", -math.inf)) if error is None else -math.inf,
            evaluations=int(metrics.get("training_iteration", 0)),
            train_seconds=float(metrics.get("train_seconds", math.inf)),
            steps=int(metrics.get("steps", 0)),
            completed=bool(metrics.get("done_training", False)),
            run_id=metrics.get("mlflow_run_id") or None,
            error=error,
        ))
    return outcomes


def _parse_overrides(overrides: tuple[str, ...]) -> dict[str, str]:
    return {key.strip(): value for key, _, value in (pair.partition("=") for pair in overrides)}


def _close_children(parent: Any, trials: Mapping[str, TrialOutcome]) -> None:
    """Tag every child run with whether ASHA stopped its trial early; a stopped trial's run that
    its worker could not close (the worker was ended) is marked FINISHED."""
    client = getattr(parent, "_client", None)
    if client is None or parent.run_id is None:
        return
    runs = client.search_runs([parent.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.run_id}'",
                              max_results=1000)
    for run in runs:
        outcome = trials.get(run.data.tags.get(TRIAL_TAG, ""))
        stopped = outcome is not None and outcome.error is None and not outcome.completed
        client.set_tag(run.info.run_id, "simdrive.sweep.early_stopped", str(stopped).lower())
        if stopped and run.info.status != "FINISHED":
            client.set_terminated(run.info.run_id, status="FINISHED")


__all__ = ["SweepRequest", "SweepResult", "TrialOutcome", "Dimension", "load_space", "sweep"]
