"""CLI: `xpt add` (track data with `.dvc` files)."""

from __future__ import annotations

import argparse
import os

from xpt.cli.ui import out
from xpt.project import Project


def add(args: argparse.Namespace) -> int:
    from xpt.repro.add import AddOptions
    from xpt.repro.add import add as do_add

    project = Project.find()
    options = AddOptions(
        targets=tuple(args.targets),
        glob=args.glob,
        no_commit=args.no_commit,
        out=args.out,
        force=args.force,
        to_remote=args.to_remote,
        remote=args.remote,
        jobs=args.remote_jobs,
        relink=not args.no_relink,
    )
    result = do_add(project, options)
    files = sorted(
        {
            os.path.relpath(os.path.join(project.root, p))
            for p in [*result.gitignores, *result.dvcfiles]
        }
    )
    if files:
        out("\nTo track the changes with git, run:\n")
        out("\tgit add " + " ".join(files))
    return 0
