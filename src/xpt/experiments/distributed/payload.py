"""What one distributed task carries: plain JSON, never pickles.

A worker knows nothing of the submitting machine but this payload: the git remote's
URL, the snapshot to run (by ref and sha), the data remote, and the run options that
the local queue keeps in queue.db.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xpt.scm.exprefs import XPT_QUEUE_PREFIX

BACKEND = "celery"


def remote_snapshot_ref(snapshot: str) -> str:
    """Where a snapshot lives on the git remote: named by its sha, so that entries
    queued on different machines (with the same local queue ids) never collide."""
    return f"{XPT_QUEUE_PREFIX}{snapshot}"


def task_id_for(snapshot: str, entry_id: int) -> str:
    """A Celery task id that is unique per queue entry and stable (no uuid needed)."""
    return f"xpt-{snapshot[:16]}-{entry_id}"


@dataclass(frozen=True)
class DataRemote:
    """A data remote as the submitting machine resolved it (absolute URL)."""

    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "options": dict(self.options)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> DataRemote:
        return DataRemote(str(data["name"]), str(data["url"]), dict(data.get("options") or {}))


@dataclass(frozen=True)
class TaskPayload:
    """One experiment to run on some worker."""

    git_remote: str
    snapshot: str
    baseline: str
    name: str | None
    options: dict[str, Any]
    data_remote: DataRemote | None = None
    entry_id: int = 0

    @property
    def snapshot_ref(self) -> str:
        return remote_snapshot_ref(self.snapshot)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "git_remote": self.git_remote,
            "snapshot": self.snapshot,
            "baseline": self.baseline,
            "name": self.name,
            "options": self.options,
            "data_remote": self.data_remote.to_dict() if self.data_remote else None,
            "entry_id": self.entry_id,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TaskPayload:
        remote = data.get("data_remote")
        return TaskPayload(
            git_remote=str(data["git_remote"]),
            snapshot=str(data["snapshot"]),
            baseline=str(data["baseline"]),
            name=data.get("name"),
            options=dict(data.get("options") or {}),
            data_remote=DataRemote.from_dict(remote) if remote else None,
            entry_id=int(data.get("entry_id") or 0),
        )
