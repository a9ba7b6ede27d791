"""CLI: root, version, install, check-ignore, cache dir."""

from __future__ import annotations

import argparse
import os
import sys

from xpt.cli.ui import out
from xpt.errors import NotAProject, XptError
from xpt.project import Project


def root(args: argparse.Namespace) -> int:
    out(os.path.relpath(Project.find().root, os.getcwd()))
    return 0


def version(args: argparse.Namespace) -> int:
    from xpt.repro.environment import environment

    try:
        project: Project | None = Project.find()
    except NotAProject:
        project = None
    env = environment(project)
    title = f"xpt version: {env.version}"
    lines = [title, "-" * len(title), f"Platform: {env.platform}", "Subprojects:"]
    lines += [f"\t{name} = {ver}" for name, ver in env.libraries.items()]
    lines += ["Supports:", *(f"\t{s}" for s in env.supports)]
    lines += ["Config:", f"\tGlobal: {env.global_config}"]
    if env.project is not None:
        p = env.project
        lines += [
            f"Cache types: {', '.join(p.link_types) or '<none>'}",
            f"Cache directory: {p.cache_fs}",
            "Caches: local",
            f"Remotes: {', '.join(p.remotes) or 'None'}",
            f"Workspace directory: {p.workspace_fs}",
            f"Repo: {'dvc, git' if p.git else 'dvc (no_scm)'}",
        ]
    out("\n".join(lines))
    return 0


def install(args: argparse.Namespace) -> int:
    from xpt.repro.maintenance import install_hooks

    if args.use_pre_commit_tool:
        raise XptError(
            "xpt install --use-pre-commit-tool is not supported",
            hint="run `xpt install` to write plain git hooks",
        )
    install_hooks(Project.find())
    return 0


def check_ignore(args: argparse.Namespace) -> int:
    from xpt.repro.maintenance import deciding_rules

    if args.non_matching and not args.details:
        raise XptError("`--non-matching` is only valid with `--details`")
    if args.stdin and args.targets:
        raise XptError("cannot have `targets` and `--stdin` at the same time")
    if not args.stdin and not args.targets:
        raise XptError("`targets` or `--stdin` needed")
    project = Project.find()
    targets = [line.rstrip("\n") for line in sys.stdin] if args.stdin else args.targets
    matched = False
    for target, rule in deciding_rules(project, targets):
        if rule is None:
            if args.non_matching:
                out(f"::\t{target}")
            continue
        matched = True
        if args.details:
            out(f"{rule.source}:{rule.line}:{rule.pattern}\t{target}")
        elif not rule.negate:
            out(target)
    return 0 if matched else 1


def cache_dir(args: argparse.Namespace) -> int:
    from xpt.cli.cmd_config import config

    if args.value is None and not args.unset:
        out(str(Project.find().cache_dir))
        return 0
    return config(
        argparse.Namespace(
            name="cache.dir",
            value=args.value,
            unset=args.unset,
            list=False,
            show_origin=False,
            level=args.level,
        )
    )
