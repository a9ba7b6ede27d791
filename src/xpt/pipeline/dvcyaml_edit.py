"""Edits of a `dvc.yaml` (stage add / remove / freeze): the one writer of that file.

Edits go through ruamel's round-trip loader, so comments and the layout of untouched
stages survive; a new stage is written in DVC's key order (docs/dvc-formats.md §1.9) and dumped with the
same settings as `dvc.lock`. Each function takes the old bytes and returns the new ones;
the caller writes them atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from xpt.errors import PipelineError
from xpt.pipeline.lockformat import dump_yaml, load_roundtrip
from xpt.pipeline.params import DEFAULT_PARAMS_FILE
from xpt.utils.dvcnames import DVCFILE


@dataclass(frozen=True)
class OutDef:
    """One output of a new stage, with the flags `stage add` can set."""

    path: str
    cache: bool = True
    persist: bool = False


@dataclass(frozen=True)
class StageDef:
    """What `stage add` puts in dvc.yaml (paths relative to the stage's wdir)."""

    cmd: str
    wdir: str = "."
    deps: tuple[str, ...] = ()
    params: tuple[tuple[str, tuple[str, ...] | None], ...] = ()
    """(file, keys) pairs; keys None tracks the whole file."""
    outs: tuple[OutDef, ...] = ()
    metrics: tuple[OutDef, ...] = ()
    plots: tuple[OutDef, ...] = ()
    always_changed: bool = False
    desc: str | None = None
    meta: Any = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The stage mapping in DVC's order: desc, cmd, wdir, deps, params, outs, ..."""
        data: dict[str, Any] = {}
        if self.desc:
            data["desc"] = self.desc
        data["cmd"] = self.cmd
        if self.wdir not in ("", "."):
            data["wdir"] = self.wdir
        if self.deps:
            data["deps"] = sorted(set(self.deps))
        if self.params:
            data["params"] = _params_list(self.params)
        for key, outs in (("outs", self.outs), ("metrics", self.metrics), ("plots", self.plots)):
            if outs:
                data[key] = [_out_entry(o) for o in sorted(outs, key=lambda o: o.path)]
        if self.always_changed:
            data["always_changed"] = True
        if self.meta:
            data["meta"] = self.meta
        return data


def _out_entry(out: OutDef) -> Any:
    flags: dict[str, Any] = {}
    if not out.cache:
        flags["cache"] = False
    if out.persist:
        flags["persist"] = True
    return {out.path: flags} if flags else out.path


def _params_list(params: Iterable[tuple[str, tuple[str, ...] | None]]) -> list[Any]:
    """Bare keys of params.yaml first (sorted), then `{file: [keys] | None}` by file."""
    merged: dict[str, set[str] | None] = {}
    for path, keys in params:
        if keys is None or merged.get(path, set()) is None:
            merged[path] = None
        else:
            merged.setdefault(path, set()).update(keys)  # type: ignore[union-attr]
    default = merged.get(DEFAULT_PARAMS_FILE, set())
    out: list[Any] = sorted(default) if default else []
    for path in sorted(merged):
        keys_ = merged[path]
        if path == DEFAULT_PARAMS_FILE and keys_:
            continue
        out.append({path: sorted(keys_) if keys_ else None})
    return out


def _load(old: bytes | None, path: str) -> Any:
    from ruamel.yaml.comments import CommentedMap

    doc: Any = load_roundtrip(old, path) if old and old.strip() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise PipelineError(f"'{path}': the top level must be a mapping (with a 'stages' key)")
    return doc


def _stages(doc: Any, path: str, create: bool = False) -> Any:
    from ruamel.yaml.comments import CommentedMap

    stages = doc.get("stages")
    if stages is None and create:
        stages = CommentedMap()
        doc["stages"] = stages
    if stages is not None and not isinstance(stages, dict):
        raise PipelineError(f"'{path}': 'stages' must be a mapping")
    return stages if stages is not None else {}


def has_stage(old: bytes | None, name: str, path: str = DVCFILE) -> bool:
    """Whether the file defines a stage called `name` (as written, before templating)."""
    return name in _stages(_load(old, path), path)


def add_stage(old: bytes | None, name: str, stage: StageDef, path: str = DVCFILE) -> bytes:
    """The file with `name` added (or replaced in place, as `stage add -f` does)."""
    doc = _load(old, path)
    stages = _stages(doc, path, create=True)
    stages[name] = stage.to_dict()
    return dump_yaml(doc)


def remove_stage(old: bytes | None, name: str, path: str = DVCFILE) -> bytes:
    """The file without stage `name`; `b""` when nothing is left (DVC deletes the file)."""
    doc = _load(old, path)
    stages = _stages(doc, path)
    if name not in stages:
        raise PipelineError(f"Stage '{name}' not found inside '{path}' file")
    del stages[name]
    if not stages and all(k == "stages" for k in doc):
        return b""
    return dump_yaml(doc)


def set_frozen(old: bytes | None, name: str, frozen: bool, path: str = DVCFILE) -> bytes:
    """`frozen: true` added after the stage's other keys, or the key removed."""
    doc = _load(old, path)
    stages = _stages(doc, path)
    if name not in stages or not isinstance(stages[name], dict):
        raise PipelineError(f"Stage '{name}' not found inside '{path}' file")
    body = stages[name]
    if frozen:
        body["frozen"] = True
    else:
        body.pop("frozen", None)
    return dump_yaml(doc)


def _plot_entry(items: Any, path: str) -> tuple[int, Any] | None:
    import posixpath

    for index, item in enumerate(items or []):
        key = item if isinstance(item, str) else next(iter(item), None)
        if isinstance(key, str) and posixpath.normpath(key) == posixpath.normpath(path):
            return index, item
    return None


def set_plot_props(
    old: bytes | None,
    name: str,
    out: str,
    props: dict[str, Any],
    unset: list[str] | None,
    path: str = DVCFILE,
) -> bytes:
    """`plots modify`: the output `out` of stage `name` with display properties set or unset.

    As in DVC, an entry of `outs`/`metrics` that gets properties moves to the front of the
    stage's `plots` list, keeping its flags; a plot left with no flags becomes a bare path.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    doc = _load(old, path)
    stages = _stages(doc, path)
    body = stages.get(name)
    if not isinstance(body, dict):
        raise PipelineError(f"Stage '{name}' not found inside '{path}' file")
    found = None
    for section in ("plots", "outs", "metrics"):
        hit = _plot_entry(body.get(section), out)
        if hit is not None:
            found = (section, *hit)
            break
    if found is None:
        raise PipelineError(f"output '{out}' of stage '{name}' is not written in '{path}'")
    section, index, item = found
    if section != "plots" and unset is not None:
        raise PipelineError(
            f"'{out}' is not a known plot. Use `xpt plots modify` to turn it into one."
        )
    flags = CommentedMap() if isinstance(item, str) else item[next(iter(item))]
    flags = flags if isinstance(flags, dict) else CommentedMap()
    missing = [p for p in unset or [] if p not in flags]
    if missing:
        raise PipelineError(f"display properties {missing} not found in plot '{out}'")
    for prop in unset or []:
        del flags[prop]
    flags.update(props)
    written = item if isinstance(item, str) else next(iter(item))
    entry: Any = CommentedMap([(written, flags)]) if flags else written
    if section == "plots":
        body["plots"][index] = entry
    else:
        del body[section][index]
        if not body[section]:
            del body[section]
        if not isinstance(body.get("plots"), list):
            body["plots"] = CommentedSeq()
        body["plots"].insert(0, entry)
    return dump_yaml(doc)
