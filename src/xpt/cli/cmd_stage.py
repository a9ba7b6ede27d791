"""CLI: `stage add`, `stage list`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from xpt.cli.ui import out, track_changes
from xpt.project import Project


def add(args: argparse.Namespace) -> int:
    from xpt.repro.stages import StageAddRequest, stage_add

    project = Project.find()
    req = StageAddRequest(
        name=args.name,
        command=tuple(args.command),
        cwd=Path(os.getcwd()),
        deps=tuple(args.deps),
        params=tuple(args.params),
        outs=tuple(args.outs),
        outs_no_cache=tuple(args.outs_no_cache),
        outs_persist=tuple(args.outs_persist),
        outs_persist_no_cache=tuple(args.outs_persist_no_cache),
        metrics=tuple(args.metrics),
        metrics_no_cache=tuple(args.metrics_no_cache),
        plots=tuple(args.plots),
        plots_no_cache=tuple(args.plots_no_cache),
        wdir=args.wdir,
        always_changed=args.always_changed,
        desc=args.desc,
        force=args.force,
    )
    result = stage_add(project, req)
    verb = "Modifying" if result.replaced else "Added"
    out(f"{verb} stage '{req.name}' in '{_shown(project, result.dvcfile)}'")
    if args.run:
        from xpt.repro.options import ReproOptions
        from xpt.repro.reproduce import run_repro

        repro = run_repro(
            project, ReproOptions(targets=(result.addressing,), single_item=True, force=True)
        )
        if repro.failed:
            return 1
        from xpt.utils.dvcnames import lockfile_for

        lock = lockfile_for(result.dvcfile)
        result.changed.append(lock)
    track_changes(project, sorted(set(result.changed)))
    return 0


def _shown(project: Project, path: str) -> str:
    return os.path.relpath(project.root / path, os.getcwd())


def list_(args: argparse.Namespace) -> int:
    from xpt.repro.stages import stage_list

    project = Project.find()
    rows = stage_list(
        project,
        list(args.targets),
        all_stages=args.all,
        recursive=args.recursive,
        cwd=Path(os.getcwd()),
        fail=args.fail,
    )
    if args.name_only:
        for row in rows:
            out(row.addressing)
        return 0
    width = max((len(r.addressing) for r in rows), default=0)
    for row in rows:
        out(f"{row.addressing.ljust(width)}  {row.description}".rstrip())
    return 0
