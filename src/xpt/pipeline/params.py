"""Reading params files (YAML 1.2, JSON, TOML, Python) into plain dicts.

The format is chosen by extension, like DVC, so that a params file means the same
thing to both tools. Python files are read statically (never executed): only literal
assignments count, exactly the subset DVC records in dvc.lock.
"""

from __future__ import annotations

import ast
import json
import posixpath
from collections.abc import Callable
from typing import Any

from xpt.errors import ParamsError
from xpt.pipeline import yaml12
from xpt.pipeline.model import Reader

DEFAULT_PARAMS_FILE = "params.yaml"


def load_params(data: bytes, path: str) -> dict[str, Any]:
    """Parse the bytes of params file `path`; the extension picks the format."""
    text = _decode(data, path)
    ext = posixpath.splitext(path)[1].lower()
    loader = _LOADERS.get(ext, _load_yaml)
    result = loader(text, path)
    if not isinstance(result, dict):
        raise ParamsError(
            f"params file '{path}': top level must be a mapping, not {type(result).__name__}"
        )
    return result


def read_params(read: Reader, path: str) -> dict[str, Any]:
    """Load repo-relative params file `path` through `read`; a missing file is an error."""
    data = read(path)
    if data is None:
        raise ParamsError(
            f"params file '{path}' does not exist",
            hint="create it, or remove it from the stage's `params` in dvc.yaml",
        )
    return load_params(data, path)


def select(data: Any, key: str, path: str = DEFAULT_PARAMS_FILE) -> Any:
    """The value at dotted `key` (numeric segments index lists); missing -> ParamsError."""
    current = data
    for segment in key.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif _has_index(current, segment):
            current = current[int(segment)]
        else:
            raise ParamsError(
                f"params file '{path}': key '{key}' not found",
                hint=f"add '{key}' to '{path}' or remove it from the stage's `params`",
            )
    return current


def has_key(data: Any, key: str) -> bool:
    """True if `select(data, key)` would succeed."""
    try:
        select(data, key)
    except ParamsError:
        return False
    return True


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested maps to `{"a.b.c": value}`; lists are kept whole, empty maps vanish."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, full))
        else:
            out[full] = value
    return out


def _has_index(current: Any, segment: str) -> bool:
    """A numeric segment selects a list item (or an integer key of a map)."""
    if not segment.isdigit():
        return False
    if isinstance(current, list):
        return int(segment) < len(current)
    return isinstance(current, dict) and int(segment) in current


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"params file '{path}': not UTF-8 text ({exc.reason})") from exc


def yaml_safe_load(text: str) -> Any:
    """YAML 1.2 safe load at C speed (yaml12); ruamel's errors propagate."""
    return yaml12.load(text)


def _load_yaml(text: str, path: str) -> Any:
    try:
        result = yaml_safe_load(text)
    except yaml12.YAMLLoadError as exc:
        where = f"{exc.where()}: " if exc.where() else ""
        raise ParamsError(f"params file '{path}': {where}{exc.problem}") from exc
    return {} if result is None else result


def _load_json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParamsError(f"params file '{path}': {exc.lineno}:{exc.colno}: {exc.msg}") from exc


def _load_toml(text: str, path: str) -> Any:
    import tomllib  # only TOML params need it (start-up time)

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParamsError(f"params file '{path}': {exc}") from exc


def _load_python(text: str, path: str) -> Any:
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise ParamsError(f"params file '{path}': {exc.lineno}:{exc.offset}: {exc.msg}") from exc
    return _body_values(tree.body)


def _body_values(body: list[ast.stmt]) -> dict[str, Any]:
    """Literal assignments and classes of a module or class body, in source order."""
    values: dict[str, Any] = {}
    for node in body:
        if isinstance(node, ast.ClassDef):
            values[node.name] = _class_values(node)
            continue
        target, value = _assignment(node)
        if isinstance(target, ast.Name):
            _store_literal(values, target.id, value)
    return values


def _class_values(node: ast.ClassDef) -> dict[str, Any]:
    """A class body plus the `self.x = literal` assignments of its `__init__`."""
    values = _body_values(node.body)
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            for stmt in item.body:
                target, value = _assignment(stmt)
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    _store_literal(values, target.attr, value)
    return values


def _assignment(node: ast.stmt) -> tuple[ast.expr | None, ast.expr | None]:
    """(target, value) of a single-target assignment, else (None, None)."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        return node.targets[0], node.value
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return node.target, node.value
    return None, None


def _store_literal(values: dict[str, Any], name: str, expr: ast.expr | None) -> None:
    if expr is None:
        return
    try:
        value = ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return  # non-literal assignments are not params
    values[name] = _plain(value)


def _plain(value: Any) -> Any:
    """Tuples and sets become lists so values serialise like YAML/JSON ones."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [_plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    return value


_LOADERS: dict[str, Callable[[str, str], Any]] = {
    ".json": _load_json,
    ".toml": _load_toml,
    ".py": _load_python,
}
