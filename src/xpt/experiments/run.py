"""`exp run` in the workspace: apply -S, reproduce, record a commit under refs/exps.

Order matters for "nothing changed on error": the name and every override are
validated, and the workspace lock is taken, before any file is modified. HEAD and
the branch never move: the experiment commit is built in memory from the workspace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from xpt.errors import ExperimentError, ExperimentExists, ParamsError, QueueError
from xpt.experiments.active import running_in_workspace
from xpt.experiments.checkpoint import (
    CheckpointRecorder,
    reset_checkpoint_outputs,
    resolve_checkpoint,
    resume_point,
    resumed_recorder,
)
from xpt.experiments.names import auto_name, default_name, validate_name
from xpt.experiments.snapshot import cached_outputs, pipeline_files, plan_snapshot, project_prefix
from xpt.pipeline.lockfile import experiment_hash
from xpt.pipeline.lockformat import LockEntry
from xpt.pipeline.model import Stage
from xpt.pipeline.overrides import Override, has_sweeps, parse_set_params, render_overrides
from xpt.project import Project
from xpt.repro.options import ReproOptions
from xpt.repro.reproduce import ReproResult, plan, reproduce
from xpt.repro.workspace import Workspace, load_graph, open_workspace
from xpt.scm.exprefs import ExpRef
from xpt.scm.git import Git
from xpt.utils.fsutil import atomic_write_bytes, resolve_inside
from xpt.utils.lock import file_lock


@dataclass(frozen=True)
class ExpRunRequest:
    """Everything `exp run` was asked to do (no argparse below the CLI)."""

    set_params: tuple[str, ...] = ()
    name: str | None = None
    message: str | None = None
    repro: ReproOptions = field(default_factory=ReproOptions)
    rev: str | None = None
    """Checkpoints: resume from this experiment or checkpoint commit."""
    reset: bool = False
    """Checkpoints: start over. Implies `repro.force`, as DVC 2's `--reset` is its `-f`."""
    queue: bool = False
    """Park the experiment(s) in the queue (`--queue`) instead of running in the workspace."""
    temp: bool = False
    """Run it at once in an isolated workspace, through the queue (`--temp`)."""
    run_all: bool = False
    """Run every queued experiment, `jobs` at a time (`--run-all`)."""
    jobs: int = 1
    gpus: str | None = None
    """`--run-all`: GPU devices to share out (`0,1`, `all`, `auto`); see gpus.py."""
    gpus_per_exp: int | None = None
    copy_paths: tuple[str, ...] = ()
    """Queued runs: untracked paths copied into the snapshot (`-C`)."""

    def __post_init__(self) -> None:
        if (self.gpus or self.gpus_per_exp) and not self.run_all:
            raise QueueError(
                "`--gpus` shares devices among queued experiments as they run",
                hint="pass it with `--run-all` (or to `xpt queue start`)",
            )
        if self.rev and self.run_all and not (self.queue or self.temp):
            raise QueueError(
                "`--rev` picks the checkpoint a new run starts from; `--run-all` runs queued ones",
                hint="queue it with `xpt exp run --queue --rev <exp>`, then `xpt exp run --run-all`",
            )
        if self.reset:
            object.__setattr__(self, "repro", replace(self.repro, force=True))
            refuse_rev_with_force(self)


def refuse_rev_with_force(request: ExpRunRequest) -> None:
    """`--rev` resumes a checkpoint and `-f`/`--reset` starts over: never both."""
    if request.rev is not None and request.repro.force:
        raise ExperimentError("`--rev` and `-f/--reset` cannot be combined", hint="use one of them")


@dataclass(frozen=True)
class ExpRunResult:
    """The recorded experiment (None when --dry) and per-stage outcomes."""

    ref: ExpRef | None
    sha: str | None
    repro: ReproResult
    left_out: tuple[str, ...] = ()


def git_with_commit(project: Project) -> Git:
    """The project's git repo, which must have at least one commit."""
    git = Git(project.root)
    if git.head_sha() is None:
        raise ExperimentError(
            "experiments need a git repository with at least one commit",
            hint="commit your project first: `git add -A && git commit -m init`",
        )
    return git


def check_name(git: Git, baseline: str, name: str | None, force: bool) -> None:
    """Refuse invalid names and clashes with this baseline's experiments (unless force)."""
    if name is None:
        return
    validate_name(git, name)
    ref = ExpRef(baseline, name)
    if git.get_ref(ref.ref) is not None and not force:
        raise ExperimentExists(
            f"experiment '{name}' already exists for baseline {baseline[:7]}",
            hint="choose another name with `-n`, or overwrite it with `-f`",
        )


def prepare_overrides(
    project: Project, git: Git, set_params: tuple[str, ...], *, queue: bool = False
) -> list[Override]:
    """Parse -S; sweeps are only for the queue."""
    overrides = parse_set_params(list(set_params))
    if has_sweeps(overrides) and not queue:
        raise ParamsError(
            "sweep overrides (`k=a,b`, `choice()`, `range()`) can't be used without `--queue`",
            hint="add `--queue`, then run them with `xpt exp run --run-all`",
        )
    return overrides


def compute_param_files(ws_read: Any, overrides: list[Override]) -> dict[str, bytes]:
    """New contents of each params file, computed before anything is written."""
    if not overrides:
        return {}
    return render_overrides(ws_read, overrides)


def check_param_paths(root: str, files: Mapping[str, bytes]) -> list[str]:
    """Absolute paths of rendered params files; UnsafePath if one would be written outside
    `root` (through a symlinked folder). A symlink leaf is fine: it is replaced, not followed."""
    return [resolve_inside(root, path, replace_leaf=True) for path in files]


def write_files(root: str, files: Mapping[str, bytes]) -> None:
    """Write rendered params files (each atomically)."""
    for full, data in zip(check_param_paths(root, files), files.values(), strict=True):
        atomic_write_bytes(full, data)


def record_experiment(
    ws: Workspace,
    git: Git,
    baseline: str,
    *,
    reproduced: Mapping[str, LockEntry],
    name: str | None,
    message: str | None,
    force: bool,
    include: tuple[str, ...] = (),
    ref_git: Git | None = None,
) -> tuple[ExpRef, str, tuple[str, ...]]:
    """Commit the workspace as an experiment of `baseline` and point its ref at it.

    `ref_git` is the repository whose refs receive the experiment (the main repo when
    `git` is an isolated queue workspace sharing its objects).
    """
    refs = ref_git or git
    exp_hash = experiment_hash(reproduced)
    graph = load_graph(ws)
    prefix = project_prefix(git, str(ws.root))
    plan = plan_snapshot(git, prefix, pipeline_files(graph), cached_outputs(graph), include)
    sha = git.snapshot_commit(
        baseline,
        include_untracked=plan.include,
        message=message or f"dvc: commit experiment {exp_hash}",
    )
    if name is None:
        name = default_name(exp_hash)
        existing = refs.get_ref(ExpRef(baseline, name).ref)
        if existing is not None and not _same_tree(git, existing, sha):
            salted = hashlib.sha256((exp_hash + sha).encode()).hexdigest()
            name = default_name(salted)
    ref = ExpRef(baseline, name)
    existing = refs.get_ref(ref.ref)
    if existing is not None and not force:
        if _same_tree(git, existing, sha):
            return ref, existing, plan.left_out
        raise ExperimentExists(
            f"experiment '{name}' already exists for baseline {baseline[:7]}",
            hint="rerun with `-f` to overwrite it",
        )
    refs.set_ref(
        ref.ref, sha, expected_old=existing if force else None, message=f"xpt: experiment {name}"
    )
    return ref, sha, plan.left_out


def _same_tree(git: Git, a: str, b: str) -> bool:
    return git.commit_info(a).tree == git.commit_info(b).tree


def _resume_from_rev(
    ws: Workspace, git: Git, baseline: str, request: ExpRunRequest
) -> CheckpointRecorder:
    """`--rev`: put that checkpoint in the workspace and continue from it.

    The tip of an experiment is continued on the same ref; an older checkpoint forks a
    new experiment whose first commit's parent is that checkpoint.
    """
    from xpt.experiments.apply import apply_in

    assert request.rev is not None
    resume = resolve_checkpoint(git, request.rev, baseline)
    apply_in(ws, git, resume.ref.name, resume.sha)
    return resumed_recorder(ws, git, baseline, resume, name=request.name, message=request.message)


def _checkpoint_recorder(
    ws: Workspace, git: Git, baseline: str, request: ExpRunRequest, stages: list[Stage]
) -> CheckpointRecorder:
    if request.rev is not None:
        refuse_rev_with_force(request)
        return _resume_from_rev(ws, git, baseline, request)
    resume = None if request.repro.force else resume_point(git, baseline)
    if resume is not None:
        ref, tip = resume
        print(f"Existing checkpoint experiment '{ref.name}' will be resumed", flush=True)
        return CheckpointRecorder(ws, git, baseline, parent=tip, ref=ref, message=request.message)
    if request.repro.force:
        reset_checkpoint_outputs(ws, stages)
    return CheckpointRecorder(
        ws, git, baseline, parent=baseline, name=request.name, message=request.message
    )


def exp_env(baseline: str, name: str | None, root: str) -> dict[str, str]:
    """What stage commands of an experiment see, as under DVC (dvclive reads these).

    DVC_ROOT is the user's repository, also for runs in a temporary workspace.
    """
    env = {"DVC_EXP_BASELINE_REV": baseline, "DVC_ROOT": root}
    if name:
        env["DVC_EXP_NAME"] = name
    return env


def run_workspace(project: Project, request: ExpRunRequest) -> ExpRunResult:
    """Run one experiment in the user's workspace and record it.

    The name is fixed before anything runs (an automatic `exp-XXXXX` if none was given),
    so the stages see it in DVC_EXP_NAME.
    """
    git = git_with_commit(project)
    baseline = git.head_sha()
    assert baseline is not None
    check_name(git, baseline, request.name, request.repro.force)
    overrides = prepare_overrides(project, git, request.set_params)
    with (
        file_lock(str(project.workspace_lock), "the workspace"),
        open_workspace(project, git) as ws,
    ):
        new_files = compute_param_files(ws.read, overrides)
        options = replace(request.repro, allow_checkpoints=True)
        _graph, stages = plan(ws, options)
        if options.dry:
            return ExpRunResult(None, None, reproduce(ws, options))
        recorder = None
        if request.rev is not None and not any(s.is_checkpoint for s in stages):
            raise ExperimentError(
                "`--rev` resumes checkpoint experiments, but no stage has a checkpoint output",
                hint="mark the output with `checkpoint: true` in dvc.yaml",
            )
        name = request.name
        if any(s.is_checkpoint for s in stages):
            recorder = _checkpoint_recorder(ws, git, baseline, request, stages)
            if recorder.exp_name is None:
                recorder.name = auto_name(git, baseline)
            name = recorder.exp_name
            options = replace(options, checkpoint_hook=recorder)
        elif name is None:
            name = auto_name(git, baseline)
        env = exp_env(baseline, name, str(project.root))
        options = replace(options, env={**request.repro.env, **env})
        write_files(str(project.root), new_files)
        index_before = git.index_state()
        try:
            with running_in_workspace(project, name or "", baseline):
                return _run_and_record(ws, git, baseline, request, options, recorder, name)
        finally:
            git.restore_index(index_before)


def _run_and_record(
    ws: Workspace,
    git: Git,
    baseline: str,
    request: ExpRunRequest,
    options: ReproOptions,
    recorder: CheckpointRecorder | None,
    name: str | None,
) -> ExpRunResult:
    """Reproduce and record the experiment (the index still holds what the stages staged)."""
    result = reproduce(ws, options)
    if result.failed and not options.ignore_errors:
        raise ExperimentError(
            f"experiment failed: stage '{result.failed[0].stage.addressing}' did not complete",
            hint="fix the stage and rerun `xpt exp run`",
        )
    if recorder is not None:
        sha = recorder()
        assert recorder.ref is not None
        return ExpRunResult(recorder.ref, sha, result)
    ref, sha, left = record_experiment(
        ws,
        git,
        baseline,
        reproduced=result.reproduced,
        name=name,
        message=request.message,
        force=request.repro.force,
    )
    return ExpRunResult(ref, sha, result, left)
