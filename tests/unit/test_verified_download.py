"""Verified downloads from a local remote, and the spare workspace copy `pull` makes of a
big object while it is hashed (refused with the object when its md5 does not match)."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from xpt.cache import links
from xpt.cache import remote_backends as remote_mod
from xpt.cache.hasher import Hasher
from xpt.cache.odb import object_relpath
from xpt.cache.remote_backends import LocalRemote
from xpt.cache.state import StateDB
from xpt.errors import RemoteError
from xpt.project import Project

DATA = hashlib.sha256(b"seed").digest() * 8192 + b"tail"  # 256 KiB + 4 bytes
MD5 = hashlib.md5(DATA).hexdigest()
GEN_PY = (
    "import hashlib\n"
    "open('big.bin', 'wb').write(hashlib.sha256(b'seed').digest() * 8192 + b'tail')\n"
)
DVC_YAML = "stages:\n  gen:\n    cmd: python gen.py\n    deps: [gen.py]\n    outs: [big.bin]\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects from 1 KiB on take the kernel-copy path (and get spare copies)."""
    monkeypatch.setattr(remote_mod, "KERNEL_COPY_ABOVE", 1024)
    monkeypatch.setattr(remote_mod, "CHUNK", 4096)  # the md5 reads in many pieces


@pytest.fixture
def pushed(project: TmpRepo, tmp_path: Path, xpt) -> Path:  # type: ignore[no-untyped-def]
    """A project whose big.bin is committed and pushed; returns the remote folder."""
    storage = tmp_path / "storage"
    project.gen({"gen.py": GEN_PY, "dvc.yaml": DVC_YAML})
    xpt("remote", "add", "-d", "store", str(storage))
    xpt("repro")
    xpt("push")
    project.commit("data")
    return storage


def fresh_clone(src: Path, dest: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "clone", "-q", str(src), str(dest)], check=True)
    monkeypatch.chdir(dest)
    return dest


def leftovers(root: Path) -> list[Path]:
    """Temp files anywhere under the clone (cache included)."""
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".staging" in p.name]


class Spy:
    """Counts calls to a function and calls through to it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.calls = 0
        real: Callable[..., object] = getattr(owner, name)

        def spy(*args: object) -> object:
            self.calls += 1
            return real(*args)

        monkeypatch.setattr(owner, name, spy)


def test_pull_renames_a_verified_spare_into_the_workspace(
    pushed: Path, project: TmpRepo, tmp_path: Path, xpt, big, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    placed = Spy(monkeypatch, links, "place_spare")
    copied = Spy(monkeypatch, links, "copy_file")
    clone = fresh_clone(project, tmp_path / "clone", monkeypatch)
    assert "A       big.bin" in xpt("pull").out
    out = clone / "big.bin"
    assert out.read_bytes() == DATA
    assert placed.calls == 1 and copied.calls == 0  # the spare, not a second copy
    obj = clone / ".dvc/cache" / object_relpath(MD5)
    assert obj.read_bytes() == DATA and mode(obj) == 0o444
    assert mode(out) == 0o666 & ~_umask()  # a private writable copy, like `copy`
    assert os.stat(out).st_ino != os.stat(obj).st_ino
    assert not links._SPARES and not leftovers(clone)
    # the checkout recorded the file in the stat memo: nothing needs hashing again
    hasher = Hasher(clone, StateDB(Project(clone).state_db))
    assert hasher.lookup([hasher.stat_file(out)]) == {str(out): MD5}


def test_a_corrupted_object_reaches_neither_cache_nor_workspace(
    pushed: Path, project: TmpRepo, tmp_path: Path, xpt, big, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    stored = pushed / object_relpath(MD5)
    os.chmod(stored, 0o644)
    stored.write_bytes(DATA[:-4] + b"TAIL")  # same size, other bytes
    offered = Spy(monkeypatch, links, "offer_spare")
    clone = fresh_clone(project, tmp_path / "clone", monkeypatch)
    res = xpt("pull", ok=False)
    assert "corrupted" in res.err
    assert not (clone / "big.bin").exists()
    assert not (clone / ".dvc/cache" / object_relpath(MD5)).exists()
    assert offered.calls == 0 and not links._SPARES and not leftovers(clone)


def test_fetch_alone_and_hardlinks_make_no_spare(
    pushed: Path, project: TmpRepo, tmp_path: Path, xpt, big, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    made = Spy(monkeypatch, links, "unnamed_file")
    clone = fresh_clone(project, tmp_path / "clone", monkeypatch)
    xpt("fetch")
    assert made.calls == 0
    assert (clone / ".dvc/cache" / object_relpath(MD5)).read_bytes() == DATA
    other = fresh_clone(project, tmp_path / "other", monkeypatch)
    xpt("config", "cache.type", "hardlink")
    xpt("pull")
    assert made.calls == 0
    obj = other / ".dvc/cache" / object_relpath(MD5)
    assert os.stat(other / "big.bin").st_ino == os.stat(obj).st_ino


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def _remote_with(tmp_path: Path, data: bytes) -> LocalRemote:
    remote = LocalRemote(tmp_path / "remote")
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "src").write_bytes(data)
    remote.upload(tmp_path / "src", object_relpath(MD5))
    return remote


def test_local_download_fills_a_twin_exactly_only_for_big_objects(tmp_path: Path, big) -> None:  # type: ignore[no-untyped-def]
    remote = _remote_with(tmp_path, DATA)
    twin_path = tmp_path / "twin"
    dest = tmp_path / "dest"
    dest.write_bytes(b"stale bytes of an earlier attempt")

    def twin() -> int:
        return os.open(twin_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)

    assert remote.download(object_relpath(MD5), dest, twin) == MD5
    assert dest.read_bytes() == DATA and twin_path.read_bytes() == DATA
    small = _remote_with(tmp_path / "s", b"small")
    asked: list[int] = []
    assert small.download(object_relpath(MD5), tmp_path / "d2", lambda: asked.append(1))
    assert not asked  # a small object is copied in one pass, no twin


def test_a_failing_twin_does_not_fail_the_download(tmp_path: Path, big) -> None:  # type: ignore[no-untyped-def]
    remote = _remote_with(tmp_path, DATA)
    (tmp_path / "ro").write_bytes(b"")
    dest = tmp_path / "dest"
    fds: list[int] = []

    def twin() -> int:
        fds.append(os.open(tmp_path / "ro", os.O_RDONLY))  # cannot be written
        return fds[-1]

    assert remote.download(object_relpath(MD5), dest, twin) == MD5
    assert dest.read_bytes() == DATA and os.fstat(fds[0]).st_size == 0
    os.close(fds[0])


def test_a_remote_file_changed_during_the_download_is_an_error(tmp_path: Path, big) -> None:  # type: ignore[no-untyped-def]
    remote = _remote_with(tmp_path, DATA)
    stored = remote.root / object_relpath(MD5)

    def twin() -> None:  # runs while the md5 is being computed
        os.utime(stored, ns=(1, 1))

    with pytest.raises(RemoteError, match="changed on remote"):
        remote.download(object_relpath(MD5), tmp_path / "dest", twin)
