"""The object cache: layout, read-only atomic objects, trust rules, trees, missing objects."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest

from xpt.cache.digest import HashInfo, TreeEntry
from xpt.cache.odb import ODB
from xpt.cache.state import StateDB
from xpt.errors import CacheError


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def odb(tmp_path: Path) -> ODB:
    return ODB(tmp_path / "cache")


def test_layout(tmp_path: Path, odb: ODB) -> None:
    oid = "0e63383dd5b97e4abd29761447d310a2"
    assert odb.oid_path(oid) == tmp_path / "cache/files/md5/0e/63383dd5b97e4abd29761447d310a2"
    assert (
        odb.oid_path(oid + ".dir")
        == tmp_path / "cache/files/md5/0e/63383dd5b97e4abd29761447d310a2.dir"
    )
    assert odb.oid_path(oid, legacy=True) == tmp_path / "cache/0e/63383dd5b97e4abd29761447d310a2"


def test_add_bytes_is_read_only_and_never_rewritten(odb: ODB) -> None:
    oid = md5(b"hello")
    assert odb.add_bytes(oid, b"hello") is True
    path = odb.oid_path(oid)
    assert path.read_bytes() == b"hello" and mode(path) == 0o444
    inode = path.stat().st_ino
    assert odb.add_bytes(oid, b"hello") is False
    assert path.stat().st_ino == inode
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_add_bytes_replaces_a_corrupt_untrusted_object(odb: ODB) -> None:
    oid = md5(b"right")
    path = odb.oid_path(oid)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"wrong")
    path.chmod(0o644)  # not 0444: verified, found corrupt, dropped, written again
    assert odb.add_bytes(oid, b"right") is True
    assert path.read_bytes() == b"right" and mode(path) == 0o444
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_add_bytes_ignores_the_umask(odb: ODB) -> None:
    old = os.umask(0o277)  # would leave the owner alone with write-only access
    try:
        assert odb.add_bytes(md5(b"masked"), b"masked") is True
    finally:
        os.umask(old)
    assert mode(odb.oid_path(md5(b"masked"))) == 0o444


def test_add_file_copy_and_move(tmp_path: Path, odb: ODB) -> None:
    src = tmp_path / "src.txt"
    src.write_bytes(b"content")
    oid = md5(b"content")
    assert odb.add_file(src, oid) is True
    assert src.read_bytes() == b"content" and src.stat().st_ino != odb.oid_path(oid).stat().st_ino
    moved = tmp_path / "moved.txt"
    moved.write_bytes(b"other")
    other = md5(b"other")
    inode = moved.stat().st_ino
    assert odb.add_file(moved, other, move=True) is True
    assert not moved.exists() and odb.oid_path(other).stat().st_ino == inode
    assert mode(odb.oid_path(other)) == 0o444
    again = tmp_path / "again.txt"
    again.write_bytes(b"other")
    assert odb.add_file(again, other, move=True) is False and not again.exists()


def test_a_0444_object_is_trusted_others_are_verified(odb: ODB) -> None:
    good, bad = md5(b"good"), md5(b"bad")
    for oid, data in ((good, b"good"), (bad, b"bad")):
        path = odb.oid_path(oid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if oid == good else b"corrupted")
        path.chmod(0o644)
    assert odb.exists(good) and mode(odb.oid_path(good)) == 0o444
    assert not odb.exists(bad) and not odb.oid_path(bad).exists()  # corrupt object dropped
    trusted = md5(b"trusted")
    path = odb.oid_path(trusted)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not what the name says")
    path.chmod(0o444)
    assert odb.exists(trusted)  # spec §5.3: mode 0444 is trusted without re-hashing


def test_tree_roundtrip(tmp_path: Path, odb: ODB) -> None:
    entries = [
        TreeEntry("x.csv", "e5ebd4c02cefbe7955977c67ada242b7", 10, False),
        TreeEntry("crlf.txt", "7ac062d8a84466e70d9b899c0821a51c", 14, False),
        TreeEntry("sub/z.bin", "fbade9e36a3f36d3d676c1b808451dd7", 1, False),
    ]
    info = odb.add_tree(entries)
    assert info == HashInfo("0e63383dd5b97e4abd29761447d310a2.dir", 25, 3)
    assert mode(odb.oid_path(info.md5)) == 0o444
    assert ODB(tmp_path / "cache").load_tree(info.md5) == [
        ("crlf.txt", "7ac062d8a84466e70d9b899c0821a51c"),
        ("sub/z.bin", "fbade9e36a3f36d3d676c1b808451dd7"),
        ("x.csv", "e5ebd4c02cefbe7955977c67ada242b7"),
    ]


def test_missing_for_files_and_trees(tmp_path: Path, odb: ODB) -> None:
    a, b = md5(b"a"), md5(b"b")
    odb.add_bytes(a, b"a")
    assert odb.missing(HashInfo(a, 1)) == []
    assert odb.missing(HashInfo(b, 1)) == [b]
    tree = odb.add_tree([TreeEntry("a", a, 1, False), TreeEntry("b", b, 1, False)])
    assert odb.missing(tree) == [b]
    assert odb.missing(HashInfo("f" * 32 + ".dir", 0, 0)) == ["f" * 32 + ".dir"]


def test_missing_in_bulk(odb: ODB) -> None:
    datas = [f"{i}".encode() for i in range(300)]
    for data in datas[:-3]:
        odb.add_bytes(md5(data), data)
    tree = odb.add_tree([TreeEntry(f"f{i}", md5(d), len(d), False) for i, d in enumerate(datas)])
    assert sorted(odb.missing(tree)) == sorted(md5(d) for d in datas[-3:])


def test_legacy_objects(odb: ODB) -> None:
    oid = md5(b"hello\n")
    odb.add_bytes(oid, b"hello\n", legacy=True)
    assert odb.exists(oid, legacy=True) and not odb.exists(oid)
    tree = odb.add_tree([TreeEntry("h.txt", oid, 6, False)], legacy=True)
    assert tree.legacy and odb.oid_path(tree.md5, legacy=True).exists()
    assert odb.missing(tree) == []


def test_complete_trees_are_remembered_until_the_cache_changes(tmp_path: Path) -> None:
    with StateDB(tmp_path / "state.db") as state:
        odb = ODB(tmp_path / "cache", state)
        datas = [f"{i}".encode() for i in range(100)]
        for data in datas:
            odb.add_bytes(md5(data), data)
        tree = odb.add_tree(
            [TreeEntry(f"f{i}", md5(d), len(d), False) for i, d in enumerate(datas)]
        )
        time.sleep(0.06)  # let the prefix folders' mtimes settle
        assert odb.missing(tree) == []
        assert state.get_value(f"complete:0:{tmp_path / 'cache'}:{tree.md5}")
        victim = odb.oid_path(md5(datas[42]))
        victim.unlink()
        assert ODB(tmp_path / "cache", state).missing(tree) == [md5(datas[42])]


def test_load_tree_rejects_corrupt_and_escaping_trees(odb: ODB) -> None:
    for content in (b"not json", b'{"a": 1}', b'[{"md5": "x"}]'):
        oid = md5(content) + ".dir"
        odb.add_bytes(oid, content)
        with pytest.raises(CacheError, match="corrupt tree"):
            odb.load_tree(oid)
    evil = json.dumps([{"md5": "0" * 32, "relpath": "../../etc/passwd"}]).encode()
    odb.add_bytes(md5(evil) + ".dir", evil)
    with pytest.raises(CacheError, match="passwd"):
        odb.load_tree(md5(evil) + ".dir")
    with pytest.raises(CacheError, match="missing cache object"):
        odb.load_tree("e" * 32 + ".dir")


def test_unwritable_cache_is_a_cache_error(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    with pytest.raises(CacheError, match="cannot write"):
        ODB(cache).add_bytes(md5(b"x"), b"x")


def test_staged_content_is_named_or_discarded(odb: ODB) -> None:
    tmp = odb.staging_path()
    Path(tmp).write_bytes(b"staged")
    assert odb.commit_staged(tmp, md5(b"staged")) is True
    assert mode(odb.oid_path(md5(b"staged"))) == 0o444
    tmp2 = odb.staging_path()
    Path(tmp2).write_bytes(b"staged")
    assert odb.commit_staged(tmp2, md5(b"staged")) is False
    assert not Path(tmp2).exists()
