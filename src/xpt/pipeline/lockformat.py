"""The pieces of DVC's lock format that `dvc.lock` (`lockfile.py`) and `.dvc` files
(`dvcfile.py`) share: the typed lock entry (`LockEntry` of `LockItem`s) with its plain-data
form in DVC's key order, canonical JSON and DVC's YAML writer.

It sits below both, so that the two file owners do not import each other.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xpt.errors import PipelineError

ITEM_KEYS = ("path", "hash", "md5", "size", "nfiles", "isexec")
"""A dep/out entry's keys in the order DVC writes them; others follow in file order."""
ENTRY_KEYS = ("cmd", "deps", "params", "outs")
"""A stage's lock entry keys in DVC's order (empty sections are left out)."""
CHANGED_CHECKSUM = "changed checksum"
"""Key `dvcfile.lock_entry` sets when an import's recorded `md5` no longer matches its content."""


@dataclass(frozen=True, slots=True)
class LockItem:
    """One `deps`/`outs` entry: a path and the hash recorded for it.

    `hash` is `"md5"` for DVC 3 entries and None for DVC 2 entries (md5-dos2unix, objects
    in the legacy cache folder). `extra` keeps any other key (e.g. `cloud`), in file order.
    """

    path: str
    md5: str | None = None
    size: int | None = None
    nfiles: int | None = None
    isexec: bool = False
    hash: str | None = "md5"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def legacy(self) -> bool:
        """A DVC 2 entry (no `hash:` key)."""
        return self.hash is None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LockItem:
        """The item of a checked plain mapping (see `lockfile._check_entry`)."""
        extra = {k: v for k, v in raw.items() if k not in ITEM_KEYS}
        return cls(
            raw["path"],
            raw.get("md5"),
            raw.get("size"),
            raw.get("nfiles"),
            bool(raw.get("isexec", False)),
            raw.get("hash"),
            extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping in DVC's key order (`hash_entry`'s, then the other keys)."""
        entry: dict[str, Any] = {"path": self.path}
        for key, value in (
            ("hash", self.hash),
            ("md5", self.md5),
            ("size", self.size),
            ("nfiles", self.nfiles),
        ):
            if value is not None:
                entry[key] = value
        if self.isexec:
            entry["isexec"] = True
        entry.update(self.extra)
        return entry


def hash_entry(
    path: str,
    md5: str,
    size: int | None,
    nfiles: int | None = None,
    isexec: bool = False,
    legacy: bool = False,
) -> dict[str, Any]:
    """A dep/out entry in DVC's key order; `legacy` (2.x md5-dos2unix) has no `hash` key."""
    return LockItem(path, md5, size, nfiles, isexec, None if legacy else "md5").to_dict()


@dataclass(frozen=True, slots=True)
class LockEntry:
    """A stage's lock entry (docs/dvc-formats.md §3.2): what its last run recorded.

    `cmd` is None when the file has none. `params` maps params files to the tracked
    values as loaded (shared sub-objects stay shared, for DVC's YAML aliases); like every
    value here it is read-only, since parses are memoised. `extra` keeps other keys.
    """

    cmd: str | list[str] | None = None
    deps: tuple[LockItem, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    outs: tuple[LockItem, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def checksum_changed(self) -> bool:
        """A `.dvc` import edited by hand since DVC wrote it (see `dvcfile.lock_entry`)."""
        return bool(self.extra.get(CHANGED_CHECKSUM))

    @property
    def legacy(self) -> bool:
        """No item has a `hash:` key: the entry is in DVC 2's dialect."""
        return all(item.legacy for item in (*self.deps, *self.outs))

    def deps_by_path(self) -> dict[str, LockItem]:
        return {item.path: item for item in self.deps}

    def outs_by_path(self) -> dict[str, LockItem]:
        return {item.path: item for item in self.outs}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LockEntry:
        """The entry of a checked plain mapping (see `lockfile._check_entry`)."""
        return cls(
            raw.get("cmd"),
            tuple(LockItem.from_dict(d) for d in raw.get("deps") or ()),
            raw.get("params") or {},
            tuple(LockItem.from_dict(o) for o in raw.get("outs") or ()),
            {k: v for k, v in raw.items() if k not in ENTRY_KEYS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The plain mapping in DVC's key order, empty sections left out.

        Params values are the entry's own objects (not copies), so that sharing survives
        into the YAML writer as DVC's anchors and aliases.
        """
        entry: dict[str, Any] = {}
        if self.cmd is not None:
            entry["cmd"] = self.cmd
        if self.deps:
            entry["deps"] = [d.to_dict() for d in self.deps]
        if self.params:
            entry["params"] = {f: dict(values) for f, values in self.params.items()}
        if self.outs:
            entry["outs"] = [o.to_dict() for o in self.outs]
        entry.update(self.extra)
        return entry


def canonical_json(obj: Any) -> bytes:
    """DVC's canonical JSON (docs/dvc-formats.md §4.4): sorted keys, default separators, ASCII, UTF-8."""
    return json.dumps(obj, sort_keys=True).encode("utf-8")


def yaml_rt() -> Any:
    """Round-trip YAML configured like DVC's writer (block style, ruamel defaults)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    return yaml


def load_roundtrip(data: bytes, path: str) -> Any:
    """A YAML file as a comment-keeping ruamel document (for in-place updates)."""
    from ruamel.yaml.error import YAMLError

    try:
        return yaml_rt().load(data.decode("utf-8-sig"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise PipelineError(
            f"cannot update '{path}': it is not valid YAML ({exc})",
            hint="fix or delete it; xpt writes it anew",
        ) from exc


def dump_yaml(doc: Any) -> bytes:
    """YAML bytes as DVC's writer emits them (also for `.dvc` files)."""
    buf = io.StringIO()
    yaml_rt().dump(doc, buf)
    return buf.getvalue().encode("utf-8")
