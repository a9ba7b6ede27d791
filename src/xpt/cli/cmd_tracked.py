"""CLI: freeze, unfreeze, remove, unprotect, move, data status, diff."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from xpt.cli.ui import out, track_changes
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
