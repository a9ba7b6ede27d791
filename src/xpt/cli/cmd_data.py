"""CLI: push, pull, fetch (data remotes)."""

from __future__ import annotations

import argparse

from xpt.cli.ui import note, out
from xpt.errors import RemoteError, XptError
from xpt.project import Project


def _oids(project: Project, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from xpt.repro.revisions import revision_readers
    from xpt.repro.transfer import used_objects
    from xpt.repro.workspace import open_git

    readers = revision_readers(
        project, open_git(project),
        all_branches=args.all_branches, all_tags=args.all_tags,
        all_commits=args.all_commits, all_experiments=args.all_experiments,
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


_ = RemoteError
