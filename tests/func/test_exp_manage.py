"""End-to-end tests of exp show/diff/apply/branch/list/remove/rename/gc/save and params/metrics."""

from __future__ import annotations

import json

from tests.func.test_exp_run import exp_refs, show_at
from tests.helpers import TmpRepo


def _ref(repo: TmpRepo, name: str) -> str:
    head = repo.git("rev-parse", "HEAD")
    return f"refs/exps/{head[:2]}/{head[2:]}/{name}"


def test_exp_show_json_shape(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "e2", "-S", "foo=2")
    xpt("exp", "run", "-n", "e3", "-S", "foo=3")
    rows = json.loads(xpt("exp", "show", "--json").out)
    assert rows[0]["rev"] == "workspace" and rows[0]["name"] is None
    assert rows[0]["data"]["params"]["params.yaml"]["data"] == {"foo": 3}
    base = rows[1]
    assert base["rev"] == f1.git("rev-parse", "HEAD")
    assert base["name"] == "main"
    names = [e["name"] for e in base["experiments"]]
    assert sorted(names) == ["e2", "e3"]
    exp = next(e for e in base["experiments"] if e["name"] == "e2")
    assert exp["executor"] is None
    rev = exp["revs"][0]
    assert rev["name"] == "e2"
    assert rev["data"]["metrics"]["metrics.yaml"]["data"] == {"foo": 2}
    assert set(rev["data"]) == {"rev", "timestamp", "params", "metrics", "deps", "outs", "meta"}
    assert "copy.py" in rev["data"]["deps"]


def test_exp_show_table_and_csv(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "tbl", "-S", "foo=7")
    out = xpt("exp", "show", "--no-pager").out
    assert "tbl" in out and "workspace" in out
    csv = xpt("exp", "show", "--csv").out
    assert csv.splitlines()[0].startswith("Experiment,rev,typ,Created,parent")
    assert "tbl" in csv


def test_exp_apply_restores_files_and_backs_up(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "two", "-S", "foo=2")
    xpt("exp", "run", "-n", "three", "-S", "foo=3")
    (f1 / "params.yaml").write_text("foo: 99\n")
    (f1 / "newfile.txt").write_text("mine")
    head = f1.git("rev-parse", "HEAD")
    res = xpt("exp", "apply", "two")
    assert (f1 / "params.yaml").read_text() == "foo: 2\n"
    assert (f1 / "metrics.yaml").read_text() == "foo: 2\n"
    assert (f1 / "newfile.txt").read_text() == "mine"
    assert f1.git("rev-parse", "HEAD") == head
    backups = f1.git("for-each-ref", "--format=%(refname)", "refs/xpt/backup").split()
    assert len(backups) == 1
    assert show_at(f1, backups[0], "params.yaml") == "foo: 99"
    assert "restore" in res.err
    xpt("exp", "apply", "three")
    assert len(f1.git("for-each-ref", "--format=%(refname)", "refs/xpt/backup").split()) == 2


def test_exp_apply_unknown(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("exp", "apply", "nope", ok=False)
    assert "nope" in res.err
    assert (f1 / "params.yaml").read_text() == "foo: 1\n"


def test_exp_branch(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "br", "-S", "foo=4")
    xpt("exp", "branch", "br")
    assert f1.git("rev-parse", "br-branch") == f1.git("rev-parse", _ref(f1, "br"))
    xpt("exp", "branch", "br", "custom")
    xpt("exp", "branch", "br", "custom", ok=False)
    xpt("exp", "branch", "missing", ok=False)
    assert f1.git("symbolic-ref", "HEAD") == "refs/heads/main"


def test_exp_list_and_remove(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    for name, val in (("a", 2), ("b", 3), ("c", 4)):
        xpt("exp", "run", "-n", name, "-S", f"foo={val}")
    out = xpt("exp", "list").out
    assert out.splitlines()[0] == "main:"
    assert sorted(xpt("exp", "list", "--name-only").out.split()) == ["a", "b", "c"]
    xpt("exp", "remove", "a", "b", "nonexistent", ok=False)
    assert len(exp_refs(f1)) == 3
    xpt("exp", "remove", "a", "b")
    assert list(exp_refs(f1)) == [_ref(f1, "c")]
    xpt("exp", "remove", ok=False)


def test_exp_remove_keep_and_all(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    for name, val in (("k1", 2), ("k2", 3), ("k3", 4)):
        xpt("exp", "run", "-n", name, "-S", f"foo={val}")
    xpt("exp", "remove", "--keep", "k1")
    assert list(exp_refs(f1)) == [_ref(f1, "k1")]
    xpt("exp", "remove", "-A")
    assert exp_refs(f1) == {}


def test_exp_rename(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "old", "-S", "foo=2")
    xpt("exp", "run", "-n", "other", "-S", "foo=3")
    xpt("exp", "rename", "old", "new")
    assert _ref(f1, "new") in exp_refs(f1) and _ref(f1, "old") not in exp_refs(f1)
    xpt("exp", "rename", "new", "other", ok=False)
    xpt("exp", "rename", "new", "a/b", ok=False)
    xpt("exp", "rename", "ghost", "x", ok=False)


def test_exp_save(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    f1.gen({"notes.txt": "n"})
    res = xpt("exp", "save", "-n", "saved")
    assert "notes.txt" in res.err
    sha = exp_refs(f1)[_ref(f1, "saved")]
    assert f1.git("rev-parse", f"{sha}^") == f1.git("rev-parse", "HEAD")
    xpt("exp", "save", "-n", "saved", ok=False)
    xpt("exp", "save", "-n", "inc", "-I", "notes.txt")
    files = f1.git("ls-tree", "-r", "--name-only", exp_refs(f1)[_ref(f1, "inc")]).split()
    assert "notes.txt" in files
    assert "notes.txt" in f1.git("status", "--porcelain")


def test_exp_gc(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "old1", "-S", "foo=2")
    (f1 / "params.yaml").write_text("foo: 1\n")
    f1.commit("next")
    xpt("exp", "run", "-n", "new1", "-S", "foo=3")
    xpt("exp", "gc", "-f", ok=False)
    xpt("exp", "gc", "-w", "-f")
    names = [r.rsplit("/", 1)[1] for r in exp_refs(f1)]
    assert names == ["new1"]


def test_exp_diff_and_params_metrics(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(xpt("exp", "diff", "--json").out) == {"metrics": {}, "params": {}}
    xpt("exp", "run", "-n", "d2", "-S", "foo=2")
    data = json.loads(xpt("exp", "diff", "--json").out)
    assert data["params"] == {"params.yaml": {"foo": {"old": 1, "new": 2, "diff": 1}}}
    assert data["metrics"] == {"metrics.yaml": {"foo": {"old": 1, "new": 2, "diff": 1}}}
    data = json.loads(xpt("exp", "diff", "HEAD", "d2", "--json").out)
    assert data["params"]["params.yaml"]["foo"]["new"] == 2
    assert json.loads(xpt("params", "diff", "--json").out) == {
        "params.yaml": {"foo": {"old": 1, "new": 2, "diff": 1}}
    }
    assert json.loads(xpt("metrics", "show", "--json").out) == {
        "": {"data": {"metrics.yaml": {"data": {"foo": 2}}}}
    }
    assert json.loads(xpt("metrics", "diff", "--json").out) == {
        "metrics.yaml": {"foo": {"old": 1, "new": 2, "diff": 1}}
    }


def test_no_commits(tmp_repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("init")
    tmp_repo.gen({"dvc.yaml": "stages:\n  s:\n    cmd: echo\n"})
    xpt("exp", "run", ok=False)
    assert json.loads(xpt("exp", "show", "--json").out) == []


def test_exp_show_row_selection(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "old", "-S", "foo=2")
    first = f1.git("rev-parse", "HEAD")
    (f1 / "params.yaml").write_text("foo: 1\n")
    f1.git("tag", "v1", first)
    f1.gen({"notes.md": "x"})
    second = f1.commit("second")
    xpt("exp", "run", "-n", "new", "-S", "foo=3")
    rows = json.loads(xpt("exp", "show", "--json").out)
    assert [r["rev"] for r in rows] == ["workspace", second]
    rows = json.loads(xpt("exp", "show", "--json", "-n", "2").out)
    assert [r["rev"] for r in rows] == ["workspace", second, first]
    assert [e["name"] for e in rows[2]["experiments"]] == ["old"]
    rows = json.loads(xpt("exp", "show", "--json", "-T", "--hide-workspace").out)
    assert {r["rev"]: r["name"] for r in rows} == {second: "main", first: "v1"}
    rows = json.loads(xpt("exp", "show", "--json", "--rev", first).out)
    assert [r["rev"] for r in rows] == ["workspace", first]
    xpt("exp", "show", "--rev", "nonexistent", ok=False)
    assert xpt("exp", "list", "-A", "--name-only").out.split() == ["new", "old"]


def test_exp_run_target_limits_stages(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "params.yaml": "foo: 1\nbar: 1\n",
            "dvc.yaml": (
                "stages:\n"
                "  a:\n    cmd: echo ${foo} > a.txt\n    params: [foo]\n    outs:\n    - a.txt:\n        cache: false\n"
                "  b:\n    cmd: echo ${bar} > b.txt\n    params: [bar]\n    outs:\n    - b.txt:\n        cache: false\n"
            ),
        }
    )
    xpt("repro")
    project.commit("two stages")
    xpt("exp", "run", "a", "-S", "foo=5", "-S", "bar=7", "-n", "only-a")
    assert (project / "a.txt").read_text() == "5\n"
    assert (project / "b.txt").read_text() == "1\n"
    xpt("exp", "run", "nope", ok=False)
