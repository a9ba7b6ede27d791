"""What the `xpt ui` page reads: the `exp show` rows, live metrics and the queue panel.

The rows come from `experiments/show.py:show` (the code behind `exp show --json`), over
every baseline that has experiments or queue entries. They are recomputed only when a
cheap fingerprint moves: the refs, the queue database's rows, the workspace files the
last pass read, and the metrics of running queue workspaces (read again on every poll,
so a running experiment's step and metrics reach the page without any commit).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xpt.cache.odb import ODB
from xpt.experiments.collect import collect_data
from xpt.experiments.queue_files import has_queue
from xpt.experiments.queue_show import queue_entries
from xpt.experiments.show import ShowOptions, experiments_by_baseline, show
from xpt.experiments.show_rows import ExpRange, ExpState
from xpt.pipeline.parse import find_dvcfiles, workspace_reader
from xpt.project import Project
from xpt.scm.git import Git
from xpt.utils.dvcnames import DVCFILE

LOG_TAIL_BYTES = 4096
SLOW_COMPUTE = 0.2
"""Seconds: a recomputation slower than this waits as long again before the next one."""


class _ReadLog:
    """A workspace reader that stats each file just before reading it (the stats join
    the fingerprint: taken before the read, a change during it moves them again)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._read = workspace_reader(root)
        self.stats: dict[str, tuple[int, int, int] | None] = {}

    def __call__(self, path: str) -> bytes | None:
        self.stats.setdefault(path, _stat_key(self._root / path))
        return self._read(path)


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _queue_rows(project: Project) -> list[tuple[Any, ...]]:
    """(id, state, pid, result) of every queue entry; [] without a queue database."""
    if not has_queue(project.xpt_dir):
        return []
    from xpt.experiments.queue_db import open_queue

    db = open_queue(project.xpt_dir)
    try:
        return [(e.id, e.state.value, e.pid, e.result_sha) for e in db.entries()]
    finally:
        db.close()


def _running_root(exp: ExpRange) -> Path | None:
    """The workspace folder of a running queue entry; None for any other experiment."""
    executor = exp.executor
    if executor is None or executor.state != "running" or not exp.revs:
        return None
    root = executor.local.root if executor.local is not None else None
    return Path(root) if root else None


NO_LIVE = "0" * 8


@dataclass
class Snapshot:
    """One computed page state: `rows` are the `exp show` rows (`to_json()`: the page's).

    `base` tags the rows as computed from the repository, `live` holds the data of the
    running entries read from their workspaces since (JSON, by revision), and `rows` show
    it; `version` = base + a tag of live.
    """

    base: str
    rows: list[ExpState]
    fingerprint: tuple[Any, ...] = ()
    workspace_paths: tuple[str, ...] = field(default_factory=tuple)
    live: dict[str, Any] = field(default_factory=dict)
    live_tag: str = NO_LIVE

    @property
    def version(self) -> str:
        return self.base + self.live_tag


class ExperimentsView:
    """The experiments of one project, recomputed when the repository changes."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._snapshot: Snapshot | None = None
        self._next = 0.0
        """Monotonic time before which the rows are not recomputed again (a big project
        spends at most half its time recomputing while a workspace run changes files)."""

    def _repo_state(self, git: Git) -> tuple[Any, ...]:
        """What the rows depend on besides the workspace files."""
        refs = git.list_refs("refs/")
        return (
            git.head_sha(),
            git.head_branch(),
            tuple(sorted(refs.items())),
            tuple(_queue_rows(self.project)),
            _stat_key(self.project.root),
        )

    def _fingerprint(self, git: Git, workspace_paths: tuple[str, ...]) -> tuple[Any, ...]:
        root = self.project.root
        return (*self._repo_state(git), tuple(_stat_key(root / p) for p in workspace_paths))

    def baselines(self, git: Git, extras: dict[str, Any]) -> tuple[str, ...]:
        """HEAD, then every other commit that has experiments or queue entries."""
        head = git.head_sha()
        found = [head] if head else []
        for sha in [*experiments_by_baseline(git), *extras]:
            if sha not in found and git.resolve(sha) is not None:
                found.append(sha)
        return tuple(found)

    def _compute(self, git: Git) -> tuple[list[ExpState], tuple[Any, ...], tuple[str, ...]]:
        """The rows, the fingerprint they are at least as new as, the workspace files read."""
        project = self.project
        state = self._repo_state(git)  # taken first: whatever changes later shows next time
        extras = queue_entries(project, git)
        reads = _ReadLog(project.root)
        rows = show(
            project,
            ShowOptions(revs=self.baselines(git, extras)),
            extra_entries=lambda _git: extras,
            workspace_read=reads,
        )
        paths = tuple(sorted(reads.stats))
        return rows, (*state, tuple(reads.stats[p] for p in paths)), paths

    def snapshot(self) -> Snapshot:
        """The current rows, recomputed only if the repository moved since the last call."""
        git = Git(self.project.root)
        old = self._snapshot
        paths = old.workspace_paths if old else ()
        fingerprint = self._fingerprint(git, paths)
        now = time.monotonic()
        if old is None or (fingerprint != old.fingerprint and now >= self._next):
            rows, fingerprint, paths = self._compute(git)
            took = time.monotonic() - now
            self._next = now + 2 * took if took > SLOW_COMPUTE else 0.0
            digest = hashlib.sha1(repr(fingerprint).encode()).hexdigest()
            old = Snapshot(digest[:16], rows, fingerprint, paths)
            self._snapshot = old
        old.rows, live = self._live(old.rows)
        if live:
            text = json.dumps(live, sort_keys=True, default=str)
            old.live = live
            old.live_tag = hashlib.sha1(text.encode()).hexdigest()[:8]
        return old

    def _live(self, rows: list[ExpState]) -> tuple[list[ExpState], dict[str, Any]]:
        """`rows` with the current metrics of running queue workspaces, and the data
        overlaid, by revision (JSON)."""
        if not any(_running_root(e) for row in rows for e in row.experiments or ()):
            return rows, {}
        dvcfiles = find_dvcfiles(self.project.root) or [DVCFILE]
        odb = ODB(self.project.cache_dir)
        live: dict[str, Any] = {}

        def overlay(exp: ExpRange) -> ExpRange:
            root = _running_root(exp)
            rev = exp.revs[0] if root is not None else None
            if root is None or rev is None or rev.data is None:
                return exp
            if not root.is_dir():  # not set up yet: the snapshot's metrics would mislead
                data = replace(rev.data, metrics={})
            else:
                now, _error = collect_data(workspace_reader(root), rev.rev, None, dvcfiles, odb)
                metrics = {p: m for p, m in now.metrics.items() if "data" in m}
                data = replace(rev.data, metrics=metrics, live=True)
                live[rev.rev] = data.to_json()
            return replace(exp, revs=(replace(rev, data=data), *exp.revs[1:]))

        overlaid = [
            replace(row, experiments=tuple(overlay(e) for e in row.experiments))
            if row.experiments
            else row
            for row in rows
        ]
        return overlaid, live


def find_revision(rows: list[ExpState], name: str) -> ExpState | None:
    """The row (baseline, experiment or checkpoint) called `name` or with sha `name`."""
    for row in rows:
        if name in (row.name, row.rev):
            return row
        for exp in row.experiments or ():
            for rev in exp.revs:
                if name in (exp.name, rev.name, rev.rev):
                    return rev
    return None


def queue_panel(project: Project) -> dict[str, Any]:
    """Every queue entry with its state and the tail of its log, plus the live workers."""
    if not has_queue(project.xpt_dir):
        return {"entries": [], "workers": 0}
    from xpt.experiments.queue_db import log_tail, read_state

    state = read_state(project.xpt_dir)
    out = []
    for e in state.entries:
        out.append(
            {
                "id": e.id,
                "name": e.label,
                "state": e.state.value,
                "snapshot": e.snapshot,
                "baseline": e.baseline,
                "created": e.created,
                "started": e.started,
                "finished": e.finished,
                "returncode": e.returncode,
                "error": e.error,
                "log_tail": log_tail(project.xpt_dir, e.id, LOG_TAIL_BYTES),
            }
        )
    return {"entries": out, "workers": state.workers}


def check_rev(rows: list[ExpState], name: str) -> None:
    """Raise a 404-worthy error for a name that is no row of the page."""
    if not name or find_revision(rows, name) is None:
        from xpt.errors import UnknownExperiment

        raise UnknownExperiment(f"unknown experiment or revision '{name}'")
