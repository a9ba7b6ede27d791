"""Big cache objects written with O_DIRECT (cache/direct.py) stay byte-exact copies."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pytest

from xpt.cache.direct import MIN_SIZE, copy_direct
from xpt.cache.odb import copy_file
from xpt.utils.fsutil import current_umask

MIB = 1 << 20


def _write(path: Path, size: int) -> str:
    """`size` bytes that differ per MiB (a misplaced block changes the md5)."""
    block = os.urandom(MIB)
    digest = hashlib.md5()
    with open(path, "wb") as f:
        n = 0
        while n < size:
            chunk = (n.to_bytes(8, "little") + block)[: min(MIB, size - n)]
            f.write(chunk)
            digest.update(chunk)
            n += len(chunk)
    return digest.hexdigest()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_big_file_copied_exactly_with_an_unaligned_tail(tmp_path: Path) -> None:
    src, dst = tmp_path / "big.bin", tmp_path / "obj"
    expected = _write(src, MIN_SIZE + 3 * 4096 + 123)
    copy_file(str(src), str(dst), 0o444, direct=True)
    assert _md5(dst) == expected
    assert dst.stat().st_size == src.stat().st_size
    assert dst.stat().st_mode & 0o777 == 0o444 & ~current_umask()


def test_slow_device_stops_after_the_probe(tmp_path: Path) -> None:
    """Below the minimum rate, only the probed part is written; the caller does the rest."""
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    _write(src, 20 * MIB + 777)
    with open(src, "rb") as s, open(dst, "wb") as d:
        done = copy_direct(
            s.fileno(), d.fileno(), 20 * MIB + 777, min_size=1, min_rate=1e30, probe=1
        )
        if done == 0:
            pytest.skip("this filesystem refuses O_DIRECT")
        assert done == 8 * MIB  # one chunk, then the probe said "too slow"
        assert not fcntl.fcntl(d.fileno(), fcntl.F_GETFL) & os.O_DIRECT  # flags restored
    assert dst.read_bytes() == src.read_bytes()[:done]


def test_small_files_are_left_to_the_caller(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    _write(src, MIB)
    with open(src, "rb") as s, open(dst, "wb") as d:
        assert copy_direct(s.fileno(), d.fileno(), MIB) == 0
    assert dst.stat().st_size == 0


def test_whole_copy_without_probe_stop(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    size = 9 * MIB + 4096 + 5
    _write(src, size)
    with open(src, "rb") as s, open(dst, "wb") as d:
        done = copy_direct(s.fileno(), d.fileno(), size, min_size=1)
    assert done in (0, size - size % 4096)
    assert dst.read_bytes() == src.read_bytes()[:done]
