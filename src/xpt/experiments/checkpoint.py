"""Checkpoint experiments: one commit per checkpoint signal on the experiment's ref.

`CheckpointRecorder` is the hook repro calls on each signal (after the stage's outputs
are cached and dvc.lock updated): it commits the workspace with the previous
checkpoint (or the baseline) as parent, moves the experiment ref, and remembers the
tip in `EXEC_CHECKPOINT`/`EXEC_APPLY` so that a later `exp run` (even after a kill)
resumes from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from xpt.experiments.names import default_name
from xpt.experiments.refs import EXEC_APPLY, EXEC_CHECKPOINT, ExpRef, list_experiments
from xpt.experiments.snapshot import cached_outputs, pipeline_files, plan_snapshot, project_prefix
from xpt.pipeline.lockfile import experiment_hash, parse_lock
from xpt.repro.workspace import Workspace, load_graph
from xpt.scm.git import Git


def resume_point(git: Git, baseline: str) -> tuple[ExpRef, str] | None:
    """The checkpoint experiment this workspace holds (EXEC_CHECKPOINT == EXEC_APPLY)."""
    tip = git.get_ref(EXEC_CHECKPOINT)
    if tip is None or git.get_ref(EXEC_APPLY) != tip:
        return None
    for ref, sha in list_experiments(git, baseline):
        if sha == tip:
            return ref, sha
    return None


def all_lock_entries(ws: Workspace) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every stage's current lock entry (checkpoint commits hash all stages)."""
    graph = load_graph(ws)
    entries: dict[str, dict] = {}  # type: ignore[type-arg]
    seen: set[str] = set()
    for stage in graph.plan(None):
        if stage.lockfile in seen:
            continue
        seen.add(stage.lockfile)
        entries.update(parse_lock(ws.read(stage.lockfile), stage.lockfile))
    return entries


@dataclass
class CheckpointRecorder:
    """Appends checkpoint commits to one experiment ref."""

    ws: Workspace
    git: Git
    baseline: str
    parent: str
    name: str | None = None
    ref: ExpRef | None = None
    message: str | None = None
    ref_git: Git | None = None
    count: int = 0

    def __call__(self) -> str:
        entries = all_lock_entries(self.ws)
        exp_hash = experiment_hash(entries)
        if self.ref is None:
            self.ref = ExpRef(self.baseline, self.name or default_name(exp_hash))
        graph = load_graph(self.ws)
        prefix = project_prefix(self.git, str(self.ws.root))
        plan = plan_snapshot(self.git, prefix, pipeline_files(graph), cached_outputs(graph))
        sha = self.git.snapshot_commit(
            self.parent,
            include_untracked=plan.include,
            message=self.message or f"dvc: commit experiment {exp_hash}",
        )
        refs = self.ref_git or self.git
        refs.set_ref(self.ref.ref, sha, message="xpt: checkpoint")
        if self.ref_git is None:
            self.git.set_ref(EXEC_CHECKPOINT, sha, message="xpt: checkpoint")
            self.git.set_ref(EXEC_APPLY, sha, message="xpt: checkpoint")
        self.parent = sha
        self.count += 1
        print(f"Checkpoint experiment iteration '{sha[:7]}'.", flush=True)
        return sha
