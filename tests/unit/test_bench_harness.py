"""The benchmark harness: alternating timed runs, not-built rows, bulk experiments."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from bench import run as bench_run
from bench.common import Case, Harness, Tool, at_most, faster, reap_strays
from bench.scenarios import EXP_DVC_YAML, TRAIN_PY, exp_files, exp_ref, fast_import_stream

from tests.helpers import TmpRepo


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def harness_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    made: list[Harness] = []

    def make(xpt_body: str, dvc_body: str) -> Harness:
        h = Harness(
            _script(tmp_path / "xpt", xpt_body), _script(tmp_path / "dvc", dvc_body), "3.67.1"
        )
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def _no_repo(tool: Tool, path: Path) -> Path:
    return path


def _version(tool: Tool, cwd: Path, i: int) -> None:
    tool.run(["--version"], cwd)


def test_not_built_is_reported_and_dvc_still_measured(harness_for) -> None:  # type: ignore[no-untyped-def]
    h = harness_for('echo "ERROR: this command is not built yet in xpt" >&2; exit 1', "exit 0")
    row = h.compare(Case("1", "start-up", _no_repo, _version, at_most(1)))
    assert row.verdict == "n/a (not built)"
    assert not row.error
    assert row.xpt is None and row.dvc is not None and row.rounds == 5


def test_other_failures_are_errors(harness_for) -> None:  # type: ignore[no-untyped-def]
    h = harness_for('echo "ERROR: unexpected error: boom" >&2; exit 1', "exit 0")
    row = h.compare(Case("1", "start-up", _no_repo, _version, at_most(1)))
    assert row.error
    assert "boom" in row.xpt_note
    assert "error" in bench_run.table_rows([row])[0][2]


def test_medians_ratio_and_goal(harness_for) -> None:  # type: ignore[no-untyped-def]
    h = harness_for("exit 0", "sleep 0.1")
    seen: list[int] = []

    def action(tool: Tool, cwd: Path, i: int) -> None:
        seen.append(i)
        tool.run([], cwd)

    row = h.compare(Case("9", "x", _no_repo, action, faster(2), warmup=True))
    assert seen == [-1, -1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # warm-up, then alternating
    assert row.verdict == "pass" and row.ratio is not None and row.ratio > 2
    row = h.compare(Case("9", "y", _no_repo, action, faster(1000)))
    assert row.verdict == "FAIL"


def test_max_rounds_caps_a_case(harness_for) -> None:  # type: ignore[no-untyped-def]
    h = harness_for("exit 0", "exit 0")
    seen: list[int] = []

    def action(tool: Tool, cwd: Path, i: int) -> None:
        seen.append(i)
        tool.run([], cwd)

    row = h.compare(Case("7", "one", _no_repo, action, at_most(1), max_rounds=1))
    assert seen == [0, 0] and row.rounds == 1


def test_results_markdown(harness_for) -> None:  # type: ignore[no-untyped-def]
    h = harness_for("exit 0", "exit 0")
    h.compare(Case("1", "start-up", _no_repo, _version, at_most(10)))
    text = bench_run.markdown(h.rows, 1.0)
    assert f"{os.cpu_count()} CPUs" in text and "Python 3." in text
    assert "| 1 | start-up |" in text and "| pass | 5 |" in text


def test_stray_background_processes_are_stopped(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "60"], cwd=tmp_path)
    try:
        reap_strays(tmp_path)
        assert proc.wait(timeout=5) != 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_fast_import_writes_experiments_in_dvc_layout(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": TRAIN_PY, "dvc.yaml": EXP_DVC_YAML, **exp_files(0)})
    baseline = tmp_repo.commit("baseline")
    stream = fast_import_stream(baseline, 3, int(time.time()))
    subprocess.run(["git", "fast-import", "--quiet"], input=stream, check=True, cwd=tmp_repo)
    refs = tmp_repo.git("for-each-ref", "--format=%(refname)", "refs/exps").split()
    assert refs == [exp_ref(baseline, f"bench-{i:05d}") for i in (1, 2, 3)]
    assert refs[0].startswith(f"refs/exps/{baseline[:2]}/{baseline[2:]}/")
    second = refs[1]
    assert tmp_repo.git("rev-parse", f"{second}^") == baseline
    assert tmp_repo.git("rev-list", "--count", second) == "2"
    assert tmp_repo.git("show", f"{second}:params.yaml") + "\n" == exp_files(2)["params.yaml"]
    assert tmp_repo.git("show", f"{second}:train.py") + "\n" == TRAIN_PY
    changed = tmp_repo.git("diff", "--name-only", baseline, second).split()
    assert changed == ["dvc.lock", "metrics.json", "params.yaml"]
