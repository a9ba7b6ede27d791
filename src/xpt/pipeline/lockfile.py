"""`dvc.lock`: the one module that reads it, builds its entries and writes it like DVC 3.

Code gets typed entries (`read_lock`, `read_lock_hashes`, `new_entry`: `LockEntry` of
`LockItem`s, from `lockformat.py`); the plain-data form (`parse_lock`, `build_entry`,
`dump_lock`) is DVC's format itself, pinned byte for byte by the tests.

DVC users diff and commit dvc.lock, so a file xpt writes must be byte-identical to the
one DVC would write for the same data (ruamel round-trip emitter, default width, mapping
indent 2, sequences flush with their key), and comments in an existing file survive.
The run-cache and experiment hashes (docs/dvc-formats.md §6, docs/dvc-formats.md §8.3) are SHA-256 over canonical JSON of
these same entries, so they live here too.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from xpt.errors import PipelineError
from xpt.pipeline.lockformat import LockEntry, LockItem, canonical_json, dump_yaml, yaml_rt
from xpt.pipeline.params import DEFAULT_PARAMS_FILE
from xpt.pipeline.yamltext import load_yaml_text
from xpt.utils.dvcnames import DVC_SUFFIX, LOCKFILE
from xpt.utils.oids import bad_oid, is_oid

SCHEMA = "2.0"
_HASH_KEYS = ("size", "nfiles")


# --- reading -------------------------------------------------------------------------


def read_lock(data: bytes | None, path: str = LOCKFILE) -> dict[str, LockEntry]:
    """Stage name -> lock entry; a missing file has no entries. `path` may be a `.dvc` file.

    The pure-Python YAML loader costs ~0.1 ms a line and status/repro/exp show read the
    same lock bytes repeatedly, so parses are memoised (entries are frozen and shared).
    """
    if data is None:
        return {}
    if path.endswith(DVC_SUFFIX):  # a single-stage file records its own state
        from xpt.pipeline.dvcfile import lock_records

        return lock_records(bytes(data), path)
    return dict(_read_cached(bytes(data), path))


def read_lock_hashes(data: bytes | None, path: str = LOCKFILE) -> dict[str, LockEntry]:
    """Like `read_lock`, but entries may hold only `deps` and `outs` (`exp show` hot path).

    A lock in DVC's usual layout is scanned line by line (`scan_hashes`), without a
    YAML parse; anything else goes through the full reader.
    """
    if data is None or path.endswith(DVC_SUFFIX):
        return read_lock(data, path)
    scanned = scan_hashes(bytes(data))
    if scanned is None:
        return read_lock(data, path)
    return {
        name: LockEntry(
            deps=tuple(LockItem.from_dict(d) for d in items["deps"]),
            outs=tuple(LockItem.from_dict(o) for o in items["outs"]),
        )
        for name, items in scanned.items()
    }


def parse_lock(data: bytes | None, path: str = LOCKFILE) -> dict[str, dict[str, Any]]:
    """`read_lock` as plain data (DVC's own form; callers get their own copy)."""
    if data is None:
        return {}
    if path.endswith(DVC_SUFFIX):
        from xpt.pipeline.dvcfile import lock_entries

        return lock_entries(bytes(data), path)
    return copy.deepcopy(_parse_cached(bytes(data), path))


@functools.lru_cache(maxsize=64)
def _read_cached(data: bytes, path: str) -> dict[str, LockEntry]:
    return {name: LockEntry.from_dict(raw) for name, raw in _parse_cached(data, path).items()}


@functools.lru_cache(maxsize=64)
def _parse_cached(data: bytes, path: str) -> dict[str, dict[str, Any]]:
    doc = load_yaml_text(data, path)
    if not isinstance(doc, dict):
        raise PipelineError(
            f"'{path}' is not a valid lock file: expected a mapping with `schema` and `stages`",
            hint=f"delete '{path}' and run `xpt repro` to regenerate it",
        )
    if doc.get("schema") != SCHEMA:
        found = "missing" if "schema" not in doc else repr(doc["schema"])
        raise PipelineError(
            f"'{path}' has an unsupported schema ({found}); only schema '2.0' (DVC 2/3) is read",
            hint=f"delete '{path}' and run `xpt repro` to regenerate it",
        )
    stages = doc.get("stages") or {}
    if not isinstance(stages, dict):
        raise PipelineError(f"'{path}': `stages` must be a mapping of stage name to entry")
    for name, entry in stages.items():
        check_entry(entry, f"'{path}': stages.{name}", path)
    return {str(name): entry for name, entry in stages.items()}


def check_entry(entry: Any, where: str, path: str) -> None:
    """Schema check of one entry (also a run-cache file's), so that it converts to a
    `LockEntry` whose fields hold the types they say; PipelineError names `where`."""
    if not isinstance(entry, dict):
        raise PipelineError(f"{where} must be a mapping", hint=f"delete '{path}' and rerun")
    cmd = entry.get("cmd")
    if cmd is not None and not (
        isinstance(cmd, str) or (isinstance(cmd, list) and all(isinstance(c, str) for c in cmd))
    ):
        raise PipelineError(f"{where}.cmd must be a string or a list of strings")
    for section in ("deps", "outs"):
        items = entry.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            raise PipelineError(f"{where}.{section} must be a list")
        for i, item in enumerate(items):
            _check_item(item, f"{where}.{section}[{i}]", path)
    params = entry.get("params")
    if params is not None and not (
        isinstance(params, dict) and all(isinstance(v, dict) for v in params.values())
    ):
        raise PipelineError(f"{where}.params must map params files to key/value mappings")


def _check_item(item: Any, where: str, path: str) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        raise PipelineError(f"{where} must be a mapping with a `path`")
    if "md5" in item and not is_oid(item["md5"]):
        raise PipelineError(
            f"{where} ('{item['path']}'): {bad_oid(item['md5'])}",
            hint=f"restore '{path}' from git, or delete the entry and run `xpt repro`",
        )
    for key, kind, what in (
        ("size", int, "an integer"),
        ("nfiles", int, "an integer"),
        ("isexec", bool, "true or false"),
        ("hash", str, "a string"),
    ):
        value = item.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        ):
            raise PipelineError(f"{where} ('{item['path']}'): `{key}` must be {what}")


# --- fast scan -----------------------------------------------------------------------
#
# DVC and xpt both write dvc.lock in one strict block layout (docs/dvc-formats.md §3.7).
# `exp show` over a thousand experiments needs just each stage's `deps`/`outs` items, not a
# full YAML parse. This line scanner reads exactly that layout and gives up (None) on
# anything unexpected, so the caller falls back to the parser: fast, never wrong.

_INT_KEYS = {"size", "nfiles"}
_STR_KEYS = {"path", "hash", "md5"}


def _scalar(key: str, raw: str) -> Any:
    """Decode a plain scalar we understand; raise ValueError for anything else."""
    if not raw or raw[0] in "'\"&*!|>[{" or raw.endswith(":") or " #" in raw:
        raise ValueError(raw)
    if key in _INT_KEYS:
        return int(raw)
    if key == "isexec":
        if raw in ("true", "True", "TRUE"):
            return True
        if raw in ("false", "False", "FALSE"):
            return False
        raise ValueError(raw)
    if key == "md5" and not is_oid(raw):
        raise ValueError(raw)  # the full parser names the entry
    if key in _STR_KEYS:
        return raw
    raise ValueError(key)


def _put(item: dict[str, Any], body: str) -> None:
    key, sep, raw = body.partition(": ")
    if not sep or key in item:
        raise ValueError(body)
    item[key] = _scalar(key, raw.rstrip())


def scan_hashes(data: bytes) -> dict[str, dict[str, list[dict[str, Any]]]] | None:
    """{stage: {"deps": [...], "outs": [...]}} as plain data, or None when the layout is
    unusual. Every item starts with its `path`, as DVC writes them."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if not lines or lines[0] != "schema: '2.0'" or len(lines) < 2 or lines[1] != "stages:":
        return None
    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    stage: dict[str, list[dict[str, Any]]] | None = None
    section: str | None = None
    item: dict[str, Any] | None = None
    try:
        for line in lines[2:]:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                return None
            if line.startswith("    - "):
                if section is None:
                    continue  # items of a list cmd
                assert stage is not None
                if not line.startswith("    - path: "):
                    return None
                item = {}
                stage[section].append(item)
                _put(item, line[6:])
                continue
            indent = len(line) - len(line.lstrip(" "))
            body = line[indent:]
            if indent == 2:
                if not body.endswith(":") or body[0] in "'\"&*!?-":
                    return None
                stage = result.setdefault(body[:-1], {"deps": [], "outs": []})
                section = item = None
            elif indent == 4:
                if stage is None:
                    return None
                section = body[:-1] if body in ("deps:", "outs:") else None
                item = None
            elif section is None:
                continue  # cmd continuation lines, params values: not needed here
            elif indent == 6 and item is not None:
                _put(item, body)
            else:
                return None
    except (ValueError, KeyError):
        return None
    return result


# --- building entries ----------------------------------------------------------------


def new_entry(
    cmd: str | list[str],
    deps: Iterable[LockItem],
    params: Mapping[str, Mapping[str, Any]],
    outs: Iterable[LockItem],
) -> LockEntry:
    """A stage's lock entry (docs/dvc-formats.md §3.2) in DVC's order: items by path,
    `params.yaml` first, then params files and keys sorted."""
    return LockEntry(
        list(cmd) if isinstance(cmd, list) else cmd,
        tuple(sorted(deps, key=lambda d: d.path)),
        {
            file: _share_subkeys({key: params[file][key] for key in sorted(params[file])})
            for file in _params_file_order(params)
        },
        tuple(sorted(outs, key=lambda o: o.path)),
    )


def build_entry(
    cmd: str | list[str],
    deps: list[dict[str, Any]],
    params: Mapping[str, Mapping[str, Any]],
    outs: list[dict[str, Any]],
) -> dict[str, Any]:
    """`new_entry` in plain data: cmd, deps, params, outs; empty sections omitted."""
    items = functools.partial(map, LockItem.from_dict)
    return new_entry(cmd, items(deps), params, items(outs)).to_dict()


def _share_subkeys(values: dict[str, Any]) -> dict[str, Any]:
    """Make `a.b` reuse the object inside a tracked `a`, as DVC's own values do.

    DVC selects every key from one loaded document, so a tracked key below another
    tracked key is the *same* object and is written as a YAML alias; callers may hand
    us copies, so the sharing is restored here to keep the bytes identical.
    """
    for key in values:
        parts = key.split(".")
        for cut in range(1, len(parts)):
            parent = ".".join(parts[:cut])
            if parent not in values:
                continue
            inner = _select(values[parent], parts[cut:])
            if isinstance(inner, dict | list) and inner == values[key]:
                values[key] = inner
            break
    return values


def _select(value: Any, parts: list[str]) -> Any:
    """The value below `value` at `parts` (map keys or list indexes), or None."""
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _params_file_order(params: Mapping[str, Any]) -> list[str]:
    """`params.yaml` first, then the other files in plain string order."""
    return sorted(params, key=lambda f: (f != DEFAULT_PARAMS_FILE, f))


# --- writing ---------------------------------------------------------------------------


def dump_lock(
    old: bytes | None,
    entries: Mapping[str, Mapping[str, Any]],
    remove: Iterable[str] = (),
) -> bytes:
    """New lock file text: `entries` replace or append stages, `remove` drops them.

    Comments elsewhere in `old` survive (round-trip), but a replaced entry is written
    fresh, exactly as DVC does. When no stage remains the result is `b""`: the caller
    deletes the file (DVC removes an empty dvc.lock too).
    """
    remove = tuple(remove)
    fresh = _fresh_stages(old, entries, remove)
    if fresh is not None:
        return _dump_doc(fresh, entries)
    return _dump_roundtrip(old, entries, remove)


def _fresh_stages(
    old: bytes | None, entries: Mapping[str, Mapping[str, Any]], remove: Iterable[str]
) -> list[str] | None:
    """The new file's stage names, in order, when a round trip of `old` would keep
    nothing of it but that order: `schema` and `stages` only, no comment, and every old
    stage replaced or removed. None otherwise.

    ruamel's round-trip load is most of the cost of a lock write, and a queued
    experiment writes one, always over such a file.
    """
    if not old or b"#" in old or not old.startswith(b"schema: '2.0'\nstages:\n"):
        return None
    if any(line[:1] not in (b" ", b"") for line in old.split(b"\n")[2:]):
        return None  # another top-level key, or an unusual layout
    try:
        names = list(_parse_cached(bytes(old), LOCKFILE))
    except PipelineError:
        return None
    dropped = set(remove)
    names = [n for n in names if n not in dropped]
    if any(n not in entries for n in names):
        return None
    return names + [n for n in entries if n not in names]


def _dump_doc(names: list[str], entries: Mapping[str, Mapping[str, Any]]) -> bytes:
    from ruamel.yaml.comments import CommentedMap

    if not names:
        return b""
    stages = CommentedMap((n, _plain(entries[n], {})) for n in names)
    return dump_yaml(CommentedMap([("schema", SCHEMA), ("stages", stages)]))


def _dump_roundtrip(
    old: bytes | None, entries: Mapping[str, Mapping[str, Any]], remove: Iterable[str]
) -> bytes:
    from ruamel.yaml.comments import CommentedMap

    doc = _load_roundtrip(old)
    stages = doc.get("stages")
    if not isinstance(stages, dict):
        stages = CommentedMap()
        doc["stages"] = stages
    for name in remove:
        stages.pop(name, None)
    for name, entry in entries.items():
        stages[name] = _plain(entry, {})
    if not stages:
        return b""
    return dump_yaml(doc)


def dump_stage(path: str, old: bytes | None, name: str, entry: LockEntry) -> bytes:
    """The file recording stage `name`: `path` is a dvc.lock, or the stage's own `.dvc` file."""
    if path.endswith(DVC_SUFFIX) and old is not None:
        from xpt.pipeline.dvcfile import update_bytes

        return update_bytes(old, path, entry)
    return dump_lock(old, {name: entry.to_dict()})


Entry = LockEntry | Mapping[str, Any]
"""A typed entry, or the same in plain data (e.g. a run-cache file as loaded)."""


def _plain_entry(entry: Entry) -> Mapping[str, Any]:
    return entry.to_dict() if isinstance(entry, LockEntry) else entry


def dump_entry(entry: Entry) -> bytes:
    """One lock entry as a YAML document, as DVC writes run-cache files (docs/dvc-formats.md §6)."""
    return dump_yaml(_plain(_plain_entry(entry), {}))


def _load_roundtrip(old: bytes | None) -> Any:
    """The old file as a comment-keeping document with `schema` first."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    doc: Any = None
    if old:
        try:
            doc = yaml_rt().load(old.decode("utf-8-sig"))
        except (YAMLError, UnicodeDecodeError) as exc:
            raise PipelineError(
                f"cannot update the lock file: it is not valid YAML ({exc})",
                hint="delete it and rerun; xpt writes it anew",
            ) from exc
    if not isinstance(doc, CommentedMap):
        doc = CommentedMap()
    if "schema" not in doc:
        doc.insert(0, "schema", SCHEMA)
    return doc


def _plain(value: Any, memo: dict[int, Any]) -> Any:
    """Plain dict/list copy (tuples -> lists) keeping shared sub-objects shared.

    DVC's emitter writes an anchor/alias when one value object appears twice in an
    entry (e.g. params `nested` and `nested.b.c`); keeping the sharing reproduces it.
    """
    if not isinstance(value, dict | list | tuple):
        return value
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, dict):
        out_map: dict[Any, Any] = {}
        memo[key] = out_map
        for k, v in value.items():
            out_map[k] = _plain(v, memo)
        return out_map
    out_list: list[Any] = []
    memo[key] = out_list
    out_list.extend(_plain(v, memo) for v in value)
    return out_list


# --- hashes ----------------------------------------------------------------------------


def _sha256(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def _without_sizes(value: Any) -> Any:
    """Copy of `value` with every `size` and `nfiles` key removed, at any depth."""
    if isinstance(value, dict):
        return {k: _without_sizes(v) for k, v in value.items() if k not in _HASH_KEYS}
    if isinstance(value, list | tuple):
        return [_without_sizes(v) for v in value]
    return value


def run_cache_key_value(entry: Entry) -> tuple[str, str]:
    """(key, value) naming the run-cache file of a lock entry (docs/dvc-formats.md §6).

    The key covers the command, dependency hashes, params and output *paths*; the value
    also covers the output hashes. Sizes never count.
    """
    plain = _plain_entry(entry)
    full = _without_sizes(dict(plain))
    keyed = dict(full)
    if "outs" in keyed:
        keyed["outs"] = [out["path"] for out in plain.get("outs") or []]
    return _sha256(keyed), _sha256(full)


def experiment_hash(entries: Mapping[str, Entry]) -> str:
    """The experiment hash (docs/dvc-formats.md §8.3) over the lock entries of the stages that ran."""
    return _sha256({name: dict(_plain_entry(entry)) for name, entry in entries.items()})
