"""`gc -c`: the same kept set applied to the data remote; DVC's messages; nothing lost on errors."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.func.gen_pipeline import gen_pipeline, object_path
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle


@pytest.fixture
def repo(project: TmpRepo, tmp_path: Path, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """foo=1 committed and pushed; then foo=2 reproduced and pushed (not committed)."""
    gen_pipeline(project, tmp_path / "storage", xpt, "foo 1")
    xpt("push")
    project.gen({"params.yaml": "foo: 2\n"})
    xpt("repro")
    xpt("push")
    return project


def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage"


def has(root: Path, content: str) -> bool:
    return object_path(root, content).exists()


def objects(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_gc_cloud_removes_unused_remote_objects(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    cache = repo / ".dvc" / "cache"
    assert has(storage(tmp_path), "model 1") and has(storage(tmp_path), "a 1")
    res = xpt("gc", "-w", "-c", "-f")
    # model 1, a 1 and the old .dir object go; "b" is shared by both versions and stays
    assert res.out.splitlines() == [
        "Removed 3 objects from repo cache.",
        "No unused 'legacy' cache to remove.",
        "Removed 3 objects from remote.",
        "No unused cache to remove from remote.",
    ]
    assert res.err.startswith(
        "WARNING: This will remove all cache except items used in the workspace of the current repo."
    )
    for root in (cache, storage(tmp_path)):
        assert not has(root, "model 1") and not has(root, "a 1")
        assert has(root, "model 2") and has(root, "a 2") and has(root, "b")
    assert objects(storage(tmp_path)) == {
        f"files/md5/{p}" for p in objects(cache / "files" / "md5")
    }
    assert xpt("gc", "-w", "-c", "-f").out.splitlines() == [
        "No unused 'repo' cache to remove.",
        "No unused 'legacy' cache to remove.",
        "No unused cache to remove from remote.",
        "No unused cache to remove from remote.",
    ]
    assert xpt("status", "-c").out == "Cache and remote 'store' are in sync.\n"


def test_without_cloud_the_remote_is_untouched(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    before = objects(storage(tmp_path))
    res = xpt("gc", "-w", "-f")
    assert res.out.splitlines() == [
        "Removed 3 objects from repo cache.",
        "No unused 'legacy' cache to remove.",
    ]
    assert objects(storage(tmp_path)) == before


def test_dry_run_lists_and_keeps(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    legacy = storage(tmp_path) / "ab" / ("cd" * 15)
    legacy.parent.mkdir()
    legacy.write_text("old layout")
    before_remote = objects(storage(tmp_path))
    before_cache = objects(repo / ".dvc" / "cache")
    res = xpt("gc", "-w", "-c", "--dry")
    lines = res.out.splitlines()
    assert lines[-1] == "Removed 1 objects from remote."
    assert f"Removing {legacy}" in lines
    assert sum(line.startswith(f"Removing {storage(tmp_path)}/files/md5/") for line in lines) == 3
    assert "Removed 3 objects from repo cache." in lines
    assert objects(storage(tmp_path)) == before_remote
    assert objects(repo / ".dvc" / "cache") == before_cache


def test_prompt_refused_removes_nothing(
    repo: TmpRepo, tmp_path: Path, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    before = objects(storage(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    res = xpt("gc", "-w", "-c", ok=False)
    assert res.out == "Are you sure you want to proceed? [y/n]: "
    assert objects(storage(tmp_path)) == before
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert "Removed 3 objects from remote." in xpt("gc", "-w", "-c").out


def test_scope_keeps_commits_experiments_and_queue(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=8")  # its snapshot's lock names model 2
    xpt("exp", "run", "-n", "e7", "-S", "foo=7")
    xpt("push", "--all-experiments")
    repo.gen({"params.yaml": "foo: 3\n"})
    xpt("repro")
    xpt("push")
    xpt("gc", "-w", "-a", "--all-experiments", "-c", "-f")
    remote = storage(tmp_path)
    assert all(has(remote, f"model {n}") for n in (1, 2, 3, 7))
    xpt("gc", "-w", "-c", "-f")
    assert has(remote, "model 3") and has(remote, "model 2")  # queued run still needs 2
    assert not has(remote, "model 1") and not has(remote, "model 7")
    assert "gc needs a scope" in xpt("gc", "-c", "-f", ok=False).err


def test_tree_only_on_remote_keeps_its_files(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    """A kept .dir missing from the cache is read from the remote, so its files stay there."""
    shutil.rmtree(repo / ".dvc" / "cache")
    xpt("gc", "-w", "-c", "-f")
    remote = storage(tmp_path)
    assert has(remote, "a 2") and has(remote, "b") and has(remote, "model 2")
    assert not has(remote, "a 1")


def test_unknown_remote_deletes_nothing(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    before = objects(repo / ".dvc" / "cache")
    res = xpt("gc", "-w", "-c", "-r", "nope", "-f", ok=False)
    assert "data remote 'nope' does not exist" in res.err
    assert objects(repo / ".dvc" / "cache") == before
    xpt("remote", "modify", "store", "url", str(tmp_path / "gone"))
    res = xpt("gc", "-w", "-c", "-f")  # a folder that does not exist is an empty remote
    assert res.out.splitlines()[2:] == ["No unused cache to remove from remote."] * 2


@pytest.mark.compat
def test_same_remote_left_as_dvc(repo: TmpRepo, tmp_path: Path, xpt, dvc_oracle: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "e7", "-S", "foo=7")
    xpt("push", "--all-experiments")
    twin = tmp_path / "twin"
    shutil.copytree(storage(tmp_path), twin)
    cache = repo / ".dvc" / "cache"
    cache_copy = tmp_path / "cache-copy"
    shutil.copytree(cache, cache_copy)
    res = dvc_oracle("gc", "-w", "-c", "-f", "-r", "store")
    ours_cache = tmp_path / "cache-ours"
    shutil.move(cache, ours_cache)
    shutil.move(cache_copy, cache)
    xpt("remote", "modify", "store", "url", str(twin))
    mine = xpt("gc", "-w", "-c", "-f")
    assert objects(storage(tmp_path)) == objects(twin)
    assert objects(ours_cache) == objects(cache)
    assert res.stdout.splitlines() == mine.out.splitlines()
