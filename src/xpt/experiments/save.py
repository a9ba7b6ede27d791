"""`exp save`: record the workspace as an experiment without running anything."""

from __future__ import annotations

from dataclasses import dataclass

from xpt.experiments.run import check_name, git_with_commit, record_experiment
from xpt.project import Project
from xpt.repro.stage_status import project_status
from xpt.repro.workspace import open_workspace
from xpt.scm.exprefs import ExpRef
from xpt.utils.lock import file_lock


@dataclass(frozen=True)
class SaveResult:
    """The saved experiment, stale stages (warned about) and untracked files left out."""

    ref: ExpRef
    sha: str
    stale: tuple[str, ...]
    left_out: tuple[str, ...]


def save(
    project: Project,
    *,
    name: str | None = None,
    force: bool = False,
    include: tuple[str, ...] = (),
    message: str | None = None,
) -> SaveResult:
    """Commit the workspace under refs/exps like `exp run` would, running nothing."""
    git = git_with_commit(project)
    baseline = git.head_sha()
    assert baseline is not None
    check_name(git, baseline, name, force)
    with (
        file_lock(str(project.workspace_lock), "the workspace"),
        open_workspace(project, git) as ws,
    ):
        stale = tuple(project_status(ws, None))
        ref, sha, left = record_experiment(
            ws,
            git,
            baseline,
            reproduced={},
            name=name,
            message=message,
            force=force,
            include=include,
        )
    return SaveResult(ref, sha, stale, left)
