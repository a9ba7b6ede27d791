"""The memoised no-op verdict: replayed only when nothing it rests on has changed."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from tests.conftest import COPY_PY
from xpt import fastpath

THREE = {
    "copy.py": COPY_PY,
    "params.yaml": "p: 0\n",
    "data.txt": "some input data\n",
    "dvc.yaml": (
        "stages:\n"
        "  s1:\n"
        "    cmd: python copy.py data.txt s1.txt\n"
        "    deps: [copy.py, data.txt]\n"
        "    params: [p]\n"
        "    outs: [s1.txt]\n"
        "  s2:\n"
        "    cmd: python copy.py s1.txt s2.txt\n"
        "    deps: [s1.txt]\n"
        "    outs: [s2.txt]\n"
    ),
}
NOOP_TEXT = (
    "Stage 's1' didn't change, skipping\n"
    "Stage 's2' didn't change, skipping\n"
    "Data and pipelines are up to date.\n"
)


def settle() -> None:
    """Let every file age past the racy window, so a verdict may be recorded."""
    time.sleep(0.15)


@pytest.fixture
def three(project, xpt):  # type: ignore[no-untyped-def]
    project.gen(THREE)
    xpt("repro")
    project.commit("pipeline")
    settle()
    assert xpt("repro").out == NOOP_TEXT  # records the verdict
    return project


def replay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | None, str]:
    capsys.readouterr()
    code = fastpath.replay(list(argv))
    return code, capsys.readouterr().out


def test_noop_repro_is_replayed(three, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (Path(".dvc/tmp/xpt") / fastpath.MEMO_NAME).exists()
    assert replay(capsys, "repro") == (0, NOOP_TEXT)


def test_same_size_edit_of_a_dependency_is_seen(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    Path("data.txt").write_text("SOME input data\n")
    assert replay(capsys, "repro") == (None, "")
    res = xpt("repro")
    assert "Running stage 's1'" in res.out
    assert Path("s2.txt").read_text() == "SOME input data\n"


def test_params_change_is_seen(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    Path("params.yaml").write_text("p: 1\n")
    assert replay(capsys, "repro")[0] is None
    assert "Running stage 's1'" in xpt("repro").out


def test_deleted_cache_object_is_seen(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    objects = [p for p in Path(".dvc/cache/files/md5").rglob("*") if p.is_file()]
    assert objects
    for obj in objects:
        obj.chmod(0o644)
        obj.unlink()
    assert replay(capsys, "repro")[0] is None
    assert "not in cache" in xpt("status").out


def test_new_pipeline_file_in_a_subfolder_is_seen(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    Path("sub").mkdir()
    settle()
    xpt("repro")  # a new folder: the verdict is recorded again, watching it
    settle()
    xpt("repro")
    assert replay(capsys, "repro")[0] == 0
    Path("sub/dvc.yaml").write_text(
        "stages:\n  s3:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n"
    )
    assert replay(capsys, "repro")[0] is None
    assert "Running stage 'sub/dvc.yaml:s3'" in xpt("repro").out


def test_output_removed_is_seen(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    Path("s2.txt").chmod(0o644)
    Path("s2.txt").unlink()
    assert replay(capsys, "repro")[0] is None
    xpt("repro")
    assert Path("s2.txt").read_text() == "some input data\n"


def test_symlinked_dependency_target_change_is_seen(project, xpt, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "outside.txt"
    target.write_text("v1\n")
    project.gen({"copy.py": COPY_PY})
    os.symlink(target, "link.txt")
    project.gen(
        {
            "dvc.yaml": "stages:\n  c:\n    cmd: python copy.py link.txt c.txt\n"
            "    deps: [link.txt]\n    outs: [c.txt]\n"
        }
    )
    xpt("repro")
    settle()
    xpt("repro")
    assert replay(capsys, "repro")[0] == 0
    target.write_text("v2\n")
    assert replay(capsys, "repro")[0] is None


def test_flags_and_other_folders_take_the_full_path(three, capsys) -> None:  # type: ignore[no-untyped-def]
    assert fastpath.memo_key(["repro", "-f"], os.getcwd()) is None
    assert fastpath.memo_key(["repro", "-q"], os.getcwd()) is None
    assert fastpath.memo_key(["status", "-c"], os.getcwd()) is None
    assert fastpath.memo_key(["status", "--json"], os.getcwd()) is not None
    assert replay(capsys, "repro", "s1")[0] is None  # not recorded for this command line
    os.chdir(".dvc")
    assert replay(capsys, "repro")[0] is None  # another cwd is another key


def test_busy_workspace_takes_the_full_path(three, capsys) -> None:  # type: ignore[no-untyped-def]
    fd = os.open(".dvc/tmp/xpt/workspace.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert replay(capsys, "repro")[0] is None
    finally:
        os.close(fd)
    assert replay(capsys, "repro")[0] == 0


def test_fresh_changes_are_not_recorded(project, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(THREE)
    xpt("repro")
    xpt("repro")  # immediately: the outputs are too fresh to trust their mtimes
    assert not (Path(".dvc/tmp/xpt") / fastpath.MEMO_NAME).exists()


def test_status_verdicts(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    assert xpt("status").out == "Data and pipelines are up to date.\n"
    assert xpt("status", "--json").out == "{}\n"
    assert replay(capsys, "status") == (0, "Data and pipelines are up to date.\n")
    assert replay(capsys, "status", "--json") == (0, "{}\n")
    Path("params.yaml").write_text("p: 7\n")
    assert replay(capsys, "status")[0] is None
    assert "changed deps" in xpt("status").out


def test_corrupt_memo_is_ignored(three, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    (Path(".dvc/tmp/xpt") / fastpath.MEMO_NAME).write_bytes(b"\x00garbage")
    assert replay(capsys, "repro")[0] is None
    assert xpt("repro").out == NOOP_TEXT


def test_exp_show_json_is_replayed_until_refs_or_files_change(f1, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-S", "foo=2", "-n", "two")
    settle()
    first = xpt("exp", "show", "--json").out
    assert replay(capsys, "exp", "show", "--json") == (0, first)
    assert fastpath.memo_key(["exp", "show"], os.getcwd()) is None  # tables depend on the terminal

    Path("params.yaml").write_text("foo: 9\n")  # the workspace row reads it
    assert replay(capsys, "exp", "show", "--json")[0] is None
    settle()
    second = xpt("exp", "show", "--json").out
    assert '"foo": 9' in second
    assert replay(capsys, "exp", "show", "--json") == (0, second)

    xpt("exp", "remove", "two")  # a ref disappears
    assert replay(capsys, "exp", "show", "--json")[0] is None
    assert "two" not in xpt("exp", "show", "--json").out


def test_exp_show_with_queued_entries_is_not_recorded(f1, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=3")
    settle()
    assert '"queued"' in xpt("exp", "show", "--json").out
    assert replay(capsys, "exp", "show", "--json")[0] is None


def test_status_without_pipeline_sees_a_new_dvc_yaml(project, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    settle()
    assert xpt("status", "--json").out == "{}\n"
    assert replay(capsys, "status", "--json") == (0, "{}\n")
    project.gen({"dvc.yaml": "stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n"})
    assert replay(capsys, "status", "--json")[0] is None
    assert '"a"' in xpt("status", "--json").out
