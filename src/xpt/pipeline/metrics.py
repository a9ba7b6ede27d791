"""Metrics files and the params/metrics comparison behind `metrics diff`, `params diff`, `exp diff`.

Pure: bytes in, plain dicts out (docs/dvc-formats.md §9.1-9.4 shapes). Parsing follows DVC so that the
JSON both tools print is the same: the extension picks JSON/TOML, anything else is read
as YAML (a `.csv` metrics file therefore comes back as a string, exactly like DVC 3).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from xpt.errors import XptError
from xpt.pipeline.params import flatten, yaml_safe_load
from xpt.pipeline.yaml12 import YAMLLoadError

__all__ = [
    "JSONFileCorruptedError",
    "MetricsFileError",
    "TOMLFileCorruptedError",
    "YAMLFileCorruptedError",
    "clean_metrics",
    "diff_values",
    "flatten",
    "is_number",
    "load_metrics",
]


class MetricsFileError(XptError):
    """A metrics file cannot be parsed (its class name appears in `--json` error objects)."""

    kind = "YAML"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"unable to read: '{path}', {self.kind} file structure is corrupted",
            hint=f"fix the {self.kind} syntax of '{path}' or rerun the stage that writes it",
        )
        self.path = path


class JSONFileCorruptedError(MetricsFileError):
    """Named like DVC's error so `metrics show --json` error types match."""

    kind = "JSON"


class YAMLFileCorruptedError(MetricsFileError):
    """Named like DVC's error so `metrics show --json` error types match."""

    kind = "YAML"


class TOMLFileCorruptedError(MetricsFileError):
    """Named like DVC's error so `metrics show --json` error types match."""

    kind = "TOML"


def _load_json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONFileCorruptedError(path) from exc


def _load_toml(text: str, path: str) -> Any:
    import tomllib  # only TOML metrics need it (start-up time)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TOMLFileCorruptedError(path) from exc


def _load_yaml(text: str, path: str) -> Any:
    try:
        return yaml_safe_load(text)
    except YAMLLoadError as exc:
        raise YAMLFileCorruptedError(path) from exc


_LOADERS: dict[str, tuple[Callable[[str, str], Any], type[MetricsFileError]]] = {
    ".json": (_load_json, JSONFileCorruptedError),
    ".toml": (_load_toml, TOMLFileCorruptedError),
}


def load_metrics(data: bytes, path: str) -> Any:
    """Parse metrics file `path`; normally a dict, but a scalar file stays a scalar (as in DVC)."""
    ext = posixpath.splitext(path)[1].lower()
    loader, error = _LOADERS.get(ext, (_load_yaml, YAMLFileCorruptedError))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(path) from exc
    result = loader(text, path)
    return {} if result is None else result


def _is_leaf(value: Any) -> bool:
    return isinstance(value, str | int | float)  # bool is an int


def clean_metrics(data: Any) -> Any:
    """Drop what `metrics show` does not report: lists, nulls and maps left empty.

    A top-level list becomes `{}`; a top-level scalar is kept, both like DVC.
    """
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, Mapping):
                value = clean_metrics(value)
                if value:
                    out[key] = value
            elif _is_leaf(value):
                out[key] = value
        return out
    if _is_leaf(data):
        return data
    return {}


def is_number(value: Any) -> TypeGuard[int | float]:
    """Numbers get a `diff`; DVC counts booleans as numbers (True - False == 1)."""
    return isinstance(value, int | float)


def _same(old: Any, new: Any) -> bool:
    """Equal values of the same kind: `True` and `1` differ, `1` and `1.0` do not."""
    return old == new and isinstance(old, bool) == isinstance(new, bool)


def _scalar(value: Any, as_params: bool) -> Any:
    """The comparable form of one flattened value (None when metrics drop it)."""
    if isinstance(value, list | tuple | Mapping):
        return str(list(value) if isinstance(value, tuple) else value) if as_params else None
    return value


def _flat(values: Any, as_params: bool) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        return {}
    flat = flatten(dict(values))
    if as_params:
        return {k: _scalar(v, True) for k, v in flat.items()}
    return {k: v for k, v in flat.items() if _is_leaf(v)}


def _diff_file(old: dict[str, Any], new: dict[str, Any], all: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    keys = list(old) + [k for k in new if k not in old]
    for key in keys:
        before, after = old.get(key), new.get(key)
        unchanged = key in old and key in new and _same(before, after)
        if unchanged and not all:
            continue
        entry: dict[str, Any] = {"old": before, "new": after}
        if is_number(before) and is_number(after):
            entry["diff"] = after - before
        result[key] = entry
    return result


def diff_values(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    all: bool = False,
    as_params: bool = False,
) -> dict[str, dict[str, dict[str, Any]]]:
    """`{file: {dotted.key: {"old", "new"[, "diff"]}}}` between two `{file: values}` maps.

    Only changed keys unless `all`; added/removed keys carry `None` on the missing side;
    files without entries are omitted. With `as_params`, lists compare as their Python
    `str()` (`"[64, 32]"`), as DVC's `params diff` prints them; metrics drop lists.
    """
    result: dict[str, dict[str, dict[str, Any]]] = {}
    paths = list(old) + [p for p in new if p not in old]
    for path in paths:
        entries = _diff_file(_flat(old.get(path), as_params), _flat(new.get(path), as_params), all)
        if entries:
            result[path] = entries
    return result
