"""Upkeep commands of a project that each ask one storage module: `install` (git hooks),
`check-ignore` (`.dvcignore` patterns) and `cache verify` (object hashes).

They live here so that the CLI reaches the git layer and the object cache only through
the core.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from xpt.project import Project

if TYPE_CHECKING:
    from xpt.cache.ignore import Rule
    from xpt.cache.verify import VerifyResult


def install_hooks(project: Project) -> list[Path]:
    """`xpt install`: the git hooks that run checkout, push and status (see `scm/hooks.py`)."""
    from xpt.scm.git import Git
    from xpt.scm.hooks import install_hooks as write_hooks

    return write_hooks(Git(project.root).git_dir)


def deciding_rules(project: Project, targets: Iterable[str]) -> Iterator[tuple[str, Rule | None]]:
    """`check-ignore`: each target (a path relative to the cwd) with the `.dvcignore`
    pattern that decides it, or None when no pattern matches it (one at a time)."""
    from xpt.cache.ignore import DvcIgnore

    ignore = DvcIgnore(project.root)
    for target in targets:
        full = os.path.abspath(target)
        rel = os.path.relpath(full, project.root).replace(os.sep, "/")
        yield target, ignore.deciding_rule(rel, os.path.isdir(full))


def verify_cache(project: Project, jobs: int | None = None) -> VerifyResult:
    """`cache verify`: re-hash every object; bad ones are moved into the quarantine."""
    from xpt.cache.verify import quarantine_root
    from xpt.cache.verify import verify_cache as verify

    return verify(project.cache_dir, quarantine_root(project.xpt_dir), jobs)
