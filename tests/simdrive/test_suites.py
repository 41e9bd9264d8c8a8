"""Shipped suites load and set up; bad scenario files fail in one line naming file, key and choices."""

import subprocess
import sys
import textwrap

import pytest

from envs.driving.scenario import ScenarioScript
from simdrive.evaluation.episodes import make_scenario_env
from simdrive.evaluation.schema import ScenarioError, load_suite, sample, shipped_suites

SUITES = ("highway", "merge", "intersection", "roundabout", "adversarial")


def test_five_suites_ten_scenarios_each_twenty_types():
    assert set(SUITES) <= set(shipped_suites())
    types = set()
    for name in SUITES:
        suite = load_suite(name)
        assert len(suite.scenarios) >= 10, name
        types |= {s.type for s in suite.scenarios}
    assert len(types) >= 20, sorted(types)


@pytest.mark.parametrize("name", SUITES)
def test_every_shipped_scenario_sets_up_and_steps(name):
    suite = load_suite(name)
    for sc in suite.scenarios:
        sp = sample(suite, sc, 0)
        env = make_scenario_env(sp, {})
        script = sp.script()
        env.reset(seed=sp.seed, options={"scenario": script})
        env.step(1)
        w = env.unwrapped.world
        first = w.V - w.p.obstacles
        # every placed actor is on the road and nothing overlaps the ego at the start
        for slot in range(first, first + ScenarioScript.slots_needed(sp.events)):
            if w.active[0, slot] and w.x[0, slot] < 1e5:
                assert w.road.drivable(w.x[0, slot:slot + 1], w.y[0, slot:slot + 1]).all(), (sc.name, slot)
        env.close()


def test_sampling_is_seeded_per_repetition():
    suite = load_suite("highway")
    sc = next(s for s in suite.scenarios if s.name == "lead_hard_brake")
    a, b, c = sample(suite, sc, 0), sample(suite, sc, 0), sample(suite, sc, 1)
    assert a.params == b.params and a.seed == b.seed
    assert a.params != c.params and a.seed != c.seed
    lo, hi = 4.0, 7.0
    decels = [sample(suite, sc, k).events[0].action.decel for k in range(40)]
    assert all(lo <= d <= hi for d in decels) and max(decels) - min(decels) > 1.5  # the range is sampled


def test_scenario_traffic_is_undisturbed_unless_the_scenario_asks(tmp_path):
    """Highway's default traffic has speed disturbances; a scenario's traffic does only what the
    scenario describes, unless it sets ``traffic.disturbances`` [1/s]."""
    suite = load_suite("highway")
    sc = next(s for s in suite.scenarios if s.name == "free_flow")
    assert dict(sample(suite, sc, 0).env_kwargs)["disturbance_rate"] == 0.0
    path = _suite_file(tmp_path, GOOD + "  traffic: {vehicles: 10, disturbances: 0.05}\n")
    asked = load_suite(str(path))
    assert dict(sample(asked, asked.scenarios[0], 0).env_kwargs)["disturbance_rate"] == 0.05
    with pytest.raises(ScenarioError, match=r"traffic.disturbances: 2(\.0)? is out of range"):
        load_suite(str(_suite_file(tmp_path, GOOD + "  traffic: {disturbances: 2}\n")))


def _suite_file(tmp_path, scenario_yaml: str):
    (tmp_path / "suite.yaml").write_text("name: t\nscenarios:\n" + textwrap.indent(textwrap.dedent(scenario_yaml), "  "))
    return tmp_path / "suite.yaml"


GOOD = """\
- name: a
  type: cut_in
  map: highway
  events:
    - action: cut_in
      params: {gap: 12}
"""


@pytest.mark.parametrize("body, expected", [
    (GOOD.replace("gap: 12", "gapp: 12"), "scenarios[0].events[0].params: unknown key 'gapp'; valid keys: side, gap, rel_speed, hold"),
    (GOOD.replace("gap: 12", "gap: fast"), "scenarios[0].events[0].params.gap: expected a number, got 'fast'"),
    (GOOD.replace("gap: 12", "gap: 500"), "scenarios[0].events[0].params.gap: 500 is out of range [0.0, 100.0]"),
    (GOOD.replace("gap: 12", "side: up"), "scenarios[0].events[0].params.side: 'up' is not valid; choose one of left, right"),
    (GOOD.replace("action: cut_in", "action: teleport"), "scenarios[0].events[0].action: 'teleport' is not valid; choose one of"),
    (GOOD.replace("map: highway", "map: moon"), "scenarios[0].map: 'moon' is not valid; choose one of highway, merge, intersection, roundabout"),
    (GOOD + "  map_params: {lanez: 3}\n", "scenarios[0].map_params: unknown key 'lanez'; valid keys: lanes, length"),
    (GOOD + "  time_limit: [1, 2]\n", "scenarios[0].time_limit: expected a number, got [1, 2]"),
    ("- file: missing.yaml\n", "scenarios[0].file: no such scenario file"),
    (GOOD.replace("params: {gap: 12}", "params: {gap: [20, 10]}"), "range [20.0, 10.0] has lo > hi"),
])
def test_bad_files_fail_in_one_line(tmp_path, body, expected):
    path = _suite_file(tmp_path, body)
    with pytest.raises(ScenarioError) as err:
        load_suite(str(path))
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path)) and expected in msg


def test_not_yaml_and_unknown_suite(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_suite(str(bad))
    with pytest.raises(ScenarioError, match="unknown suite 'hihgway'; shipped suites: adversarial, highway"):
        load_suite("hihgway")


def test_anchors_and_aliases_are_refused(tmp_path):
    # alias expansion ("billion laughs") would build a huge document from a small file
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("name: x\nscenarios:\n  - &a {name: a, type: free_flow, map: highway}\n  - *a\n")
    with pytest.raises(ScenarioError, match="anchors and aliases"):
        load_suite(str(bomb))
    # control: the same scenarios written out load
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: x\nscenarios:\n  - {name: a, type: free_flow, map: highway}\n  - {name: b, type: free_flow, map: highway}\n")
    assert len(load_suite(str(plain)).scenarios) == 2


def test_cli_bad_suite_is_one_error_line_exit_2(tmp_path):
    path = _suite_file(tmp_path, GOOD.replace("gap: 12", "gapp: 12"))
    proc = subprocess.run([sys.executable, "-m", "simdrive.cli", "eval", "--suite", str(path), "expert", "--no-track"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "unknown key 'gapp'" in lines[0]
