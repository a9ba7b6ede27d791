"""Scenario repos of the compatibility suite: built once per run, copied per test.

Real DVC costs about a second per command, so each scenario repo (an xpt-made pipeline, its
DVC-made twin, a set of experiments ...) is built once per pytest run by the first test that
asks for it -- across xdist workers too, under an fcntl lock -- and every test works on its
own copy. Builders run inside that first test, so they get its isolated HOME and git identity.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import TmpRepo

Builder = Callable[[TmpRepo], None]
Base = tuple[str, Builder]


@contextmanager
def inside(path: Path) -> Iterator[None]:
    """Run in-process xpt commands in `path` and come back."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


class Goldens:
    """Repos built once per test run; `key/repo` is the repo, `key/` may hold other files."""

    def __init__(self, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch

    def get(self, key: str, build: Builder, base: Base | None = None) -> TmpRepo:
        """The golden repo `key`: a fresh git repo (or a copy of golden `base`) after `build`."""
        if base is not None:
            self.get(*base)  # built before taking our lock: locks are never nested
        folder = self.root / key
        done, failed = self.root / f"{key}.done", self.root / f"{key}.failed"
        if not done.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / f"{key}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    if failed.exists():
                        pytest.fail(f"golden repo {key!r} failed to build:\n{failed.read_text()}")
                    if not done.exists():
                        self._build(folder, build, base, failed)
                        done.touch()
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        return TmpRepo(folder / "repo")

    def _build(self, folder: Path, build: Builder, base: Base | None, failed: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        repo = TmpRepo(folder / "repo")
        if base is None:
            subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        else:
            shutil.copytree(self.root / base[0] / "repo", repo, symlinks=True)
        try:
            with inside(repo):
                build(repo)
        except BaseException as exc:
            failed.write_text(f"{type(exc).__name__}: {exc}")
            raise

    def copy(self, key: str, build: Builder, base: Base | None = None, name: str = "") -> TmpRepo:
        """A private copy of golden `key` under this test's tmp_path, made the cwd."""
        dest = self.tmp_path / (name or key)
        shutil.copytree(self.get(key, build, base), dest, symlinks=True)
        self.monkeypatch.chdir(dest)
        return TmpRepo(dest)

    def copy_folder(self, key: str, build: Builder, base: Base | None = None) -> TmpRepo:
        """Like `copy`, with the files next to the repo (e.g. its git upstream) copied too."""
        dest = self.tmp_path / key
        shutil.copytree(self.get(key, build, base).parent, dest, symlinks=True)
        self.monkeypatch.chdir(dest / "repo")
        return TmpRepo(dest / "repo")
