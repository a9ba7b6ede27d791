"""CLI: push, pull, fetch (data remotes)."""

from __future__ import annotations

import argparse

from xpt.cli.ui import note, out
from xpt.errors import XptError
from xpt.project import Project


def _oids(project: Project, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from xpt.repro.revisions import revision_readers
    from xpt.repro.transfer import used_objects
    from xpt.repro.workspace import open_git

    readers = revision_readers(
        project,
        open_git(project),
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
        all_experiments=args.all_experiments,
    )
    return used_objects(project, readers)


def _report(verb: str, result) -> int:  # type: ignore[no-untyped-def]
    if result.transferred:
        out(f"{len(result.transferred)} file{'s' if len(result.transferred) != 1 else ''} {verb}")
    elif not result.failed:
        out("Everything is up to date.")
    if result.failed:
        for md5, why in sorted(result.failed.items())[:10]:
            note(f"  {md5}: {why}")
        raise XptError(
            f"{len(result.failed)} object(s) failed to transfer; {len(result.transferred)} succeeded",
            hint="fix the cause above and rerun the same command: only missing objects move",
        )
    return 0


def push(args: argparse.Namespace) -> int:
    from xpt.repro.transfer import get_remote
    from xpt.repro.transfer import push as do_push

    project = Project.find()
    remote = get_remote(project, args.remote)
    return _report("pushed", do_push(project, remote, _oids(project, args), args.jobs))


def fetch(args: argparse.Namespace) -> int:
    from xpt.repro.transfer import fetch as do_fetch
    from xpt.repro.transfer import get_remote

    project = Project.find()
    remote = get_remote(project, args.remote)
    return _report("fetched", do_fetch(project, remote, _oids(project, args), args.jobs))


def pull(args: argparse.Namespace) -> int:
    from xpt.repro.checkout import checkout
    from xpt.repro.workspace import open_workspace
    from xpt.utils.lock import file_lock

    code = fetch(args)
    project = Project.find()
    with file_lock(str(project.workspace_lock), "the workspace"), open_workspace(project) as ws:
        result = checkout(ws, list(args.targets), allow_missing=args.allow_missing)
    for path in result.changed:
        out(f"A       {path}")
    return code


def gc(args: argparse.Namespace) -> int:
    import sys

    from xpt.repro.datagc import GcScope
    from xpt.repro.datagc import gc as do_gc

    scope = GcScope(
        workspace=args.workspace,
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
        all_experiments=args.all_experiments,
    )
    if args.cloud:
        raise XptError("`gc -c` (cleaning the remote) is not built yet in xpt")
    project = Project.find()
    if scope.any() and not (args.force or args.dry):
        sys.stderr.write(
            "WARNING: this removes every cached object not used by the selected "
            "revisions. Are you sure you want to proceed? [y/n] "
        )
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise XptError("cancelled: nothing was removed")
    removed = do_gc(project, scope, dry=args.dry)
    verb = "Would remove" if args.dry else "Removed"
    out(
        f"{verb} {len(removed)} object(s) from the cache."
        if removed
        else "No unused cache to remove."
    )
    return 0
