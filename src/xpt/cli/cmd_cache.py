"""CLI: `cache` group (`cache verify`)."""

from __future__ import annotations

import argparse
import json

from xpt.cli.ui import note, out
from xpt.project import Project


def verify(args: argparse.Namespace) -> int:
    """`cache verify`: exit 1 when any object was bad (each one moved to the quarantine)."""
    from xpt.repro.maintenance import verify_cache

    result = verify_cache(Project.find(), args.jobs)
    if args.json:
        out(
            json.dumps(
                {
                    "checked": result.checked,
                    "corrupted": [
                        {
                            "md5": b.md5,
                            "path": b.relpath,
                            "actual": b.actual,
                            "moved_to": b.moved_to,
                        }
                        for b in result.bad
                    ],
                    "quarantine": result.quarantine,
                },
                indent=2,
            )
        )
        return 1 if result.bad else 0
    for bad in result.bad:
        note(f"corrupted: {bad.relpath} (its content hashes to {bad.actual})")
    if not result.bad:
        out(f"{result.checked} cache objects verified: all intact.")
        return 0
    out(
        f"{len(result.bad)} of {result.checked} cache objects were corrupted and moved to "
        f"'{result.quarantine}'."
    )
    note("Fetch good copies with `xpt pull` (or rebuild them with `xpt repro`).")
    return 1
