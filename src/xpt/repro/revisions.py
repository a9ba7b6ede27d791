"""Which revisions a data command covers (`-a`, `-T`, `-A`, `--all-experiments`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xpt.pipeline.model import Reader
from xpt.pipeline.parse import workspace_reader
from xpt.project import Project
from xpt.scm.exprefs import exps_namespace_tips

if TYPE_CHECKING:  # a workspace-only push/pull never loads pygit2
    from xpt.scm.git import Git


def revision_readers(
    project: Project,
    git: Git | None,
    *,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    all_experiments: bool = False,
    workspace: bool = True,
) -> list[Reader]:
    """Readers for the workspace plus the selected git revisions."""
    readers: list[Reader] = [workspace_reader(project.root)] if workspace else []
    if git is None:
        return readers
    shas: set[str] = set()
    if all_branches:
        shas.update(git.branches().values())
    if all_tags:
        shas.update(git.tags().values())
    if all_commits:
        shas.update(git.all_commits())
    if all_experiments:
        shas.update(exps_namespace_tips(git))
    readers.extend(git.reader(sha) for sha in sorted(shas))
    return readers
