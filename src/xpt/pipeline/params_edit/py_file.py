"""Python params files: the literals of the touched assignments patched in place."""

from __future__ import annotations

import ast
import copy
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from xpt.errors import ParamsError
from xpt.pipeline.params import load_params
from xpt.pipeline.params_edit.apply import PlainEditor, decode, one_line

if TYPE_CHECKING:
    from xpt.pipeline.override_values import Override


class PyFile(PlainEditor):
    """Python params: each touched assignment gets a new literal, in place.

    The file is never executed; the new text must load back (statically) as exactly
    the data the overrides produced, or nothing is written.
    """

    def __init__(self, path: str, data: bytes | None) -> None:
        self.path = path
        self.text = decode(data, path) if data is not None else ""
        try:
            self.tree = ast.parse(self.text, filename=path)
        except SyntaxError as exc:
            raise ParamsError(
                f"params file '{path}': {exc.lineno}:{exc.offset}: {exc.msg}"
            ) from exc
        self.before = load_params(self.text.encode(), path) if self.text else {}
        self.root: dict[str, Any] = copy.deepcopy(self.before)

    def prepare(self, o: Override) -> Override:
        """An unquoted word must be Python source (`None`, `2a` -> error); quoted is text."""
        if isinstance(o.value, str) and _is_bare(o.raw):
            try:
                return replace(o, value=ast.literal_eval(o.value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise ParamsError(
                    f"cannot apply '{o.to_arg()}': '{o.value}' is not a Python literal",
                    hint=f"quote strings: -S '{o.file}:{o.key}=\"{o.value}\"'",
                ) from None
        return o

    def dump(self) -> bytes:
        classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        sites = _python_sites(self.tree)
        edits: list[tuple[int, int, str]] = []
        tail: list[str] = []
        for name, new in _python_changes(self.before, self.root, classes):
            site = sites.get(name)
            try:
                if site is None and new is _GONE:
                    raise ValueError("it is not a literal assignment")
                if site is None:
                    tail.append(self._insert(name, new, classes, edits))
                elif new is _GONE:
                    edits.append(self._span(site.stmt, whole_lines=True) + ("",))
                else:
                    edits.append(self._span(site.value) + (_py_literal(new, site.value),))
            except ValueError as exc:
                raise ParamsError(f"cannot update '{name}' in '{self.path}': {exc}") from exc
        text = self.text
        for start, end, new_text in sorted(edits, reverse=True):
            text = text[:start] + new_text + text[end:]
        if tail:
            text += ("" if not text or text.endswith("\n") else "\n") + "".join(tail)
        self._verify(text)
        return text.encode("utf-8")

    def _span(self, node: ast.AST, whole_lines: bool = False) -> tuple[int, int]:
        """Character offsets of a node (whole lines: from line start to after its newline)."""
        lines = self.text.splitlines(keepends=True)
        starts = list(itertools.accumulate((len(line) for line in lines), initial=0))

        def offset(lineno: int, col: int) -> int:
            line = lines[lineno - 1] if lineno - 1 < len(lines) else ""
            return starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))

        end_line = node.end_lineno or node.lineno  # type: ignore[attr-defined]
        if whole_lines:
            return starts[node.lineno - 1], starts[min(end_line, len(lines))]  # type: ignore[attr-defined]
        return (
            offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            offset(end_line, node.end_col_offset or 0),  # type: ignore[attr-defined]
        )

    def _insert(
        self,
        name: str,
        value: Any,
        classes: dict[str, ast.ClassDef],
        edits: list[tuple[int, int, str]],
    ) -> str:
        """New assignment: at the end of its class body, or appended to the module."""
        cls, _, attr = name.rpartition(".")
        if not cls:
            return f"{name} = {_py_literal(value, None)}\n"
        last = classes[cls].body[-1]
        _, end = self._span(last, whole_lines=True)
        edits.append((end, end, f"{' ' * last.col_offset}{attr} = {_py_literal(value, None)}\n"))
        return ""

    def _verify(self, text: str) -> None:
        try:
            ast.parse(text, filename=self.path)
            got = load_params(text.encode(), self.path) if text.strip() else {}
        except (SyntaxError, ParamsError) as exc:
            raise ParamsError(
                f"updating '{self.path}' would leave invalid Python ({one_line(exc)})"
            ) from exc
        if got != self.root:
            raise ParamsError(
                f"cannot update '{self.path}': the change cannot be written as literal assignments"
            )


_GONE: Any = object()


@dataclass
class _Site:
    """One literal assignment in a `.py` params file."""

    stmt: ast.stmt
    value: ast.expr


def _python_changes(
    before: dict[str, Any], after: dict[str, Any], classes: dict[str, ast.ClassDef]
) -> Iterator[tuple[str, Any]]:
    """(name or Class.attr, new value or _GONE) for every assignment that must change."""
    for name in list(before) + [n for n in after if n not in before]:
        old, new = before.get(name, _GONE), after.get(name, _GONE)
        if _same(old, new):
            continue
        if name in classes:
            if not isinstance(new, dict):
                raise ParamsError(f"cannot replace class '{name}' in a Python params file")
            for attr in list(old) + [a for a in new if a not in old]:
                o, n = old.get(attr, _GONE), new.get(attr, _GONE)
                if not _same(o, n):
                    yield f"{name}.{attr}", n
        else:
            yield name, new


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _python_sites(tree: ast.Module) -> dict[str, _Site]:
    """Literal assignment sites by dotted name (the last one wins, as when loading)."""
    sites: dict[str, _Site] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                _add_site(sites, node.name + ".", item, self_attr=False)
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    for stmt in item.body:
                        _add_site(sites, node.name + ".", stmt, self_attr=True)
        else:
            _add_site(sites, "", node, self_attr=False)
    return sites


def _add_site(sites: dict[str, _Site], prefix: str, node: ast.stmt, self_attr: bool) -> None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return
    if not self_attr and isinstance(target, ast.Name):
        name = target.id
    elif (
        self_attr
        and isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        name = target.attr
    else:
        return
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return
    sites[prefix + name] = _Site(node, value)


def _py_literal(value: Any, old: ast.expr | None) -> str:
    """Python source for a value; a list replacing a tuple stays a tuple."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("NaN has no Python literal")
        return repr(value) if math.isfinite(value) else ("1e999" if value > 0 else "-1e999")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        items = [_py_literal(v, None) for v in value]
        if isinstance(old, ast.Tuple):
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        pairs = (f"{_py_literal(k, None)}: {_py_literal(v, None)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise ValueError(f"{value!r} has no Python literal")


def _is_bare(raw: str | None) -> bool:
    """True for an unquoted word (not a quoted string, container or function call)."""
    if not raw:
        return False
    return raw[0] not in "'\"[{" and not re.match(r"[A-Za-z_]\w*\(", raw)
