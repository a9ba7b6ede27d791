"""CLI: repro, status, dag, checkout, commit."""

from __future__ import annotations

import argparse
import json
from typing import Any

from xpt.cli.ui import checkout_changes, out, refuse
from xpt.project import Project
from xpt.repro.options import ReproOptions


def repro_options(args: argparse.Namespace, **extra: object) -> ReproOptions:
    """ReproOptions from the shared repro/exp-run flags."""
    return ReproOptions(
        targets=tuple(args.targets),
        force=args.force,
        single_item=args.single_item,
        pipeline=args.pipeline,
        all_pipelines=args.all_pipelines,
        downstream=args.downstream,
        force_downstream=args.force_downstream,
        dry=args.dry,
        interactive=args.interactive,
        keep_going=args.keep_going,
        ignore_errors=args.ignore_errors,
        no_run_cache=args.no_run_cache,
        no_commit=getattr(args, "no_commit", False),
        allow_missing=args.allow_missing,
        pull=args.pull,
        recursive=args.recursive,
        glob=args.glob,
        **extra,  # type: ignore[arg-type]
    )


def repro(args: argparse.Namespace) -> int:
    from xpt.repro.reproduce import run_repro
    from xpt.repro.stage_status import UP_TO_DATE

    result = run_repro(
        Project.find(), repro_options(args), memo_key=getattr(args, "memo_key", None)
    )
    if result.failed:
        return 1
    if not result.reproduced and not any(r.outcome == "dry" for r in result.results):
        out(UP_TO_DATE)
    return 0


def status(args: argparse.Namespace) -> int:
    from xpt.repro.stage_status import run_status

    if args.cloud or args.remote:
        return cloud_status(args)
    data = run_status(
        Project.find(),
        list(args.targets),
        with_deps=args.with_deps,
        recursive=args.recursive,
        memo_key=getattr(args, "memo_key", None),
        render=lambda found: _status_text(found, args.json),
    )
    out(_status_text(data, args.json))
    return 0


def _status_text(data: dict[str, Any], as_json: bool) -> str:
    """`status` output (DVC's layout) for `run_status` data."""
    from xpt.repro.stage_status import UP_TO_DATE

    if as_json:
        return json.dumps(data)
    if not data:
        return UP_TO_DATE
    lines = []
    for stage, reasons in data.items():
        lines.append(f"{stage}:")
        for reason in reasons:
            if isinstance(reason, str):
                lines.append(f"\t{reason}")
                continue
            for title, changes in reason.items():
                lines.append(f"\t{title}:")
                for path, what in changes.items():
                    if isinstance(what, dict):
                        lines.append(f"\t\t{path}:")
                        for key, kind in what.items():
                            lines.append(f"\t\t\t{kind + ':':<20}{key}")
                    else:
                        lines.append(f"\t\t{what + ':':<20}{path}")
    return "\n".join(lines)


def cloud_status(args: argparse.Namespace) -> int:
    """`status -c` / `status -r NAME`: the workspace's (and revisions') objects vs the remote."""
    import os

    from xpt.cli.ui import warn
    from xpt.repro.transfer.cloud_status import CloudStatusRequest
    from xpt.repro.transfer.cloud_status import cloud_status as do_cloud_status

    project = Project.find()
    base = os.path.relpath(os.getcwd(), project.root).replace(os.sep, "/")
    result = do_cloud_status(
        project,
        CloudStatusRequest(
            remote=args.remote,
            targets=tuple(args.targets),
            base="" if base == "." else base,
            all_branches=args.all_branches,
            all_tags=args.all_tags,
            all_commits=args.all_commits,
            all_experiments=getattr(args, "all_experiments", False),
            jobs=args.jobs,
        ),
    )
    if result.unknown_dirs:
        warn(
            "Some of the cache files do not exist neither locally nor on remote. "
            "Missing cache files:\n"
            + "\n".join(f"name: {d.name}, md5: {d.md5}" for d in result.unknown_dirs)
        )
    if args.json:
        out(json.dumps(result.to_dict()))
    elif result.in_sync:
        out(f"Cache and remote '{result.remote}' are in sync.")
    else:
        indent = "\t" if args.cloud else ""  # DVC indents only with -c, not with -r alone
        for name, state in result.entries.items():
            out(f"{indent}{state.value + ':':<20}{name}")
    return 0


def dag(args: argparse.Namespace) -> int:
    from xpt.repro.workspace import load_graph, open_workspace

    refuse(args, "--outs", hint="leave it out: the graph of stages is shown")
    project = Project.find()
    with open_workspace(project) as ws:
        graph = load_graph(ws)
    targets = [args.target] if args.target else None
    if args.dot:
        out(graph.dot(targets, args.full))
    elif args.mermaid or args.md:
        text = graph.mermaid(targets, args.full).rstrip("\n")
        out(f"```mermaid\n{text}\n```" if args.md else text)
    else:
        out(graph.ascii(targets, args.full))
    return 0


def checkout(args: argparse.Namespace) -> int:
    from xpt.repro.checkout import checkout_project

    project = Project.find()
    result = checkout_project(
        project,
        list(args.targets),
        allow_missing=args.allow_missing,
        with_deps=args.with_deps,
        relink=args.relink,
        unsaved="replace" if args.force else "refuse",
        recursive=args.recursive,
    )
    checkout_changes(project, result, summary=args.summary)
    if args.relink:
        out("Relinked successfully")
    return 0


def commit(args: argparse.Namespace) -> int:
    from xpt.repro.checkout import commit_project

    done = commit_project(
        Project.find(),
        list(args.targets),
        with_deps=args.with_deps,
        force=args.force,
        relink=not args.no_relink,
        recursive=args.recursive,
    )
    for name in done:
        out(f"Committed stage '{name}'")
    return 0
