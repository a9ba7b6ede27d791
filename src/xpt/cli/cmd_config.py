"""CLI: `xpt config [--global|--project|--local] [-u] [-l] [--show-origin] [NAME [VALUE]]`.

The schema and the rules (names, levels, DVC's checks and messages) are in
`config_schema.py`; this prints what it finds, like `dvc config`.
"""

from __future__ import annotations

import argparse

from xpt.cli.ui import out, warn
from xpt.config_schema import ConfigRequest, run_config
from xpt.errors import NotAProject
from xpt.project import Project


def _project() -> Project | None:
    try:
        return Project.find()
    except NotAProject:
        return None


def config(args: argparse.Namespace) -> int:
    """Get, set, unset or list config options, like `dvc config`."""
    request = ConfigRequest(
        name=args.name,
        value=args.value,
        unset=args.unset,
        list_all=args.list,
        level=args.level,
        show_origin=args.show_origin,
    )
    result = run_config(_project(), request)
    for setting in result.settings:
        prefix = f"{setting.origin}\t" if args.show_origin else ""
        out(prefix + (f"{setting.key}={setting.value}" if args.list else setting.value))
    for line in result.warnings:
        warn(line)
    return 0
