"""CLI: params diff, metrics show, metrics diff."""

from __future__ import annotations

import argparse

from xpt.cli.ui import out
from xpt.project import Project


def _print_json(data: object) -> None:
    from xpt.report.json import dumps_json

    out(dumps_json(data))


def _repo_path(project: Project, target: str) -> str:
    """A command-line path (relative to cwd) as a repo-relative posix path."""
    import os

    path = os.path.relpath(os.path.abspath(target), project.root)
    return path.replace(os.sep, "/")


def params_diff(args: argparse.Namespace) -> int:
    from xpt.experiments.compare import params_diff as do_diff

    project = Project.find()
    data = do_diff(
        project,
        args.a_rev,
        args.b_rev,
        all=args.all,
        deps_only=args.deps,
        targets=[_repo_path(project, t) for t in args.targets or []],
    )
    if args.json:
        _print_json(data)
        return 0
    if data:
        from xpt.cli.cmd_exp import diff_labels
        from xpt.report.tables import render_diff_table

        a, b = diff_labels(args.a_rev, args.b_rev)
        render_diff_table(
            data,
            kind="params",
            precision=None,
            md=args.md,
            no_path=args.no_path,
            a_label=a,
            b_label=b,
        )
    return 0


def metrics_show(args: argparse.Namespace) -> int:
    from xpt.experiments.compare import metrics_show as do_show

    project = Project.find()
    targets = [_repo_path(project, t) for t in args.targets]
    data = do_show(
        project,
        None,
        targets,
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
    )
    if args.json:
        _print_json(data)
        return 0
    from xpt.report.tables import render_metrics_show

    render_metrics_show(data, precision=args.precision, md=args.md)
    return 0


def metrics_diff(args: argparse.Namespace) -> int:
    from xpt.experiments.compare import metrics_diff as do_diff

    project = Project.find()
    targets = [_repo_path(project, t) for t in args.targets or []]
    data = do_diff(project, args.a_rev, args.b_rev, all=args.all, targets=targets)
    if args.json:
        _print_json(data)
        return 0
    if data:
        from xpt.cli.cmd_exp import diff_labels
        from xpt.report.tables import render_diff_table

        a, b = diff_labels(args.a_rev, args.b_rev)  # the header names the revisions compared
        render_diff_table(
            data,
            kind="metrics",
            precision=args.precision,
            md=args.md,
            no_path=args.no_path,
            a_label=a,
            b_label=b,
        )
    return 0
