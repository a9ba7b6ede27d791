"""Tiny output helpers for command handlers (stdout for results, stderr for notes)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

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


def refuse(args: argparse.Namespace, *flags: str, hint: str = "leave it out") -> None:
    """One clear error for a DVC flag xpt does not do (yet), never a silent no-op.

    An option counts as given unless it holds its default of None or False (a bare
    `--remote-config` gives []); a positional (`targets`) unless it is empty too."""
    from xpt.errors import XptError

    for flag in flags:
        absent: tuple[object, ...] = (None, False) if flag.startswith("-") else (None, False, [])
        if getattr(args, flag.lstrip("-").replace("-", "_"), None) not in absent:
            shown = flag if flag.startswith("-") else f"with {flag.upper()}"
            raise XptError(f"xpt {_command(args)} {shown} is not supported", hint=hint)


def _command(args: argparse.Namespace) -> str:
    """`exp save`, `import`: the words naming the command being run."""
    groups = [k.removesuffix("_cmd") for k, v in vars(args).items() if k.endswith("_cmd") and v]
    return f"{groups[0]} {args.command}" if groups else str(args.command)


def track_changes(project: Project, paths: list[str]) -> None:
    """DVC's closing hint naming the files to `git add` (or stage them with core.autostage)."""
    if not paths:
        return
    from xpt.repro.workspace import autostage

    if autostage(project, paths):
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
