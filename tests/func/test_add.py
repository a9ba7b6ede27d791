"""`xpt add`: DVC's exact files, every flag, and each refusal leaving nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import TmpRepo

DATA_DVC = """outs:
- md5: 8a83caa1a4f59e21bf55f1c38ed68be2.dir
  size: 8
  nfiles: 2
  hash: md5
  path: data
"""
DIR_OBJECT = (
    '[{"md5": "b1946ac92492d2347c6235b4d2611184", "relpath": "a.txt"}, '
    '{"md5": "401b30e3b8b5d629635a5c613cdb7919", "relpath": "sub/b"}]'
)


def _data(repo: TmpRepo) -> None:
    repo.gen({"data/a.txt": "hello\n", "data/sub/b": "x\n", "f.txt": "foo\n"})


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "tmp" not in p.parts
    }


def test_add_file_and_dir_writes_dvcs_bytes(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _data(project)
    res = xpt("add", "data", "f.txt")
    assert "git add .gitignore data.dvc f.txt.dvc" in res.out
    root = Path(project)
    assert (root / "data.dvc").read_text() == DATA_DVC
    assert (root / "f.txt.dvc").read_text() == (
        "outs:\n- md5: d3b07384d113edec49eaa6238ad5ff00\n  size: 4\n  hash: md5\n  path: f.txt\n"
    )
    assert (root / ".gitignore").read_text() == "/data\n/f.txt\n"
    cache = root / ".dvc/cache/files/md5"
    assert (cache / "8a/83caa1a4f59e21bf55f1c38ed68be2.dir").read_text() == DIR_OBJECT
    for oid in ("b1946ac92492d2347c6235b4d2611184", "401b30e3b8b5d629635a5c613cdb7919"):
        obj = cache / oid[:2] / oid[2:]
        assert obj.read_bytes() and (obj.stat().st_mode & 0o777) == 0o444
    assert xpt("status").out.strip() == "Data and pipelines are up to date."


def test_readd_keeps_comments_and_updates_hash(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    _data(project)
    xpt("add", "f.txt")
    path = project / "f.txt.dvc"
    path.write_text("# my data\n" + path.read_text() + "desc: the foo file\n")
    (project / "f.txt").write_text("changed\n")
    xpt("add", "f.txt")
    assert path.read_text() == (
        "# my data\nouts:\n- md5: ec1bebaea2c042beb68f7679ddd106a4\n  size: 8\n"
        "  hash: md5\n  path: f.txt\ndesc: the foo file\n"
    )


def test_add_in_subfolder_and_exec_bit(project: TmpRepo, xpt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.gen({"sub/run.sh": "x\n"})
    os.chmod(project / "sub/run.sh", 0o755)
    monkeypatch.chdir(project / "sub")
    xpt("add", "run.sh")
    assert (project / "sub/run.sh.dvc").read_text() == (
        "outs:\n- md5: 401b30e3b8b5d629635a5c613cdb7919\n  size: 2\n  isexec: true\n"
        "  hash: md5\n  path: run.sh\n"
    )
    assert (project / "sub/.gitignore").read_text() == "/run.sh\n"


def test_glob_and_no_commit(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen({"raw/a.csv": "1\n", "raw/b.csv": "2\n", "raw/c.txt": "3\n"})
    xpt("add", "--glob", "raw/*.csv", "--no-commit")
    assert sorted(p.name for p in (project / "raw").glob("*.dvc")) == ["a.csv.dvc", "b.csv.dvc"]
    assert not (project / ".dvc/cache/files").exists()
    status = json.loads(xpt("status", "--json").out)
    assert status == {
        "raw/a.csv.dvc": [{"changed outs": {"raw/a.csv": "not in cache"}}],
        "raw/b.csv.dvc": [{"changed outs": {"raw/b.csv": "not in cache"}}],
    }
    xpt("commit", "raw/a.csv.dvc")
    assert list(json.loads(xpt("status", "--json").out)) == ["raw/b.csv.dvc"]


def test_out_copies_external_data_in(project: TmpRepo, xpt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ext = tmp_path / "ext.txt"
    ext.write_text("abc\n")
    xpt("add", str(ext), "-o", "data/ext.txt")
    assert (project / "data/ext.txt").read_text() == "abc\n"
    assert "path: ext.txt" in (project / "data/ext.txt.dvc").read_text()
    assert ext.read_text() == "abc\n"
    ext.write_text("new\n")
    res = xpt("add", str(ext), "-o", "data/ext.txt", ok=False)
    assert "destination exists" in res.err and "--force" in res.err
    xpt("add", str(ext), "-o", "data/ext.txt", "-f")
    assert (project / "data/ext.txt").read_text() == "new\n"


def test_to_remote_uploads_without_caching(project: TmpRepo, xpt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote"
    xpt("remote", "add", "-d", "store", str(remote))
    _data(project)
    xpt("add", "--to-remote", "data")
    assert (project / "data.dvc").read_text() == DATA_DVC
    files = remote / "files/md5"
    assert (files / "8a/83caa1a4f59e21bf55f1c38ed68be2.dir").read_text() == DIR_OBJECT
    assert (files / "b1/946ac92492d2347c6235b4d2611184").read_text() == "hello\n"
    assert not (project / ".dvc/cache/files/md5/b1").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.txt"], "cannot add 'missing.txt': the path does not exist"),
        (["/etc/hostname"], "it is outside the repository"),
        (["../outside"], "it is outside the repository"),
        (["tracked.txt"], "cannot add 'tracked.txt': it is already tracked by git"),
        (["out.txt"], "overlaps with the output 'out.txt' of stage 'make' in 'dvc.yaml'"),
        (["data/a.txt"], "overlaps with the output 'data' of 'data.dvc'"),
        (["new.txt", "missing.txt"], "cannot add 'missing.txt'"),
        (["dvc.yaml"], "is a DVC or git file"),
    ],
)
def test_refusals_write_nothing(project: TmpRepo, xpt, args, message) -> None:  # type: ignore[no-untyped-def]
    _data(project)
    project.gen(
        {
            "tracked.txt": "t\n",
            "dvc.yaml": "stages:\n  make:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n",
        }
    )
    (Path(project).parent / "outside").write_text("o\n")
    xpt("add", "data")
    xpt("repro")
    project.commit("tracked")
    project.gen({"new.txt": "fresh\n"})
    before = _snapshot(project)
    res = xpt("add", *args, ok=False)
    assert message in res.err
    assert "Traceback" not in res.err
    assert _snapshot(project) == before
