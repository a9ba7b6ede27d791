"""End-to-end tests of `xpt repro`, `status`, `checkout`, `commit` on real git repos."""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers import TmpRepo

F7_DVC_YAML = """\
stages:
  C:
    cmd: cp B.out C.out && echo C >> order.log
    deps: [B.out]
    outs: [C.out]
  B:
    cmd: cp A.out B.out && echo B >> order.log
    deps: [A.out]
    outs: [B.out]
  A:
    cmd: cp a.txt A.out && echo A >> order.log
    deps: [a.txt]
    outs: [A.out]
  P:
    cmd: echo line >> persist.txt && echo P >> order.log
    deps: [a.txt]
    outs:
    - persist.txt:
        persist: true
  NP:
    cmd: echo line >> nonpersist.txt && echo NP >> order.log
    deps: [a.txt]
    outs: [nonpersist.txt]
"""


@pytest.fixture
def f7(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    project.gen({"a.txt": "v1\n", "dvc.yaml": F7_DVC_YAML})
    project.gen({".gitignore": "order.log\n"})
    xpt("repro")
    project.commit("F7")
    (project / "order.log").unlink()
    return project


def order(repo: TmpRepo) -> list[str]:
    path = repo / "order.log"
    return path.read_text().split() if path.exists() else []


def test_first_repro_writes_lock_cache_and_gitignore(f1: TmpRepo) -> None:
    lock = (f1 / "dvc.lock").read_text()
    assert lock.startswith("schema: '2.0'\nstages:\n  copy-file:\n")
    assert "params:\n      params.yaml:\n        foo: 1\n" in lock
    assert (f1 / "metrics.yaml").read_text() == "foo: 1\n"
    # metrics with cache:false are not git-ignored
    assert not (f1 / ".gitignore").exists() or "metrics.yaml" not in (f1 / ".gitignore").read_text()


def test_nothing_changed_nothing_runs(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    before = (f7 / "dvc.lock").read_bytes()
    res = xpt("repro")
    assert order(f7) == []
    assert (f7 / "dvc.lock").read_bytes() == before
    assert "didn't change" in res.out


def test_topological_order_and_persist(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f7 / "a.txt").write_text("v2\n")
    xpt("repro")
    ran = order(f7)
    assert ran.index("A") < ran.index("B") < ran.index("C")
    assert set(ran) == {"A", "B", "C", "P", "NP"}
    assert (f7 / "nonpersist.txt").read_text() == "line\n"
    assert (f7 / "persist.txt").read_text() == "line\nline\n"
    assert (f7 / "C.out").read_text() == "v2\n"


def test_cached_output_is_ignored_by_git_and_in_cache(f7: TmpRepo) -> None:
    assert "/A.out" in (f7 / ".gitignore").read_text().split()
    lock = (f7 / "dvc.lock").read_text()
    assert "hash: md5" in lock
    import hashlib

    md5 = hashlib.md5(b"v1\n").hexdigest()
    obj = f7 / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    assert obj.exists()
    assert oct(obj.stat().st_mode & 0o777) == "0o444"


def test_run_cache_restores_instead_of_running(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "copy.py").write_text(
        "import shutil, sys\nopen('runs.log','a').write('x')\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"
    )
    xpt("repro")
    (f1 / "params.yaml").write_text("foo: 2\n")
    xpt("repro")
    (f1 / "params.yaml").write_text("foo: 1\n")
    res = xpt("repro")
    assert "is cached" in res.out
    assert (f1 / "runs.log").read_text() == "xx"
    assert (f1 / "metrics.yaml").read_text() == "foo: 1\n"
    assert "foo: 1" in (f1 / "dvc.lock").read_text()


def test_no_run_cache_forces_execution(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "params.yaml").write_text("foo: 2\n")
    xpt("repro")
    (f1 / "params.yaml").write_text("foo: 1\n")
    res = xpt("repro", "--no-run-cache")
    assert "is cached" not in res.out
    assert "Running stage 'copy-file'" in res.out


def test_tampered_output_is_restored_not_rerun(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f7 / "B.out").chmod(0o644)
    (f7 / "B.out").write_text("tampered\n")
    xpt("repro")
    assert (f7 / "B.out").read_text() == "v1\n"
    assert "B" not in order(f7)


def test_force_reruns_target_and_upstream(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("repro", "-f", "C")
    assert order(f7) == ["A", "B", "C"]


def test_single_item_does_not_look_upstream(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f7 / "a.txt").write_text("v2\n")
    xpt("repro", "-s", "B")
    assert order(f7) == []


def test_downstream(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f7 / "a.txt").write_text("v2\n")
    xpt("repro", "--downstream", "A")
    assert sorted(order(f7)) == ["A", "B", "C"]


def test_dry_runs_nothing(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f7 / "a.txt").write_text("v2\n")
    before = (f7 / "dvc.lock").read_bytes()
    res = xpt("repro", "--dry")
    assert order(f7) == []
    assert (f7 / "dvc.lock").read_bytes() == before
    assert "cp a.txt A.out" in res.out


def test_failure_stops_pipeline_and_keep_going(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "params.yaml": "foo: 1\n",
            "dvc.yaml": """\
stages:
  first:
    cmd: echo ${foo} > first.txt
    params: [foo]
    outs: [first.txt]
  second:
    cmd: test "$(cat first.txt)" != 13 && cp first.txt second.txt
    deps: [first.txt]
    outs: [second.txt]
  third:
    cmd: cp second.txt third.txt
    deps: [second.txt]
    outs: [third.txt]
  indep:
    cmd: echo ${foo} > indep.txt
    params: [foo]
    outs: [indep.txt]
""",
        }
    )
    xpt("repro")
    project.commit("F3")
    (project / "params.yaml").write_text("foo: 13\n")
    res = xpt("repro", ok=False)
    assert "second" in res.err
    lock = (project / "dvc.lock").read_text()
    assert not (project / "second.txt").exists()
    assert "13" in (project / "first.txt").read_text()
    assert (project / "indep.txt").read_text() == "1\n"
    res = xpt("repro", "-k", ok=False)
    assert (project / "indep.txt").read_text() == "13\n"
    assert lock != (project / "dvc.lock").read_text()


def test_missing_dependency_is_one_clear_error(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "dvc.yaml": "stages:\n  s:\n    cmd: cp nope.txt o.txt\n    deps: [nope.txt]\n    outs: [o.txt]\n"
        }
    )
    res = xpt("repro", ok=False)
    assert res.err.startswith("ERROR:")
    assert "nope.txt" in res.err
    assert "Traceback" not in res.err
    assert not (project / "dvc.lock").exists()


def test_undeclared_output_not_produced(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen({"dvc.yaml": "stages:\n  s:\n    cmd: echo hi\n    outs: [never.txt]\n"})
    res = xpt("repro", ok=False)
    assert "never.txt" in res.err


def test_cycle_is_an_error(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: cp b a\n    deps: [b]\n    outs: [a]\n  b:\n    cmd: cp a b\n    deps: [a]\n    outs: [b]\n"
        }
    )
    res = xpt("repro", ok=False)
    assert "cycle" in res.err.lower()


def test_invalid_dvc_yaml_names_file_and_line(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen({"dvc.yaml": "stages:\n  train:\n    cmd: echo\n    outs:\n    - 12\n"})
    res = xpt("repro", ok=False)
    assert "dvc.yaml:" in res.err
    assert "stages.train.outs[0]" in res.err


def test_status_json_and_checkout(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(xpt("status", "--json").out) == {}
    (f7 / "a.txt").write_text("v2\n")
    os.remove(f7 / "C.out")
    data = json.loads(xpt("status", "--json").out)
    assert data["A"] == [{"changed deps": {"a.txt": "modified"}}]
    assert data["C"] == [{"changed outs": {"C.out": "deleted"}}]
    xpt("checkout")
    assert (f7 / "C.out").read_text() == "v1\n"


def test_repro_q_prints_nothing(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (f1 / "params.yaml").write_text("foo: 5\n")
    res = xpt("repro", "-q")
    assert res.out == ""


def test_directory_output(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "dvc.yaml": "stages:\n  d:\n    cmd: mkdir -p out/sub && echo a > out/a && echo b > out/sub/b\n    outs: [out]\n"
        }
    )
    xpt("repro")
    lock = (project / "dvc.lock").read_text()
    assert ".dir" in lock and "nfiles: 2" in lock
    assert "/out" in (project / ".gitignore").read_text().split()
    import shutil

    shutil.rmtree(project / "out")
    xpt("checkout")
    assert (project / "out" / "sub" / "b").read_text() == "b\n"


def test_allow_missing_skips_stages_missing_only_data(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.rmtree(f7 / ".dvc" / "cache")
    for name in ("A.out", "B.out", "C.out", "nonpersist.txt", "persist.txt"):
        (f7 / name).unlink()
    res = xpt("repro", "--allow-missing")
    assert order(f7) == []
    assert "only missing data" in res.out
    xpt("repro")
    assert sorted(order(f7)) == ["A", "B", "C", "NP", "P"]


def test_glob_and_recursive_targets(f7: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("repro", "-f", "-s", "--glob", "N*")
    assert order(f7) == ["NP"]
    (f7 / "order.log").unlink()
    f7.gen({"sub/dvc.yaml": "stages:\n  inner:\n    cmd: echo inner >> ../order.log\n"})
    xpt("repro", "-R", "sub")
    assert order(f7) == ["inner"]
    xpt("repro", "--glob", "zzz*", ok=False)
