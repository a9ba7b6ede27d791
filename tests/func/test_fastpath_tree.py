"""The memo of a tracked folder (one digest for all it holds) sees every change inside it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.func.test_fastpath import replay, settle
from xpt import fastpath

UP_TO_DATE = "Data and pipelines are up to date.\n"
DEEP = "data/a/b/c"


def _keep_times(path: str | Path) -> Callable[[], None]:
    """A function putting back the atime and mtime `path` has now (its ctime moves on)."""
    st = os.stat(path)
    return lambda: os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def same_size_mtime_restored(_tmp: Path) -> None:
    restore = _keep_times(f"{DEEP}/deep.txt")
    Path(f"{DEEP}/deep.txt").write_text("Y\n")
    restore()


def identical_copy(tmp: Path) -> None:  # a new inode, same bytes, same mtime
    shutil.copy2(f"{DEEP}/deep.txt", tmp / "copy.txt")
    os.replace(tmp / "copy.txt", f"{DEEP}/deep.txt")


def added_deep(_tmp: Path) -> None:
    restore = _keep_times(DEEP)
    Path(f"{DEEP}/new.txt").write_text("new\n")
    restore()


def removed(_tmp: Path) -> None:
    restore = _keep_times("data")
    os.unlink("data/top.txt")
    restore()


def renamed(_tmp: Path) -> None:
    restore = _keep_times(DEEP)
    os.rename(f"{DEEP}/deep.txt", f"{DEEP}/moved.txt")
    restore()


def replaced_by_symlink(tmp: Path) -> None:
    shutil.copy2(f"{DEEP}/deep.txt", tmp / "target.txt")
    restore = _keep_times(DEEP)
    os.unlink(f"{DEEP}/deep.txt")
    os.symlink(tmp / "target.txt", f"{DEEP}/deep.txt")
    restore()


CHANGES = [same_size_mtime_restored, identical_copy, added_deep, removed, renamed]


@pytest.fixture
def tracked(project, xpt):  # type: ignore[no-untyped-def]
    project.gen({"data": {"top.txt": "top\n", "a": {"b": {"c": {"deep.txt": "X\n"}}}}})
    xpt("add", "data")
    project.commit("data")
    settle()
    assert xpt("status").out == UP_TO_DATE  # records the verdict
    assert replay_status() == 0
    return project


def replay_status() -> int | None:
    return fastpath.replay(["status"])


@pytest.mark.parametrize("change", [*CHANGES, replaced_by_symlink], ids=lambda f: f.__name__)
def test_any_change_inside_a_tracked_folder_is_seen(tracked, xpt, capsys, tmp_path, change) -> None:  # type: ignore[no-untyped-def]
    change(tmp_path)
    assert replay(capsys, "status") == (None, "")
    out = xpt("status").out
    if change in (identical_copy, replaced_by_symlink):  # same bytes: DVC says unchanged
        assert out == UP_TO_DATE
    elif change is not same_size_mtime_restored:  # the hash memo trusts (inode, mtime, size)
        assert "modified:           data" in out


def test_symlink_inside_the_folder_is_followed(project, xpt, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "outside.txt"
    target.write_text("v1\n")
    project.gen({"data": {"top.txt": "top\n", "sub": {"x.txt": "x\n"}}})
    os.symlink(target, "data/link.txt")
    os.symlink("..", "data/sub/up")  # a loop: walked once, never forever
    xpt("add", "data")
    project.commit("data")
    settle()
    xpt("status")
    assert replay(capsys, "status")[0] == 0
    target.write_text("v2\n")  # the link itself does not change
    assert replay(capsys, "status") == (None, "")


def test_tree_rows_are_one_per_folder(tracked) -> None:  # type: ignore[no-untyped-def]
    entry = fastpath.load(".")[fastpath.memo_key(["status"], os.getcwd())]
    trees = [row for row in entry["snapshot"] if row[1:2] == ("tree",)]  # type: ignore[index]
    assert [(Path(row[0]).name, row[2]) for row in trees] == [("data", 5)]  # 2 files, 3 folders


SHARED = 20  # top-level folders: more than the walk shares out between two processes


def _folders(root: Path, count: int) -> list[fastpath.Watch]:
    for i in range(count):
        (root / f"d{i}" / "inner").mkdir(parents=True)
        (root / f"d{i}" / "f.txt").write_text(f"{i}\n")
        (root / f"d{i}" / "inner" / "g.txt").write_text(f"{i}\n")
    return [(str(root), True)]


def test_a_split_walk_gives_the_recorded_digest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    watch = _folders(tmp_path / "data", SHARED)
    rows = fastpath.snapshot(watch)  # as `store` records it: one process
    assert fastpath.unchanged(watch, rows, split_min=0)  # two processes, same digest
    *_, (top, kind, count, digest, linked) = rows
    assert (kind, count, linked) == ("tree", SHARED * 4, False)
    assert not fastpath.unchanged(watch, [*rows[:-1], (top, kind, count, "0" * 32, linked)], 0)


@pytest.mark.parametrize("where", ["f.txt", "inner/g.txt", "inner/new.txt"])
def test_a_split_walk_sees_a_change_in_either_half(tmp_path, where) -> None:  # type: ignore[no-untyped-def]
    watch = _folders(tmp_path / "data", SHARED)
    for i in range(SHARED):  # each folder in turn: some are walked by the helper, some here
        rows = fastpath.snapshot(watch)
        path = tmp_path / "data" / f"d{i}" / where
        restore = _keep_times(path.parent)
        path.write_text("changed\n" if path.exists() else "new\n")
        restore()
        assert not fastpath.unchanged(watch, rows, split_min=0), (i, where)


def test_a_split_walk_gives_up_on_folders_reached_twice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    watch = _folders(tmp_path / "data", SHARED)
    os.symlink(tmp_path / "data" / "d0", tmp_path / "data" / "d1" / "to-d0")
    os.symlink("..", tmp_path / "data" / "d2" / "up")
    rows = fastpath.snapshot(watch)
    assert rows[-1][4] is True  # the replay walks it in order
    assert fastpath.unchanged(watch, rows, split_min=0)
    walker = fastpath._Walker(split=frozenset([watch[0][0]]))  # made to try: it gives up
    walker.add(*watch[0])
    assert walker.rows == rows
    (tmp_path / "data" / "d0" / "inner" / "g.txt").write_text("changed\n")
    assert not fastpath.unchanged(watch, rows, split_min=0)
