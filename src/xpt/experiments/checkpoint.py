"""Checkpoint experiments: one commit per checkpoint signal on the experiment's ref.

`CheckpointRecorder` is the hook repro calls on each signal (after the stage's outputs
are cached and dvc.lock updated): it commits the workspace with the previous
checkpoint (or the baseline) as parent, moves the experiment ref, and remembers the
tip in `EXEC_CHECKPOINT`/`EXEC_APPLY` so that a later `exp run` (even after a kill)
resumes from it. `--rev` picks the checkpoint to continue from (`ResumeFrom`), in the
workspace or for a queued run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xpt.errors import ExperimentError
from xpt.experiments.names import default_name, resolve
from xpt.experiments.snapshot import cached_outputs, pipeline_files, plan_snapshot, project_prefix
from xpt.pipeline.lockfile import experiment_hash, read_lock
from xpt.pipeline.lockformat import LockEntry
from xpt.pipeline.model import Stage
from xpt.repro.workspace import Workspace, load_graph
from xpt.scm.exprefs import EXEC_APPLY, EXEC_CHECKPOINT, ExpRef, list_experiments
from xpt.scm.git import Git
from xpt.utils.fsutil import remove


def resume_point(git: Git, baseline: str) -> tuple[ExpRef, str] | None:
    """The checkpoint experiment this workspace holds (EXEC_CHECKPOINT == EXEC_APPLY)."""
    tip = git.get_ref(EXEC_CHECKPOINT)
    if tip is None or git.get_ref(EXEC_APPLY) != tip:
        return None
    for ref, sha in list_experiments(git, baseline):
        if sha == tip:
            return ref, sha
    return None


@dataclass(frozen=True)
class ResumeFrom:
    """A checkpoint to continue from: the experiment holding it and its commit."""

    ref: ExpRef
    sha: str
    tip: bool
    """The experiment's head: new checkpoints extend its ref; else a new experiment forks."""


def resolve_checkpoint(git: Git, rev: str, baseline: str) -> ResumeFrom:
    """`--rev`: an experiment name/ref (its head) or a checkpoint commit of `baseline`."""
    ref = resolve(git, rev, baseline=baseline)
    tip = git.get_ref(ref.ref)
    sha = tip if rev.strip() in (ref.name, ref.ref) else git.resolve(rev)
    if tip is None or sha is None:
        raise ExperimentError(f"unknown checkpoint '{rev}'", hint="see `xpt exp show`")
    if ref.baseline != baseline:
        raise ExperimentError(
            f"checkpoint {sha[:7]} belongs to another baseline ({ref.baseline[:7]})",
            hint=f"`git checkout {ref.baseline[:7]}` first",
        )
    return ResumeFrom(ref, sha, sha == tip)


def reset_checkpoint_outputs(ws: Workspace, stages: list[Stage]) -> None:
    """`-f`/`--reset`: delete checkpoint outputs so the experiment starts from scratch."""
    for stage in stages:
        for out in stage.outs:
            if out.checkpoint:
                remove(os.path.join(ws.root, stage.repo_path(out.path)))


def all_lock_entries(ws: Workspace) -> dict[str, LockEntry]:
    """Every stage's current lock entry (checkpoint commits hash all stages)."""
    graph = load_graph(ws)
    entries: dict[str, LockEntry] = {}
    seen: set[str] = set()
    for stage in graph.plan(None):
        if stage.lockfile in seen:
            continue
        seen.add(stage.lockfile)
        entries.update(read_lock(ws.read(stage.lockfile), stage.lockfile))
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

    @property
    def exp_name(self) -> str | None:
        """The name the experiment will have (known before the first checkpoint)."""
        return self.ref.name if self.ref is not None else self.name

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


def resumed_recorder(
    ws: Workspace,
    git: Git,
    baseline: str,
    resume: ResumeFrom,
    *,
    name: str | None,
    message: str | None,
    ref_git: Git | None = None,
) -> CheckpointRecorder:
    """Recorder continuing `resume`: on its ref at the head, as a new experiment otherwise."""
    if resume.tip:
        print(f"Existing checkpoint experiment '{resume.ref.name}' will be resumed", flush=True)
        return CheckpointRecorder(
            ws, git, baseline, parent=resume.sha, ref=resume.ref, message=message, ref_git=ref_git
        )
    print(
        f"Resuming from checkpoint {resume.sha[:7]} of '{resume.ref.name}' as a new experiment",
        flush=True,
    )
    return CheckpointRecorder(
        ws, git, baseline, parent=resume.sha, name=name, message=message, ref_git=ref_git
    )
