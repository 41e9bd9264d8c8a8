"""Running a suite: every (policy, scenario) pair is one job (all its repetitions), run in
order here or as Ray tasks (``workers`` > 0); the same job function runs either way, and results
are put back in job order, so sequential and parallel runs give identical records.

On Ray, a job whose worker dies (a crashed process, a lost node) is submitted again, up to
``max_retries`` times; every retry is reported in :attr:`SuiteRun.retries`, and a job that
still fails stops the run with an error naming it: nothing is dropped silently.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from simdrive.errors import UserError

from .episodes import PolicyRef, ScenarioResult, run_scenario
from .schema import SuiteSpec


@dataclass(frozen=True)
class Job:
    policy: PolicyRef
    suite: SuiteSpec
    scenario_index: int
    repeats: int | None
    clips: bool

    @property
    def label(self) -> str:
        return f"{self.policy.name} / {self.suite.scenarios[self.scenario_index].name}"


def run_job(job: Job) -> ScenarioResult:
    """The unit of work of both runners."""
    return run_scenario(job.policy, job.suite, job.suite.scenarios[job.scenario_index], job.repeats, job.clips)


@dataclass
class SuiteRun:
    suite: SuiteSpec
    policies: list[str]
    results: list[ScenarioResult]  # in job order: policy-major, then the suite's scenario order
    workers: int
    wall_seconds: float
    retries: list[dict] = field(default_factory=list)  # {job, attempt, error}


def suite_means(suite: SuiteSpec, policy: str, repeats: int | None = None) -> dict[str, float]:
    """One policy's mean of every suite score over all the suite's episodes (``driving_score``,
    ``route_completion``, ``success``, ``crash``, ...), and ``episodes``: what a training run logs
    when it is scored on a suite at the end."""
    from .records import aggregate

    run = run_suite(suite, [policy], repeats=repeats, clips=False)
    agg = aggregate([r for res in run.results for r in res.records])
    means = {key: float(value["mean"]) for key, value in agg.items() if isinstance(value, dict) and "mean" in value}
    return {**means, "episodes": float(agg["episodes"])}


def jobs_of(suite: SuiteSpec, policies: Sequence[str], repeats: int | None, clips: bool) -> list[Job]:
    return [Job(PolicyRef(p), suite, i, repeats, clips) for p in policies for i in range(len(suite.scenarios))]


def run_suite(suite: SuiteSpec, policies: Sequence[str], repeats: int | None = None, workers: int = 0,
              ray_address: str | None = None, clips: bool = True, progress: Callable[[str], None] | None = None,
              job_fn: Callable[[Job], ScenarioResult] = run_job, max_retries: int = 2) -> SuiteRun:
    """Run ``policies`` on every scenario of ``suite``. ``workers`` = 0: in this process;
    > 0: on Ray with that many CPUs (a local Ray, or the cluster at ``ray_address``).
    ``progress(label)`` is called as each job finishes."""
    started = time.perf_counter()
    jobs = jobs_of(suite, policies, repeats, clips)
    retries: list[dict] = []
    if workers <= 0 and ray_address is None:
        results = []
        for job in jobs:
            results.append(job_fn(job))
            if progress:
                progress(job.label)
    else:
        results = _run_on_ray(jobs, workers, ray_address, progress, job_fn, max_retries, retries)
    return SuiteRun(suite, list(policies), results, workers, time.perf_counter() - started, retries)


def _run_on_ray(jobs: list[Job], workers: int, address: str | None, progress, job_fn, max_retries: int,
                retries: list[dict]) -> list[ScenarioResult]:
    try:
        import ray
    except ImportError:
        raise UserError("--workers/--ray-address need Ray: pip install 'simdrive[ray]'") from None
    started_here = False
    if not ray.is_initialized():
        kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=max(1, workers), **kwargs)
        started_here = True
    try:
        # max_retries=0: Ray would retry a dead worker's task silently; we retry ourselves and report it
        task = ray.remote(num_cpus=1, max_retries=0)(job_fn)
        pending = {task.remote(job): (i, 0) for i, job in enumerate(jobs)}
        results: list[ScenarioResult | None] = [None] * len(jobs)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            i, attempt = pending.pop(ref)
            try:
                results[i] = ray.get(ref)
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                    ray.exceptions.LocalRayletDiedError, ray.exceptions.ObjectLostError) as error:
                note = {"job": jobs[i].label, "attempt": attempt + 1, "error": type(error).__name__}
                retries.append(note)
                if attempt >= max_retries:
                    raise UserError(f"job {jobs[i].label} failed {attempt + 1} times ({type(error).__name__}); "
                                    "its worker keeps dying") from None
                pending[task.remote(jobs[i])] = (i, attempt + 1)
                continue
            except ray.exceptions.RayTaskError as error:
                cause = error.cause if getattr(error, "cause", None) is not None else error
                if isinstance(cause, UserError):
                    raise cause from None
                raise
            if progress:
                progress(jobs[i].label)
        return [r for r in results if r is not None]
    finally:
        if started_here:
            ray.shutdown()
