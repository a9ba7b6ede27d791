"""The local queue's state: one SQLite database, `.dvc/tmp/xpt/queue.db`.

SQLite gives the queue what DVC's file broker lacks: atomic claims (BEGIN IMMEDIATE),
durability across crashes, and cheap status reads. A "running" entry whose process is
gone is reaped to "failed" on every read, so a dead worker never looks alive.
A database SQLite calls corrupt (truncated, garbage) is moved aside with a warning and
rebuilt from what the queue keeps in git (`queue_rebuild.py`): the queue never blocks
the commands that read it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpt.errors import QueueError
from xpt.experiments.queue_files import db_path, log_path, workspace_path
from xpt.repro.options import ReproOptions
from xpt.scm.exprefs import XPT_QUEUE_PREFIX
from xpt.utils.proc import pid_alive

if TYPE_CHECKING:  # exp show loads this module: no GPU code at start-up
    from xpt.experiments.gpus import GpuPlan


class State(StrEnum):
    """Life cycle of a queue entry."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    baseline TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    pid INTEGER,
    returncode INTEGER,
    result_sha TEXT,
    result_name TEXT,
    error TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    devices TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_name ON entries(baseline, name)
    WHERE name IS NOT NULL AND state IN ('queued', 'running');
CREATE TABLE IF NOT EXISTS workers (
    pid INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    stopping INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class Entry:
    """One queued (or finished) experiment."""

    id: int
    name: str | None
    baseline: str
    snapshot: str
    state: State
    created: float
    started: float | None = None
    finished: float | None = None
    pid: int | None = None
    returncode: int | None = None
    result_sha: str | None = None
    result_name: str | None = None
    error: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    devices: tuple[str, ...] = ()
    """The GPUs a running entry holds (see gpus.py); () without GPU slots."""

    @property
    def label(self) -> str:
        """The name users see: the experiment name, else the snapshot's short sha."""
        return self.result_name or self.name or self.snapshot[:7]

    @property
    def ref(self) -> str:
        """Where the snapshot commit is kept (outside refs/exps)."""
        return f"{XPT_QUEUE_PREFIX}{self.id}"


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB (a locked or read-only database is not corrupt)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)
    return "malformed" in str(exc) or "not a database" in str(exc)


def _entry(row: sqlite3.Row) -> Entry:
    data = dict(row)
    data["state"] = State(data["state"])
    data["options"] = json.loads(data["options"] or "{}")
    data["devices"] = tuple(data["devices"].split(",")) if data.get("devices") else ()
    return Entry(**data)


class QueueDB:
    """Access to queue.db; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._connect()
        except sqlite3.DatabaseError as exc:
            if not _corrupt(exc):
                raise QueueError(f"cannot open the queue database '{path}': {exc}") from exc
            self._recover(exc)

    def _connect(self) -> None:
        self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
            self._add_devices_column()
            check = self.conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if check != "ok":  # a truncated file can open and fail only when rows are read
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
        except BaseException:
            self.conn.close()
            raise

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """Move a corrupt database aside (with its WAL) and rebuild it; one process at a time."""
        from xpt.utils.lock import file_lock

        with file_lock(f"{self.path}.lock", "the queue database", timeout=60):
            try:
                self._connect()  # another process may have rebuilt it meanwhile
                return
            except sqlite3.DatabaseError as again:
                if not _corrupt(again):
                    raise QueueError(
                        f"cannot open the queue database '{self.path}': {again}"
                    ) from again
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.broken-{stamp}-{os.getpid()}")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            self._connect()
            from xpt.experiments.queue_rebuild import rows

            count = 0
            for row in rows(
                self.path.parent, lambda entry_id: log_path(self.path.parent, entry_id)
            ):
                self.restore(Entry(**{**row, "state": State(row["state"])}))
                count += 1
        print(
            f"WARNING: the queue database '{self.path}' was unreadable ({exc}); moved it to "
            f"'{aside}' and rebuilt {count} entr{'y' if count == 1 else 'ies'} from "
            f"{XPT_QUEUE_PREFIX} and the queue logs",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        self.conn.close()

    def restore(self, entry: Entry) -> None:
        """Insert an entry rebuilt from git, under its old id (its snapshot ref's name)."""
        with self._tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO entries (id, name, baseline, snapshot, state, created,"
                " finished, returncode, result_sha, result_name, error, options)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.name,
                    entry.baseline,
                    entry.snapshot,
                    entry.state.value,
                    entry.created,
                    entry.finished,
                    entry.returncode,
                    entry.result_sha,
                    entry.result_name,
                    entry.error,
                    json.dumps(entry.options),
                ),
            )

    def _add_devices_column(self) -> None:
        """Databases made before GPU slots lack `entries.devices`."""
        columns = {r["name"] for r in self.conn.execute("PRAGMA table_info(entries)")}
        if "devices" not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                self.conn.execute("ALTER TABLE entries ADD COLUMN devices TEXT")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def add(
        self, *, name: str | None, baseline: str, snapshot: str, options: dict[str, Any]
    ) -> Entry:
        """Queue a snapshot; a name already queued/running for the baseline is refused."""
        try:
            with self._tx() as c:
                cur = c.execute(
                    "INSERT INTO entries (name, baseline, snapshot, state, created, options)"
                    " VALUES (?, ?, ?, 'queued', ?, ?)",
                    (name, baseline, snapshot, time.time(), json.dumps(options)),
                )
                row = c.execute("SELECT * FROM entries WHERE id = ?", (cur.lastrowid,)).fetchone()
        except sqlite3.IntegrityError:
            raise QueueError(
                f"an experiment named '{name}' is already queued for this baseline",
                hint="choose another name with `-n`",
            ) from None
        return _entry(row)

    def reap(self) -> None:
        """Mark running entries whose (local) process is gone as failed."""
        rows = self.conn.execute(
            "SELECT id, pid, options FROM entries WHERE state = 'running'"
        ).fetchall()
        dead = [
            r["id"]
            for r in rows
            if json.loads(r["options"] or "{}").get("backend") != "celery"
            and not pid_alive(r["pid"])
        ]
        if dead:
            with self._tx() as c:
                for entry_id in dead:
                    c.execute(
                        "UPDATE entries SET state = 'failed', finished = ?, error = ?"
                        " WHERE id = ? AND state = 'running'",
                        (time.time(), "the experiment's process died", entry_id),
                    )

    def entries(self, states: tuple[State, ...] | None = None) -> list[Entry]:
        """All entries (optionally of some states), oldest first."""
        self.reap()
        rows = self.conn.execute("SELECT * FROM entries ORDER BY id").fetchall()
        items = [_entry(r) for r in rows]
        if states is not None:
            items = [e for e in items if e.state in states]
        return items

    def get(self, entry_id: int) -> Entry | None:
        row = self.conn.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return _entry(row) if row else None

    def claim(
        self, pid: int, entry_id: int | None = None, gpus: GpuPlan | None = None
    ) -> Entry | None:
        """Atomically take the oldest queued local entry (or `entry_id`) for process `pid`.

        Entries of the distributed backend (`options.backend`) are left to its workers.
        With `gpus`, the entry also takes devices no live running entry holds; None
        while too few are free.
        """
        local = "state = 'queued' AND json_extract(options, '$.backend') IS NULL"
        with self._tx() as c:
            if entry_id is None:
                row = c.execute(
                    f"SELECT * FROM entries WHERE {local} ORDER BY id LIMIT 1"
                ).fetchone()
            else:
                row = c.execute(
                    f"SELECT * FROM entries WHERE {local} AND id = ?", (entry_id,)
                ).fetchone()
            if row is None:
                return None
            devices: tuple[str, ...] = ()
            if gpus is not None:
                picked = gpus.pick(self._busy_devices(c))
                if picked is None:
                    return None
                devices = picked
            c.execute(
                "UPDATE entries SET state = 'running', pid = ?, started = ?, devices = ?"
                " WHERE id = ?",
                (pid, time.time(), ",".join(devices) or None, row["id"]),
            )
        entry = self.get(row["id"])
        assert entry is not None
        return entry

    @staticmethod
    def _busy_devices(c: sqlite3.Connection) -> set[str]:
        """Devices held by running local entries whose process is alive."""
        rows = c.execute(
            "SELECT pid, devices FROM entries WHERE state = 'running' AND devices IS NOT NULL"
            " AND json_extract(options, '$.backend') IS NULL"
        ).fetchall()
        return {d for r in rows if pid_alive(r["pid"]) for d in r["devices"].split(",")}

    def has_queued(self) -> bool:
        """True if a local entry waits to run."""
        row = self.conn.execute(
            "SELECT 1 FROM entries WHERE state = 'queued'"
            " AND json_extract(options, '$.backend') IS NULL LIMIT 1"
        ).fetchone()
        return row is not None

    def set_pid(self, entry_id: int, pid: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE entries SET pid = ? WHERE id = ?", (pid, entry_id))

    def finish(
        self,
        entry_id: int,
        *,
        ok: bool,
        returncode: int,
        result_sha: str | None = None,
        result_name: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record the outcome of a run."""
        with self._tx() as c:
            c.execute(
                "UPDATE entries SET state = ?, finished = ?, returncode = ?, result_sha = ?,"
                " result_name = COALESCE(?, result_name), error = ? WHERE id = ?",
                (
                    (State.SUCCESS if ok else State.FAILED).value,
                    time.time(),
                    returncode,
                    result_sha,
                    result_name,
                    error,
                    entry_id,
                ),
            )

    def fail_running(self, entry_id: int, *, returncode: int, error: str) -> Entry | None:
        """Mark an entry failed unless it recorded an outcome already; its final state.

        A worker that lost its child calls this: the child may have recorded its result
        (success or failure) just before dying, and that result must stand.
        """
        with self._tx() as c:
            c.execute(
                "UPDATE entries SET state = 'failed', finished = ?, returncode = ?, error = ?"
                " WHERE id = ? AND state = 'running'",
                (time.time(), returncode, error, entry_id),
            )
        return self.get(entry_id)

    def set_options(self, entry_id: int, options: dict[str, Any]) -> None:
        """Replace an entry's options (e.g. the distributed backend's task id)."""
        with self._tx() as c:
            c.execute(
                "UPDATE entries SET options = ? WHERE id = ?", (json.dumps(options), entry_id)
            )

    def mark_running(
        self, entry_id: int, started: float | None = None, devices: tuple[str, ...] = ()
    ) -> None:
        """An entry running elsewhere (a distributed worker): no local pid."""
        with self._tx() as c:
            c.execute(
                "UPDATE entries SET state = 'running', pid = NULL,"
                " started = COALESCE(?, started, ?), devices = COALESCE(?, devices) WHERE id = ?",
                (started, time.time(), ",".join(devices) or None, entry_id),
            )

    def requeue(self, entry_id: int) -> None:
        """Put an interrupted entry back at its place in the queue."""
        with self._tx() as c:
            c.execute(
                "UPDATE entries SET state = 'queued', pid = NULL, started = NULL, devices = NULL"
                " WHERE id = ?"
                " AND state = 'running'",
                (entry_id,),
            )

    def delete(self, ids: list[int]) -> None:
        with self._tx() as c:
            c.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])

    # workers -----------------------------------------------------------------
    def add_worker(self, pid: int) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO workers (pid, started) VALUES (?, ?)", (pid, time.time())
            )

    def remove_worker(self, pid: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM workers WHERE pid = ?", (pid,))

    def workers(self) -> list[int]:
        """Pids of live workers (dead ones are forgotten)."""
        rows = self.conn.execute("SELECT pid FROM workers").fetchall()
        live = [r["pid"] for r in rows if pid_alive(r["pid"])]
        dead = [r["pid"] for r in rows if r["pid"] not in live]
        if dead:
            with self._tx() as c:
                c.executemany("DELETE FROM workers WHERE pid = ?", [(p,) for p in dead])
        return live

    def request_stop(self) -> None:
        with self._tx() as c:
            c.execute("UPDATE workers SET stopping = 1")

    def stopping(self, pid: int) -> bool:
        row = self.conn.execute("SELECT stopping FROM workers WHERE pid = ?", (pid,)).fetchone()
        return bool(row and row["stopping"])


def open_queue(xpt_dir: Path) -> QueueDB:
    """The queue database of a project (created on first use)."""
    return QueueDB(db_path(xpt_dir))


@contextlib.contextmanager
def queue_session(xpt_dir: Path) -> Iterator[QueueDB]:
    """The queue database for one short step, closed after it.

    A process that forks must hold no SQLite connection at the fork: the child would
    inherit SQLite's in-process lock bookkeeping without the locks themselves, and once
    the parent died another process could take the database over and drop the WAL
    holding the child's last writes.
    """
    db = open_queue(xpt_dir)
    try:
        yield db
    finally:
        db.close()


def has_remote_entries(xpt_dir: Path) -> bool:
    """True if any entry belongs to the distributed backend (cheap: one query)."""
    if not db_path(xpt_dir).exists():
        return False
    db = open_queue(xpt_dir)
    try:
        rows = db.conn.execute("SELECT options FROM entries").fetchall()
    finally:
        db.close()
    return any(json.loads(r["options"] or "{}").get("backend") == "celery" for r in rows)


@dataclass(frozen=True)
class QueueState:
    """Every entry (reaped: a dead run reads failed) and the number of live local workers."""

    entries: list[Entry]
    workers: int


def read_state(xpt_dir: Path) -> QueueState:
    """The queue as `queue status` and the page show it."""
    db = open_queue(xpt_dir)
    try:
        return QueueState(db.entries(), len(db.workers()))
    finally:
        db.close()


def log_tail(xpt_dir: Path, entry_id: int, size: int) -> str:
    """The last `size` bytes of an entry's log as text ('' when there is none)."""
    try:
        with open(log_path(xpt_dir, entry_id), "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(0, end - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def status_rows(xpt_dir: Path) -> tuple[list[dict[str, Any]], int]:
    """`queue status --json` rows and the number of live local workers.

    A running local entry also shows its devices and its latest step or metric
    (progress.py, read from its workspace).
    """
    state = read_state(xpt_dir)
    rows = []
    for e in state.entries:
        row: dict[str, Any] = {
            "id": e.snapshot[:7],
            "name": e.label,
            "created": time.strftime("%b %d, %Y %H:%M", time.localtime(e.created)),
            "status": e.state.value.capitalize(),
            "error": e.error,
            "devices": list(e.devices),
        }
        if e.state == State.RUNNING:
            row["progress"] = _progress(xpt_dir, e)
        rows.append(row)
    return rows, state.workers


def _progress(xpt_dir: Path, entry: Entry) -> dict[str, Any] | None:
    if entry.options.get("backend") is not None:
        return None  # runs on another machine: no workspace here
    from xpt.experiments.progress import latest

    return latest(workspace_path(xpt_dir, entry.id))


# --- the options column ---------------------------------------------------------------

_REPRO_FIELDS = [
    f.name
    for f in dataclasses.fields(ReproOptions)
    if f.name not in ("env", "checkpoint_hook", "allow_checkpoints")
]


def repro_to_dict(options: ReproOptions) -> dict[str, Any]:
    """`options["repro"]` of an entry: what a worker needs to rerun it later (JSON-safe)."""
    repro = {name: getattr(options, name) for name in _REPRO_FIELDS}
    repro["targets"] = list(options.targets)
    return repro


def repro_from_dict(data: dict[str, Any]) -> ReproOptions:
    values = dict(data.get("repro") or {})
    values["targets"] = tuple(values.get("targets") or ())
    return ReproOptions(**{k: v for k, v in values.items() if k in _REPRO_FIELDS})
