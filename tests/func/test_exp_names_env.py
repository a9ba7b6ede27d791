"""Names fixed before anything runs, and the environment stage commands see (as under DVC 3)."""

from __future__ import annotations

import json
import re

from tests.func.test_queue import names
from tests.helpers import TmpRepo

ENV_PY = """\
import json, os
keys = ["DVC_EXP_NAME", "DVC_EXP_BASELINE_REV", "DVC_ROOT"]
json.dump({k: os.environ.get(k) for k in keys}, open("env.json", "w"))
"""

DVC_YAML = """\
stages:
  env:
    cmd: python env.py
    deps: [env.py]
    params: [foo]
    metrics:
    - env.json:
        cache: false
"""

AUTO = re.compile(r"exp-[0-9a-f]{5}")


def _project(project: TmpRepo, xpt) -> str:  # type: ignore[no-untyped-def]
    project.gen({"env.py": ENV_PY, "params.yaml": "foo: 1\n", "dvc.yaml": DVC_YAML})
    return project.commit("env pipeline")


def _env_of(xpt, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = json.loads(xpt("exp", "show", "--json").out)
    for exp in rows[1]["experiments"]:
        if exp["name"] == name:
            return exp["revs"][0]["data"]["metrics"]["env.json"]["data"]  # type: ignore[no-any-return]
    raise AssertionError(f"{name} not shown")


def test_workspace_run_is_named_before_it_starts(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    baseline = _project(project, xpt)
    res = xpt("exp", "run", "-S", "foo=2")
    (name,) = names(project)
    assert AUTO.fullmatch(name) and f"Ran experiment(s): {name}" in res.out
    env = json.loads((project / "env.json").read_text())
    assert env == {"DVC_EXP_NAME": name, "DVC_EXP_BASELINE_REV": baseline, "DVC_ROOT": str(project)}
    xpt("exp", "run")  # an unchanged rerun is a new experiment with a new name, as in DVC
    assert len(names(project)) == 2


def test_queued_run_is_named_when_queued(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    baseline = _project(project, xpt)
    res = xpt("exp", "run", "--queue", "-S", "foo=3")
    (name,) = AUTO.findall(res.out)
    status = json.loads(xpt("queue", "status", "--json").out)
    assert [(r["name"], r["status"]) for r in status] == [(name, "Queued")]
    shown = json.loads(xpt("exp", "show", "--json").out)[1]["experiments"]
    assert [e["name"] for e in shown] == [name] and shown[0]["revs"][0]["name"] == name
    xpt("exp", "run", "--run-all")
    assert list(names(project)) == [name]
    # DVC 3 gives queued stages the user's repository as DVC_ROOT, not the temp workspace
    assert _env_of(xpt, name) == {
        "DVC_EXP_NAME": name,
        "DVC_EXP_BASELINE_REV": baseline,
        "DVC_ROOT": str(project),
    }


def test_sweep_names_are_distinct(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _project(project, xpt)
    res = xpt("exp", "run", "--queue", "-S", "foo=1,2,3,4")
    queued = AUTO.findall(res.out)
    assert len(set(queued)) == 4
    xpt("exp", "run", "--run-all", "-j", "2")
    assert sorted(names(project)) == sorted(queued)


def test_metrics_diff_header_names_the_revisions(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _project(project, xpt)
    xpt("exp", "run", "-S", "foo=5", "-n", "five")
    project.git("checkout", "--", ".")
    (project / "params.yaml").write_text("foo: 1\n")
    xpt("exp", "run", "-n", "one")
    header = xpt("metrics", "diff", "five", "one").out.splitlines()[0].split()
    assert header[2:4] == ["five", "one"]
