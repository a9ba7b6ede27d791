"""Recording a stage's state: the dep/out entries of its lock entry, the outputs stored in
the object cache, and the lock file written per stage (`Locks`).

Shared by `reproduce.py` (after a run) and `checkout.py` (`xpt commit`), below both.
"""

from __future__ import annotations

import os
from pathlib import Path

from xpt.cache.digest import HashInfo
from xpt.cache.outputs import save_outputs
from xpt.errors import ReproError
from xpt.pipeline.graph import Graph
from xpt.pipeline.lockfile import dump_stage, read_lock
from xpt.pipeline.lockformat import LockEntry, LockItem
from xpt.pipeline.model import Stage
from xpt.repro.stage_status import StageCheck
from xpt.repro.workspace import Workspace
from xpt.utils.fsutil import atomic_write_bytes


class Locks:
    """dvc.lock contents per lock file, read once and written per stage."""

    def __init__(self, ws: Workspace, *, announce: bool = True) -> None:
        self.ws = ws
        self.announce = announce
        self._raw: dict[str, bytes | None] = {}
        self._parsed: dict[str, dict[str, LockEntry]] = {}

    def entry(self, stage: Stage) -> LockEntry | None:
        path = stage.lockfile
        if path not in self._parsed:
            self._raw[path] = self.ws.read(path)
            self._parsed[path] = read_lock(self._raw[path], path)
        return self._parsed[path].get(stage.name)

    def write(self, stage: Stage, entry: LockEntry) -> None:
        self.entry(stage)
        path = stage.lockfile
        new = dump_stage(path, self._raw[path], stage.name, entry)
        if new != self._raw[path]:
            atomic_write_bytes(os.path.join(self.ws.root, path), new)
            if self.announce and not stage.is_dvcfile_stage:
                verb = "Generating" if self._raw[path] is None else "Updating"
                print(f"{verb} lock file '{path}'", flush=True)
        self._raw[path] = new
        self._parsed[path][stage.name] = entry


def stage_abspath(ws: Workspace, stage: Stage, path: str) -> str:
    return os.path.join(ws.root, stage.repo_path(path))


def legacy_locks(graph: Graph) -> bool:
    """True when the project's dvc.lock files are written in DVC 2's dialect.

    Checkpoints are a DVC 2 feature (3.0 removed them) and DVC 2.58 rejects a whole
    lock file, of any stage, as soon as one entry has a `hash:` key. So a project with
    a checkpoint output gets 2.x entries everywhere: md5-dos2unix hashes, no `hash:`
    key, objects in the legacy cache layout. DVC 3 reads those too.
    """
    return any(stage.is_checkpoint for stage in graph.stages())


def _legacy_item(ws: Workspace, stage: Stage, path: str) -> LockItem:
    info = ws.hasher.hash_path(stage_abspath(ws, stage, path), legacy=True)
    return LockItem(path, info.md5, info.size, info.nfiles, info.isexec, hash=None)


def dep_entries(ws: Workspace, stage: Stage, check: StageCheck, legacy: bool) -> list[LockItem]:
    """The stage's dep entries in the lock dialect (2.x: re-hashed with md5-dos2unix)."""
    entries = check.dep_entries()
    if not legacy:
        return entries
    return [e if e.legacy else _legacy_item(ws, stage, e.path) for e in entries]


def is_legacy_entry(entry: LockEntry | None) -> bool:
    return entry is None or entry.legacy


def save_legacy(ws: Workspace, path: str) -> HashInfo:
    """Store an output in DVC 2's cache layout; the workspace file is left as it is.

    `cache.checkout.save_outputs` has no legacy mode: objects are copied in under their
    md5-dos2unix ids (the bytes stay raw, as DVC 2 stores them).
    """
    if os.path.isdir(path):
        info, entries = ws.hasher.hash_dir(path, legacy=True)
        for item in entries:
            ws.odb.add_file(Path(path, *item.relpath.split("/")), item.md5, legacy=True)
        ws.odb.add_tree(entries, legacy=True)
        return info
    info = ws.hasher.hash_file(path, legacy=True)
    ws.odb.add_file(Path(path), info.md5, legacy=True)
    return info


def commit_outputs(
    ws: Workspace,
    stage: Stage,
    *,
    no_commit: bool = False,
    allow_missing: bool = False,
    legacy: bool = False,
    relink: bool = True,
) -> list[LockItem]:
    """Hash every output, store cached ones in the object cache; lock entries for outs.

    `allow_missing` skips outputs not written yet (a checkpoint before the metrics exist).
    `legacy` writes DVC 2 entries and objects (see `legacy_locks`). `relink=False`
    (`commit --no-relink`) leaves the workspace files as they are, not linked to the cache.
    """
    present = []
    for out in stage.outs:
        path = stage_abspath(ws, stage, out.path)
        if os.path.lexists(path):
            present.append((out, path))
        elif not allow_missing:
            raise ReproError(
                f"stage '{stage.addressing}' did not produce its output '{out.path}'",
                hint="fix the command or remove the output from dvc.yaml",
            )
    cached = [(o, p) for o, p in present if o.cache and not no_commit]
    if legacy:
        infos = {o.path: save_legacy(ws, p) for o, p in cached}
    else:
        # all cached outputs at once: their big files hash on different cores
        saved = save_outputs(
            ws.odb, ws.hasher, [p for _o, p in cached], ws.link_types, relink=relink
        )
        infos = {o.path: info for (o, _p), (info, _tree) in zip(cached, saved, strict=True)}
    entries = []
    for out, path in present:
        info = infos.get(out.path) or ws.hasher.hash_path(path, legacy=legacy)
        entries.append(
            LockItem(
                out.path, info.md5, info.size, info.nfiles, info.isexec, None if legacy else "md5"
            )
        )
    return entries
