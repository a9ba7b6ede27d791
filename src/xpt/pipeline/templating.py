"""dvc.yaml templating: the `vars` context, `${...}` interpolation, foreach/matrix.

Rendering must match DVC byte for byte: an interpolated `cmd` is recorded in dvc.lock,
and a command that renders differently would make every stage look changed to the
other tool. Errors are `TemplateError`s carrying the key path (inside the value being
resolved) so that `parse` can point at file:line:col.
"""

from __future__ import annotations

import copy
import itertools
import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from xpt.errors import PipelineError
from xpt.pipeline.params import DEFAULT_PARAMS_FILE, flatten

PathSeg = str | int
FileLoader = Callable[[str], "dict[str, Any] | None"]
"""Repo-relative path of a vars/params file -> its parsed content, None if absent."""

Mode = Literal["value", "cmd", "generator"]
"""Where a value sits: plain field, `cmd` (maps become CLI flags), foreach/matrix."""

_EXPR = re.compile(r"(?P<escape>\\)?\$\{(?P<inner>[^{}]*)\}")
_KEY = re.compile(r"[^.\[\]]+")
_EXPR_SHAPE = re.compile(r"^[^.\[\]]+(\.[^.\[\]]+|\[[^.\[\]]+\])*$")


class TemplateError(PipelineError):
    """A templating problem; `path` locates it inside the value being resolved."""

    def __init__(self, message: str, path: tuple[PathSeg, ...] = ()) -> None:
        super().__init__(message)
        self.path = path

    def within(self, *prefix: PathSeg) -> TemplateError:
        """The same error located under `prefix` (raised again by the caller)."""
        return TemplateError(self.message, (*prefix, *self.path))


@dataclass(frozen=True)
class TemplateOptions:
    """The `[parsing]` section of `.dvc/config` (how maps in `cmd` become flags)."""

    bool_optional: bool = False
    """`parsing.bool = boolean_optional`: false renders as `--no-k` instead of nothing."""
    list_append: bool = False
    """`parsing.list = append`: lists render as `--k a --k b` instead of `--k a b`."""


class Context:
    """The values `${...}` can reference, with where each came from (for conflicts)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self._origins: dict[tuple[str, ...], str] = {}
        self._files: dict[str, frozenset[str] | None] = {}

    def copy(self) -> Context:
        """An independent copy (stage-level vars must not leak into other stages)."""
        new = Context()
        new.data = copy.deepcopy(self.data)
        new._origins = dict(self._origins)
        new._files = dict(self._files)
        return new

    def with_values(self, values: dict[str, Any]) -> Context:
        """A shallow copy with top-level `values` set, shadowing existing keys (item/key)."""
        new = Context()
        new.data = {**self.data, **values}
        new._origins = dict(self._origins)
        new._files = dict(self._files)
        return new

    def merge(self, values: dict[str, Any], source: str) -> None:
        """Add `values`; redefining an existing leaf is an error naming both sources."""
        _merge_into(self.data, values, (), source, self._origins)

    def load_file(self, path: str, keys: list[str] | None, load: FileLoader, shown: str) -> None:
        """Merge repo-relative file `path` (only top-level `keys` if given)."""
        previous = self._files.get(path, _ABSENT)
        if previous is not _ABSENT:
            if keys is None and previous is None:
                return  # the same whole file again is fine
            if previous is None:
                raise TemplateError(f"cannot partially load '{shown}' as it's already loaded")
            assert isinstance(previous, frozenset)
            if keys is None or previous & set(keys):
                raise TemplateError(f"cannot load '{shown}' as it's partially loaded already")
        data = load(path)
        if data is None:
            raise TemplateError(f"vars file '{shown.partition(':')[0]}' does not exist")
        if keys is not None:
            missing = [k for k in keys if k not in data]
            if missing:
                raise TemplateError(f"could not find '{missing[0]}' in '{path}'")
            data = {k: data[k] for k in keys}
        self.merge(data, shown.partition(":")[0])
        old = previous if isinstance(previous, frozenset) else frozenset()
        self._files[path] = None if keys is None else old | set(keys)

    def load_vars(self, items: Any, base_dir: str, load: FileLoader, label: str) -> None:
        """Apply a `vars` list: file entries (`path[:k1,k2]`, relative to `base_dir`) and maps."""
        if items is None:
            return
        if not isinstance(items, list):
            raise TemplateError(f"'{label}' must be a list of file names or mappings")
        for index, item in enumerate(items):
            try:
                self._load_var(item, index, base_dir, load, label)
            except TemplateError as exc:
                raise exc.within(index) from None

    def _load_var(self, item: Any, index: int, base_dir: str, load: FileLoader, label: str) -> None:
        if contains_template(item):
            raise TemplateError("interpolation is not allowed in 'vars'")
        if isinstance(item, dict):
            self.merge(item, f"{label}[{index}]")
        elif isinstance(item, str):
            name, sep, keys_text = item.partition(":")
            keys = [k.strip() for k in keys_text.split(",") if k.strip()] if sep else None
            path = _join(base_dir, name)
            self.load_file(path, keys, load, item)
        else:
            raise TemplateError(f"vars entries must be file names or mappings, not {_tname(item)}")

    def select(self, expr: str) -> Any:
        """The value of `a.b[0].c`; an unknown key is a TemplateError."""
        current: Any = self.data
        for raw in _KEY.findall(expr):
            key = raw.strip()
            if isinstance(current, dict) and key in current:
                current = current[key]
            elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
                current = current[int(key)]
            else:
                raise TemplateError(f"could not find '{expr}'")
        return current


_ABSENT = object()


def build_context(base_dir: str, vars_items: Any, load: FileLoader, label: str = "vars") -> Context:
    """The context of one dvc.yaml: `params.yaml` next to it (if any), then `vars`."""
    ctx = Context()
    default = _join(base_dir, DEFAULT_PARAMS_FILE)
    data = load(default)
    if data is not None:
        ctx.merge(data, DEFAULT_PARAMS_FILE)
        ctx._files[default] = None
    ctx.load_vars(vars_items, base_dir, load, label)
    return ctx


def contains_template(value: Any) -> bool:
    """True if any string (or map key) inside `value` contains `${`."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(contains_template(k) or contains_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_template(v) for v in value)
    return False


def resolve(
    value: Any, ctx: Context, mode: Mode = "value", options: TemplateOptions | None = None
) -> Any:
    """`value` with every `${...}` in strings and map keys substituted (recursively)."""
    if isinstance(value, str):
        return interpolate(value, ctx, mode, options) if "${" in value else value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            try:
                new_key = to_str(interpolate(key, ctx)) if isinstance(key, str) else key
                out[new_key] = resolve(item, ctx, mode, options)
            except TemplateError as exc:
                raise exc.within(key) from None
        return out
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(resolve(item, ctx, mode, options))
            except TemplateError as exc:
                raise exc.within(index) from None
        return items
    return value


def interpolate(
    text: str, ctx: Context, mode: Mode = "value", options: TemplateOptions | None = None
) -> Any:
    """Substitute `${...}` in one string; a lone expression keeps its value's type."""
    matches = list(_EXPR.finditer(text))
    if not matches:
        return text
    whole = matches[0]
    if len(matches) == 1 and whole.span() == (0, len(text)) and not whole["escape"]:
        return _whole_value(ctx.select(_expression(whole)), whole, mode, options)
    parts: list[str] = []
    last = 0
    for match in matches:
        parts.append(text[last : match.start()])
        last = match.end()
        if match["escape"]:
            parts.append(match.group(0)[1:])
            continue
        value = ctx.select(_expression(match))
        parts.append(_embedded_str(value, match, mode, options))
    parts.append(text[last:])
    return "".join(parts)


def _expression(match: re.Match[str]) -> str:
    inner = match["inner"].strip()
    if not _EXPR_SHAPE.match(inner):
        raise TemplateError(f"invalid expression '{match.group(0)}'")
    return inner


def _whole_value(
    value: Any, match: re.Match[str], mode: Mode, options: TemplateOptions | None
) -> Any:
    if mode == "generator":
        return value
    if mode == "cmd":
        return _embedded_str(value, match, mode, options)
    if isinstance(value, dict | list):
        raise TemplateError(f"cannot interpolate data of type '{_tname(value)}'")
    return value


def _embedded_str(
    value: Any, match: re.Match[str], mode: Mode, options: TemplateOptions | None
) -> str:
    if isinstance(value, dict) and mode == "cmd":
        return render_flags(value, options)
    if isinstance(value, dict | list):
        raise TemplateError(
            f"cannot interpolate data of type '{_tname(value)}' in '{match.group(0)}'"
        )
    return to_str(value)


def to_str(value: Any) -> str:
    """DVC's text form of a scalar: booleans lower-case, everything else `str()`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_flags(values: dict[str, Any], options: TemplateOptions | None = None) -> str:
    """A map rendered as command-line flags (`{lr: 0.1, gpu: true}` -> `--lr 0.1 --gpu`)."""
    opts = options or TemplateOptions()
    parts: list[str] = []
    for key, value in flatten(values).items():
        parts.extend(_flag(key, value, opts))
    return " ".join(parts)


def _flag(key: str, value: Any, opts: TemplateOptions) -> Iterator[str]:
    if isinstance(value, bool):
        if value:
            yield f"--{key}"
        elif opts.bool_optional:
            yield f"--no-{key}"
    elif isinstance(value, list):
        if any(isinstance(v, dict | list) for v in value):
            raise TemplateError(f"cannot interpolate nested iterable in '{key}'")
        items = [_flag_item(v) for v in value]
        if not items:
            return
        if opts.list_append:
            for item in items:
                yield f"--{key} {item}"
        else:
            yield f"--{key} {' '.join(items)}"
    else:
        yield f"--{key} {_flag_item(value)}"


def _flag_item(value: Any) -> str:
    return shlex.quote(value) if isinstance(value, str) else str(value)


def foreach_items(foreach: Any) -> list[tuple[str, dict[str, Any]]]:
    """(name suffix, context values) per generated stage of a resolved `foreach`."""
    if isinstance(foreach, dict):
        return [(to_str(key), {"item": item, "key": key}) for key, item in foreach.items()]
    if isinstance(foreach, list):
        by_index = any(isinstance(item, dict | list) for item in foreach)
        return [
            (str(index) if by_index else to_str(item), {"item": item})
            for index, item in enumerate(foreach)
        ]
    raise TemplateError(f"'foreach' must be a list or a mapping, not {_tname(foreach)}")


def matrix_items(matrix: Any) -> list[tuple[str, dict[str, Any]]]:
    """(name suffix, context values) per combination of a resolved `matrix`, in key order."""
    if not isinstance(matrix, dict) or not matrix:
        raise TemplateError("'matrix' must be a non-empty mapping of name -> list")
    axes: list[list[tuple[str, Any]]] = []
    for name, values in matrix.items():
        if not isinstance(values, list):
            raise TemplateError(f"must be a list, not {_tname(values)}", (name,))
        axes.append(
            [
                (f"{name}{i}" if isinstance(v, dict | list) else to_str(v), v)
                for i, v in enumerate(values)
            ]
        )
    keys = list(matrix)
    result = []
    for combo in itertools.product(*axes):
        suffix = "-".join(fragment for fragment, _ in combo)
        item = {k: v for k, (_, v) in zip(keys, combo, strict=True)}
        result.append((suffix, {"item": item, "key": suffix}))
    return result


def _merge_into(
    dst: dict[str, Any],
    src: dict[str, Any],
    path: tuple[str, ...],
    source: str,
    origins: dict[tuple[str, ...], str],
) -> None:
    for key, value in src.items():
        here = (*path, str(key))
        if key not in dst:
            dst[key] = copy.deepcopy(value)
            origins[here] = source
        elif isinstance(dst[key], dict) and isinstance(value, dict):
            _merge_into(dst[key], value, here, source, origins)
        else:
            raise TemplateError(
                f"cannot redefine '{'.'.join(here)}' from '{source}' "
                f"as it already exists in '{_origin(here, origins)}'"
            )


def _origin(path: tuple[str, ...], origins: dict[tuple[str, ...], str]) -> str:
    for end in range(len(path), 0, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return "?"


def _join(base_dir: str, path: str) -> str:
    return (
        posixpath.normpath(posixpath.join(base_dir, path)) if base_dir else posixpath.normpath(path)
    )


def _tname(value: Any) -> str:
    return {dict: "dict", list: "list", type(None): "null"}.get(type(value), type(value).__name__)
