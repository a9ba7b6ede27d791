"""Hashes exactly as DVC computes them (spec §4), and the memoised parallel Hasher."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from xpt.cache.digest import (
    CHUNK,
    EMPTY_DIR_MD5,
    HashInfo,
    TreeEntry,
    looks_like_text,
    md5_file,
    md5_file_dos2unix,
    tree_object,
)
from xpt.cache.hasher import Hasher, parallel_map, read_small
from xpt.cache.state import StateDB
from xpt.errors import CacheError

MIB = 1 << 20


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_raw_and_dos2unix_hashes_of_the_spec_example(tmp_path: Path) -> None:
    f = _write(tmp_path / "crlf.txt", b"hello\r\nworld\r\n")
    assert md5_file(f) == "7ac062d8a84466e70d9b899c0821a51c"
    assert md5_file_dos2unix(f) == "0f723ae7f9bf07744445e93ac5595156"


def test_dos2unix_leaves_binary_files_alone(tmp_path: Path) -> None:
    f = _write(tmp_path / "b.bin", b"a\r\n\x00b\r\n")
    assert md5_file_dos2unix(f) == md5_file(f) == hashlib.md5(b"a\r\n\x00b\r\n").hexdigest()


@pytest.mark.parametrize(
    ("head", "text"),
    [
        (b"", True),
        (b"plain\r\n", True),
        (b"\x00abc", False),
        (bytes([0x80]) * 30 + b"a" * 70, True),  # exactly 30 % non-text
        (bytes([0x80]) * 31 + b"a" * 69, False),
        ("中文字符".encode() * 10, False),
        (b"a" * 512 + b"\x00", True),  # only the first 512 bytes count
    ],
)
def test_text_heuristic(head: bytes, text: bool) -> None:
    assert looks_like_text(head) is text


def test_dos2unix_works_per_mebibyte_chunk(tmp_path: Path) -> None:
    # values computed by DVC 3.67.1 (dvc_data md5-dos2unix) for these exact files
    split = _write(tmp_path / "split", b"a" * (MIB - 1) + b"\r\n" + b"z\r\n" * 10)
    assert md5_file_dos2unix(split) == "5ca430b4cf52f8ff003ca00075e24acb"
    mixed = _write(tmp_path / "mixed", b"\x00" * 600 + b"a" * (MIB - 600) + b"b\r\n" * 1000)
    assert md5_file_dos2unix(mixed) == "3ebc734a3211b52c7ff7565b2db5d50f"


def test_md5_file_of_a_multi_chunk_file(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 17)
    assert md5_file(_write(tmp_path / "big", data)) == hashlib.md5(data).hexdigest()


def test_tree_object_is_byte_exact() -> None:
    entries = [
        TreeEntry("x.csv", "e5ebd4c02cefbe7955977c67ada242b7", 9, False),
        TreeEntry("crlf.txt", "7ac062d8a84466e70d9b899c0821a51c", 14, False),
        TreeEntry("sub/z.bin", "fbade9e36a3f36d3d676c1b808451dd7", 0, True),
    ]
    data, oid = tree_object(entries)
    assert data == (
        b'[{"md5": "7ac062d8a84466e70d9b899c0821a51c", "relpath": "crlf.txt"}, '
        b'{"md5": "fbade9e36a3f36d3d676c1b808451dd7", "relpath": "sub/z.bin"}, '
        b'{"md5": "e5ebd4c02cefbe7955977c67ada242b7", "relpath": "x.csv"}]'
    )
    assert oid == "0e63383dd5b97e4abd29761447d310a2.dir"


def test_empty_tree() -> None:
    assert tree_object([]) == (b"[]", EMPTY_DIR_MD5)
    assert EMPTY_DIR_MD5 == "d751713988987e9331980363e24189ce.dir"


def test_tree_sorts_by_code_point_and_escapes_non_ascii() -> None:
    names = ["Ä", "a_dir/f", "a", "_x", "B"]
    data, _oid = tree_object(TreeEntry(n, "0" * 32, 1, False) for n in names)
    order = [part.split(b'"relpath": ')[1].split(b"}")[0] for part in data.split(b"}, {")]
    assert order == [b'"B"', b'"_x"', b'"a"', b'"a_dir/f"', b'"\\u00c4"']


def test_hash_info() -> None:
    assert HashInfo("0" * 32 + ".dir", 3, 2).is_dir
    assert not HashInfo("0" * 32, 3).is_dir
    assert HashInfo("0" * 32, 3, None, True, True) == HashInfo(
        "0" * 32, size=3, isexec=True, legacy=True
    )


# -- Hasher ---------------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path) -> StateDB:
    db = StateDB(tmp_path / "state.db")
    yield db  # type: ignore[misc]
    db.close()


def test_hash_file_size_and_isexec(tmp_path: Path) -> None:
    f = _write(tmp_path / "run.sh", b"#!/bin/sh\n")
    f.chmod(0o755)
    info = Hasher(tmp_path, None).hash_file(f)
    assert info == HashInfo(hashlib.md5(b"#!/bin/sh\n").hexdigest(), 10, None, True)


def test_hash_dir_matches_dvc_and_skips_empty_dirs(tmp_path: Path) -> None:
    d = tmp_path / "data"
    _write(d / "crlf.txt", b"hello\r\nworld\r\n")
    _write(d / "x.csv", b"a,b\r\n1,2\r\n")
    _write(d / "sub" / "z.bin", b"")
    (d / "emptydir").mkdir()
    info, entries = Hasher(tmp_path, None).hash_dir(d)
    assert sorted(e.relpath for e in entries) == ["crlf.txt", "sub/z.bin", "x.csv"]
    assert info.size == 14 + 10 + 0 and info.nfiles == 3 and info.is_dir
    assert info.md5 == tree_object(entries)[1]


def test_hash_dir_follows_file_symlinks_but_not_dir_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside / "t.txt", b"target")
    d = tmp_path / "data"
    _write(d / "a", b"a")
    (d / "link.txt").symlink_to(outside / "t.txt")
    (d / "linkdir").symlink_to(outside)
    _info, entries = Hasher(tmp_path, None).hash_dir(d)
    assert {e.relpath: e.md5 for e in entries} == {
        "a": hashlib.md5(b"a").hexdigest(),
        "link.txt": hashlib.md5(b"target").hexdigest(),
    }


def test_broken_symlink_in_a_dir_is_a_cache_error(tmp_path: Path) -> None:
    d = tmp_path / "data"
    d.mkdir()
    (d / "dangling").symlink_to(tmp_path / "nope")
    with pytest.raises(CacheError, match="dangling"):
        Hasher(tmp_path, None).hash_dir(d)


def test_memo_answers_unchanged_files_without_reading(tmp_path: Path, state: StateDB) -> None:
    f = _write(tmp_path / "f.txt", b"one")
    first = Hasher(tmp_path, state).hash_file(f)
    st = f.stat()
    f.write_bytes(b"two")  # same size; put the old mtime back: the memo cannot tell
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert Hasher(tmp_path, state).hash_file(f).md5 == first.md5
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    assert Hasher(tmp_path, state).hash_file(f).md5 == hashlib.md5(b"two").hexdigest()


def test_unchanged_dir_is_answered_from_its_fingerprint(tmp_path: Path, state: StateDB) -> None:
    d = tmp_path / "data"
    for i in range(100):
        _write(d / f"d{i % 7}" / f"f{i}", f"{i}".encode())
    first = Hasher(tmp_path, state).hash_path(d)
    assert state.get_value(f"tree:0:{d}") is not None
    assert Hasher(tmp_path, state).hash_path(d) == first
    _write(d / "d0" / "new", b"new")
    changed = Hasher(tmp_path, state).hash_path(d)
    assert changed.nfiles == 101 and changed.md5 != first.md5
    fresh = Hasher(tmp_path, None).hash_path(d)
    assert fresh == changed


def test_legacy_hashes_are_memoised_separately(tmp_path: Path, state: StateDB) -> None:
    f = _write(tmp_path / "crlf.txt", b"hello\r\nworld\r\n")
    hasher = Hasher(tmp_path, state)
    assert hasher.hash_file(f).md5 == "7ac062d8a84466e70d9b899c0821a51c"
    legacy = hasher.hash_file(f, legacy=True)
    assert legacy.md5 == "0f723ae7f9bf07744445e93ac5595156" and legacy.legacy
    assert Hasher(tmp_path, state).hash_file(f).md5 == "7ac062d8a84466e70d9b899c0821a51c"


def test_hash_many_mixes_files_and_dirs(tmp_path: Path, state: StateDB) -> None:
    big = _write(tmp_path / "big.bin", os.urandom(2 * MIB + 3))
    small = _write(tmp_path / "s.txt", b"s")
    d = tmp_path / "d"
    for i in range(70):
        _write(d / f"f{i}", os.urandom(100))
    hasher = Hasher(tmp_path, state, jobs=2)
    many = hasher.hash_many([big, str(small), d])
    assert many[os.fspath(big)].md5 == hashlib.md5(big.read_bytes()).hexdigest()
    assert many[str(small)].md5 == hashlib.md5(b"s").hexdigest()
    assert many[os.fspath(d)] == Hasher(tmp_path, None).hash_dir(d)[0]


def test_parallel_map_keeps_order() -> None:
    items = list(range(1000))
    sizes = [MIB * 5 if i % 100 == 0 else 10 for i in items]
    assert parallel_map(lambda x: x * 2, items, sizes, jobs=4) == [x * 2 for x in items]


def _pid_of(x: int) -> tuple[int, int]:
    return x * 2, os.getpid()


def test_parallel_map_shares_forkable_items_out_to_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    import xpt.cache.hasher as hasher_module

    monkeypatch.setattr(hasher_module, "_FORK_MIN_FILES", 10)
    items = list(range(60))
    sizes = [3 * MIB if i < 4 else 100 for i in items]
    out = parallel_map(_pid_of, items, sizes, jobs=3, forkable=list(range(4, 60)))
    assert [x for x, _pid in out] == [x * 2 for x in items]
    pids = {pid for _x, pid in out}
    assert os.getpid() in pids and len(pids) == 3  # this process and two helpers
    assert {pid for _x, pid in out[:4]} == {os.getpid()}  # big items stay on the pool


def test_parallel_map_redoes_a_failed_helpers_share(monkeypatch: pytest.MonkeyPatch) -> None:
    import xpt.cache.hasher as hasher_module

    monkeypatch.setattr(hasher_module, "_FORK_MIN_FILES", 10)
    parent = os.getpid()

    def only_here(x: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("helper failure")
        return x + 1

    items = list(range(40))
    assert parallel_map(only_here, items, [10] * 40, 2, forkable=items) == [x + 1 for x in items]


def test_parallel_map_error_in_this_threads_share_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import xpt.cache.hasher as hasher_module

    monkeypatch.setattr(hasher_module, "_FORK_MIN_FILES", 10)

    def fail(x: int) -> int:
        if x == 0:
            raise ValueError("boom")
        return x

    with pytest.raises(ValueError, match="boom"):
        parallel_map(fail, list(range(40)), [2 * MIB] * 4 + [10] * 36, 2, forkable=range(4, 40))
    with pytest.raises(ValueError, match="boom"):  # item 0 is in this process's share
        parallel_map(fail, list(range(40)), [10] * 40, 2, forkable=range(40))


def test_many_small_misses_are_hashed_by_helpers_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xpt.cache.hasher as hasher_module

    monkeypatch.setattr(hasher_module, "_FORK_MIN_FILES", 50)
    d = tmp_path / "d"
    for i in range(150):
        _write(d / f"s{i % 7}" / f"f{i}", f"{i}".encode() * i)
    info, entries = Hasher(tmp_path, None, jobs=2).hash_dir(d)
    assert {e.relpath: e.md5 for e in entries} == {
        f"s{i % 7}/f{i}": hashlib.md5(f"{i}".encode() * i).hexdigest() for i in range(150)
    }
    assert info == Hasher(tmp_path, None, jobs=1).hash_dir(d)[0]


def test_read_small_reads_exactly_and_notices_growth(tmp_path: Path) -> None:
    path = _write(tmp_path / "f", b"abc")
    assert read_small(str(path), 3) == b"abc"
    assert read_small(str(path), 10) == b"abc"  # shrank since the scan: what is there
    path.write_bytes(b"x" * 5000)
    assert read_small(str(path), 3) == b"x" * 5000  # grew: read on to the end
    path.write_bytes(b"y" * CHUNK)
    assert read_small(str(path), 3) is None  # now a big file
    assert read_small(str(_write(tmp_path / "e", b"")), 0) == b""
