"""Single-stage `.dvc` files: the one owner that reads and writes them.

`dvc add` and `dvc import` record data in `<name>.dvc` files (docs/dvc-formats.md §3.8). xpt reads them
as data-source stages of the pipeline graph (`to_stage`, `lock_entry`) and writes them
byte-for-byte like DVC: keys in DVC's order for a new file and, for an existing file,
only the values that changed, so comments, key order and flow style survive (`dumps`).
Paths inside a `.dvc` file are relative to its folder (plus `wdir`), as DVC writes them.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from xpt.errors import PipelineError
from xpt.pipeline.lockformat import (
    CHANGED_CHECKSUM,
    LockEntry,
    LockItem,
    canonical_json,
    dump_yaml,
    load_roundtrip,
)
from xpt.pipeline.model import OutSpec, Reader, Stage
from xpt.pipeline.yamltext import load_yaml_text, locate
from xpt.utils.dvcnames import DVC_SUFFIX
from xpt.utils.dvcnames import is_dvcfile as is_dvcfile  # its users ask `dvcfile`
from xpt.utils.oids import is_oid

SUFFIX = DVC_SUFFIX
_TOP_KEYS = ("md5", "cmd", "wdir", "frozen", "deps", "outs", "always_changed", "meta", "desc")
_HASH_FIELDS = ("md5", "size", "nfiles", "isexec", "hash", "path")


def dvcfile_for(repo_path: str) -> str:
    """The `.dvc` file `dvc add` writes for a data path: `data/x.xml` -> `data/x.xml.dvc`."""
    return repo_path.rstrip("/") + SUFFIX


@dataclass(frozen=True)
class RepoSource:
    """`deps[].repo` of `dvc import`: where the data came from and the commit it was at."""

    url: str
    rev: str | None = None
    rev_lock: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """Other keys (e.g. `config`), written back unchanged."""


@dataclass(frozen=True)
class DvcItem:
    """One `outs` or `deps` entry: a path and the hash recorded for it.

    `hash` is `"md5"` for DVC 3 entries and None for 2.x entries (md5-dos2unix, objects in
    the legacy cache folder). `extra` keeps every other key (desc, type, labels, meta,
    cache, remote, push, files, ...) in file order so that a rewrite loses nothing.
    """

    path: str
    md5: str | None = None
    size: int | None = None
    nfiles: int | None = None
    isexec: bool = False
    hash: str | None = "md5"
    repo: RepoSource | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def legacy(self) -> bool:
        return self.md5 is not None and self.hash is None

    @property
    def cache(self) -> bool:
        return self.extra.get("cache", True) is not False

    @property
    def push(self) -> bool:
        return self.extra.get("push", True) is not False

    @property
    def remote(self) -> str | None:
        value = self.extra.get("remote")
        return value if isinstance(value, str) else None

    def with_hash(
        self, md5: str, size: int | None, nfiles: int | None = None, isexec: bool = False
    ) -> DvcItem:
        """This entry recording new content (always as a DVC 3 `hash: md5` entry)."""
        return replace(self, md5=md5, size=size, nfiles=nfiles, isexec=isexec, hash="md5")

    def without_hash(self) -> DvcItem:
        return replace(self, md5=None, size=None, nfiles=None, isexec=False)


@dataclass(frozen=True)
class DvcFile:
    """A parsed `.dvc` file. `path` is its repo-relative posix path."""

    path: str
    outs: tuple[DvcItem, ...] = ()
    deps: tuple[DvcItem, ...] = ()
    md5: str | None = None
    cmd: str | list[str] | None = None
    wdir: str | None = None
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None
    meta: Any = field(default=None, compare=False)

    @property
    def base_dir(self) -> str:
        """Repo-relative folder the entries' paths are relative to (`''` for the root)."""
        folder = posixpath.dirname(self.path)
        if self.wdir:
            folder = posixpath.normpath(posixpath.join(folder, self.wdir))
        return "" if folder in ("", ".") else folder

    def repo_path(self, path: str) -> str:
        """Repo-relative posix path of an entry path."""
        return posixpath.normpath(posixpath.join(self.base_dir, path))

    @property
    def is_import(self) -> bool:
        """`dvc import`/`import-url`: no command, one dependency, one output."""
        return not self.cmd and len(self.deps) == 1 and len(self.outs) == 1

    @property
    def is_repo_import(self) -> bool:
        return self.is_import and self.deps[0].repo is not None

    @property
    def is_data_source(self) -> bool:
        """`dvc add`: outputs only, nothing to run."""
        return not self.cmd and not self.deps


# --- reading ---------------------------------------------------------------------------


def read(reader: Reader, path: str) -> DvcFile | None:
    """The `.dvc` file at repo-relative `path`, or None when it does not exist."""
    data = reader(path)
    return None if data is None else parse(data, path)


def parse(data: bytes, path: str) -> DvcFile:
    """Parse `.dvc` file bytes; problems raise PipelineError with `file:line:col`."""
    doc = load_yaml_text(data, path)
    try:
        return _build(doc, path)
    except _Bad as exc:
        raise PipelineError(
            locate(data, path, exc.where, exc.message),
            hint=f"fix '{path}', or recreate it with `xpt add`",
        ) from None


class _Bad(Exception):
    def __init__(self, where: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def _build(doc: Any, path: str) -> DvcFile:
    if not isinstance(doc, dict):
        raise _Bad((), "a .dvc file must be a mapping with `outs`")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _Bad((key,), f"unknown key (allowed: {', '.join(_TOP_KEYS)})")
    outs = _items(doc, "outs", dep=False)
    deps = _items(doc, "deps", dep=True)
    cmd = doc.get("cmd")
    if cmd is not None and not (
        isinstance(cmd, str) or (isinstance(cmd, list) and all(isinstance(c, str) for c in cmd))
    ):
        raise _Bad(("cmd",), "must be a string or a list of strings")
    wdir = doc.get("wdir")
    if wdir is not None and not isinstance(wdir, str):
        raise _Bad(("wdir",), "must be a string")
    md5 = doc.get("md5")
    if md5 is not None and not is_oid(md5, allow_dir=False):
        raise _Bad(("md5",), "must be 32 lowercase hex digits")
    desc = doc.get("desc")
    if desc is not None and not isinstance(desc, str):
        raise _Bad(("desc",), "must be a string")
    flags = {}
    for key in ("frozen", "always_changed"):
        value = doc.get(key, False)
        if not isinstance(value, bool):
            raise _Bad((key,), "must be true or false")
        flags[key] = value
    dvcfile = DvcFile(
        path=path,
        outs=outs,
        deps=deps,
        md5=md5,
        cmd=cmd,
        wdir=wdir,
        frozen=flags["frozen"],
        always_changed=flags["always_changed"],
        desc=desc,
        meta=doc.get("meta"),
    )
    for i, item in enumerate(outs):
        if _escapes(dvcfile, item.path):
            raise _Bad(("outs", i, "path"), f"'{item.path}' is outside the repository")
    return dvcfile


def _escapes(dvcfile: DvcFile, path: str) -> bool:
    if posixpath.isabs(path):
        return True
    repo_path = dvcfile.repo_path(path)
    return repo_path == ".." or repo_path.startswith("../")


def _items(doc: dict[str, Any], section: str, *, dep: bool) -> tuple[DvcItem, ...]:
    raw = doc.get(section)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _Bad((section,), "must be a list")
    return tuple(_item(entry, (section, i), dep) for i, entry in enumerate(raw))


def _item(entry: Any, where: tuple[str | int, ...], dep: bool) -> DvcItem:
    if not isinstance(entry, dict):
        raise _Bad(where, "must be a mapping with a `path`")
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        raise _Bad(where, "needs a `path` string")
    md5 = entry.get("md5")
    if md5 is not None and not is_oid(md5):
        raise _Bad((*where, "md5"), "must be 32 lowercase hex digits (`.dir` for a folder)")
    hash_name = entry.get("hash")
    if hash_name is not None and hash_name != "md5":
        raise _Bad((*where, "hash"), f"unsupported hash '{hash_name}' (xpt reads md5)")
    for key in ("size", "nfiles"):
        value = entry.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise _Bad((*where, key), "must be a non-negative integer")
    isexec = entry.get("isexec", False)
    if not isinstance(isexec, bool):
        raise _Bad((*where, "isexec"), "must be true or false")
    repo = None
    if dep and "repo" in entry:
        repo = _repo(entry["repo"], (*where, "repo"))
    extra = {k: v for k, v in entry.items() if k not in _HASH_FIELDS and k != "repo"}
    return DvcItem(
        path=path,
        md5=md5,
        size=entry.get("size"),
        nfiles=entry.get("nfiles"),
        isexec=isexec,
        hash=hash_name,
        repo=repo,
        extra=extra,
    )


def _repo(raw: Any, where: tuple[str | int, ...]) -> RepoSource:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise _Bad(where, "must be a mapping with a `url`")
    for key in ("rev", "rev_lock"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _Bad((*where, key), "must be a string")
    extra = {k: v for k, v in raw.items() if k not in ("url", "rev", "rev_lock")}
    return RepoSource(raw["url"], raw.get("rev"), raw.get("rev_lock"), extra)


# --- the pipeline's view ---------------------------------------------------------------


def to_stage(dvcfile: DvcFile) -> Stage:
    """The data-source stage of the graph (addressed by the file's path, never run).

    Only local dependencies are tracked (a repo import's source cannot be hashed here).
    """
    base = dvcfile.base_dir
    deps = tuple(d.path for d in dvcfile.deps if d.repo is None and "://" not in d.path)
    outs = tuple(
        OutSpec(path=o.path, cache=o.cache, remote=o.remote, push=o.push) for o in dvcfile.outs
    )
    return Stage(
        name=dvcfile.path,
        dvcfile=dvcfile.path,
        wdir=base,
        cmd=dvcfile.cmd or "",
        deps=deps,
        outs=outs,
        frozen=dvcfile.frozen,
        always_changed=dvcfile.always_changed,
        desc=dvcfile.desc,
        meta=dvcfile.meta,
    )


def lock_record(dvcfile: DvcFile) -> LockEntry:
    """The recorded state as a dvc.lock entry (`cmd`, `deps`, `outs`), for status."""
    changed = dvcfile.md5 is not None and stage_md5(dvcfile) != dvcfile.md5
    return LockEntry(
        dvcfile.cmd or "",
        tuple(_lock_item(d) for d in dvcfile.deps if d.md5 is not None),
        outs=tuple(_lock_item(o) for o in dvcfile.outs if o.md5 is not None),
        # the file was edited by hand since DVC wrote it
        extra={CHANGED_CHECKSUM: True} if changed else {},
    )


def lock_records(data: bytes | None, path: str) -> dict[str, LockEntry]:
    """`lockfile.read_lock` of a `.dvc` file: {stage name (the path): entry}."""
    if data is None:
        return {}
    return {path: lock_record(parse(data, path))}


def lock_entry(dvcfile: DvcFile) -> dict[str, Any]:
    """`lock_record` as plain data."""
    return lock_record(dvcfile).to_dict()


def lock_entries(data: bytes | None, path: str) -> dict[str, dict[str, Any]]:
    """`lock_records` as plain data (`lockfile.parse_lock` of a `.dvc` file)."""
    return {name: entry.to_dict() for name, entry in lock_records(data, path).items()}


def _lock_item(item: DvcItem) -> LockItem:
    """The entry as dvc.lock writes it: path, hash, md5, size, nfiles, isexec."""
    return LockItem(item.path, item.md5, item.size, item.nfiles, item.isexec, item.hash)


# --- writing ---------------------------------------------------------------------------


def to_dict(dvcfile: DvcFile) -> dict[str, Any]:
    """The file's content in DVC's key order (empty values left out, as DVC does)."""
    doc: dict[str, Any] = {}
    for key, value in (
        ("desc", dvcfile.desc),
        ("md5", dvcfile.md5),
        ("cmd", dvcfile.cmd),
        ("wdir", dvcfile.wdir),
        ("frozen", dvcfile.frozen),
        ("deps", [_item_dict(d) for d in dvcfile.deps]),
        ("outs", [_item_dict(o) for o in dvcfile.outs]),
        ("always_changed", dvcfile.always_changed),
        ("meta", dvcfile.meta),
    ):
        if value:
            doc[key] = value
    return doc


def _item_dict(item: DvcItem) -> dict[str, Any]:
    """One entry as DVC dumps it: hash value and file meta, `hash`, `path`, the rest."""
    entry: dict[str, Any] = {}
    if item.repo is not None:
        repo: dict[str, Any] = {"url": item.repo.url}
        if item.repo.rev is not None:
            repo["rev"] = item.repo.rev
        if item.repo.rev_lock is not None:
            repo["rev_lock"] = item.repo.rev_lock
        repo.update(item.repo.extra)
        return {"path": item.path, "repo": repo, **item.extra}
    if item.md5 is not None:  # the hash and file meta first, then `hash` and `path`
        entry = {k: v for k, v in _lock_item(item).to_dict().items() if k not in ("path", "hash")}
    if item.hash or item.md5 is None:
        entry["hash"] = "md5"
    entry["path"] = item.path
    entry.update(item.extra)
    return entry


_MD5_EXCLUDE = frozenset(
    ("desc", "type", "labels", "meta", "locked", "frozen", "metric", "persist")
    + ("isexec", "size", "nfiles")
)


def stage_md5(dvcfile: DvcFile) -> str | None:
    """The `md5:` DVC records for an import (None for `dvc add` files, which have none).

    MD5 of the canonical JSON of the file's content without `md5`, `meta`, `desc`, and
    without annotation, flag and size keys at any depth.
    """
    if dvcfile.is_data_source:
        return None
    doc = to_dict(replace(dvcfile, md5=None, meta=None, desc=None))
    if doc.get("wdir") == ".":
        del doc["wdir"]
    return hashlib.md5(canonical_json(_filtered(doc))).hexdigest()


def _filtered(value: Any) -> Any:
    if isinstance(value, list):
        return [_filtered(v) for v in value]
    if isinstance(value, dict):
        return {k: _filtered(v) for k, v in value.items() if k not in _MD5_EXCLUDE}
    return value


def dumps(dvcfile: DvcFile, old: bytes | None = None) -> bytes:
    """File bytes DVC would write; with `old`, its comments and layout are kept.

    Like DVC, the old document is updated in place: changed values are replaced, new
    keys appended, vanished keys dropped, and a list whose length changed is replaced.
    """
    new = to_dict(dvcfile)
    doc = load_roundtrip(old, dvcfile.path) if old else None
    if not isinstance(doc, dict):
        return dump_yaml(new)
    _apply_diff(new, doc)
    return dump_yaml(doc)


def _same_kind(a: Any, b: Any) -> bool:
    kinds = (str, Mapping, list, bool)
    return any(isinstance(a, t) and isinstance(b, t) for t in kinds)


def _apply_diff(src: Any, dest: Any) -> None:
    """Make `dest` (a round-trip document) equal `src`, touching only what differs."""
    if isinstance(src, Mapping) and isinstance(dest, dict):
        for key, value in src.items():
            if isinstance(value, Mapping | list) and _same_kind(value, dest.get(key)):
                _apply_diff(value, dest[key])
            elif key not in dest or value != dest[key]:
                dest[key] = value
        for key in [k for k in dest if k not in src]:
            del dest[key]
    elif isinstance(src, list) and isinstance(dest, list):
        if len(src) != len(dest):
            dest[:] = src
            return
        for i, value in enumerate(src):
            if isinstance(value, Mapping | list) and _same_kind(value, dest[i]):
                _apply_diff(value, dest[i])
            elif value != dest[i]:
                dest[i] = value


def write(root: str, dvcfile: DvcFile, *, keep_layout: bool = True) -> None:
    """Write `dvcfile` under the repository `root` atomically, keeping an old file's layout
    (unless `keep_layout` is False: the file is then written afresh)."""
    import os

    from xpt.utils.fsutil import atomic_write_bytes

    target = os.path.join(root, dvcfile.path)
    old: bytes | None = None
    if keep_layout:
        try:
            with open(target, "rb") as f:
                old = f.read()
        except FileNotFoundError:
            pass
    atomic_write_bytes(target, dumps(dvcfile, old))


def with_entry(dvcfile: DvcFile, entry: LockEntry) -> DvcFile:
    """`dvcfile` recording the hashes of a lock entry (matched by path).

    Entries missing from `entry` keep their old hashes; an import's `md5` is recomputed.
    """
    new_outs = _merge(dvcfile.outs, entry.outs)
    new_deps = _merge(dvcfile.deps, entry.deps)
    updated = replace(dvcfile, outs=new_outs, deps=new_deps)
    if dvcfile.md5 is not None:
        updated = replace(updated, md5=stage_md5(updated))
    return updated


def _merge(items: tuple[DvcItem, ...], recorded: tuple[LockItem, ...]) -> tuple[DvcItem, ...]:
    by_path = {r.path: r for r in recorded}
    merged = []
    for item in items:
        new = by_path.get(item.path)
        if new is None or item.repo is not None or not new.md5:
            merged.append(item)
        elif new.legacy:  # a 2.x hash kept as it was
            merged.append(replace(item, md5=new.md5, hash=None))
        else:
            merged.append(item.with_hash(new.md5, new.size, new.nfiles, new.isexec))
    return tuple(merged)


def update_bytes(old: bytes, path: str, entry: LockEntry) -> bytes:
    """The `.dvc` file `old` rewritten to record `entry`'s hashes (layout kept)."""
    return dumps(with_entry(parse(old, path), entry), old)
