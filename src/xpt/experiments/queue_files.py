"""Where the local queue keeps its files in `.dvc/tmp/xpt/`: the database, the logs and the
isolated workspaces.

Names only, with no imports beyond `os` and `pathlib`: `exp show` and `xpt ui` ask whether
a queue exists before loading `queue_db.py` (and sqlite3), which reads and writes the rows.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "queue.db"


def db_path(xpt_dir: Path) -> Path:
    """The queue database; SQLite keeps `-wal` and `-journal` files beside it."""
    return xpt_dir / DB_NAME


def db_files(xpt_dir: Path) -> list[str]:
    """The database and the files SQLite keeps beside it (what a memo of the queue watches)."""
    path = str(db_path(xpt_dir))
    return [path + suffix for suffix in ("", "-wal", "-journal")]


def has_queue(xpt_dir: Path) -> bool:
    """True once a queue database exists."""
    return db_path(xpt_dir).exists()


def logs_dir(xpt_dir: Path) -> Path:
    """The queue's logs: one per entry, and the detached workers' own."""
    return xpt_dir / "logs"


def workspaces_dir(xpt_dir: Path) -> Path:
    """The isolated workspaces of running entries."""
    return xpt_dir / "ws"


def log_path(xpt_dir: Path, entry_id: int) -> Path:
    """Where an entry's output is captured."""
    return logs_dir(xpt_dir) / f"{entry_id}.log"


def workspace_path(xpt_dir: Path, entry_id: int) -> Path:
    """The isolated workspace of a running entry."""
    return workspaces_dir(xpt_dir) / str(entry_id)


def ensure_dirs(xpt_dir: Path) -> None:
    for folder in (logs_dir(xpt_dir), workspaces_dir(xpt_dir)):
        os.makedirs(folder, exist_ok=True)
