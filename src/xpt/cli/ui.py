"""Tiny output helpers for command handlers (stdout for results, stderr for notes)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xpt.project import Project
    from xpt.repro.checkout import CheckoutResult


def out(text: str = "") -> None:
    """A result line (suppressed by -q, which swaps sys.stdout)."""
    print(text, file=sys.stdout, flush=True)


def note(text: str) -> None:
    """A progress/warning line on stderr."""
    print(text, file=sys.stderr, flush=True)


def warn(text: str) -> None:
    """A warning on stderr."""
    print(f"WARNING: {text}", file=sys.stderr, flush=True)


def track_changes(project: Project, paths: list[str]) -> None:
    """DVC's closing hint naming the files to `git add` (or stage them with core.autostage)."""
    if not paths:
        return
    if project.config.get_bool("core", "autostage"):
        from xpt.repro.workspace import git_if_any

        git = git_if_any(project)
        if git is not None:
            git.add(os.path.relpath(project.root / p, git.root) for p in paths)
            return
    shown = " ".join(os.path.relpath(project.root / p, os.getcwd()) for p in paths)
    out(
        f"\nTo track the changes with git, run:\n\n\tgit add {shown}\n"
        "\nTo enable auto staging, run:\n\n\txpt config core.autostage true"
    )


def checkout_changes(project: Project, result: CheckoutResult, summary: bool = False) -> None:
    """What `checkout` and `pull` changed, as DVC lists it (paths from the current folder,
    folders with a trailing "/"); `summary`: one line of file counts instead."""
    from xpt.report.text import change_lines, change_summary

    if summary:
        out(change_summary(list(result.file_counts().items())) or "No changes.")
        return
    shown = []
    for path, change in result.changes.items():
        full = project.root / path
        rel = os.path.relpath(full)
        shown.append((rel + "/" if full.is_dir() else rel, change.kind))
    for line in change_lines(shown):
        out(line)
