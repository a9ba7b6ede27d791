"""Applying one `-S` override to a params file being edited, with Hydra's rules.

`Apply` walks the dotted key and decides what each operator may do (`key=` changes,
`+key=` adds, `++key=` adds or replaces, `~key` deletes); the `Editor` of the file's
format makes the change in a way that keeps the file's formatting.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping, MutableSequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from xpt.errors import ParamsError

if TYPE_CHECKING:
    from xpt.pipeline.override_values import Override

ABSENT: Any = object()
"""The `old` value `Editor.assign` gets for a key that did not exist."""


class Editor(Protocol):
    """One params file being edited in memory; `assign`/`delete` keep its formatting."""

    root: Any

    def prepare(self, o: Override) -> Override: ...

    def assign(self, parent: Any, key: Any, value: Any, old: Any) -> None: ...

    def delete(self, parent: Any, key: Any) -> None: ...

    def dump(self) -> bytes: ...


class PlainEditor:
    """Assignment and deletion as plain dict/list operations (JSON, Python)."""

    root: Any

    def prepare(self, o: Override) -> Override:
        return o

    def assign(self, parent: Any, key: Any, value: Any, old: Any) -> None:
        parent[key] = copy.deepcopy(value)

    def delete(self, parent: Any, key: Any) -> None:
        del parent[key]


@dataclass
class Apply:
    """One override applied to one document, with Hydra's (struct-mode) rules."""

    doc: Editor
    o: Override
    path: str

    def run(self) -> None:
        parts = self.o.key.split(".")
        parent = self.doc.root
        for n, seg in enumerate(parts[:-1]):
            parent = self.step(parent, seg, ".".join(parts[: n + 1]))
        self.last(parent, parts[-1])

    def fail(self, why: str, hint: str | None = None) -> ParamsError:
        return ParamsError(f"cannot apply '{self.o.to_arg()}' to '{self.path}': {why}", hint)

    def find(self, node: Any, seg: str, here: str) -> tuple[bool, Any]:
        """(found, key): list index, or map key (string, or integer for digits)."""
        if isinstance(node, MutableSequence):
            if not seg.isdigit():
                raise self.fail(f"'{here}' indexes a list, but '{seg}' is not a number")
            if int(seg) >= len(node):
                raise self.fail(f"index {seg} of '{here}' is out of range ({len(node)} items)")
            return True, int(seg)
        if seg in node:
            return True, seg
        try:
            if seg.isdigit() and int(seg) in node:
                return True, int(seg)
        except TypeError:  # tomlkit tables accept only string keys
            pass
        return False, seg

    def missing(self, here: str) -> ParamsError:
        o = self.o
        if o.op == "delete":
            return self.fail(f"'{here}' does not exist")
        return ParamsError(
            f"cannot override '{o.key}' in '{self.path}': '{here}' does not exist",
            hint=f"to add it, use `+{o.key}={o.raw}`",
        )

    def step(self, node: Any, seg: str, here: str) -> Any:
        """The container at `here`; `+`/`++` create missing maps, `++` replaces scalars."""
        found, key = self.find(node, seg, here)
        adding = self.o.op in ("add", "force")
        if not found:
            if not adding:
                raise self.missing(here)
            self.doc.assign(node, key, {}, ABSENT)
        child = node[key]
        if isinstance(child, MutableMapping | MutableSequence):
            return child
        if (child is None and adding) or self.o.op == "force":
            self.doc.assign(node, key, {}, child)
            return node[key]
        if child is None:
            raise self.fail(
                f"'{here}' is null", hint=f"to add a map there, use `+{self.o.key}={self.o.raw}`"
            )
        raise self.fail(
            f"'{here}' is the value {child!r}, not a map or list",
            hint=f"to replace it, use `++{self.o.key}={self.o.raw}`",
        )

    def last(self, parent: Any, seg: str) -> None:
        o = self.o
        found, key = self.find(parent, seg, o.key)
        if not found:
            if o.op in ("set", "delete"):
                raise self.missing(o.key)
            self.doc.assign(parent, key, o.value, ABSENT)
            return
        old = parent[key]
        if o.op == "delete":
            if o.value is not None and o.value != old:
                raise self.fail(f"its value is {old!r}, not {o.value!r}")
            self.doc.delete(parent, key)
        elif o.op == "add" and old is not None and not isinstance(o.value, dict | list):
            raise ParamsError(
                f"cannot add '{o.key}' to '{self.path}': it already exists",
                hint=f"use `{o.key}={o.raw}` to change it, or `++{o.key}={o.raw}`",
            )
        else:
            self.put(parent, key, o.value, o.key)

    def put(self, parent: Any, key: Any, value: Any, here: str) -> None:
        """Set a value; a map merges into an existing map (new keys need `+`/`++`)."""
        old = parent[key]
        if not isinstance(value, dict) or not isinstance(old, MutableMapping | MutableSequence):
            self.doc.assign(parent, key, value, old)
            return
        if isinstance(old, MutableSequence):
            raise self.fail(f"cannot merge a map into the list '{here}'")
        for k, v in value.items():
            found, sub = (k in old, k) if isinstance(k, int) else self.find(old, k, here)
            if found:
                self.put(old, sub, v, f"{here}.{k}")
            elif self.o.op == "set":
                raise ParamsError(
                    f"cannot override '{self.o.key}' in '{self.path}': '{here}.{k}' does not exist",
                    hint=f"to add keys, use `+{self.o.key}={self.o.raw}`",
                )
            else:
                self.doc.assign(old, k, v, ABSENT)


def decode(data: bytes | None, path: str) -> str:
    """The text of a params file; a BOM is dropped, as Python's own readers do."""
    try:
        return (data or b"").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"params file '{path}': not UTF-8 text ({exc.reason})") from exc


def one_line(exc: Exception) -> str:
    """A parser's multi-line message squeezed into one line of an error."""
    return " ".join(str(exc).split())
