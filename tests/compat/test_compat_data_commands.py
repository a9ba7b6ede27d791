"""Real DVC and xpt side by side: `stage add` writes the same dvc.yaml; `data status --json`,
`diff --json` agree on a repository DVC built; DVC reads what `move`/`freeze` wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

STAGE_ADDS = [
    ["-n", "train", "-d", "a.txt", "-d", "args.txt", "-o", "model.pkl", "-O", "nc.txt",
     "-m", "m.json", "-M", "mnc.json", "-p", "lr,seed", "-p", "custom.yaml:a",
     "--plots", "p.csv", "--plots-no-cache", "pnc.csv", "-w", "sub", "--desc", "hello",
     "--always-changed", "--outs-persist", "op", "--outs-persist-no-cache", "opnc",
     "python train.py"],
    ["-n", "t4", "-p", "custom.yaml:", "-p", "params.yaml:", "-d", "../x", "echo"],
    ["-n", "t8", "-m", "mm.json", "-o", "o1", "-o", "o0", "python", "my script.py", "--lr",
     "1 2", "it's"],
    ["-n", "first", "-f", "-o", "b.txt", "echo b > b.txt"],
]  # fmt: skip

BASE = "# top comment\nstages:\n  first:  # c1\n    cmd: echo a > a.txt\n    outs:\n    - a.txt\n"


def _scratch(root: Path, dvc_oracle: DvcOracle) -> None:
    root.mkdir()
    TmpRepo(root).git("init", "-q")
    dvc_oracle("init", "-q", cwd=root)
    TmpRepo(root).gen(
        {"dvc.yaml": BASE, "params.yaml": "lr: 1\nseed: 1\n", "sub": {"params.yaml": "lr: 1\n"}}
    )


def test_stage_add_writes_what_dvc_writes(tmp_path: Path, dvc_oracle: DvcOracle, xpt) -> None:
    theirs, ours = tmp_path / "dvc", tmp_path / "xpt"
    _scratch(theirs, dvc_oracle)
    _scratch(ours, dvc_oracle)
    for args in STAGE_ADDS:
        dvc_oracle("stage", "add", *args, cwd=theirs)
        import os

        cwd = os.getcwd()
        os.chdir(ours)
        try:
            xpt("stage", "add", *args)
        finally:
            os.chdir(cwd)
    assert (ours / "dvc.yaml").read_text() == (theirs / "dvc.yaml").read_text()
    for ignore in (".gitignore", "sub/.gitignore"):
        assert set((ours / ignore).read_text().split()) == set(
            (theirs / ignore).read_text().split()
        )
    listed = dvc_oracle("stage", "list", cwd=ours).stdout
    assert "train  hello" in listed


@pytest.fixture
def dvc_repo(tmp_repo: TmpRepo, dvc_oracle: DvcOracle) -> TmpRepo:
    dvc_oracle("init", "-q")
    tmp_repo.gen({"data": {"data.xml": "hello\n", "dir": {"a": "1\n", "b": "2\n"}}})
    dvc_oracle("add", "-q", "data/data.xml", "data/dir")
    tmp_repo.gen(
        {
            "dvc.yaml": "stages:\n  gen:\n    cmd: echo gen > out.txt\n    deps:\n"
            "    - data/data.xml\n    outs:\n    - out.txt\n"
        }
    )
    dvc_oracle("repro", "-q")
    tmp_repo.commit("dvc project")
    return tmp_repo


def _both(dvc_oracle: DvcOracle, xpt, *args: str) -> tuple[dict, dict]:
    theirs = json.loads(dvc_oracle(*args).stdout or "{}")
    ours = json.loads(xpt(*args).out or "{}")
    return _sets(theirs), _sets(ours)


def _sets(value):  # type: ignore[no-untyped-def]
    """Lists as sorted lists (DVC's order is not stable)."""
    if isinstance(value, dict):
        return {k: _sets(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sets(v) for v in value), key=json.dumps)
    return value


def test_data_status_and_diff_match_dvc(dvc_repo: TmpRepo, dvc_oracle: DvcOracle, xpt) -> None:
    first = dvc_repo.git("rev-parse", "HEAD")
    (dvc_repo / "data/data.xml").write_text("changed\n")
    (dvc_repo / "data/dir/c").write_text("3\n")
    (dvc_repo / "data/dir/a").unlink()
    (dvc_repo / "out.txt").unlink()
    (dvc_repo / "untracked.txt").write_text("u")
    for flags in ([], ["--granular", "--unchanged", "--untracked-files"]):
        theirs, ours = _both(dvc_oracle, xpt, "data", "status", "--json", *flags)
        assert ours == theirs, flags
    theirs, ours = _both(dvc_oracle, xpt, "diff", "--json", "--show-hash")
    assert ours == theirs
    # a committed change and a new tracked folder, then a diff between revisions
    dvc_oracle("commit", "-q", "-f", "data/data.xml.dvc")
    dvc_repo.gen({"newdir": {"q": "q", "r": "r"}})
    dvc_oracle("add", "-q", "newdir")
    theirs, ours = _both(dvc_oracle, xpt, "data", "status", "--json", "--granular")
    assert ours == theirs
    dvc_repo.commit("second")
    theirs, ours = _both(dvc_oracle, xpt, "diff", first, "HEAD", "--json", "--show-hash")
    assert ours == theirs
    shutil.rmtree(dvc_repo / ".dvc/cache/files/md5/b1")  # the old data.xml object
    theirs, ours = _both(dvc_oracle, xpt, "diff", first, "--json")
    assert ours == theirs


def test_dvc_reads_what_move_and_freeze_wrote(
    dvc_repo: TmpRepo, dvc_oracle: DvcOracle, xpt
) -> None:
    xpt("move", "data/dir", "moved")
    xpt("freeze", "data/data.xml.dvc")
    xpt("freeze", "gen")
    res = dvc_oracle("status")
    assert "up to date" in res.stdout, res.stdout
    xpt("remove", "moved.dvc", "--outs")
    xpt("unfreeze", "gen")
    assert "up to date" in dvc_oracle("status").stdout
    assert not (dvc_repo / "moved").exists()


def _source_repo(root: Path, dvc_oracle: DvcOracle) -> Path:
    """A DVC project with `data/data.xml` and `data/dir/` added, and a git-tracked file."""
    root.mkdir()
    repo = TmpRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.gen({"data": {"data.xml": "hello\n", "dir": {"a": "1\n"}}, "plain.txt": "plain\n"})
    dvc_oracle("init", "-q", cwd=root)
    dvc_oracle("add", "-q", "data/data.xml", "data/dir", cwd=root)
    repo.commit("source")
    return root


def test_imports_read_by_the_other_tool(
    tmp_path: Path, tmp_repo: TmpRepo, dvc_oracle: DvcOracle, xpt
) -> None:
    src = _source_repo(tmp_path / "src", dvc_oracle)
    dvc_oracle("init", "-q")
    tmp_repo.commit("init")
    # xpt's imports: byte-identical to DVC's, and DVC finds them up to date
    xpt("import", str(src), "data/data.xml")
    xpt("import", str(src), "data/dir", "-o", "mydir")
    xpt("import", str(src), "plain.txt")
    for name in ("data.xml", "mydir", "plain.txt"):
        ours = (tmp_repo / f"{name}.dvc").read_text()
        (tmp_repo / f"{name}.dvc").unlink()
        shutil.rmtree(tmp_repo / name) if (tmp_repo / name).is_dir() else (tmp_repo / name).unlink()
        args = [
            "import",
            str(src),
            {"data.xml": "data/data.xml", "mydir": "data/dir"}.get(name, name),
        ]
        dvc_oracle(*args, *(["-o", "mydir"] if name == "mydir" else []))
        assert (tmp_repo / f"{name}.dvc").read_text() == ours, name
    xpt("checkout")
    assert "up to date" in dvc_oracle("status").stdout
    # a new commit in the source: xpt updates DVC's import; DVC reads the result
    (src / "data/data.xml").write_text("hello2\n")
    dvc_oracle("add", "-q", "data/data.xml", cwd=src)
    TmpRepo(src).commit("v2")
    xpt("update", "data.xml.dvc")
    assert (tmp_repo / "data.xml").read_text() == "hello2\n"
    assert "up to date" in dvc_oracle("status", "data.xml.dvc").stdout
    ext = tmp_path / "ext.txt"
    ext.write_text("ext\n")
    xpt("import-url", str(ext))
    ours = (tmp_repo / "ext.txt.dvc").read_text()
    (tmp_repo / "ext.txt.dvc").unlink()
    (tmp_repo / "ext.txt").unlink()
    dvc_oracle("import-url", str(ext))
    assert (tmp_repo / "ext.txt.dvc").read_text() == ours
