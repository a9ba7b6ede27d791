"""The stat-keyed memo: bulk get/put, exact stat matching, corruption, several processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from xpt.cache.state import StateDB


def test_roundtrip_and_exact_stat_match(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        db.put_many([("/r/a", 1, 100, 5, "a" * 32), ("/r/b", 2, 200, 6, "b" * 32)])
        found = db.get_many(
            [
                ("/r/a", 1, 100, 5),  # same
                ("/r/b", 2, 201, 6),  # mtime differs
                ("/r/c", 3, 300, 7),  # unknown
            ]
        )
        assert found == {"/r/a": "a" * 32}
        assert db.get_many([("/r/a", 9, 100, 5)]) == {}  # inode differs
        assert db.get_many([("/r/a", 1, 100, 4)]) == {}  # size differs
        assert db.get_many([]) == {}


def test_put_replaces_and_persists(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        db.put_many([("/r/a", 1, 100, 5, "a" * 32)])
        db.put_many([("/r/a", 1, 101, 5, "c" * 32)])
    with StateDB(tmp_path / "s.db") as db:
        assert db.get_many([("/r/a", 1, 101, 5)]) == {"/r/a": "c" * 32}
        assert db.get_many([("/r/a", 1, 100, 5)]) == {}


def test_legacy_hashes_live_apart(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        db.put_many([("/r/a", 1, 1, 1, "a" * 32)])
        db.put_many([("/r/a", 1, 1, 1, "d" * 32)], legacy=True)
        assert db.get_many([("/r/a", 1, 1, 1)]) == {"/r/a": "a" * 32}
        assert db.get_many([("/r/a", 1, 1, 1)], legacy=True) == {"/r/a": "d" * 32}


def test_range_lookup_under_a_folder_excludes_siblings(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        rows = [(f"/r/data/f{i}", i, i, i, f"{i:032x}") for i in range(500)]
        db.put_many([*rows, ("/r/data0", 1, 1, 1, "e" * 32), ("/r/databis/x", 1, 1, 1, "f" * 32)])
        items = [(p, i, m, s) for p, i, m, s, _md5 in rows] + [("/r/databis/x", 1, 1, 1)]
        found = db.get_many(items, under="/r/data")
        assert len(found) == 500  # /r/databis/x is not under /r/data/
        assert found["/r/data/f7"] == f"{7:032x}"


def test_many_items_in_one_call(tmp_path: Path) -> None:
    rows = [(f"/r/{i}", i, i, i, f"{i:032x}") for i in range(30_000)]
    with StateDB(tmp_path / "s.db") as db:
        db.put_many(rows)
        assert len(db.get_many((p, i, m, s) for p, i, m, s, _ in rows)) == 30_000


def test_values(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        assert db.get_value("k") is None
        db.put_value("k", "v1")
        db.put_value("k", "v2")
        assert db.get_value("k") == "v2"


def test_forget(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        db.put_many([("/r/a", 1, 1, 1, "a" * 32), ("/r/b", 1, 1, 1, "b" * 32)])
        db.forget(["/r/a"])
        assert db.get_many([("/r/a", 1, 1, 1), ("/r/b", 1, 1, 1)]) == {"/r/b": "b" * 32}


def test_forget_under_a_folder_keeps_siblings(tmp_path: Path) -> None:
    with StateDB(tmp_path / "s.db") as db:
        inside = [(f"/r/ws/1/f{i}", i, i, i, f"{i:032x}") for i in range(50)]
        kept = [("/r/ws/10/x", 1, 1, 1, "a" * 32), ("/r/ws/1", 1, 1, 1, "b" * 32)]
        db.put_many([*inside, *kept])
        db.put_many([("/r/ws/1/f0", 0, 0, 0, "c" * 32)], legacy=True)
        db.forget_under("/r/ws/1/")
        keys = [(p, i, m, s) for p, i, m, s, _md5 in [*inside, *kept]]
        assert set(db.get_many(keys)) == {"/r/ws/10/x", "/r/ws/1"}
        assert db.get_many([("/r/ws/1/f0", 0, 0, 0)], legacy=True) == {}


def test_corrupt_database_is_recreated(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with StateDB(path) as db:
        assert db.get_many([("/r/a", 1, 1, 1)]) == {}
        db.put_many([("/r/a", 1, 1, 1, "a" * 32)])
        assert db.get_many([("/r/a", 1, 1, 1)]) == {"/r/a": "a" * 32}
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_wal_mode_and_lazy_open(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "s.db"
    db = StateDB(path)
    assert not path.exists()  # nothing happens until the memo is used
    db.put_many([("/r/a", 1, 1, 1, "a" * 32)])
    db.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_undecodable_names_are_skipped(tmp_path: Path) -> None:
    bad = b"/r/\xff.bin".decode("utf-8", "surrogateescape")
    with StateDB(tmp_path / "s.db") as db:
        db.put_many([(bad, 1, 1, 1, "a" * 32), ("/r/ok", 1, 1, 1, "b" * 32)])
        assert db.get_many([(bad, 1, 1, 1), ("/r/ok", 1, 1, 1)]) == {"/r/ok": "b" * 32}


_WRITER = """
import sys
from pathlib import Path
from xpt.cache.state import StateDB
db = StateDB(Path(sys.argv[1]))
tag = sys.argv[2]
for batch in range(20):
    db.put_many([(f"/{tag}/{batch}/{i}", i, i, i, "a" * 32) for i in range(100)])
db.close()
"""


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), tag])
        for tag in ("p1", "p2", "p3")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    with StateDB(path) as db:
        items = [
            (f"/{t}/{b}/{i}", i, i, i)
            for t in ("p1", "p2", "p3")
            for b in range(20)
            for i in range(100)
        ]
        assert len(db.get_many(items)) == 6000
