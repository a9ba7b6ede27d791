"""The collector on a dvclive project: xpt and DVC print the same JSON for the same repository.

The project logs through the real dvclive (installed beside the oracle, run with its python):
`dvclive/` is git-tracked and declared in the nested `dvclive/dvc.yaml`, while
`eval/metrics.json` and `eval/plots/` live inside the cached directory output `eval/`,
declared in the top-level `metrics:` and `plots:` sections. Experiments are made by both
tools: xa and an auto-named one by `xpt exp run`, xq through xpt's queue, da by `dvc exp run`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests import live_project
from tests.compat.goldens import Builder, Goldens
from tests.compat.projects import Xpt, show_json
from tests.helpers import TmpRepo
from tests.oracle import oracle_python
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

COMMANDS = {
    "show": ("exp", "show", "--json"),
    "metrics": ("metrics", "show", "-a", "--json"),
    "diff": ("exp", "diff", "xa", "da", "--json"),
    "diff-ws": ("exp", "diff", "--json"),
    "params": ("params", "diff", "xq", "--json"),
    "metrics-diff": ("metrics", "diff", "xa", "xq", "--json"),
}


@pytest.fixture(autouse=True)
def dvclive_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stage commands saying `python` get the oracle's interpreter, which has dvclive."""
    bindir = str(oracle_python().parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ["PATH"])


def _record(repo: TmpRepo, tool: str, run: Any) -> None:
    for key, argv in COMMANDS.items():
        text = run(*argv).out if tool == "xpt" else run(*argv).stdout
        (repo.parent / f"{tool}-{key}.json").write_text(text)


def build_live(xpt: Xpt, dvc: DvcOracle) -> Builder:
    def build(repo: TmpRepo) -> None:
        repo.gen(live_project.files(dvclive=True))
        xpt("init")
        repo.commit("init")  # dvclive needs a commit
        xpt("repro")
        repo.commit("baseline")
        refs = [repo.git("for-each-ref", "refs/exps")]
        xpt("exp", "run", "-S", "lr=0.2", "-n", "xa")
        refs.append(repo.git("for-each-ref", "refs/exps"))
        xpt("exp", "run", "-S", "lr=0.3")
        refs.append(repo.git("for-each-ref", "refs/exps"))
        queued = xpt("exp", "run", "--queue", "-S", "lr=0.5", "-n", "xq").out
        xpt("exp", "run", "--run-all")
        refs.append(repo.git("for-each-ref", "refs/exps"))
        (repo.parent / "refs.json").write_text(json.dumps({"refs": refs, "queued": queued}))
        dvc("exp", "run", "-S", "lr=0.4", "-n", "da")
        _record(repo, "xpt", xpt)
        _record(repo, "dvc", dvc)

    return build


@pytest.fixture
def golden(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    return goldens.get("dvclive", build_live(xpt, dvc_oracle))


def recorded(golden: Path, tool: str, key: str) -> Any:
    return json.loads((golden.parent / f"{tool}-{key}.json").read_text())


def _exps(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (baseline,) = [r for r in rows if r["rev"] != "workspace"]
    return {e["name"]: e["revs"][0] for e in baseline["experiments"]}


@pytest.mark.parametrize("key", sorted(COMMANDS))
def test_same_json_as_dvc(golden: TmpRepo, key: str) -> None:
    if key == "show":
        assert show_json(json.dumps(recorded(golden, "xpt", key))) == show_json(
            json.dumps(recorded(golden, "dvc", key))
        )
    else:
        assert recorded(golden, "xpt", key) == recorded(golden, "dvc", key)


def test_metrics_come_from_the_cache_and_from_dvclive(golden: TmpRepo) -> None:
    exps = _exps(recorded(golden, "xpt", "show"))
    assert set(exps) >= {"xa", "xq", "da"} and len(exps) == 4
    for name, lr in (("xa", 0.2), ("xq", 0.5), ("da", 0.4)):
        metrics = exps[name]["data"]["metrics"]
        loss = round(1.0 / (1 + lr * 10 * 2), 6)
        assert metrics["eval/metrics.json"]["data"] == {"loss": loss, "epochs": 3}, name
        live = metrics["dvclive/metrics.json"]["data"]
        assert live == {"loss": loss, "acc": round(1 - loss, 6), "step": 2}, name


def test_dvclive_logs_into_the_experiment_xpt_records(golden: TmpRepo) -> None:
    """Same name (fixed before the run, also when automatic or queued); no stray experiment."""
    log = json.loads((golden.parent / "refs.json").read_text())
    counts = [len(r.splitlines()) for r in log["refs"]]
    assert counts == [0, 1, 2, 3]
    assert "'xq'" in log["queued"]
    from xpt.experiments.collect import read_file_at
    from xpt.project import Project

    for name in _exps(recorded(golden, "xpt", "show")):
        logged = read_file_at(Project(golden), name, "eval/logged_to.txt")
        assert logged is not None and logged.decode() == name


def test_missing_cache_objects_give_dvcs_error_entries(
    goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    repo = goldens.copy("dvclive", build_live(xpt, dvc_oracle))
    shutil.rmtree(repo / ".dvc" / "tmp" / "exps" / "cache")  # DVC's memo of exp show rows
    for obj in (repo / ".dvc" / "cache" / "files" / "md5").rglob("*"):
        if obj.is_file() and not obj.name.endswith(".dir"):
            obj.chmod(0o644)
            obj.unlink()
    # exp show: experiments keyed by name, as in test_same_json_as_dvc. Two experiments
    # committed in the same second tie on the timestamp both tools sort by, and the two
    # order such ties differently (seen in CI: xq and exp-a7b8b, both at :35).
    mine = json.loads(xpt(*COMMANDS["metrics"]).out)
    assert mine == json.loads(dvc_oracle(*COMMANDS["metrics"]).stdout)
    mine_show = show_json(xpt(*COMMANDS["show"]).out)
    assert mine_show == show_json(dvc_oracle(*COMMANDS["show"]).stdout)
    errors = json.loads(xpt(*COMMANDS["metrics"]).out)["main"]["data"]["eval/metrics.json"]
    assert errors["error"]["type"] == "FileNotFoundError"


def build_gated(xpt: Xpt) -> Builder:
    def build(repo: TmpRepo) -> None:
        from tests.func.test_exp_show_running import DVC_YAML, GATED_PY

        repo.gen({"train.py": GATED_PY, "params.yaml": "foo: 1\n", "dvc.yaml": DVC_YAML})
        xpt("init")
        repo.commit("gated")

    return build


def _running_show(argv: list[str], show: Any, gate: Path, cwd: Path, env: dict[str, str]) -> Any:
    """`exp show --json` (by `show`) taken while `argv` runs an experiment held at the gate."""
    import subprocess
    import time

    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            rows = json.loads(show())
            exps = rows[-1]["experiments"] or []
            live = [e for e in exps if (e.get("executor") or {}).get("state") == "running"]
            datas = [rows[0]["data"], *(e["revs"][0]["data"] for e in live)]
            if live and all("data" in d["metrics"].get("metrics.json", {}) for d in datas):
                return rows  # sampled once the stage wrote its first metrics
            time.sleep(0.1)
        raise AssertionError("no running experiment shown")
    finally:
        gate.touch()
        proc.wait(timeout=120)


def _normalised(rows: Any, repo: Path) -> Any:
    text = json.dumps(rows).replace(str(repo), "<root>")
    rows = json.loads(text)
    for exp in rows[-1]["experiments"]:
        exp["executor"]["local"]["pid"] = "<pid>"
    return rows


def test_running_workspace_experiment_shown_like_dvc(
    goldens: Goldens, xpt: Xpt, xpt_cmd: Any, dvc_oracle: DvcOracle, tmp_path: Path
) -> None:
    repo_x = goldens.copy("gated", build_gated(xpt), name="x")
    repo_d = goldens.copy("gated", build_gated(xpt), name="d")
    gate_x, gate_d = tmp_path / "gate-x", tmp_path / "gate-d"
    env_x = {**os.environ, "XPT_TEST_GATE": str(gate_x)}
    shown_x = _running_show(
        [str(xpt_cmd.exe), "exp", "run", "-n", "live"],
        lambda: xpt_cmd("exp", "show", "--json", cwd=repo_x).stdout,
        gate_x,
        repo_x,
        env_x,
    )
    env_d = dvc_oracle.env({"XPT_TEST_GATE": str(gate_d)})
    shown_d = _running_show(
        [str(dvc_oracle.exe), "exp", "run", "-n", "live"],
        lambda: dvc_oracle("exp", "show", "--json", cwd=repo_d).stdout,
        gate_d,
        repo_d,
        env_d,
    )
    assert _normalised(shown_x, repo_x) == _normalised(shown_d, repo_d)


API_CALLS = [
    ("metrics_show", (), {}),
    ("metrics_show", ("eval/metrics.json",), {}),
    ("metrics_show", (), {"rev": "xa"}),
    ("params_show", (), {}),
    ("params_show", (), {"deps": True}),
    ("params_show", (), {"rev": "HEAD"}),
]


def test_python_api_same_as_dvc_api(golden: TmpRepo) -> None:
    import subprocess

    import xpt.api

    script = (
        "import json, sys, dvc.api\n"
        "calls = json.loads(sys.argv[1])\n"
        "print(json.dumps([getattr(dvc.api, f)(*a, **k) for f, a, k in calls]))\n"
    )
    res = subprocess.run(
        [str(oracle_python()), "-c", script, json.dumps(API_CALLS)],
        cwd=golden,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(res.stdout)
    mine = [getattr(xpt.api, f)(*a, repo=golden, **k) for f, a, k in API_CALLS]
    assert mine == theirs
