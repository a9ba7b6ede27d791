"""Collect the `exp show` data of one revision (docs/dvc-formats.md §9.5 `data`), in-process and memoised.

This is the one collector behind `exp show`, `exp diff`, `metrics show/diff`, `params diff`
and the Python API. Files are read through `revfiles.RevisionFiles`: the revision's tree
(a commit or a work tree), else the cache through the lock entry of the output holding
them. Parsed params, metrics, lock files and pipelines are memoised by content, so a
thousand experiments that share their dvc.yaml and most params parse each blob once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from xpt.cache.odb import ODB
from xpt.errors import XptError
from xpt.experiments.revfiles import (
    WORKSPACE,
    RevisionFiles,
    cached_outs,
)
from xpt.experiments.show_rows import (
    DepInfo,
    ExpData,
    FileError,
    FileResult,
    OutInfo,
    RowError,
    file_error,
)
from xpt.pipeline.lockfile import read_lock_hashes
from xpt.pipeline.lockformat import LockEntry, LockItem
from xpt.pipeline.metrics import clean_metrics, load_metrics
from xpt.pipeline.model import Pipeline, Reader
from xpt.pipeline.params import DEFAULT_PARAMS_FILE, load_params, select
from xpt.pipeline.parse import load_pipelines
from xpt.project import Project
from xpt.utils.dvcnames import DVCFILE

__all__ = [
    "WORKSPACE",
    "RevisionFiles",
    "collect_data",
    "load_pipelines_at",
    "lock_entries",
    "read_file_at",
    "revision_files",
    "tracked_params",
]

_MEMO: dict[tuple[str, bytes], Any] = {}


def _memo(kind: str, data: bytes, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), computed once per (kind, content) in this process."""
    key = (kind, data)
    if key not in _MEMO:
        _MEMO[key] = fn(*args)
    return _MEMO[key]


def _clean_metrics_of(data: bytes, path: str) -> Any:
    return clean_metrics(load_metrics(data, path))


def _error(exc: Exception) -> FileError:
    return {"type": type(exc).__name__, "msg": str(exc)}


def _unflatten_into(target: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    cur = target
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def load_pipelines_at(read: Reader, dvcfiles: list[str]) -> list[Pipeline]:
    """Pipelines of the given dvc.yaml paths that exist at this revision (memoised)."""
    present = []
    blobs = []
    for path in dvcfiles:
        data = read(path)
        if data is not None:
            present.append(path)
            blobs.append(data)
    if not present:
        return []
    key = b"\0".join(p.encode() + b"\0" + d for p, d in zip(present, blobs, strict=True))
    if any(b"${" in blob or b"vars" in blob for blob in blobs):
        # templated: params.yaml feeds the context, so it is part of the key
        key += b"\0params\0" + (read(DEFAULT_PARAMS_FILE) or b"")
    return _memo("pipelines", key, load_pipelines, read, present)  # type: ignore[no-any-return]


def tracked_params(pipelines: list[Pipeline]) -> dict[str, set[str] | None]:
    """Params files the stages depend on: tracked keys per file (None = whole file)."""
    tracked: dict[str, set[str] | None] = {}
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            for spec in stage.params:
                path = stage.repo_path(spec.path)
                if spec.keys is None:
                    tracked[path] = None
                elif tracked.get(path, set()) is not None:
                    keys = tracked.setdefault(path, set())
                    assert keys is not None
                    keys.update(spec.keys)
    return tracked


def _params_data(
    files: RevisionFiles, pipelines: list[Pipeline], deps_only: bool = False
) -> dict[str, FileResult]:
    read = files.read
    wanted: dict[str, set[str] | None] = {}
    if read(DEFAULT_PARAMS_FILE) is not None and not deps_only:
        wanted[DEFAULT_PARAMS_FILE] = None
    for pipeline in pipelines:
        for path in () if deps_only else pipeline.params_files:
            wanted[path] = None
    for path, keys in tracked_params(pipelines).items():
        if keys is None or path not in wanted:
            wanted[path] = keys
        elif wanted[path] is not None:
            wanted[path] |= keys  # type: ignore[operator]
    result: dict[str, FileResult] = {}
    for path, keys in wanted.items():
        entry = _params_entry(files, path, keys)
        if entry is not None:
            result[path] = entry
    return result


def target_params(files: RevisionFiles, targets: list[str]) -> dict[str, FileResult]:
    """`params diff --targets`: each target file read whole, declared or not (as DVC)."""
    found = {path: _params_entry(files, path, None) for path in targets}
    return {path: entry for path, entry in found.items() if entry is not None}


def _params_entry(files: RevisionFiles, path: str, keys: set[str] | None) -> FileResult | None:
    """`{"data": ...}` (only `keys` when given) or `{"error": ...}`; None if absent."""
    data = files.read(path)
    if data is None:
        return None
    try:
        values = _memo("params:" + path, data, load_params, data, path)
    except XptError as exc:
        return {"error": _error(exc)}
    if keys is None:
        return {"data": values}
    picked: dict[str, Any] = {}
    for key in sorted(keys):
        try:
            _unflatten_into(picked, key, select(values, key))
        except XptError:
            continue
    return {"data": picked}


def lock_entries(read: Reader, pipelines: list[Pipeline]) -> dict[str, dict[str, LockEntry]]:
    """{lockfile: {stage: entry}} at this revision (entries hold at least deps and outs)."""
    out: dict[str, dict[str, LockEntry]] = {}
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            path = stage.lockfile
            if path in out:
                continue
            data = read(path)
            try:
                out[path] = _memo("lock", data, read_lock_hashes, data, path) if data else {}
            except XptError:
                out[path] = {}
    return out


def metrics_paths(pipelines: list[Pipeline]) -> list[str]:
    """Declared metrics files in DVC's order: each dvc.yaml's top-level list, then stages."""
    paths: list[str] = []
    for pipeline in pipelines:
        paths.extend(pipeline.metrics_files)
        for stage in pipeline.stages.values():
            paths.extend(stage.repo_path(o.path) for o in stage.outs if o.kind == "metric")
    return list(dict.fromkeys(paths))


def metrics_entry(files: RevisionFiles, path: str, declared: bool = True) -> FileResult:
    """`{"data": ...}` or DVC's `{"error": ...}` for one metrics file of a revision.

    A declared file held by a cached output but absent is "No storage files available",
    as DVC says; anything else missing is "No such file or directory".
    """
    data = files.read(path)
    if data is None:
        cached = declared and files.is_cached(path)
        why = "No storage files available" if cached else "No such file or directory"
        return file_error("FileNotFoundError", f"[Errno 2] {why}: '{path}'")
    try:
        return {"data": _memo("metrics:" + path, data, _clean_metrics_of, data, path)}
    except XptError as exc:
        return {"error": _error(exc)}


def target_metrics(files: RevisionFiles, targets: list[str]) -> dict[str, FileResult]:
    """`metrics show TARGETS`: each file target, or every file under a folder target."""
    result: dict[str, FileResult] = {}
    for target in targets:
        found = [p for p in files.files_under(target) if p.rsplit("/", 1)[-1] != DVCFILE]
        for path in found or [target]:  # a folder lists its files but no dvc.yaml, like DVC
            result[path] = metrics_entry(files, path, declared=False)
    return result


def _metrics_data(files: RevisionFiles, pipelines: list[Pipeline]) -> dict[str, FileResult]:
    return {path: metrics_entry(files, path) for path in metrics_paths(pipelines)}


_NO_ITEM = LockItem("")


def _deps_outs(
    pipelines: list[Pipeline], locks: dict[str, dict[str, LockEntry]]
) -> tuple[dict[str, DepInfo], dict[str, OutInfo]]:
    deps: dict[str, DepInfo] = {}
    outs: dict[str, OutInfo] = {}
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            entry = locks.get(stage.lockfile, {}).get(stage.name)
            dep_items = entry.deps_by_path() if entry else {}
            out_items = entry.outs_by_path() if entry else {}
            for dep in stage.deps:
                item = dep_items.get(dep, _NO_ITEM)
                deps[stage.repo_path(dep)] = DepInfo(item.md5, item.size, item.nfiles)
            for out in stage.outs:
                if out.kind != "out":
                    continue
                item = out_items.get(out.path, _NO_ITEM)
                outs[stage.repo_path(out.path)] = OutInfo(
                    item.md5, item.size, item.nfiles, out.cache, stage.is_data_source
                )
    return deps, outs


def timestamp(epoch: int | None) -> str | None:
    """Commit time as DVC prints it: local time, ISO-8601, no zone."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def collect_data(
    read: Reader,
    rev: str,
    epoch: int | None,
    dvcfiles: list[str],
    odb: ODB,
    *,
    has_checkpoints: bool | None = None,
    param_deps: bool = False,
) -> tuple[ExpData, RowError | None]:
    """The docs/dvc-formats.md §9.5 `data` of one revision, and why it failed (or None).

    `read` is the revision's tree (`Git.reader(sha)`, or a work tree for the workspace and
    running experiments); files it lacks come from `odb` through the lock entries.
    """
    error = None
    try:
        pipelines = load_pipelines_at(read, dvcfiles)
    except XptError as exc:
        pipelines = []
        error = RowError(str(exc), type(exc).__name__)
    locks = lock_entries(read, pipelines)
    deps, outs = _deps_outs(pipelines, locks)
    files = RevisionFiles(read, cached_outs(pipelines, locks), odb)
    data = ExpData(
        rev=rev,
        timestamp=timestamp(epoch),
        params=_params_data(files, pipelines, param_deps),
        metrics=_metrics_data(files, pipelines),
        deps=deps,
        outs=outs,
        has_checkpoints=has_checkpoints,
    )
    return data, error


def revision_files(project: Project, rev: str = WORKSPACE) -> RevisionFiles:
    """`RevisionFiles` of `rev`: "workspace", a git revision, or an experiment name.

    This is the entry point for other features (plots, `xpt ui`): for example
    `revision_files(project, "exp-1a2b3").read("dvclive/metrics.json")`.
    """
    from xpt.pipeline.parse import find_dvcfiles, workspace_reader

    dvcfiles = find_dvcfiles(project.root) or [DVCFILE]
    root: Path | None = None
    listing: Callable[[str], Iterable[str]] | None = None
    if rev == WORKSPACE:
        read = workspace_reader(project.root)
        root = project.root
    else:
        from xpt.experiments.names import resolve_rev
        from xpt.scm.git import Git

        git = Git(project.root)
        sha = resolve_rev(git, rev)
        read = git.reader(sha)
        listing = lambda path: git.list_tree(sha, path).keys()  # noqa: E731
    try:
        pipelines = load_pipelines_at(read, dvcfiles)
    except XptError:
        pipelines = []
    outs = cached_outs(pipelines, lock_entries(read, pipelines))
    return RevisionFiles(read, outs, ODB(project.cache_dir), root=root, list_tree=listing)


def read_file_at(project: Project, rev: str, path: str) -> bytes | None:
    """Bytes of a declared file at `rev` (git, else cache), None if it is nowhere."""
    return revision_files(project, rev).read(path)
