"""CLI: init."""

from __future__ import annotations

import argparse
from pathlib import Path

from xpt.cli.ui import out


def init(args: argparse.Namespace) -> int:
    from xpt.repro.init import init_project

    init_project(Path.cwd(), force=args.force, subdir=args.subdir, no_scm=args.no_scm)
    out("Initialized xpt (DVC-compatible) project.\n\nYou can now commit the changes to git.")
    return 0
