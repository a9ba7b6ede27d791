"""`xpt cache verify`: re-hash every object of a cache and move the bad ones aside.

Commands trust an object by its read-only mode (`odb.py`), so bytes changed in place are
seen only where they are read anyway (push, copy checkouts). This reads them all. A bad
object is moved, never deleted, into a quarantine folder keeping its cache path, so
the bytes can still be inspected and a later `pull` or `repro` brings a good copy.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from xpt.cache.odb import OBJECTS_DIR, object_hash, relpath_oid
from xpt.errors import CacheError


@dataclass(frozen=True)
class BadObject:
    """One object whose bytes do not hash to its name."""

    md5: str
    relpath: str
    """Inside the cache (`files/md5/XX/…`, or `XX/…` for 2.x objects)."""
    actual: str
    """What the bytes hash to, or why they could not be read."""
    moved_to: str


@dataclass
class VerifyResult:
    checked: int = 0
    bad: list[BadObject] = field(default_factory=list)
    quarantine: str | None = None
    """The folder bad objects were moved into (None when all were good)."""


def _objects(cache_dir: Path) -> list[str]:
    """Relative paths of every object file (3.x and 2.x layouts); temp files are skipped."""
    found: list[str] = []
    for base in (f"{OBJECTS_DIR}/", ""):
        try:
            prefixes = sorted(os.listdir(cache_dir / base)) if (cache_dir / base).is_dir() else []
        except OSError as exc:
            raise CacheError(f"cannot list the cache '{cache_dir}': {exc.strerror}") from exc
        for prefix in prefixes:
            folder = cache_dir / base / prefix
            if len(prefix) != 2 or folder.is_symlink() or not folder.is_dir():
                continue
            for name in sorted(os.listdir(folder)):
                rel = f"{base}{prefix}/{name}"
                if relpath_oid(rel) is not None and (folder / name).is_file():
                    found.append(rel)
    return found


def _check(cache_dir: Path, rel: str) -> tuple[str, str] | None:
    """(md5, actual) when the object at `rel` is bad, else None."""
    oid = relpath_oid(rel)
    assert oid is not None
    md5, legacy = oid
    try:
        actual = object_hash(os.path.join(cache_dir, rel), md5, legacy)
    except OSError as exc:
        actual = f"unreadable: {exc.strerror}"
    return None if actual == md5 else (md5, actual)


def quarantine_root(xpt_dir: Path) -> Path:
    """Where `cache verify` moves bad objects, one dated folder per run."""
    return xpt_dir / "quarantine"


def verify_cache(cache_dir: Path, quarantine_root: Path, jobs: int | None = None) -> VerifyResult:
    """Hash every object under `cache_dir`; move bad ones to a new folder of `quarantine_root`."""
    rels = _objects(cache_dir)
    workers = max(1, min(jobs or (os.cpu_count() or 1), 8))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        verdicts = list(pool.map(lambda r: _check(cache_dir, r), rels))
    result = VerifyResult(checked=len(rels))
    bad = [(rel, v) for rel, v in zip(rels, verdicts, strict=True) if v is not None]
    if not bad:
        return result
    folder = quarantine_root / time.strftime("%Y%m%d-%H%M%S")
    n = 0
    while folder.exists():
        n += 1
        folder = quarantine_root / f"{time.strftime('%Y%m%d-%H%M%S')}-{n}"
    result.quarantine = str(folder)
    for rel, (md5, actual) in bad:
        dest = folder / rel
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(os.path.join(cache_dir, rel), dest)
        except OSError as exc:
            raise CacheError(
                f"cannot move the corrupted object '{rel}' to '{dest}': {exc.strerror}",
                hint="check the permissions of the cache and of .dvc/tmp/xpt",
            ) from exc
        result.bad.append(BadObject(md5, rel, actual, str(dest)))
    return result
