"""CLI: push, pull, fetch (data remotes)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from xpt.cli.ui import note, out, warn
from xpt.errors import XptError
from xpt.project import Project

if TYPE_CHECKING:
    from xpt.repro.transfer.gc import GcScope


def _oids(project: Project, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Objects of the chosen revisions; with targets, only the outputs they name."""
    import os

    from xpt.repro.transfer.sync import selected_objects

    base = os.path.relpath(os.getcwd(), project.root).replace(os.sep, "/")
    return selected_objects(
        project,
        list(args.targets),
        "" if base == "." else base,
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
        all_experiments=args.all_experiments,
        recursive=args.recursive,
    )


def _report(verb: str, result, *, also: dict[str, int] | None = None) -> int:  # type: ignore[no-untyped-def]
    """DVC's summary line ("2 files fetched and 1 file added"), after the failures' list."""
    from xpt.report.text import change_summary

    if result.failed:
        if result.transferred:
            out(change_summary([(verb, len(result.transferred))]))
        for md5, why in sorted(result.failed.items())[:10]:
            note(f"  {md5}: {why}")
        raise XptError(
            f"{len(result.failed)} object(s) failed to transfer; {len(result.transferred)} succeeded",
            hint="fix the cause above and rerun the same command: only missing objects move",
        )
    counts = [(verb, len(result.transferred)), *(also or {}).items()]
    out(change_summary(counts) or "Everything is up to date.")
    return 0


def push(args: argparse.Namespace) -> int:
    from xpt.repro.transfer.sync import get_remote
    from xpt.repro.transfer.sync import push as do_push

    project = Project.find()
    remote = get_remote(project, args.remote)
    return _report("pushed", do_push(project, remote, _oids(project, args), args.jobs))


def _fetch(project: Project, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from xpt.repro.transfer.sync import NO_REMOTE, get_remote_if_any
    from xpt.repro.transfer.sync import fetch as do_fetch

    remote = get_remote_if_any(project, args.remote)
    if remote is None:
        note(NO_REMOTE)
    return do_fetch(project, remote, _oids(project, args) if remote else set(), args.jobs)


def fetch(args: argparse.Namespace) -> int:
    return _report("fetched", _fetch(Project.find(), args))


def pull(args: argparse.Namespace) -> int:
    from xpt.cli.ui import checkout_changes
    from xpt.repro.transfer.sync import checkout_follows, pull_checkout

    project = Project.find()
    with checkout_follows(project):
        fetched = _fetch(project, args)
        if fetched.failed:
            return _report("fetched", fetched)
        result = pull_checkout(
            project,
            list(args.targets),
            allow_missing=args.allow_missing,
            force=args.force,
            recursive=args.recursive,
        )
    checkout_changes(project, result)
    return _report("fetched", fetched, also=result.file_counts())


def gc(args: argparse.Namespace) -> int:
    """`gc`: DVC's warning, prompt and summary lines (one per cache and per remote layout)."""
    from xpt.repro.transfer.gc import GcScope
    from xpt.repro.transfer.gc import gc as do_gc

    scope = GcScope(
        workspace=args.workspace,
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
        all_experiments=args.all_experiments,
    )
    project = Project.find()
    if scope.any():
        warn(gc_warning(scope))
        if not (args.force or args.dry):
            _confirm()
    result = do_gc(
        project,
        scope,
        dry=args.dry,
        cloud=args.cloud,
        remote=args.remote,
        jobs=args.jobs,
    )
    for md5 in result.unknown_dirs:
        warn(
            f"the files of directory object {md5} are unknown: it is neither cached nor on the remote"
        )
    _removed(
        args.dry,
        result.cache,
        "Removed {n} objects from repo cache.",
        "No unused 'repo' cache to remove.",
    )
    _removed(
        args.dry,
        result.legacy,
        "Removed {n} objects from legacy cache.",
        "No unused 'legacy' cache to remove.",
    )
    if result.remote_url is not None:
        url = result.remote_url.rstrip("/")
        for paths in (result.remote, result.remote_legacy):
            _removed(
                args.dry,
                tuple(f"{url}/{p}" for p in paths),
                "Removed {n} objects from remote.",
                "No unused cache to remove from remote.",
            )
    return 0


def gc_warning(scope: GcScope) -> str:
    """DVC's description of what gc keeps."""
    kept = "the workspace"
    if scope.all_commits:
        kept += " and all git commits"
    elif scope.all_branches and scope.all_tags:
        kept += " and all git branches and tags"
    elif scope.all_branches:
        kept += " and all git branches"
    elif scope.all_tags:
        kept += " and all git tags"
    if scope.all_experiments:
        kept += " and all experiments"
    return f"This will remove all cache except items used in {kept} of the current repo."


def _confirm() -> None:
    sys.stdout.write("Are you sure you want to proceed? [y/n]: ")
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise XptError("cancelled: nothing was removed")


def _removed(dry: bool, paths: tuple[str, ...], done: str, nothing: str) -> None:
    """`--dry` lists each path first (as DVC does), then the count line."""
    if dry:
        for path in paths:
            out(f"Removing {path}")
    out(done.format(n=len(paths)) if paths else nothing)
