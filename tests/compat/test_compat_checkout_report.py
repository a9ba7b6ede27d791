"""`checkout` and `pull` report what they changed as DVC does: `A` for an output that was
absent, `M` for one that was there, folders first with a trailing "/", `--summary` counting
files; `fetch`/`pull` with no remote warn and use what the cache has. Two identical repos,
one driven by real DVC and one by xpt, get the same changes and must print the same."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat


def _repo(root: Path, dvc_oracle: DvcOracle) -> TmpRepo:
    root.mkdir()
    repo = TmpRepo(root)
    repo.git("init", "-q")
    dvc_oracle("init", "-q", cwd=root)
    repo.gen({"a.txt": "a\n", "d": {"x": "1\n", "y": "2\n", "sub": {"z": "3\n"}}})
    dvc_oracle("add", "-q", "a.txt", "d", cwd=root)
    repo.commit("data")
    return repo


def _rm(*paths: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        for path in paths:
            target = root / path
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()

    return change


def _edit(root: Path) -> None:
    _rm("a.txt", "d/y")(root)
    (root / "d/x").write_text("edited\n")
    (root / "d/extra").write_text("not tracked\n")


STEPS: list[tuple[Callable[[Path], None] | None, str, tuple[str, ...]]] = [
    (None, "", ("checkout",)),
    (None, "", ("checkout", "--summary")),
    (_rm("a.txt", "d/x"), "", ("checkout",)),  # M d/, A a.txt
    (_rm("a.txt", "d"), "", ("checkout",)),  # A d/ (folders first), A a.txt
    (_rm("a.txt", "d"), "", ("checkout", "--summary")),
    (_edit, "", ("checkout", "-f", "--summary")),  # modified, added and deleted
    (_edit, "", ("checkout", "-f")),
    (_rm("d/sub/z"), "d", ("checkout",)),  # paths from the current folder: ./
    (_rm("a.txt", "d/x"), "", ("checkout", "--summary", "a.txt")),
    (None, "", ("fetch",)),  # no remote: a warning, nothing to do
    (_rm("a.txt", "d/sub"), "", ("pull",)),  # no remote, but the cache has it all
    (None, "", ("pull",)),
]


def test_checkout_and_pull_print_what_dvc_prints(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = _repo(tmp_path / "dvc", dvc_oracle)
    ours = _repo(tmp_path / "xpt", dvc_oracle)
    for change, cwd, args in STEPS:
        if change:
            change(theirs)
            change(ours)
        expected = dvc_oracle(*args, cwd=theirs / cwd, check=False)
        monkeypatch.chdir(ours / cwd)
        got = xpt(*args, ok=None)
        assert (got.rc, got.out) == (expected.returncode, expected.stdout), args
        if args[0] in ("fetch", "pull"):
            assert "No remote provided and no default remote set." in got.err.splitlines()
    assert _data(ours) == _data(theirs)


def _data(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in [*root.glob("*.txt"), *root.glob("d/**/*")]
        if p.is_file()
    }


def test_pull_without_remote_and_missing_objects_fails(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No remote and an object not cached: nothing to fetch from, so the checkout fails."""
    ours = _repo(tmp_path / "xpt", dvc_oracle)
    monkeypatch.chdir(ours)
    (ours / "a.txt").unlink()
    for obj in (ours / ".dvc/cache/files/md5/60").iterdir():  # a.txt's object
        obj.chmod(0o644)
        obj.unlink()
    res = xpt("pull", ok=False)
    assert "a.txt" in res.err
    assert "No remote provided and no default remote set." in res.err
    assert not (ours / "a.txt").exists()
    assert (ours / "d/x").read_text() == "1\n"
