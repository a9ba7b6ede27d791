"""The stat-keyed hash memo: (path, inode, mtime_ns, size) -> md5, in SQLite.

Re-hashing unchanged files is what makes a no-op `repro` slow, so every lookup and
write is done in bulk (one query per batch, never one per file). The database is a
private cache (docs/dvc-formats.md §7): WAL mode so parallel queue workers share it, and a corrupt
or unreadable file is simply recreated.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

StatKey = tuple[str, int, int, int]
"""(absolute path, inode, mtime_ns, size)."""

MemoRow = tuple[str, int, int, int, str]
"""(absolute path, inode, mtime_ns, size, md5)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memo (
    algo INTEGER NOT NULL,
    path TEXT NOT NULL,
    inode INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    PRIMARY KEY (algo, path)
) WITHOUT ROWID
"""
_KV_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID
"""
_BUSY_TIMEOUT_MS = 10_000
_RAW, _LEGACY = 0, 1


def db_path(xpt_dir: Path) -> Path:
    """The project's memo inside xpt's folder (`Project.state_db`, unless XPT_STATE_DB)."""
    return xpt_dir / "state.db"


class StateDB:
    """Bulk memo of file hashes; opened lazily, safe for threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def get_many(
        self, items: Iterable[StatKey], *, legacy: bool = False, under: str | None = None
    ) -> dict[str, str]:
        """{path: md5} for every item whose recorded stat matches exactly.

        `under` (a folder holding all the paths) turns the lookup into one range scan.
        """
        wanted = {path: (inode, mtime, size) for path, inode, mtime, size in items}
        if not wanted:
            return {}
        if under is not None:
            prefix = under.rstrip("/") + "/"
            query = (
                "SELECT path, inode, mtime_ns, size, md5 FROM memo "
                "WHERE algo = ? AND path >= ? AND path < ?"
            )
            params: tuple[object, ...] = (_algo(legacy), prefix, prefix[:-1] + "0")
        else:
            query = (
                "SELECT path, inode, mtime_ns, size, md5 FROM memo "
                "WHERE algo = ? AND path IN (SELECT value FROM json_each(?))"
            )
            params = (_algo(legacy), json.dumps(list(wanted)))
        rows = self._run(lambda c: c.execute(query, params).fetchall())
        found: dict[str, str] = {}
        for path, inode, mtime, size, md5 in rows or ():
            if wanted.get(path) == (inode, mtime, size):
                found[path] = md5
        return found

    def put_many(self, items: Iterable[MemoRow], *, legacy: bool = False) -> None:
        """Record hashes; failures are ignored (the memo is only an accelerator)."""
        algo = _algo(legacy)
        rows = [(algo, *row) for row in items]
        if not rows:
            return

        def write(conn: sqlite3.Connection) -> None:
            sql = "INSERT OR REPLACE INTO memo VALUES (?, ?, ?, ?, ?, ?)"
            try:
                with conn:
                    conn.executemany(sql, rows)
            except UnicodeEncodeError:
                with conn:
                    conn.executemany(sql, [r for r in rows if _encodable(r[1])])

        self._run(write)

    def get_value(self, key: str) -> str | None:
        """A small private record (tree fingerprints, cache checks); None if absent."""
        row = self._run(
            lambda c: c.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        )
        return row[0] if row else None

    def put_value(self, key: str, value: str) -> None:
        """Store a small private record (ignored on failure)."""

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))

        self._run(write)

    def forget(self, paths: Iterable[str]) -> None:
        """Drop entries (all algorithms) for these paths."""
        names = json.dumps(list(paths))

        def delete(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute(
                    "DELETE FROM memo WHERE path IN (SELECT value FROM json_each(?))", (names,)
                )

        self._run(delete)

    def forget_under(self, folder: str) -> None:
        """Drop the entries of every path inside `folder` (a temporary workspace that is gone).

        Without this, each queued run would leave its files' rows behind for ever.
        """
        prefix = folder.rstrip("/") + "/"
        end = prefix[:-1] + "0"  # "0" follows "/": the range is exactly the paths below

        def delete(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute(
                    "DELETE FROM memo WHERE algo IN (0, 1) AND path >= ? AND path < ?",
                    (prefix, end),
                )

        self._run(delete)

    def _run(self, op: Any) -> Any:
        """Run `op(conn)`; recreate a corrupt db once; give up quietly when busy."""
        with self._lock:
            for attempt in range(2):
                try:
                    return op(self._connect())
                except sqlite3.DatabaseError as exc:
                    if attempt or not _is_corruption(exc):
                        return None
                    self._recreate()
                except UnicodeEncodeError:
                    return None  # undecodable file names are not memoised
        return None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=_BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
                isolation_level=None,
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute(_SCHEMA)
                conn.execute(_KV_SCHEMA)
            except BaseException:
                conn.close()
                raise
            conn.isolation_level = "DEFERRED"
            self._conn = conn
        return self._conn

    def _recreate(self) -> None:
        """Delete the database files (it is only a cache) so the next connect starts empty."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")


def _encodable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _algo(legacy: bool) -> int:
    return _LEGACY if legacy else _RAW


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Errors that mean the file is not a usable database (as opposed to busy/locked)."""
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "malformed" in text or "not a database" in text or "no such table" in text
    return True
