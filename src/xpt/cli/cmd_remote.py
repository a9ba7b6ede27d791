"""CLI: remote add/list/modify/default/remove/rename (writes `.dvc/config` like DVC).

Relative paths are given from the current directory and stored relative to `.dvc/`.
"""

from __future__ import annotations

import argparse

from xpt import config as cfg
from xpt.cli.ui import out
from xpt.errors import ConfigError
from xpt.project import Project


def add(args: argparse.Namespace) -> int:
    project = Project.find()
    cfg.add_remote(
        project.dvc_dir,
        args.name,
        args.url,
        default=args.default,
        force=args.force,
        local=args.local,
    )
    if args.default:
        out(f"Setting '{args.name}' as a default remote.")
    return 0


def list_(args: argparse.Namespace) -> int:
    project = Project.find()
    if args.local:
        remotes = cfg.Config(cfg.read_config_file(cfg.config_path(project.dvc_dir, True))).remotes()
    else:
        remotes = project.config.remotes()
    for name, values in remotes.items():
        out(f"{name}\t{values.get('url', '')}")
    return 0


def modify(args: argparse.Namespace) -> int:
    cfg.modify_remote(
        Project.find().dvc_dir,
        args.name,
        args.option,
        args.value,
        unset=args.unset,
        local=args.local,
    )
    return 0


def default(args: argparse.Namespace) -> int:
    project = Project.find()
    if args.unset:
        cfg.set_default_remote(project.dvc_dir, None, local=args.local)
    elif args.name:
        cfg.set_default_remote(project.dvc_dir, args.name, local=args.local)
    else:
        name = project.config.get("core", "remote")
        if not name:
            raise ConfigError("no default remote is set", hint="`xpt remote default NAME`")
        out(name)
    return 0


def remove(args: argparse.Namespace) -> int:
    cfg.remove_remote(Project.find().dvc_dir, args.name, local=args.local)
    return 0


def rename(args: argparse.Namespace) -> int:
    cfg.rename_remote(Project.find().dvc_dir, args.name, args.new, local=args.local)
    return 0
