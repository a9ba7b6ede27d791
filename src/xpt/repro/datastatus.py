"""`data status` and `diff`: cached outputs compared across HEAD, the index and the workspace.

"Recorded" outputs are what `.dvc` files and `dvc.lock` entries say (at a git revision or
in the workspace: DVC's "index"). Workspace hashes come from the project's hasher and its
stat memo, so a warm run stats files and reads no data; folders are expanded file by file
(through their `.dir` objects) only when asked for (`--granular`, `diff`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xpt.cache.digest import HashInfo, info_from_entry
from xpt.errors import CacheError, ScmError
from xpt.pipeline.lockfile import read_lock
from xpt.pipeline.lockformat import LockEntry
from xpt.pipeline.model import Reader
from xpt.pipeline.parse import find_dvcfiles, load_pipelines
from xpt.project import Project
from xpt.repro.workspace import Workspace, open_workspace
from xpt.utils.dvcnames import DVC_DIR_PREFIX, DVCFILE, is_dvcfile

Recorded = dict[str, "HashInfo | None"]
"""Repo-relative output path -> recorded hash (None: tracked but not hashed yet)."""


def _dvcfiles_in_tree(paths: list[str]) -> list[str]:
    found = [p for p in paths if p.rsplit("/", 1)[-1] == DVCFILE or _is_dot_dvc(p)]
    return sorted(found, key=lambda p: (p != DVCFILE, p))


def _is_dot_dvc(path: str) -> bool:
    return is_dvcfile(path) and not path.startswith(DVC_DIR_PREFIX)


def recorded_outputs(read: Reader, dvcfiles: list[str]) -> Recorded:
    """Every cached output of these dvc.yaml / `.dvc` files with its recorded hash."""
    out: Recorded = {}
    locks: dict[str, dict[str, LockEntry]] = {}
    for pipeline in load_pipelines(read, dvcfiles):
        for stage in pipeline.stages.values():
            if stage.lockfile not in locks:
                locks[stage.lockfile] = read_lock(read(stage.lockfile), stage.lockfile)
            entry = locks[stage.lockfile].get(stage.name)
            items = entry.outs_by_path() if entry else {}
            for spec in stage.outs:
                if not spec.cache:
                    continue
                item = items.get(spec.path)
                info = info_from_entry(item) if item else None
                out[stage.repo_path(spec.path)] = info
    return out


def recorded_at(ws: Workspace, rev: str | None) -> Recorded:
    """Recorded outputs at a git revision, or in the workspace files when `rev` is None."""
    if rev is None:
        return recorded_outputs(ws.read, find_dvcfiles(ws.root))
    git = ws.git
    if git is None:
        raise ScmError("this project is not in a git repository", hint="run `git init`")
    sha = git.resolve(rev)
    if sha is None:
        raise ScmError(f"unknown Git revision '{rev}'")
    return recorded_outputs(git.reader(sha), _dvcfiles_in_tree(list(git.list_tree(sha))))


_HEAD_MEMO = "data-status-head:v1:"


def recorded_at_head(ws: Workspace) -> Recorded:
    """HEAD's recorded outputs; memoised by HEAD's commit id, found without pygit2."""
    from xpt.scm.head import head_sha

    sha = head_sha(ws.root)
    state = ws.hasher.state
    if sha is not None and state is not None:
        stored = state.get_value(_HEAD_MEMO + sha)
        if stored is not None:
            return {p: None if v is None else HashInfo(*v) for p, v in json.loads(stored).items()}
    git = ws.git
    if git is None or git.head_sha() is None:
        return {}
    sha = git.head_sha()
    found = recorded_at(ws, sha)
    if state is not None and sha is not None:
        plain = {
            p: None if i is None else [i.md5, i.size, i.nfiles, i.isexec, i.legacy]
            for p, i in found.items()
        }
        state.put_value(_HEAD_MEMO + sha, json.dumps(plain))
    return found


def workspace_hashes(ws: Workspace, paths: list[str]) -> dict[str, HashInfo]:
    """Current hashes of the outputs that exist (memoised; folders by fingerprint)."""
    present = [p for p in paths if os.path.exists(ws.root / p)]
    found = ws.hasher.hash_many([str(ws.root / p) for p in present])
    return {p: found[str(ws.root / p)] for p in present}


def _tree_files(ws: Workspace, info: HashInfo | None) -> dict[str, str] | None:
    """{relpath: md5} of a recorded folder, None if its `.dir` object is not in the cache."""
    if info is None or not info.is_dir:
        return None
    try:
        return dict(ws.odb.load_tree(info.md5, info.legacy))
    except (CacheError, OSError):
        return None


def _workspace_files(ws: Workspace, path: str) -> dict[str, str]:
    full = ws.root / path
    if not full.is_dir():
        return {}
    _info, entries = ws.hasher.hash_dir(full)
    return {e.relpath: e.md5 for e in entries}


# --- data status --------------------------------------------------------------------------

_ORDER = ("modified", "added", "unknown", "deleted", "renamed")


@dataclass
class Changes:
    """One comparison's result, by kind (lists of repo-relative paths, `dir/` for folders)."""

    kinds: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, path: str) -> None:
        self.kinds.setdefault(kind, []).append(path)

    def to_dict(self) -> dict[str, list[str]]:
        return {k: sorted(self.kinds[k]) for k in _ORDER if self.kinds.get(k)}


@dataclass
class DataStatus:
    not_in_cache: list[str] = field(default_factory=list)
    committed: Changes = field(default_factory=Changes)
    uncommitted: Changes = field(default_factory=Changes)
    untracked: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    git_dirty: bool = False

    def to_dict(self) -> dict[str, Any]:
        """DVC's `data status --json` shape (empty sections left out)."""
        out: dict[str, Any] = {}
        if self.not_in_cache:
            out["not_in_cache"] = sorted(self.not_in_cache)
        for key, changes in (("committed", self.committed), ("uncommitted", self.uncommitted)):
            if changes.to_dict():
                out[key] = changes.to_dict()
        if self.untracked:
            out["untracked"] = sorted(self.untracked)
        if self.unchanged:
            out["unchanged"] = sorted(self.unchanged)
        return out


def _shown(path: str, info: HashInfo | None) -> str:
    return path + "/" if info is not None and info.is_dir else path


def _compare(
    ws: Workspace,
    old: Recorded,
    new: dict[str, HashInfo | None],
    changes: Changes,
    *,
    granular: bool,
    unchanged: list[str] | None = None,
    new_files: Any = None,
) -> None:
    """Fill `changes` with what differs from `old` to `new` (per file inside folders
    when `granular`); `unchanged` collects what is the same."""
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if path not in new or b is None:
            if a is not None or path not in new:
                changes.add("deleted", _shown(path, a))
                if granular and a is not None and a.is_dir:
                    for rel in _tree_files(ws, a) or {}:
                        changes.add("deleted", f"{path}/{rel}")
            continue
        if path not in old or a is None:
            changes.add("added", _shown(path, b))
            if granular and b.is_dir:
                for rel in new_files(path, b) or {}:
                    changes.add("added", f"{path}/{rel}")
            continue
        same = a.md5 == b.md5
        shown = _shown(path, a if a.is_dir else b)
        if not same:
            changes.add("modified", shown)
        if granular and (a.is_dir or b.is_dir):
            before = _tree_files(ws, a) if a.is_dir else {}
            after = (new_files(path, b) if b.is_dir else {}) or {}
            if before is None:
                for rel in after:
                    changes.add("unknown", f"{path}/{rel}")
                continue
            for rel in sorted(set(before) | set(after)):
                if rel not in after:
                    changes.add("deleted", f"{path}/{rel}")
                elif rel not in before:
                    changes.add("added", f"{path}/{rel}")
                elif before[rel] != after[rel]:
                    changes.add("modified", f"{path}/{rel}")
                elif unchanged is not None:
                    unchanged.append(f"{path}/{rel}")
        elif same and unchanged is not None:
            unchanged.append(shown)


def data_status(
    ws: Workspace,
    *,
    granular: bool = False,
    unchanged: bool = False,
    untracked: bool = False,
    git_status: bool = True,
) -> DataStatus:
    """HEAD vs the index ("committed"), the index vs the workspace ("uncommitted").

    `git_status` asks git whether anything else changed (the text output's last line)."""
    result = DataStatus()
    index = recorded_at(ws, None)
    head = recorded_at_head(ws)
    for path, info in sorted(index.items()):
        if info is not None and ws.odb.missing(info):
            result.not_in_cache.append(_shown(path, info))
    index_files: dict[str, dict[str, str]] = {}

    def index_tree(path: str, info: HashInfo) -> dict[str, str]:
        files = _tree_files(ws, info)
        return files if files is not None else {}

    _compare(ws, head, dict(index), result.committed, granular=granular, new_files=index_tree)
    current = workspace_hashes(ws, list(index))
    seen: dict[str, HashInfo | None] = {p: current.get(p) for p in index if p in current}
    _compare(
        ws,
        index,
        seen,
        result.uncommitted,
        granular=granular,
        unchanged=result.unchanged if unchanged else None,
        new_files=lambda path, _info: index_files.setdefault(path, _workspace_files(ws, path)),
    )
    if git_status or untracked:
        git = ws.git
        status = git.status() if git is not None else None
        if status is not None:
            result.git_dirty = bool(status.modified or status.deleted or status.added)
            result.untracked = list(status.untracked) if untracked else []
    return result


def run_data_status(
    project: Project,
    *,
    granular: bool = False,
    unchanged: bool = False,
    untracked: bool = False,
    git_status: bool = True,
    memo_key: str | None = None,
    render: Callable[[DataStatus], str] | None = None,
) -> DataStatus:
    """`xpt data status`: `data_status` in a workspace of its own.

    With `memo_key` (see `xpt.fastpath`) and `render` (the exact output, without the last
    newline), a clean answer, the one asked again and again, is recorded so that it is
    replayed while nothing it rests on changes."""
    options = {
        "granular": granular,
        "unchanged": unchanged,
        "untracked": untracked,
        "git_status": git_status,
    }
    if memo_key is None or render is None:
        with open_workspace(project) as ws:
            return data_status(ws, **options)
    from xpt.repro import verdict

    # noting starts before the config is read: its files are watched
    with verdict.noting() as since, open_workspace(project) as ws:
        reads = verdict.track_reads(ws)
        result = data_status(ws, **options)
        if not result.to_dict():
            _record_verdict(ws, memo_key, reads, f"{render(result)}\n", since)
    return result


def _record_verdict(ws: Workspace, key: str, reads: Any, stdout: str, since_ns: int) -> bool:
    """Let `xpt.fastpath` replay this `data status --json` output while nothing it rests
    on changes: the files read, every output, their cache objects and git's refs."""
    from xpt.repro import verdict
    from xpt.repro.workspace import load_graph

    refs = verdict.git_watch(str(ws.root))
    if refs is None or not find_dvcfiles(ws.root):
        return False
    watch = verdict.watch_list(ws, load_graph(ws).stages(), reads) + refs
    return verdict.store(str(ws.root), key, list(dict.fromkeys(watch)), stdout, since_ns)


# --- diff -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffEntry:
    path: str
    old: str | None = None
    new: str | None = None


@dataclass
class DataDiff:
    added: list[DiffEntry] = field(default_factory=list)
    deleted: list[DiffEntry] = field(default_factory=list)
    modified: list[DiffEntry] = field(default_factory=list)
    not_in_cache: list[DiffEntry] = field(default_factory=list)
    workspace: bool = True
    """Against the workspace DVC adds the "not in cache" key; between revisions it does not."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.deleted or self.modified or self.not_in_cache)

    def to_dict(self, show_hash: bool = False) -> dict[str, Any]:
        """DVC's `diff --json` shape ({} when nothing differs)."""
        if self.empty:
            return {}

        def one(e: DiffEntry, kind: str) -> dict[str, Any]:
            d: dict[str, Any] = {"path": e.path}
            if show_hash:
                if kind == "modified":
                    d["hash"] = {"old": e.old, "new": e.new}
                else:
                    d["hash"] = e.new if kind == "added" else e.old
            return d

        out: dict[str, Any] = {
            "added": [one(e, "added") for e in self.added],
            "deleted": [one(e, "deleted") for e in self.deleted],
            "modified": [one(e, "modified") for e in self.modified],
            "renamed": [],
        }
        if self.workspace:
            out["not in cache"] = [one(e, "not in cache") for e in self.not_in_cache]
        return out


def _expand(ws: Workspace, rec: dict[str, HashInfo | None], workspace: bool) -> dict[str, str]:
    """path -> md5 for files, `dir/` -> md5 for folders plus `dir/file` -> md5 inside."""
    flat: dict[str, str] = {}
    for path, info in rec.items():
        if info is None:
            continue
        if not info.is_dir:
            flat[path] = info.md5
            continue
        flat[path + "/"] = info.md5
        files = _workspace_files(ws, path) if workspace else (_tree_files(ws, info) or {})
        for rel, md5 in files.items():
            flat[f"{path}/{rel}"] = md5
    return flat


def _in_targets(path: str, targets: list[str]) -> bool:
    return any(
        path.rstrip("/") == t or path.startswith(t + "/") or t.startswith(path.rstrip("/") + "/")
        for t in targets
    )


def data_diff(
    ws: Workspace, a_rev: str | None, b_rev: str | None, targets: list[str] | None = None
) -> DataDiff:
    """What changed in cached outputs from `a_rev` (default HEAD) to `b_rev` (default:
    the workspace, its data as it is on disk)."""
    a = recorded_at(ws, a_rev) if a_rev else recorded_at_head(ws)
    if b_rev is None:
        index = recorded_at(ws, None)
        b: dict[str, HashInfo | None] = dict(workspace_hashes(ws, list(index)))
    else:
        b = dict(recorded_at(ws, b_rev))
    old = _expand(ws, dict(a), workspace=False)
    new = _expand(ws, b, workspace=b_rev is None)
    if targets:
        clean = [t.rstrip("/") for t in targets]
        old = {p: m for p, m in old.items() if _in_targets(p, clean)}
        new = {p: m for p, m in new.items() if _in_targets(p, clean)}
    result = DataDiff(workspace=b_rev is None)
    for path in sorted(set(old) | set(new)):
        if path not in old:
            result.added.append(DiffEntry(path, new=new[path]))
        elif path not in new:
            result.deleted.append(DiffEntry(path, old=old[path]))
        elif old[path] != new[path]:
            result.modified.append(DiffEntry(path, old[path], new[path]))
    for path, md5 in sorted(old.items()) if result.workspace else ():
        if not ws.odb.exists(md5):
            result.not_in_cache.append(DiffEntry(path, old=md5))
    return result
