"""``simdrive eval --suite``: run policies on a suite, print the table, write the report, track it."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .records import SUMMARY_KEYS
from .schema import load_suite
from .suite import SuiteRun, run_suite

TABLE_KEYS = ("driving_score", "route_completion", "infraction_penalty", "nuplan_score", "success", "crash",
              "out_of_road", "collision_at_fault", "timeout", "blocked", "red_light", "mean_speed", "min_ttc")


@dataclass
class SuiteEvaluation:
    run: SuiteRun
    json_path: Path
    html_path: Path
    run_id: str | None
    summary: dict[str, Any]


def evaluate_suite(suite: str, policies: Sequence[str], repeats: int | None, workers: int, ray_address: str | None,
                   report_dir: Path | None, track: bool, show_progress: bool) -> SuiteEvaluation:
    from simdrive.tracking import make_tracker

    from . import report

    spec = load_suite(suite)
    total = len(spec.scenarios) * len(policies)
    bar = _progress(show_progress, total, f"{spec.name}")
    try:
        run = run_suite(spec, policies, repeats=repeats, workers=workers, ray_address=ray_address,
                        progress=bar.advance if bar else None)
    finally:
        if bar:
            bar.stop()
    out = report_dir or Path("runs") / f"eval-{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    jpath, hpath = report.write(run, out)
    import json

    data = json.loads(jpath.read_text())
    summary = {p: {k: (data["aggregate"][p].get(k) or {}).get("mean") for k in TABLE_KEYS} for p in policies}
    for p in policies:
        summary[p]["episodes"] = data["aggregate"][p]["episodes"]
        summary[p]["failures"] = data["aggregate"][p]["failures"]
    tracker = make_tracker(track, run_name=f"eval suite {spec.name}", tags={"simdrive.command": "eval-suite"})
    status = "FAILED"
    try:
        tracker.log_params({"suite": spec.name, "suite_file": spec.source, "policies": ",".join(policies),
                            "repeats": repeats or "suite default", "workers": workers, "seed": spec.seed})
        for p in policies:
            agg = data["aggregate"][p]
            tracker.log_metrics({f"{_key(p)}.{k}": (agg.get(k) or {}).get("mean") for k, _ in SUMMARY_KEYS
                                 if (agg.get(k) or {}).get("mean") is not None}, step=0)
        tracker.log_artifact(jpath, "report")
        tracker.log_artifact(hpath, "report")
        status = "FINISHED"
    finally:
        tracker.end(status)
    return SuiteEvaluation(run, jpath, hpath, tracker.run_id, summary)


def _key(policy: str) -> str:
    """An MLflow-safe metric prefix for a policy (checkpoint paths have slashes)."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in Path(policy).stem if policy) or "policy"


class _Bar:
    def __init__(self, total: int, title: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=Console(stderr=True))
        self.task = self.p.add_task(title, total=total, last="")
        self.p.start()

    def advance(self, label: str) -> None:
        self.p.update(self.task, advance=1, last=label)

    def stop(self) -> None:
        self.p.stop()


def _progress(enabled: bool, total: int, title: str) -> _Bar | None:
    return _Bar(total, title) if enabled else None


def print_table(ev: SuiteEvaluation, to_stderr: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    labels = dict(SUMMARY_KEYS)
    table = Table(title=f"suite {ev.run.suite.name} ({len(ev.run.suite.scenarios)} scenarios)", title_justify="left")
    table.add_column("metric")
    for p in ev.run.policies:
        table.add_column(p, justify="right")
    for k in TABLE_KEYS + ("failures", "episodes"):
        row = [labels.get(k, k)]
        for p in ev.run.policies:
            v = ev.summary[p].get(k)
            row.append("-" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v)))
        table.add_row(*row)
    Console(stderr=to_stderr, file=sys.stderr if to_stderr else None).print(table)
