"""`exp run --queue` and the queue's read/remove operations.

Queueing snapshots the workspace (tracked changes + pipeline-owned untracked files +
the rendered -S overrides) into a commit kept under `refs/xpt/queue/<id>` and adds a
row to queue.db. Nothing in the workspace changes. Running is in local_worker.py.
With `--rev` the snapshot is instead the chosen checkpoint's tree (plus the overrides),
a child of that checkpoint, and the entry's options say where its checkpoints go.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpt.errors import ExperimentError, QueueError, UnknownExperiment
from xpt.experiments.checkpoint import ResumeFrom, resolve_checkpoint
from xpt.experiments.distributed.task_status import forget_remote, is_remote
from xpt.experiments.names import auto_name
from xpt.experiments.queue_db import Entry, State, open_queue, repro_to_dict
from xpt.experiments.queue_rebuild import snapshot_message
from xpt.experiments.run import (
    ExpRunRequest,
    check_name,
    check_param_paths,
    git_with_commit,
    prepare_overrides,
    refuse_rev_with_force,
)
from xpt.experiments.snapshot import cached_outputs, pipeline_files, plan_snapshot, project_prefix
from xpt.pipeline.graph import Graph
from xpt.pipeline.overrides import expand_sweeps, has_sweeps, render_overrides
from xpt.project import Project
from xpt.repro.checkout import missing_data_error, missing_data_sources
from xpt.repro.workspace import load_graph, open_workspace
from xpt.scm.git import Git, Reader
from xpt.utils.fsutil import remove

if TYPE_CHECKING:
    from xpt.experiments.manage import RemoveRequest


def options_to_dict(request: ExpRunRequest, copy_paths: tuple[str, ...]) -> dict[str, Any]:
    """What a worker needs to rerun the request later (JSON-safe)."""
    return {
        "repro": repro_to_dict(request.repro),
        "message": request.message,
        "copy_paths": list(copy_paths),
    }


def resume_options(resume: ResumeFrom, continues: bool) -> dict[str, Any]:
    """The `resume` option of a `--rev` entry (read back by the executor)."""
    return {"sha": resume.sha, "ref": resume.ref.ref, "tip": continues}


def _check_resume(graph: Graph, request: ExpRunRequest) -> None:
    if not any(stage.is_checkpoint for stage in graph.stages()):
        raise ExperimentError(
            "`--rev` resumes checkpoint experiments, but no stage has a checkpoint output",
            hint="mark the output with `checkpoint: true` in dvc.yaml",
        )
    refuse_rev_with_force(request)


def _resume_snapshot(
    project: Project, git: Git, sha: str, files: Mapping[str, bytes], message: str
) -> str:
    """A child of checkpoint `sha` with its tree plus `files` (repo-relative paths).

    Git builds trees from an index, so the overrides go through a throwaway executor
    repository checked out at the checkpoint (it writes into our object store).
    """
    if not files:
        return git.create_commit([sha], sha, message)
    project.xpt_dir.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="snapshot-", dir=project.xpt_dir)
    try:
        return git.make_executor_repo(Path(scratch), sha).snapshot_commit(
            sha, extra_files=files, message=message
        )
    finally:
        remove(scratch)


@dataclass(frozen=True)
class QueueResult:
    """Entries queued and untracked files the snapshots leave out."""

    entries: tuple[Entry, ...]
    left_out: tuple[str, ...]


def _entry_names(
    request: ExpRunRequest, count: int, resume: ResumeFrom | None
) -> tuple[list[str | None], bool]:
    """Names of the entries, and whether the one entry continues `resume`'s ref.

    Resuming an experiment's head appends to its ref (the name is that experiment's);
    a sweep or an older checkpoint forks new experiments.
    """
    if resume is not None and resume.tip and count == 1:
        return [resume.ref.name], True
    if request.name and count > 1:
        return [f"{request.name}-{i}" for i in range(1, count + 1)], False
    return [request.name] * count, False


def _reader(ws_read: Reader, git: Git, prefix: str, resume: ResumeFrom | None) -> Reader:
    """Where -S reads the params files: the workspace, or the checkpoint resumed."""
    if resume is None:
        return ws_read
    at_checkpoint = git.reader(resume.sha)

    def read(path: str) -> bytes | None:
        return at_checkpoint(prefix + path)

    return read


def enqueue(
    project: Project, request: ExpRunRequest, copy_paths: tuple[str, ...] = ()
) -> QueueResult:
    """Queue one experiment per sweep combination; all checks happen before any write."""
    git = git_with_commit(project)
    baseline = git.head_sha()
    assert baseline is not None
    overrides = prepare_overrides(project, git, request.set_params, queue=True)
    sets = expand_sweeps(overrides) if has_sweeps(overrides) else [overrides]
    resume = resolve_checkpoint(git, request.rev, baseline) if request.rev else None
    names, continues = _entry_names(request, len(sets), resume)
    db = open_queue(project.xpt_dir)
    try:
        busy = {e.name for e in db.entries((State.QUEUED, State.RUNNING)) if e.baseline == baseline}
        for i, name in enumerate(names):
            if name is None:  # named now, so `queue status` and `exp show` show it
                names[i] = name = auto_name(git, baseline, {n for n in (*busy, *names) if n})
            if not continues:
                check_name(git, baseline, name, request.repro.force)
            if name is not None and name in busy:
                raise QueueError(
                    f"an experiment named '{name}' is already queued for this baseline",
                    hint="choose another name with `-n`",
                )
        with open_workspace(project, git) as ws:
            graph = load_graph(ws)
            gone = missing_data_sources(ws, graph)
            if gone:
                raise missing_data_error(gone)
            if resume is not None:
                _check_resume(graph, request)
            prefix = project_prefix(git, str(project.root))
            plan = plan_snapshot(
                git, prefix, pipeline_files(graph), cached_outputs(graph), copy_paths
            )
            read = _reader(ws.read, git, prefix, resume)
            rendered = [render_overrides(read, s) if s else {} for s in sets]
            for files in rendered:
                check_param_paths(str(project.root), files)
        options = options_to_dict(request, copy_paths)
        if resume is not None:
            options["resume"] = resume_options(resume, continues)
        entries = []
        for name, files in zip(names, rendered, strict=True):
            message = snapshot_message(name, baseline, options)
            extra = {prefix + p: d for p, d in files.items()}
            if resume is None:
                sha = git.snapshot_commit(
                    baseline, include_untracked=plan.include, extra_files=extra, message=message
                )
            else:
                sha = _resume_snapshot(project, git, resume.sha, extra, message)
            entry = db.add(name=name, baseline=baseline, snapshot=sha, options=options)
            git.set_ref(entry.ref, sha, message="xpt: queue")
            entries.append(entry)
    finally:
        db.close()
    return QueueResult(tuple(entries), () if resume else plan.left_out)


def find_entries(db_entries: list[Entry], names: Iterable[str]) -> tuple[list[Entry], list[str]]:
    """Entries matching names (experiment name, label, snapshot sha prefix or id)."""
    found: list[Entry] = []
    unknown: list[str] = []
    for name in names:
        matches = [
            e
            for e in db_entries
            if name in (e.name, e.label, e.result_name, str(e.id))
            or (len(name) >= 4 and e.snapshot.startswith(name))
        ]
        if matches:
            found.extend(m for m in matches if m not in found)
        else:
            unknown.append(name)
    return found, unknown


def queue_names(project: Project) -> set[str]:
    """Names of queued entries (for `exp remove`)."""
    db = open_queue(project.xpt_dir)
    try:
        return {n for e in db.entries((State.QUEUED,)) for n in (e.name, e.label) if n}
    finally:
        db.close()


def remove_entries(
    project: Project, *, names: Iterable[str] = (), states: tuple[State, ...] = ()
) -> list[str]:
    """Drop entries by name or by state; running entries must be killed first."""
    git = Git(project.root)
    db = open_queue(project.xpt_dir)
    try:
        entries = db.entries()
        chosen, unknown = find_entries(entries, names)
        if unknown:
            raise UnknownExperiment(
                "unknown queue entries: " + ", ".join(f"'{n}'" for n in unknown),
                hint="see `xpt queue status`",
            )
        chosen.extend(e for e in entries if e.state in states and e not in chosen)
        running = [e.label for e in chosen if e.state == State.RUNNING]
        if running:
            raise QueueError(
                "cannot remove running experiments: " + ", ".join(running),
                hint="stop them first with `xpt queue kill`",
            )
        remote = [e for e in chosen if is_remote(e)]
        if remote:  # revoke their tasks, drop their snapshots from the git remote
            forget_remote(project, remote)
        for entry in chosen:
            git.delete_ref(entry.ref)
        db.delete([e.id for e in chosen])
        return [e.label for e in chosen]
    finally:
        db.close()


def queue_remove(project: Project, names: Iterable[str], all_queued: bool) -> list[str]:
    """`exp remove` hook: named queued entries, or all queued ones."""
    return remove_entries(project, names=names, states=(State.QUEUED,) if all_queued else ())


def remove_experiments(project: Project, request: RemoveRequest) -> list[str]:
    """`exp remove`: experiment refs, and queue entries named or selected by `--queue`."""
    from xpt.experiments.manage import remove

    return remove(
        project,
        request,
        queue_names=lambda: queue_names(project),
        queue_remove=lambda names, all_queued: queue_remove(project, names, all_queued),
    )


def queue_gc(project: Project, keep: set[str] | None) -> list[str]:
    """`exp gc` hook: drop queued entries whose baseline is not kept (all if keep is None)."""
    db = open_queue(project.xpt_dir)
    try:
        doomed = [
            e.label
            for e in db.entries((State.QUEUED, State.FAILED))
            if keep is None or e.baseline not in keep
        ]
        ids = [e for e in db.entries((State.QUEUED, State.FAILED)) if e.label in doomed]
    finally:
        db.close()
    if not ids:
        return []
    return remove_entries(project, names=[str(e.id) for e in ids])
