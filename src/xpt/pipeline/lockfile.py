"""`dvc.lock`: reading, building entries, and writing byte-for-byte like DVC 3.

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
from xpt.pipeline.lockformat import canonical_json, dump_yaml, yaml_rt
from xpt.pipeline.yamltext import load_yaml_text
from xpt.utils.oids import bad_oid, is_oid

SCHEMA = "2.0"
DEFAULT_PARAMS_FILE = "params.yaml"
_HASH_KEYS = ("size", "nfiles")


# --- reading -------------------------------------------------------------------------


def parse_lock(data: bytes | None, path: str = "dvc.lock") -> dict[str, dict[str, Any]]:
    """Stage name -> lock entry (plain Python data); a missing file has no entries.

    The pure-Python YAML loader costs ~0.1 ms a line and status/repro/exp show read the
    same lock bytes repeatedly, so parses are memoised; callers get their own copy.
    """
    if data is None:
        return {}
    if path.endswith(".dvc"):  # a single-stage file records its own state
        from xpt.pipeline.dvcfile import lock_entries

        return lock_entries(bytes(data), path)
    return copy.deepcopy(_parse_cached(bytes(data), path))


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
        _check_entry(path, str(name), entry)
    return {str(name): entry for name, entry in stages.items()}


def _check_entry(path: str, name: str, entry: Any) -> None:
    """Light schema check so that later code can index entries without guarding."""
    where = f"'{path}': stages.{name}"
    if not isinstance(entry, dict):
        raise PipelineError(f"{where} must be a mapping", hint=f"delete '{path}' and rerun")
    for section in ("deps", "outs"):
        items = entry.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            raise PipelineError(f"{where}.{section} must be a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise PipelineError(f"{where}.{section}[{i}] must be a mapping with a `path`")
            if "md5" in item and not is_oid(item["md5"]):
                raise PipelineError(
                    f"{where}.{section}[{i}] ('{item['path']}'): {bad_oid(item['md5'])}",
                    hint=f"restore '{path}' from git, or delete the entry and run `xpt repro`",
                )
    params = entry.get("params")
    if params is not None and not (
        isinstance(params, dict) and all(isinstance(v, dict) for v in params.values())
    ):
        raise PipelineError(f"{where}.params must map params files to key/value mappings")


# --- building entries ----------------------------------------------------------------


def build_entry(
    cmd: str | list[str],
    deps: list[dict[str, Any]],
    params: Mapping[str, Mapping[str, Any]],
    outs: list[dict[str, Any]],
) -> dict[str, Any]:
    """A stage's lock entry (docs/dvc-formats.md §3.2): cmd, deps, params, outs; empty sections omitted."""
    entry: dict[str, Any] = {"cmd": list(cmd) if isinstance(cmd, list) else cmd}
    if deps:
        entry["deps"] = sorted(deps, key=lambda d: str(d["path"]))
    if params:
        entry["params"] = {
            file: _share_subkeys({key: params[file][key] for key in sorted(params[file])})
            for file in _params_file_order(params)
        }
    if outs:
        entry["outs"] = sorted(outs, key=lambda o: str(o["path"]))
    return entry


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
        names = list(parse_lock(old))
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


def dump_stage(path: str, old: bytes | None, name: str, entry: Mapping[str, Any]) -> bytes:
    """The file recording stage `name`: `path` is a dvc.lock, or the stage's own `.dvc` file."""
    if path.endswith(".dvc") and old is not None:
        from xpt.pipeline.dvcfile import update_bytes

        return update_bytes(old, path, entry)
    return dump_lock(old, {name: entry})


def dump_entry(entry: Mapping[str, Any]) -> bytes:
    """One lock entry as a YAML document, as DVC writes run-cache files (docs/dvc-formats.md §6)."""
    return dump_yaml(_plain(entry, {}))


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


def run_cache_key_value(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(key, value) naming the run-cache file of a lock entry (docs/dvc-formats.md §6).

    The key covers the command, dependency hashes, params and output *paths*; the value
    also covers the output hashes. Sizes never count.
    """
    full = _without_sizes(dict(entry))
    keyed = dict(full)
    if "outs" in keyed:
        keyed["outs"] = [out["path"] for out in entry.get("outs") or []]
    return _sha256(keyed), _sha256(full)


def experiment_hash(entries: Mapping[str, Mapping[str, Any]]) -> str:
    """The experiment hash (docs/dvc-formats.md §8.3) over the lock entries of the stages that ran."""
    return _sha256({name: dict(entry) for name, entry in entries.items()})
