"""The HTML report in a real headless browser (playwright driving Debian's chromium): what it
shows, not only that it parses; and that it makes no external request."""

import json
import os
import shutil
from pathlib import Path

import pytest

from simdrive.evaluation import report
from simdrive.evaluation.schema import load_suite
from simdrive.evaluation.suite import run_suite

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: .ci/run installs Debian's chromium before make test")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

SUITE = """\
name: browser
description: a report to look at
repetitions: 2
seed: 1
scenarios:
  - name: brake
    type: lead_vehicle_hard_brake
    map: highway
    map_params: {lanes: 2, route_length: 150}
    traffic: {vehicles: 4}
    events:
      - action: lead_brake
        trigger: {time: 1}
        params: {gap: 20, speed: 22, decel: 7}
    time_limit: 8
  - name: ring
    type: roundabout_gap_acceptance
    map: roundabout
    map_params: {exit: 1}
    traffic: {vehicles: 4}
    time_limit: 6
"""


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    (d / "suite.yaml").write_text(SUITE)
    run = run_suite(load_suite(str(d / "suite.yaml")), ["expert", "random"])
    jpath, hpath = report.write(run, d / "out")
    return json.loads(jpath.read_text()), hpath


def test_report_page_shows_tables_plots_and_failure_clips(written):
    data, hpath = written
    from playwright.sync_api import sync_playwright

    external = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda req: external.append(req.url) if not req.url.startswith(("file:", "data:")) else None)
        page.goto(hpath.as_uri())
        page.wait_for_load_state("load")
        assert "browser" in page.get_by_test_id("title").inner_text()
        # the aggregate table: both policies side by side, the driving score as in the JSON
        heads = page.locator("[data-testid=aggregate] tr").first.locator("th").all_inner_texts()
        assert heads[1:] == ["expert", "random"]
        ds_cells = page.locator("[data-testid=aggregate] tr[data-metric=driving_score] td").all_inner_texts()
        for cell, pol in zip(ds_cells[1:], ["expert", "random"]):
            mean = data["aggregate"][pol]["driving_score"]["mean"]
            assert cell.startswith(f"{mean:.3g}"), (cell, mean)
        # per scenario and by type
        assert page.locator("[data-testid=per-scenario] tr[data-scenario]").count() == 2
        assert page.locator("[data-testid=by-type] tr[data-type]").count() == 2
        # the plot and every failure clip are decoded images
        plot_w = page.get_by_test_id("plot-by-type").evaluate("img => img.naturalWidth")
        assert plot_w > 100
        failed = [e for e in data["episodes"] if e.get("clip")]
        figures = page.locator("[data-testid=clips] figure")
        assert figures.count() == len(failed) > 0
        widths = figures.locator("img").evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
        assert all(w and w > 50 for w in widths)
        caption = figures.first.inner_text()
        assert failed[0]["scenario"] in caption and failed[0]["outcome"] in caption
        browser.close()
    assert external == []  # self-contained: no request leaves the page
    # control: every failed episode got a clip, no success did
    assert all(e["scores"]["success"] < 1 or e["red_light_runs"] or e["scenario_timeouts"] for e in failed)
