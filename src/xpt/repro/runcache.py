"""The run-cache (`.dvc/cache/runs/`): DVC-compatible memory of earlier stage runs.

An entry is the stage's full lock entry, filed under a key computed from the command,
dependency hashes, params and output paths (docs/dvc-formats.md §6). A stage about to run with the
same key restores the recorded outputs from the object cache instead of running.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from xpt.errors import PipelineError
from xpt.pipeline import yaml12
from xpt.pipeline.lockfile import check_entry, dump_entry, run_cache_key_value
from xpt.pipeline.lockformat import LockEntry, LockItem
from xpt.pipeline.model import Stage
from xpt.utils.fsutil import atomic_write_bytes
from xpt.utils.oids import is_oid


def eligible(stage: Stage, *, persist_ok: bool = False) -> bool:
    """Stages whose runs may be saved/restored (docs/dvc-formats.md §6 eligibility rules)."""
    if not stage.cmd or not stage.deps or not stage.outs or stage.always_changed:
        return False
    for out in stage.outs:
        if out.persist or out.checkpoint:
            return False
        if not out.cache and out.kind == "out":
            return False
    return True


def _runs_dir(cache_dir: Path) -> Path:
    return cache_dir / "runs"


def lookup(
    cache_dir: Path, entry_without_outs: LockEntry, out_paths: list[str]
) -> LockEntry | None:
    """The newest recorded lock entry for this key, or None."""
    probe = replace(
        entry_without_outs, outs=tuple(LockItem(p, hash=None) for p in sorted(out_paths))
    )
    key, _ = run_cache_key_value(probe)
    key_dir = _runs_dir(cache_dir) / key[:2] / key
    try:
        candidates = [e for e in os.scandir(key_dir) if e.is_file() and not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return None
    for cand in sorted(candidates, key=lambda e: e.stat().st_mtime_ns, reverse=True):
        try:
            with open(cand.path, "rb") as f:
                data = yaml12.load(f.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError, yaml12.YAMLLoadError):
            continue
        if isinstance(data, dict) and isinstance(data.get("outs"), list):
            if _valid_outs(data["outs"]):
                try:
                    check_entry(data, f"run-cache entry '{cand.path}'", cand.path)
                except PipelineError:
                    continue  # not an entry DVC or xpt would write
                return LockEntry.from_dict(data)
            print(
                f"WARNING: ignoring run-cache entry '{cand.path}': an output's md5 is not a "
                "valid hash (delete the file; it was edited or crafted)",
                file=sys.stderr,
            )
    return None


def _valid_outs(outs: list[Any]) -> bool:
    """Every recorded output names a path and a well-formed hash (or none, uncached)."""
    return all(
        isinstance(o, dict)
        and isinstance(o.get("path"), str)
        and ("md5" not in o or is_oid(o["md5"]))
        for o in outs
    )


def save(cache_dir: Path, entry: LockEntry) -> None:
    """Record a successful run's lock entry (atomic; existing entries are kept)."""
    key, value = run_cache_key_value(entry)
    path = _runs_dir(cache_dir) / key[:2] / key / value
    if path.exists():
        os.utime(path)
        return
    atomic_write_bytes(path, dump_entry(entry))
