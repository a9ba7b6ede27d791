"""Which objects a remote holds: a young remote is listed whole, a big one by prefix.

`transfer.present_on` must give the same answer either way; the listings it asks for are
counted through a local-folder remote that records its `list_files` calls.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from xpt.cache.odb import object_relpath
from xpt.cache.remote_backends import LocalRemote
from xpt.repro.transfer.sync import present_on


class CountingRemote(LocalRemote):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.listed: list[str] = []

    def list_files(self, prefix: str = "") -> list[str]:
        self.listed.append(prefix)
        return super().list_files(prefix)


def _oids(n: int, tag: str) -> list[tuple[str, bool]]:
    return [(hashlib.md5(f"{tag}{i}".encode()).hexdigest(), False) for i in range(n)]


def _store(root: Path, oids: list[tuple[str, bool]]) -> None:
    for md5, legacy in oids:
        path = root / object_relpath(md5, legacy)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_young_remote_is_listed_whole(tmp_path: Path) -> None:
    remote = CountingRemote(tmp_path / "store")
    wanted = _oids(300, "w")
    _store(remote.root, wanted[:10])
    found = present_on(remote, wanted)
    assert found == set(wanted[:10])
    assert len(remote.listed) == 2 and remote.listed[1] == "files/md5"  # one probe, one listing


def test_big_remote_is_listed_by_prefix(tmp_path: Path) -> None:
    remote = CountingRemote(tmp_path / "store")
    wanted = _oids(100, "w")
    _store(remote.root, _oids(3000, "other") + wanted[::2])
    found = present_on(remote, wanted)
    assert found == set(wanted[::2])
    assert "files/md5" not in remote.listed
    assert len(remote.listed) == len({md5[:2] for md5, _ in wanted})
