"""Experiments queued by real DVC 3 (`dvc exp run --queue`), read-only (docs/dvc-formats.md §8.6, docs/dvc-formats.md §8.7).

DVC keeps each queued experiment twice: a stash commit on the reflog of
`refs/exps/celery/stash` (message `dvc-exp:<head>:<baseline>:<name>`, tree = the
experiment's files) and a kombu message in `.dvc/tmp/exps/celery/broker/in/` naming that
commit. A DVC worker moves the message to `broker/processed/`, then drops the reflog
entry; DVC's own `exp show` lists only the pending messages. So an entry counts as queued
while both exist: one without a pending message (taken by a worker, or `.dvc/tmp` wiped)
is not listed, as DVC does not list it either. xpt never runs, moves or removes these
entries: `dvc queue start` and `dvc queue remove` own them.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from xpt.scm.exprefs import CELERY_STASH
from xpt.scm.git import Git

RUN_EXP_TASK = "dvc.repo.experiments.queue.tasks.run_exp"
_REFLOG_MESSAGE = re.compile(
    r"commit: dvc-exp:(?P<head>[0-9a-f]+):(?P<baseline>[0-9a-f]+)"
    r":(?P<name>[^~^:\\?\[\]*]*)(?::(?P<branch>.+))?$"
)


@dataclass(frozen=True)
class DvcQueued:
    """One experiment waiting in DVC's celery queue."""

    stash_rev: str
    head_rev: str
    baseline_rev: str
    name: str | None
    branch: str | None = None


def parse_reflog_message(stash_rev: str, message: str) -> DvcQueued | None:
    """The queue entry a reflog message of the celery stash describes; None if foreign."""
    match = _REFLOG_MESSAGE.match(message.strip())
    if match is None:
        return None
    return DvcQueued(
        stash_rev=stash_rev,
        head_rev=match["head"],
        baseline_rev=match["baseline"],
        name=match["name"] or None,
        branch=match["branch"],
    )


def broker_inbox(tmp_dir: Path) -> Path:
    """Where DVC's filesystem broker keeps messages no worker has taken yet."""
    return tmp_dir / "exps" / "celery" / "broker" / "in"


def message_stash_rev(path: Path) -> str | None:
    """The `stash_rev` a kombu `run_exp` message names; None if unreadable or another task."""
    try:
        msg = json.loads(path.read_bytes())
        if msg["headers"]["task"] != RUN_EXP_TASK:
            return None
        body = msg["body"]
        if msg.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs = json.loads(body)[:2]
        rev = (kwargs.get("entry_dict") or args[0])["stash_rev"]
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None  # a half-written or foreign file: DVC would not run it either
    return rev if isinstance(rev, str) else None


def pending_stash_revs(inbox: Path) -> set[str]:
    """Stash commits named by the `run_exp` messages waiting in `inbox`."""
    try:
        names = os.listdir(inbox)
    except OSError:
        return set()
    revs = (message_stash_rev(inbox / name) for name in names if name.endswith(".msg"))
    return {rev for rev in revs if rev}


def dvc_queued(git: Git, tmp_dir: Path) -> list[DvcQueued]:
    """DVC's queued experiments, newest first (one ref lookup when there are none)."""
    log = git.reflog(CELERY_STASH)
    if not log:
        return []
    pending = pending_stash_revs(broker_inbox(tmp_dir))
    found: dict[str, DvcQueued] = {}
    for sha, message in log:
        entry = parse_reflog_message(sha, message)
        if entry is not None and sha in pending:
            found.setdefault(sha, entry)
    return list(found.values())
