"""Rebuild queue.db rows from git after the database was lost (`QueueDB._recover`).

This module reads git and the logs; `queue_db.py` stays the only writer of the rows.

An entry's snapshot commit stays under `refs/xpt/queue/<id>` until the entry is removed,
and its message carries the entry's name, baseline and options (`snapshot_message`);
its log (`logs/<id>.log`) tells whether it ran and how it ended. That is enough to list,
run, show and remove every entry; start and finish times are lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from xpt.errors import ScmError
from xpt.scm.exprefs import XPT_QUEUE_PREFIX, ExpRef

TITLE = "xpt: queued experiment"
TRAILER = "xpt-queue-entry: "
RAN = "Ran experiment(s): "
"""The line a queue child logs once its experiment is recorded (local_worker.py)."""
LOST = "its outcome was lost with the queue database"
QUEUED, FAILED = "queued", "failed"


def snapshot_message(name: str | None, baseline: str, options: dict[str, Any]) -> str:
    """The message of a queued snapshot commit: what a rebuild needs to restore its row."""
    data = json.dumps({"baseline": baseline, "options": options}, sort_keys=True)
    return f"{TITLE} {name or ''}".rstrip() + f"\n\n{TRAILER}{data}\n"


def _from_message(message: str) -> tuple[str | None, str | None, dict[str, Any]]:
    """(name, baseline, options) from a snapshot message (older ones carry the name only)."""
    lines = message.splitlines()
    title = lines[0] if lines else ""
    name = title[len(TITLE) :].strip() or None if title.startswith(TITLE) else None
    for line in lines:
        if line.startswith(TRAILER):
            try:
                data = json.loads(line[len(TRAILER) :])
            except ValueError:
                break
            if isinstance(data, dict) and isinstance(data.get("options"), dict):
                baseline = data.get("baseline")
                return name, baseline if isinstance(baseline, str) else None, data["options"]
    return name, None, {}


def _outcome(log: Path) -> tuple[str, str | None, str | None]:
    """(state, result name, error) as the entry's log tells it."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return QUEUED, None, None
    except OSError:
        return FAILED, None, LOST
    lines = text.splitlines()
    ran = [line[len(RAN) :].strip() for line in lines if line.startswith(RAN)]
    if ran:
        return "success", ran[-1], None
    errors = [line[len("ERROR: ") :] for line in lines if line.startswith("ERROR: ")]
    return FAILED, None, errors[-1] if errors else LOST


def rows(xpt_dir: Path, log_of: Callable[[int], Path]) -> Iterator[dict[str, Any]]:
    """One row (the fields of `queue_db.Entry`, `state` as text) per `refs/xpt/queue/<id>`."""
    from xpt.scm.git import Git

    try:
        git = Git(xpt_dir.parents[2])  # <root>/.dvc/tmp/xpt
        refs = git.list_refs(XPT_QUEUE_PREFIX)
    except ScmError:
        return
    for ref, sha in refs.items():
        tail = ref[len(XPT_QUEUE_PREFIX) :]
        if not tail.isdigit():
            continue
        try:
            info = git.commit_info(sha)
        except ScmError:
            continue
        name, baseline, options = _from_message(info.message)
        baseline = baseline or (info.parents[0] if info.parents else sha)
        state, result_name, error = _outcome(log_of(int(tail)))
        result_sha = git.get_ref(ExpRef(baseline, result_name).ref) if result_name else None
        yield {
            "id": int(tail),
            "name": name,
            "baseline": baseline,
            "snapshot": sha,
            "state": state,
            "created": float(info.time),
            "finished": None if state == QUEUED else float(info.time),
            "result_sha": result_sha,
            "result_name": result_name,
            "error": error,
            "options": options,
        }
