"""The I/O context of a reproduction: project, hasher with its memo, object cache, git.

Opened once per command so the stat memo and link-type probe are shared by all stages.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpt.cache.hasher import Hasher
from xpt.cache.odb import ODB
from xpt.cache.state import StateDB
from xpt.errors import PipelineError, ScmError

if TYPE_CHECKING:
    from xpt.scm.git import Git
from xpt.pipeline.graph import Graph
from xpt.pipeline.model import Reader
from xpt.pipeline.parse import find_dvcfiles, load_pipelines, workspace_reader
from xpt.project import Project

DEFAULT_LINK_TYPES = ("reflink", "copy")


_UNSET: Any = object()


@dataclass
class Workspace:
    """Everything stage checks and runs need; one per command."""

    project: Project
    hasher: Hasher
    odb: ODB
    link_types: tuple[str, ...]
    read: Reader
    _git: Git | None = field(default=_UNSET, repr=False)

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def git(self) -> Git | None:
        """The project's git repo, opened on first use (a no-op repro never needs pygit2)."""
        if self._git is _UNSET:
            self._git = git_if_any(self.project)
        return self._git


def link_types_of(project: Project) -> tuple[str, ...]:
    """`cache.type` as an ordered tuple (DVC default: reflink, copy)."""
    value = project.config.get("cache", "type")
    if not value:
        return DEFAULT_LINK_TYPES
    return tuple(t.strip() for t in value.split(",") if t.strip())


def git_if_any(project: Project) -> Git | None:
    """The git repository around the project, or None when there is none."""
    from xpt.scm.git import Git

    try:
        return Git(project.root)
    except ScmError:
        return None


def autostage(project: Project, paths: list[str]) -> bool:
    """With `core.autostage`, `git add` the (repo-relative) paths a command changed;
    False when it is off or there is no git repository (the caller names them instead)."""
    if not project.config.get_bool("core", "autostage"):
        return False
    git = git_if_any(project)
    if git is None:
        return False
    git.add(os.path.relpath(project.root / p, git.root) for p in paths)
    return True


@contextlib.contextmanager
def open_workspace(project: Project, git: Git | None = None) -> Iterator[Workspace]:
    """Open the memo and cache for one command; the memo is flushed on exit."""
    project.xpt_dir.mkdir(parents=True, exist_ok=True)
    state = StateDB(project.state_db)
    try:
        hasher = Hasher(project.root, state)
        yield Workspace(
            project=project,
            hasher=hasher,
            odb=ODB(project.cache_dir, state),
            link_types=link_types_of(project),
            read=workspace_reader(project.root),
            _git=git if git is not None else _UNSET,
        )
    finally:
        state.close()


@contextlib.contextmanager
def locked_workspace(project: Project) -> Iterator[Workspace]:
    """`open_workspace` while holding `workspace.lock`: for commands that change the
    workspace; a second one fails at once, naming the holder."""
    from xpt.utils.lock import file_lock  # status and a no-op check never lock

    with file_lock(str(project.workspace_lock), "the workspace"), open_workspace(project) as ws:
        yield ws


def load_graph(ws: Workspace) -> Graph:
    """All stages of every dvc.yaml in the project."""
    dvcfiles = find_dvcfiles(ws.root)
    if not dvcfiles:
        raise PipelineError(
            f"no dvc.yaml found in '{ws.root}'",
            hint="define stages in dvc.yaml (see `xpt repro --help`)",
        )
    pipelines = load_pipelines(ws.read, dvcfiles)
    return Graph(stage for p in pipelines for stage in p.stages.values())
