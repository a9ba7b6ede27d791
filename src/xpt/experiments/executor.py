"""Run one queued experiment in its own isolated workspace (`.dvc/tmp/xpt/ws/<id>/`).

The workspace is a tiny git repository sharing the main repository's object store,
checked out at the queued snapshot; its `.dvc/config.local` points at the main
cache, so cached data is linked (reflink/hardlink/symlink), never copied, and the
setup costs the same for 2 GB as for 2 KB. The result is recorded as an ordinary
`refs/exps/...` ref in the main repository; the workspace is then deleted.
A queued checkpoint experiment starts over (DVC 2 implies `--reset`) unless it was
queued with `--rev`: then it continues that checkpoint (see `queue.resume_options`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from xpt.cache.state import StateDB
from xpt.config import config_path, read_config_file, write_config_file
from xpt.errors import ExperimentError
from xpt.experiments.checkpoint import (
    CheckpointRecorder,
    ResumeFrom,
    reset_checkpoint_outputs,
    resumed_recorder,
)
from xpt.experiments.queue_db import Entry, repro_from_dict, workspace_path
from xpt.experiments.run import exp_env, record_experiment
from xpt.pipeline.model import Stage
from xpt.project import Project
from xpt.repro.checkout import checkout, missing_data_error, missing_data_sources
from xpt.repro.reproduce import plan, reproduce
from xpt.repro.workspace import Workspace, load_graph, open_workspace
from xpt.scm.exprefs import ExpRef
from xpt.scm.git import Git
from xpt.utils.fsutil import remove

ISOLATED_LINK_TYPES = "reflink,hardlink,symlink,copy"


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one isolated run."""

    ref: ExpRef
    sha: str


def _configure(main: Project, ws_root: Path) -> None:
    """config.local of the isolated workspace: the parent's local config + shared cache."""
    sections = read_config_file(config_path(main.dvc_dir, local=True))
    cache = sections.setdefault("cache", {})
    cache["dir"] = str(main.cache_dir)
    cache.setdefault("type", ISOLATED_LINK_TYPES)
    dvc_dir = Project(ws_root).dvc_dir
    dvc_dir.mkdir(exist_ok=True)
    write_config_file(config_path(dvc_dir, local=True), sections)


def _copy_paths(main: Project, ws_root: Path, paths: list[str]) -> None:
    for rel in paths:
        src = main.root / rel
        dst = ws_root / rel
        if not src.exists():
            raise ExperimentError(
                f"unable to copy '{rel}': it does not exist", hint="check `-C` paths"
            )
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True)
        else:
            shutil.copy2(src, dst)


def _resume_from(main_git: Git, entry: Entry) -> ResumeFrom | None:
    """The checkpoint a `--rev` entry continues; a head that moved since is forked instead."""
    resume = entry.options.get("resume")
    if not resume:
        return None
    ref = ExpRef.parse(resume["ref"])
    assert ref is not None
    tip = bool(resume.get("tip"))
    if tip and main_git.get_ref(ref.ref) != resume["sha"]:
        print(f"Experiment '{ref.name}' moved on since this run was queued", flush=True)
        tip = False
    return ResumeFrom(ref, resume["sha"], tip)


def _checkpoint_recorder(
    ws: Workspace, ws_git: Git, main_git: Git, entry: Entry, stages: list[Stage]
) -> CheckpointRecorder:
    message = entry.options.get("message")
    resume = _resume_from(main_git, entry)
    if resume is None:
        reset_checkpoint_outputs(ws, stages)
        return CheckpointRecorder(
            ws,
            ws_git,
            entry.baseline,
            parent=entry.baseline,
            name=entry.name,
            message=message,
            ref_git=main_git,
        )
    name = None if resume.ref.name == entry.name else entry.name  # a fork needs its own name
    return resumed_recorder(
        ws, ws_git, entry.baseline, resume, name=name, message=message, ref_git=main_git
    )


def run_isolated(
    main: Project, entry: Entry, on_recorded: Callable[[ExecResult], None] | None = None
) -> ExecResult:
    """Run `entry` in a fresh isolated workspace and record the experiment.

    `on_recorded` is called as soon as the experiment's ref is set, before the clean-up.
    """
    main_git = Git(main.root)
    ws_root = workspace_path(main.xpt_dir, entry.id)
    remove(ws_root)
    try:
        ws_git = main_git.make_executor_repo(ws_root, entry.snapshot)
        _configure(main, ws_root)
        _copy_paths(main, ws_root, list(entry.options.get("copy_paths") or []))
        os.environ["XPT_STATE_DB"] = str(main.state_db)
        project = Project(ws_root)
        with open_workspace(project, ws_git) as ws:
            done = checkout(ws, None, allow_missing=True, unsaved="replace")
            if done.missing:
                gone = missing_data_sources(ws, load_graph(ws))
                if gone:  # nothing can produce it: this run fails alone, saying what to fetch
                    raise missing_data_error(gone)
            options = replace(repro_from_dict(entry.options), allow_checkpoints=True)
            _graph, stages = plan(ws, options)
            recorder = None
            # DVC 3 gives the user's repository as DVC_ROOT; checkpoint runs (DVC 2) get
            # this workspace, where make_checkpoint() signals the monitor.
            root, name = main.root, entry.name
            if any(s.is_checkpoint for s in stages):
                recorder = _checkpoint_recorder(ws, ws_git, main_git, entry, stages)
                options = replace(options, checkpoint_hook=recorder)
                root, name = ws_root, recorder.exp_name
            options = replace(options, env=exp_env(entry.baseline, name, str(root)))
            result = reproduce(ws, options)
            if result.failed and not options.ignore_errors:
                raise ExperimentError(f"stage '{result.failed[0].stage.addressing}' failed")
            if recorder is not None:
                sha = recorder()
                assert recorder.ref is not None
                outcome = ExecResult(recorder.ref, sha)
            else:
                ref, sha, _left = record_experiment(
                    ws,
                    ws_git,
                    entry.baseline,
                    reproduced=result.reproduced,
                    name=entry.name,
                    message=entry.options.get("message"),
                    force=options.force,
                    ref_git=main_git,
                )
                outcome = ExecResult(ref, sha)
            if on_recorded is not None:
                on_recorded(outcome)
        return outcome
    finally:
        remove(ws_root)
        with StateDB(main.state_db) as state:  # its memo rows would never be used again
            state.forget_under(str(ws_root))
