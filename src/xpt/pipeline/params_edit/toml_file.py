"""TOML params files edited through tomlkit, comments and layout kept.

Imported only when a TOML file is edited: tomlkit takes ~8 ms to import.
"""

from __future__ import annotations

import copy
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from xpt.errors import ParamsError
from xpt.pipeline.params_edit.apply import PlainEditor, decode, one_line


class TomlFile(PlainEditor):
    """TOML through tomlkit, which keeps comments and layout."""

    def __init__(self, path: str, data: bytes | None) -> None:
        self.path = path
        try:
            self.root = tomlkit.parse(decode(data, path) if data is not None else "")
        except TOMLKitError as exc:
            raise ParamsError(f"params file '{path}': {one_line(exc)}") from exc

    def assign(self, parent: Any, key: Any, value: Any, old: Any) -> None:
        if _contains_none(value):
            raise ParamsError(f"cannot write null to '{self.path}': TOML has no null value")
        try:
            parent[key] = tomlkit.item(copy.deepcopy(value))
        except (TOMLKitError, TypeError, ValueError) as exc:
            raise ParamsError(f"cannot write {value!r} to '{self.path}': {exc}") from exc

    def dump(self) -> bytes:
        return tomlkit.dumps(self.root).encode("utf-8")


def _contains_none(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_none(v) for v in value)
    return value is None
