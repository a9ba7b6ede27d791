"""`data status` and `diff` end to end on a project with `.dvc` data and a pipeline."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.func.test_tracked_commands import track
from tests.helpers import TmpRepo

PIPE = """\
stages:
  gen:
    cmd: echo gen > out.txt
    deps:
    - data/data.xml
    outs:
    - out.txt
"""


@pytest.fixture
def proj(project: TmpRepo, xpt) -> TmpRepo:
    project.gen({"data": {"data.xml": "hello\n", "dir": {"a": "1\n", "b": "2\n"}}})
    track(xpt, project, "data/data.xml")
    track(xpt, project, "data/dir")
    project.gen({"dvc.yaml": PIPE})
    xpt("repro")
    project.commit("data and pipeline")
    return project


def status(xpt, *flags: str) -> dict:
    return json.loads(xpt("data", "status", "--json", *flags).out)


def test_clean(proj: TmpRepo, xpt) -> None:
    assert xpt("data", "status").out == "No changes.\n"
    assert status(xpt) == {}
    assert xpt("diff").out == ""
    assert json.loads(xpt("diff", "--json").out) == {}


def test_uncommitted_changes(proj: TmpRepo, xpt) -> None:
    (proj / "data/data.xml").write_text("changed\n")
    (proj / "data/dir/c").write_text("3\n")
    (proj / "data/dir/a").unlink()
    (proj / "out.txt").unlink()
    (proj / "untracked.txt").write_text("u")
    assert status(xpt) == {
        "uncommitted": {"modified": ["data/data.xml", "data/dir/"], "deleted": ["out.txt"]}
    }
    assert status(xpt, "--granular", "--unchanged", "--untracked-files") == {
        "uncommitted": {
            "modified": ["data/data.xml", "data/dir/"],
            "added": ["data/dir/c"],
            "deleted": ["data/dir/a", "out.txt"],
        },
        "untracked": ["untracked.txt"],
        "unchanged": ["data/dir/b"],
    }
    text = xpt("data", "status").out
    assert "DVC uncommitted changes:\n" in text
    assert "        modified: data/dir/\n" in text and "        deleted: out.txt\n" in text


def test_committed_and_not_in_cache(proj: TmpRepo, xpt) -> None:
    (proj / "data/data.xml").write_text("changed\n")
    xpt("commit", "-f", "data/data.xml.dvc")
    assert status(xpt) == {"committed": {"modified": ["data/data.xml"]}}
    text = xpt("data", "status").out
    assert "DVC committed changes:\n  (git commit the corresponding dvc files" in text
    assert "(there are other changes not tracked by dvc" in text
    shutil.rmtree(proj / ".dvc/cache")
    got = status(xpt)
    assert got["not_in_cache"] == ["data/data.xml", "data/dir/", "out.txt"]


def test_new_tracked_dir_is_committed_added(proj: TmpRepo, xpt) -> None:
    proj.gen({"newdir": {"q": "q", "r": "r"}})
    track(xpt, proj, "newdir")
    assert status(xpt, "--granular") == {
        "committed": {"added": ["newdir/", "newdir/q", "newdir/r"]}
    }


def test_diff_workspace_and_revisions(proj: TmpRepo, xpt) -> None:
    first = proj.git("rev-parse", "HEAD")
    (proj / "data/dir/c").write_text("3\n")
    (proj / "data/dir/a").unlink()
    (proj / "out.txt").unlink()
    got = json.loads(xpt("diff", "--json").out)
    assert got == {
        "added": [{"path": "data/dir/c"}],
        "deleted": [{"path": "data/dir/a"}, {"path": "out.txt"}],
        "modified": [{"path": "data/dir/"}],
        "renamed": [],
        "not in cache": [],
    }
    text = xpt("diff").out
    assert text.endswith("files summary: 1 added, 2 deleted\n")
    assert "Modified:\n    data/dir/\n" in text
    xpt("repro")
    xpt("commit", "-f", "data/dir.dvc")
    proj.commit("second")
    got = json.loads(xpt("diff", first, "HEAD", "--json", "--show-hash").out)
    assert got["added"] == [{"path": "data/dir/c", "hash": "6d7fce9fee471194aa8b5b6e47267f03"}]
    assert got["modified"][0]["path"] == "data/dir/"
    assert got["modified"][0]["hash"]["old"].endswith(".dir")
    assert json.loads(xpt("diff", first, "--targets", "data/data.xml", "--json").out) == {}
    md = xpt("diff", first, "--md").out
    assert md.splitlines()[:3] == [
        "| Status   | Path       |",
        "|----------|------------|",
        "| added    | data/dir/c |",
    ]


def test_diff_bad_revision(proj: TmpRepo, xpt) -> None:
    res = xpt("diff", "nope", ok=False)
    assert "failed to get diff - unknown Git revision 'nope'" in res.err


def test_json_answer_is_replayed_until_something_changes(proj: TmpRepo, xpt) -> None:
    import time

    time.sleep(0.2)  # files written just now make a memo unsafe to keep
    assert status(xpt) == {}
    assert (proj / ".dvc/tmp/xpt/verdicts.marshal").exists()
    assert status(xpt) == {}
    (proj / "data/dir/b").write_text("changed\n")
    assert status(xpt) == {"uncommitted": {"modified": ["data/dir/"]}}
    xpt("commit", "-f", "data/dir.dvc")
    assert status(xpt) == {"committed": {"modified": ["data/dir/"]}}
    proj.commit("dir changed")
    time.sleep(0.2)
    assert status(xpt) == {}
    assert status(xpt) == {}  # replayed
    (proj / "data/dir/b").unlink()
    assert status(xpt) == {"uncommitted": {"modified": ["data/dir/"]}}
