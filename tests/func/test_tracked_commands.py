"""freeze / unfreeze / remove / unprotect / move on dvc.yaml stages and `.dvc` files."""

from __future__ import annotations

import shutil
import stat

import pytest

from tests.helpers import TmpRepo

PIPE = """\
# the pipeline
stages:
  gen:  # makes out.txt
    cmd: echo gen > out.txt
    outs:
    - out.txt
  other:
    cmd: echo o > o.txt
    outs:
    - o.txt
"""


def track(xpt, repo: TmpRepo, path: str) -> None:
    """Track `path` with `xpt add` (its `.dvc` file, cache objects and .gitignore line)."""
    del repo
    xpt("add", path)


@pytest.fixture
def proj(project: TmpRepo, xpt) -> TmpRepo:
    project.gen(
        {"dvc.yaml": PIPE, "data": {"data.xml": "hello\n", "dir": {"a": "1\n", "b": "2\n"}}}
    )
    xpt("repro")
    track(xpt, project, "data/data.xml")
    track(xpt, project, "data/dir")
    project.commit("data and pipeline")
    return project


def test_freeze_unfreeze_stage_keeps_comments(proj: TmpRepo, xpt) -> None:
    res = xpt("freeze", "gen")
    assert res.out == "Modifying stage 'gen' in 'dvc.yaml'\n"
    text = (proj / "dvc.yaml").read_text()
    assert text == PIPE.replace("    - out.txt\n", "    - out.txt\n    frozen: true\n", 1)
    (proj / "out.txt").write_text("changed\n")
    xpt("repro", "gen")
    assert (proj / "out.txt").read_text() == "changed\n"  # a frozen stage is not run
    xpt("unfreeze", "gen")
    assert (proj / "dvc.yaml").read_text() == PIPE


def test_freeze_dvc_file(proj: TmpRepo, xpt) -> None:
    before = (proj / "data/data.xml.dvc").read_text()
    assert xpt("freeze", "data/data.xml.dvc").out == ""
    assert (proj / "data/data.xml.dvc").read_text() == before + "frozen: true\n"
    xpt("unfreeze", "data/data.xml.dvc")
    assert (proj / "data/data.xml.dvc").read_text() == before


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nope", "failed to freeze 'nope' - Stage 'nope' not found inside 'dvc.yaml' file"),
        ("data/data.xml", "failed to freeze 'data/data.xml'"),
        ("missing.dvc", "does not exist"),
        ("sub/dvc.yaml:x", "does not exist"),
    ],
)
def test_freeze_refusals(proj: TmpRepo, xpt, target: str, message: str) -> None:
    res = xpt("freeze", target, ok=False)
    assert message in res.err
    assert (proj / "dvc.yaml").read_text() == PIPE


def test_remove_stage_lock_and_gitignore(proj: TmpRepo, xpt) -> None:
    xpt("remove", "gen")
    assert "gen:" not in (proj / "dvc.yaml").read_text()
    assert "# the pipeline" in (proj / "dvc.yaml").read_text()
    assert "gen:" not in (proj / "dvc.lock").read_text()
    assert "/out.txt" not in (proj / ".gitignore").read_text()
    assert (proj / "out.txt").exists()
    xpt("remove", "other", "--outs")
    assert not (proj / "o.txt").exists()
    assert not (proj / "dvc.yaml").exists() and not (proj / "dvc.lock").exists()
    assert not (proj / ".gitignore").exists()


def test_remove_dvc_file_with_outs(proj: TmpRepo, xpt) -> None:
    xpt("remove", "data/dir.dvc")
    assert not (proj / "data/dir.dvc").exists()
    assert (proj / "data/dir/a").exists()
    assert (proj / "data/.gitignore").read_text() == "/data.xml\n"
    xpt("remove", "data/data.xml.dvc", "--outs")
    assert not (proj / "data/data.xml").exists()
    assert not (proj / "data/.gitignore").exists()


def test_remove_refusals(proj: TmpRepo, xpt) -> None:
    assert "does not exist" in xpt("remove", "data/nope.dvc", ok=False).err
    assert "Stage 'nope' not found" in xpt("remove", "nope", ok=False).err
    assert (proj / "dvc.yaml").read_text() == PIPE


def test_unprotect_makes_writable_copy(proj: TmpRepo, xpt) -> None:
    xpt("config", "cache.type", "hardlink")
    path = proj / "data/data.xml"
    path.unlink()
    shutil.rmtree(proj / "data/dir")
    xpt("checkout")
    assert path.stat().st_nlink == 2 and not path.stat().st_mode & stat.S_IWUSR
    xpt("unprotect", "data/data.xml", "data/dir")
    assert path.stat().st_nlink == 1 and path.stat().st_mode & stat.S_IWUSR
    assert (proj / "data/dir/a").stat().st_nlink == 1
    path.write_text("edited\n")  # the cache object is untouched
    xpt("checkout", "-f", "data/data.xml.dvc")
    assert path.read_text() == "hello\n"


def test_unprotect_refuses_untracked(proj: TmpRepo, xpt) -> None:
    res = xpt("unprotect", "dvc.yaml", ok=False)
    assert "can't unprotect non-existing data 'dvc.yaml'" in res.err
    assert "can't unprotect" in xpt("unprotect", "nope", ok=False).err


def test_move_file_and_dir(proj: TmpRepo, xpt) -> None:
    res = xpt("move", "data/data.xml", "data/new.xml")
    assert "git add data/data.xml.dvc data/new.xml.dvc data/.gitignore" in res.out
    assert (proj / "data/new.xml").read_text() == "hello\n"
    assert "path: new.xml" in (proj / "data/new.xml.dvc").read_text()
    assert not (proj / "data/data.xml.dvc").exists()
    assert (proj / "data/.gitignore").read_text() == "/dir\n/new.xml\n"
    (proj / "top").mkdir()
    xpt("move", "data/dir", "top")
    assert (proj / "top/dir.dvc").exists() and (proj / "top/dir/a").exists()
    assert "path: dir\n" in (proj / "top/dir.dvc").read_text()
    assert (proj / "top/.gitignore").read_text() == "/dir\n"
    assert xpt("status").out.strip().endswith("up to date.")


def test_move_refusals(proj: TmpRepo, xpt) -> None:
    res = xpt("move", "nothere", "x", ok=False)
    assert (
        "failed to move 'nothere' -> 'x' - Unable to find DVC file with output 'nothere'" in res.err
    )
    assert "output of stage 'gen'" in xpt("move", "out.txt", "x.txt", ok=False).err
    proj.gen({"taken.txt": "x"})
    assert "already exists" in xpt("move", "data/data.xml", "taken.txt", ok=False).err
    assert "outside the project" in xpt("move", "data/data.xml", "../x", ok=False).err
    assert (proj / "data/data.xml").exists() and (proj / "data/data.xml.dvc").exists()
