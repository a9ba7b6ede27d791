"""CLI: import, get, import-url, get-url, update."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from xpt.cli.ui import out, refuse, track_changes
from xpt.errors import XptError
from xpt.project import Project


def _options(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise XptError(f"bad option '{pair}': expected NAME=VALUE")
        found[key] = value
    return found


def import_(args: argparse.Namespace) -> int:
    from xpt.repro.imports import import_repo

    refuse(args, "--config", "--remote", "--remote-config", "--jobs")
    project = Project.find()
    out(f"Importing '{args.path} ({args.url})' -> '{args.out or os.path.basename(args.path)}'")
    try:
        result = import_repo(
            project,
            Path(os.getcwd()),
            args.url,
            args.path,
            out=args.out,
            rev=args.rev,
            force=args.force,
            no_exec=args.no_exec,
            no_download=args.no_download,
        )
    except XptError as exc:
        raise type(exc)(
            f"failed to import '{args.path}' from '{args.url}'. - {exc.message}", exc.hint
        ) from None
    track_changes(project, result.changed)
    return 0


def get_(args: argparse.Namespace) -> int:
    from xpt.repro.imports import get_repo, show_url

    refuse(args, "--config", "--remote", "--remote-config", "--jobs")
    if args.show_url:
        out(show_url(Path(os.getcwd()), args.url, args.path, args.rev))
        return 0
    try:
        get_repo(
            Path(os.getcwd()), args.url, args.path, out=args.out, rev=args.rev, force=args.force
        )
    except XptError as exc:
        raise type(exc)(
            f"failed to get '{args.path}' from '{args.url}' - {exc.message}", exc.hint
        ) from None
    return 0


def import_url(args: argparse.Namespace) -> int:
    from xpt.repro.imports import import_url as do_import

    refuse(args, "--to-remote", "--remote", "--version-aware", "--jobs")
    project = Project.find()
    name = args.url.rstrip("/").rpartition("/")[2]
    out(f"Importing '{args.url}' -> '{args.out or name}'")
    try:
        result = do_import(
            project,
            Path(os.getcwd()),
            args.url,
            out=args.out,
            force=args.force,
            no_exec=args.no_exec,
            no_download=args.no_download,
            fs_config=_options(args.fs_config),
        )
    except XptError as exc:
        raise type(exc)(f"failed to import {args.url}. - {exc.message}", exc.hint) from None
    track_changes(project, result.changed)
    return 0


def get_url(args: argparse.Namespace) -> int:
    from xpt.repro.imports import get_url as do_get

    refuse(args, "--jobs")
    try:
        do_get(
            Path(os.getcwd()),
            args.url,
            out=args.out,
            force=args.force,
            fs_config=_options(args.fs_config),
        )
    except XptError as exc:
        raise type(exc)(f"failed to get '{args.url}' - {exc.message}", exc.hint) from None
    return 0


def update(args: argparse.Namespace) -> int:
    from xpt.repro.imports import update as do_update

    refuse(args, "--to-remote", "--remote", "--jobs")
    project = Project.find()
    done = do_update(
        project,
        Path(os.getcwd()),
        list(args.targets),
        rev=args.rev,
        recursive=args.recursive,
        no_download=args.no_download,
    )
    changed = []
    for item in done:
        if item.changed:
            out(f"Importing '{item.source}' -> '{item.out}'")
            changed.append(item.dvcfile)
    track_changes(project, changed)
    return 0
