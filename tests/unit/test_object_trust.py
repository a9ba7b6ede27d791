"""The verified-object memo (odb.mark_verified / known_intact) and `cache verify`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from xpt.cache.odb import ODB, VERIFIED_MEMO_MIN
from xpt.cache.state import StateDB
from xpt.cache.verify import verify_cache


def _big_object(tmp_path: Path) -> tuple[ODB, str, str]:
    odb = ODB(tmp_path / "cache", StateDB(tmp_path / "state.db"))
    data = b"x" * VERIFIED_MEMO_MIN
    md5 = hashlib.md5(data).hexdigest()
    staged = odb.staging_path()
    Path(staged).write_bytes(data)
    assert odb.commit_staged(staged, md5)
    return odb, md5, odb.object_path(md5)


def test_a_staged_big_object_is_known_intact_until_touched(tmp_path: Path) -> None:
    odb, md5, path = _big_object(tmp_path)
    assert odb.known_intact(path, os.stat(path), md5)
    assert not odb.known_intact(path, os.stat(path), "0" * 32)
    os.chmod(path, 0o444)  # same mode again: only the ctime moves
    assert not odb.known_intact(path, os.stat(path), md5)
    odb.mark_verified(md5)
    assert odb.known_intact(path, os.stat(path), md5)


def test_small_objects_and_memo_less_odbs_are_never_known(tmp_path: Path) -> None:
    odb = ODB(tmp_path / "cache", StateDB(tmp_path / "state.db"))
    md5 = hashlib.md5(b"small").hexdigest()
    odb.add_bytes(md5, b"small")
    odb.mark_verified(md5)
    path = odb.object_path(md5)
    assert not odb.known_intact(path, os.stat(path), md5)
    _odb, big, big_path = _big_object(tmp_path / "other")
    assert not ODB(tmp_path / "other" / "cache").known_intact(big_path, os.stat(big_path), big)


def test_verify_cache_skips_temp_files_and_moves_only_bad_objects(tmp_path: Path) -> None:
    odb = ODB(tmp_path / "cache")
    good = hashlib.md5(b"good").hexdigest()
    bad = hashlib.md5(b"bad").hexdigest()
    odb.add_bytes(good, b"good")
    odb.add_bytes(bad, b"bad")
    legacy = hashlib.md5(b"old\n").hexdigest()
    odb.add_bytes(legacy, b"old\r\n", legacy=True)  # 2.x: dos2unix hash of text
    path = odb.object_path(bad)
    os.chmod(path, 0o644)
    Path(path).write_bytes(b"BAD")
    (tmp_path / "cache" / "files" / "md5" / good[:2] / "x.123.tmp").write_bytes(b"temp")
    result = verify_cache(tmp_path / "cache", tmp_path / "q")
    assert result.checked == 3
    assert [b.md5 for b in result.bad] == [bad]
    assert Path(result.bad[0].moved_to).read_bytes() == b"BAD"
    assert not os.path.exists(path) and os.path.exists(odb.object_path(good))
    assert verify_cache(tmp_path / "cache", tmp_path / "q").bad == []
