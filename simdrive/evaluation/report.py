"""The suite report: ``report.json`` (every episode record with its scores, and the aggregates)
and ``report.html``, one self-contained page (no external requests: styles inline, plots and
failure clips as data URIs) with the aggregate table, the per-scenario table, the breakdown by
scenario type, plots and an animated clip of every failure, several policies side by side.
Both files are written to a temporary name and renamed.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from .clips import mime
from .records import SUMMARY_KEYS, EpisodeRecord, aggregate
from .suite import SuiteRun

DEFINITIONS = {
    "driving_score": "CARLA Leaderboard 2.0 driving score: route completion [%] x infraction penalty "
                     "(carla-simulator/leaderboard, leaderboard/utils/statistics_manager.py)",
    "nuplan_score": "nuPlan closed-loop score: multipliers (no at-fault collision, drivable area, progress, driving "
                    "direction) x weighted mean of progress (5), TTC (5), speed limit (4), comfort (2) "
                    "(motional/nuplan-devkit, nuplan/planning/metrics)",
    "success": "MetaDrive success rate: route completed (arrive_dest) without collision or leaving the road",
    "crash": "MetaDrive crash rate: episodes with a collision",
    "out_of_road": "MetaDrive out-of-road rate",
}


def build(run: SuiteRun) -> dict[str, Any]:
    """The report's data (JSON-ready)."""
    episodes: list[dict] = []
    clips: dict[str, bytes] = {}
    for res in run.results:
        for i, rec in enumerate(res.records):
            d = rec.to_dict()
            if i in res.clips:
                name = f"clip-{len(clips):04d}"
                d["clip"] = name
                clips[name] = res.clips[i]
            episodes.append(d)
    by_policy: dict[str, list[EpisodeRecord]] = {p: [] for p in run.policies}
    for res in run.results:
        by_policy[res.policy].extend(res.records)
    data = {
        "suite": {"name": run.suite.name, "description": run.suite.description, "source": run.suite.source,
                  "seed": run.suite.seed, "scenarios": len(run.suite.scenarios)},
        "policies": run.policies,
        "workers": run.workers,
        "wall_seconds": run.wall_seconds,
        "retries": run.retries,
        "definitions": DEFINITIONS,
        "aggregate": {p: aggregate(rs) for p, rs in by_policy.items()},
        "by_scenario": {p: _group(rs, lambda r: r.scenario) for p, rs in by_policy.items()},
        "by_type": {p: _group(rs, lambda r: r.type) for p, rs in by_policy.items()},
        "episodes": episodes,
    }
    data["_clips"] = clips  # not part of the JSON; the HTML embeds them
    return data


def _group(records: list[EpisodeRecord], key) -> dict[str, dict]:
    groups: dict[str, list[EpisodeRecord]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return {k: aggregate(v) for k, v in groups.items()}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def write(run: SuiteRun, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` under ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = build(run)
    clips = data.pop("_clips")
    jpath, hpath = out / "report.json", out / "report.html"
    _atomic_write(jpath, json.dumps(data, indent=1, sort_keys=False).encode())
    _atomic_write(hpath, render_html(data, clips).encode())
    return jpath, hpath


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #dde}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:right}th{background:#eef1f6}
td.l,th.l{text-align:left}.bad{color:#b3261e;font-weight:600}.good{color:#1b6e2f}
.clips{display:flex;flex-wrap:wrap;gap:12px}.clips figure{margin:0;background:#fff;border:1px solid #dde;padding:6px}
.clips figcaption{font-size:12px;max-width:256px}.note{font-size:12px;color:#556}
"""


def _fmt(v, key: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return html.escape(str(v))


def _ms(agg: dict, key: str) -> str:
    m = agg.get(key) or {}
    mean, std = m.get("mean"), m.get("std")
    if mean is None:
        return "-"
    return f"{_fmt(mean)} &plusmn; {_fmt(std)}"


def _plot_png(data: dict) -> str:
    """Driving score by scenario type, one bar per policy, as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    types = sorted({t for p in data["policies"] for t in data["by_type"][p]})
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(types) + 2), 3.6), dpi=90)
    w = 0.8 / max(1, len(data["policies"]))
    for k, p in enumerate(data["policies"]):
        vals = [(data["by_type"][p].get(t, {}).get("driving_score") or {}).get("mean") or 0.0 for t in types]
        ax.bar(np.arange(len(types)) + k * w, vals, w, label=p)
    ax.set_xticks(np.arange(len(types)) + 0.4 - w / 2)
    ax.set_xticklabels(types, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("driving score")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title("CARLA driving score by scenario type")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def render_html(data: dict, clips: dict[str, bytes]) -> str:
    pol = data["policies"]
    e = html.escape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>SimDrive suite {e(data['suite']['name'])}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1 data-testid='title'>Suite <b>{e(data['suite']['name'])}</b>: {', '.join(e(p) for p in pol)}</h1>",
           f"<p>{e(data['suite']['description'])} &middot; {data['suite']['scenarios']} scenarios &middot; "
           f"{len(data['episodes'])} episodes &middot; {data['workers'] or 'sequential'} workers</p>"]
    if data["retries"]:
        out.append("<p class='bad' data-testid='retries'>Retried after a worker died: "
                   + "; ".join(f"{e(r['job'])} (attempt {r['attempt']}, {e(r['error'])})" for r in data["retries"]) + "</p>")
    # aggregate
    out.append("<h2>Aggregate</h2><table data-testid='aggregate'><tr><th class='l'>metric</th>"
               + "".join(f"<th>{e(p)}</th>" for p in pol) + "</tr>")
    for key, label in SUMMARY_KEYS:
        out.append(f"<tr data-metric='{key}'><td class='l'>{e(label)}</td>"
                   + "".join(f"<td>{_ms(data['aggregate'][p], key)}</td>" for p in pol) + "</tr>")
    out.append("<tr data-metric='infractions_per_km'><td class='l'>infractions per km (CARLA)</td>"
               + "".join("<td>" + e(", ".join(f"{k} {v}" for k, v in data['aggregate'][p].get('carla', {}).get('infractions_per_km', {}).items() if v)) + "</td>" for p in pol)
               + "</tr>")
    out.append("<tr data-metric='failures'><td class='l'>failed episodes</td>"
               + "".join(f"<td>{data['aggregate'][p]['failures']} / {data['aggregate'][p]['episodes']}</td>" for p in pol) + "</tr></table>")
    # per scenario
    cols = (("driving_score", "DS"), ("nuplan_score", "nuPlan"), ("success", "success"), ("route_completion", "RC %"))
    out.append("<h2>Per scenario</h2><table data-testid='per-scenario'><tr><th class='l'>scenario</th><th class='l'>type</th>"
               + "".join(f"<th>{e(p)} {c}</th>" for p in pol for _, c in cols) + "</tr>")
    types = {}
    for ep in data["episodes"]:
        types.setdefault(ep["scenario"], ep["type"])
    for name, typ in types.items():
        out.append(f"<tr data-scenario='{e(name)}'><td class='l'>{e(name)}</td><td class='l'>{e(typ)}</td>"
                   + "".join(f"<td>{_ms(data['by_scenario'][p].get(name, {}), k)}</td>" for p in pol for k, _ in cols) + "</tr>")
    out.append("</table>")
    # by type
    out.append("<h2>By scenario type</h2><table data-testid='by-type'><tr><th class='l'>type</th>"
               + "".join(f"<th>{e(p)} {c}</th>" for p in pol for _, c in cols) + "</tr>")
    for typ in sorted(set(types.values())):
        out.append(f"<tr data-type='{e(typ)}'><td class='l'>{e(typ)}</td>"
                   + "".join(f"<td>{_ms(data['by_type'][p].get(typ, {}), k)}</td>" for p in pol for k, _ in cols) + "</tr>")
    out.append("</table>")
    out.append(f"<h2>Plots</h2><img data-testid='plot-by-type' alt='driving score by type' src='{_plot_png(data)}'>")
    # failures
    fails = [ep for ep in data["episodes"] if ep.get("clip")]
    out.append(f"<h2>Failures ({len(fails)})</h2><div class='clips' data-testid='clips'>")
    for ep in fails:
        blob = clips[ep["clip"]]
        uri = f"data:{mime(blob)};base64," + base64.b64encode(blob).decode()
        sc = ep["scores"]
        what = ep["outcome"] + (f", {ep['collision_type']}" if ep["collision_type"] != "none" else "")
        if ep["red_light_runs"]:
            what += ", red light"
        out.append(f"<figure data-policy='{e(ep['policy'])}' data-scenario='{e(ep['scenario'])}'><img src='{uri}' alt='clip'>"
                   f"<figcaption><b>{e(ep['policy'])}</b> on {e(ep['scenario'])} #{ep['repetition']} (seed {ep['seed']}): "
                   f"{e(what)}; DS {_fmt(sc['driving_score'])}</figcaption></figure>")
    out.append("</div><h2>Definitions</h2><ul class='note'>"
               + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in data["definitions"].items()) + "</ul></body></html>")
    return "\n".join(out)
