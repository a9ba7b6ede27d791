"""CLI: freeze, unfreeze, remove, unprotect, move, data status, diff."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from xpt.cli.ui import out, refuse, track_changes
from xpt.project import Project


def _freeze(args: argparse.Namespace, frozen: bool) -> int:
    from xpt.repro.tracked import freeze as do_freeze

    project = Project.find()
    for target in do_freeze(project, Path(os.getcwd()), list(args.targets), frozen):
        out(f"Modifying stage '{target.name}' in '{_shown(project, target.path)}'")
    return 0


def freeze(args: argparse.Namespace) -> int:
    return _freeze(args, True)


def unfreeze(args: argparse.Namespace) -> int:
    return _freeze(args, False)


def remove(args: argparse.Namespace) -> int:
    from xpt.repro.tracked import remove as do_remove

    project = Project.find()
    do_remove(project, Path(os.getcwd()), list(args.targets), outs=args.outs)
    return 0


def unprotect(args: argparse.Namespace) -> int:
    from xpt.repro.tracked import unprotect as do_unprotect

    do_unprotect(Project.find(), Path(os.getcwd()), list(args.targets))
    return 0


def move(args: argparse.Namespace) -> int:
    from xpt.repro.tracked import move as do_move

    project = Project.find()
    track_changes(project, do_move(project, Path(os.getcwd()), args.src, args.dst))
    return 0


def _shown(project: Project, path: str) -> str:
    return os.path.relpath(project.root / path, os.getcwd())


_STATUS_HINTS = {
    "not_in_cache": ("Not in cache", ['(use "xpt fetch <file>..." to download files)']),
    "committed": (
        "DVC committed changes",
        ["(git commit the corresponding dvc files to update the repo)"],
    ),
    "uncommitted": (
        "DVC uncommitted changes",
        [
            '(use "xpt commit <file>..." to track changes)',
            '(use "xpt checkout <file>..." to discard changes)',
        ],
    ),
    "untracked": (
        "Untracked files",
        ['(use "git add <file> ..." or "xpt add <file>..." to commit to git or to dvc)'],
    ),
    "unchanged": ("DVC unchanged files", []),
}


def data_status(args: argparse.Namespace) -> int:
    import json

    from xpt.repro.datastatus import run_data_status

    refuse(args, "--not-in-remote", "--remote", "--no-remote-refresh", hint="use `xpt status -c`")
    result = run_data_status(
        Project.find(),
        granular=args.granular,
        unchanged=args.unchanged,
        untracked=args.untracked_files == "all",
        git_status=not args.json,
        memo_key=getattr(args, "memo_key", None),
        render=(lambda found: json.dumps(found.to_dict())) if args.json else None,
    )
    data = result.to_dict()
    if args.json:
        out(json.dumps(data))
        return 0
    if not data:
        out("No changes.")
    blocks = []
    for key, (title, hints) in _STATUS_HINTS.items():
        if key not in data:
            continue
        lines = [f"{title}:", *(f"  {h}" for h in hints)]
        value = data[key]
        if isinstance(value, dict):
            lines += [f"{' ' * 8}{kind}: {p}" for kind, paths in value.items() for p in paths]
        else:
            lines += [f"{' ' * 8}{p}" for p in value]
        blocks.append("\n".join(lines))
    if blocks:
        out("\n\n".join(blocks))
    if result.git_dirty:
        out('(there are other changes not tracked by dvc, use "git status" to see)')
    return 0


def diff(args: argparse.Namespace) -> int:
    import json

    from xpt.errors import XptError
    from xpt.repro.datastatus import data_diff
    from xpt.repro.workspace import open_workspace

    project = Project.find()
    cwd = os.getcwd()
    targets = [
        os.path.relpath(os.path.abspath(t), project.root).replace(os.sep, "/")
        for t in args.targets or []
    ]
    with open_workspace(project) as ws:
        try:
            result = data_diff(ws, args.a_rev, args.b_rev, targets or None)
        except XptError as exc:
            raise type(exc)(f"failed to get diff - {exc.message}", exc.hint) from None
    if args.hide_missing:
        result.not_in_cache = []
    if args.json:
        out(json.dumps(result.to_dict(show_hash=args.show_hash)))
        return 0
    if result.empty:
        return 0
    del cwd
    rows = [
        (kind.replace("_", " "), e)
        for kind in ("added", "deleted", "modified", "not_in_cache")
        for e in getattr(result, kind)
    ]
    if args.md:
        width = max(len("Path"), *(len(e.path) for _k, e in rows))
        out(f"| Status   | {'Path'.ljust(width)} |")
        out(f"|----------|{'-' * (width + 2)}|")
        for kind, e in rows:
            out(f"| {kind.ljust(8)} | {e.path.ljust(width)} |")
        out()
        return 0

    def shown(kind: str, e: object) -> str:
        if not args.show_hash:
            return e.path  # type: ignore[attr-defined]
        old, new = e.old, e.new  # type: ignore[attr-defined]
        if kind == "modified":
            return f"{old[:8]}..{new[:8]}  {e.path}"  # type: ignore[attr-defined]
        return f"{(new or old)[:8]}  {e.path}"  # type: ignore[attr-defined]

    blocks = []
    for kind, title in (
        ("added", "Added"),
        ("deleted", "Deleted"),
        ("modified", "Modified"),
        ("not_in_cache", "Not in cache"),
    ):
        entries = getattr(result, kind)
        if entries:
            blocks.append("\n".join([f"{title}:", *(f"    {shown(kind, e)}" for e in entries)]))
    counts = [
        (len([e for e in getattr(result, kind) if not e.path.endswith("/")]), kind)
        for kind in ("added", "deleted", "modified")
    ]
    summary = ", ".join(f"{n} {kind}" for n, kind in counts if n)
    out("\n\n".join(blocks) + (f"\n\nfiles summary: {summary}" if summary else ""))
    return 0
