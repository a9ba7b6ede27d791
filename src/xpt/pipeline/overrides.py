"""`-S/--set-param` overrides: the Hydra-subset grammar DVC 3 accepts, sweeps, and
rendering of the changed params files.

Rendering is pure: `render_overrides` returns the new content of every touched file and
writes nothing, so one bad override in a set aborts the run before any file changes.
Files are edited in place where their format allows it (YAML round-trip with comments,
quotes, flow style and indentation kept; TOML via tomlkit; Python by patching literals),
which keeps the diff of an experiment commit down to the values that changed.
"""

from __future__ import annotations

import ast
import copy
import io
import itertools
import json
import math
import posixpath
import re
from collections.abc import Callable, Iterator, MutableMapping, MutableSequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal, Protocol

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent
from tomlkit.exceptions import TOMLKitError

from xpt.errors import ParamsError
from xpt.pipeline.params import DEFAULT_PARAMS_FILE, load_params

Op = Literal["set", "add", "force", "delete"]
Reader = Callable[[str], "bytes | None"]

_SEGMENT = r"[\w$][\w$/-]*"
_KEY_RE = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
_PIECE_RE = re.compile(rf"(?:~|\+\+?)?{_KEY_RE.pattern}=.*|~{_KEY_RE.pattern}", re.DOTALL)
_INT_RE = re.compile(r"[+-]?(?:0|[1-9](?:_?\d)*)")
_DIGITS = r"\d(?:_?\d)*"
_FLOAT_RE = re.compile(
    rf"[+-]?(?:(?:(?:0|[1-9](?:_?\d)*)?\.{_DIGITS}|(?:0|[1-9](?:_?\d)*)\.)(?:[eE][+-]?{_DIGITS})?"
    rf"|(?:0|[1-9](?:_?\d)*)[eE][+-]?{_DIGITS}|inf|nan)",
    re.IGNORECASE,
)
_CALL_RE = re.compile(r"([A-Za-z_]\w*)\(")
_KWARG_RE = re.compile(r"([A-Za-z_]\w*)\s*=")
_ESCAPABLE = set("()[]{}:=, \\")
_DELIMS = set(",)]}")


@dataclass(frozen=True)
class Override:
    """One `-S` override of one key in one params file."""

    file: str
    op: Op
    key: str
    value: Any = None
    sweep: tuple[Any, ...] | None = None
    """Candidate values of a sweep (`a,b`, `choice()`, `range()`); None for one value."""
    raw: str | None = None
    """The value as typed (None for `~key`): keeps quoting, which `.py` files need."""

    def to_arg(self) -> str:
        """The override as a `-S` argument, e.g. `p.json:++a.b=2`."""
        prefix = {"set": "", "add": "+", "force": "++", "delete": "~"}[self.op]
        file = "" if self.file == DEFAULT_PARAMS_FILE else f"{self.file}:"
        value = "" if self.raw is None else f"={self.raw}"
        return f"{file}{prefix}{self.key}{value}"


def sweep_error_message() -> str:
    """What the CLI says when sweeps are given without `--queue`."""
    return "Sweep overrides (`key=a,b`, `choice()`, `range()`) can't be used without `--queue`"


# --- parsing `-S` arguments -------------------------------------------------------------


def parse_set_params(args: list[str]) -> list[Override]:
    """Parse `-S` arguments `[<file>:]<override>[,<override>...]` in order."""
    overrides: list[Override] = []
    for arg in args:
        file, rest = _split_file(arg)
        for piece in _split_pieces(rest):
            overrides.append(_parse_override(file, piece, arg))
    return overrides


def _split_file(arg: str) -> tuple[str, str]:
    """The file prefix counts only when its `:` comes before the first `=`."""
    eq = arg.find("=")
    colon = arg.find(":")
    if colon != -1 and (eq == -1 or colon < eq):
        file = posixpath.normpath(arg[:colon]) if arg[:colon] else ""
        if not file:
            raise ParamsError(f"invalid --set-param '{arg}': empty file name before ':'")
        return file, arg[colon + 1 :]
    return DEFAULT_PARAMS_FILE, arg


def _split_pieces(text: str) -> list[str]:
    """`a=1,b=2` is two overrides only if every comma-separated piece is one."""
    pieces = _split_top_level(text, ",")
    if len(pieces) > 1 and all(_PIECE_RE.fullmatch(p) for p in pieces):
        return pieces
    return [text]


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside brackets and quotes."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _parse_override(file: str, text: str, arg: str) -> Override:
    op: Op = "set"
    body = text
    if body.startswith("~"):
        op, body = "delete", body[1:]
    elif body.startswith("++"):
        op, body = "force", body[2:]
    elif body.startswith("+"):
        op, body = "add", body[1:]
    key, eq, raw = body.partition("=")
    if not eq and op != "delete":
        raise ParamsError(
            f"invalid --set-param '{arg}': expected key=value",
            hint="write `-S key=value` (or `-S ~key` to delete a key)",
        )
    _check_key(key, arg)
    if not eq:
        return Override(file, op, key)
    parsed = parse_value(raw, arg)
    if isinstance(parsed, _Sweep):
        return Override(file, op, key, sweep=tuple(v for v, _ in parsed.items), raw=raw.strip())
    return Override(file, op, key, value=parsed, raw=raw.strip())


def _check_key(key: str, arg: str) -> None:
    if not key:
        raise ParamsError(f"invalid --set-param '{arg}': the key is empty")
    if "[" in key:
        raise ParamsError(
            f"invalid --set-param '{arg}': bracket indexing is not supported",
            hint="address list items with a dot: `key.0=value`",
        )
    if not _KEY_RE.fullmatch(key):
        raise ParamsError(
            f"invalid --set-param '{arg}': '{key}' is not a valid key",
            hint="keys are dot-separated names or non-negative list indexes, e.g. `train.layers.0`",
        )


# --- the value grammar ------------------------------------------------------------------


@dataclass
class _Sweep:
    """Sweep candidates as (value, source text) pairs."""

    items: list[tuple[Any, str]]


def parse_value(text: str, arg: str = "") -> Any:
    """A Hydra value: a typed Python value, or a `_Sweep` of several."""
    return _ValueParser(text, arg or text).parse()


class _ValueParser:
    """Recursive descent over one override value (Hydra's grammar, leniently)."""

    def __init__(self, text: str, arg: str) -> None:
        self.s, self.i, self.arg = text, 0, arg

    def fail(self, why: str, hint: str | None = None) -> ParamsError:
        return ParamsError(f"invalid --set-param '{self.arg}': {why}", hint=hint)

    def parse(self) -> Any:
        if not self.s.strip():
            return ""
        items = [self.element_raw()]
        while self.peek() == ",":
            self.i += 1
            items.append(self.element_raw())
        if self.i < len(self.s):
            raise self.fail(f"unexpected '{self.s[self.i]}' at position {self.i + 1}")
        if len(items) > 1:
            if any(isinstance(v, _Sweep) for v, _ in items):
                raise self.fail("a sweep cannot be nested in another sweep")
            return _Sweep(items)
        return items[0][0]

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def element_raw(self) -> tuple[Any, str]:
        self.skip_ws()
        start = self.i
        value = self.element()
        raw = self.s[start : self.i].strip()
        self.skip_ws()
        return value, raw

    def element(self) -> Any:
        self.skip_ws()
        ch = self.peek()
        if ch == "[":
            return self.container("]")
        if ch == "{":
            return self.container("}")
        if ch in ("'", '"'):
            return self.quoted()
        m = _CALL_RE.match(self.s, self.i)
        if m:
            self.i = m.end()
            return self.function(m.group(1))
        return self.primitive(in_dict_key=False)

    def scalar_element(self) -> Any:
        value = self.element()
        if isinstance(value, _Sweep):
            raise self.fail("sweeps are only allowed as the whole value")
        return value

    def container(self, close: str) -> Any:
        self.i += 1
        out: Any = [] if close == "]" else {}
        self.skip_ws()
        if self.peek() == close:
            self.i += 1
            return out
        while True:
            if close == "}":
                key = self.dict_key()
                out[key] = self.scalar_element()
            else:
                out.append(self.scalar_element())
            self.skip_ws()
            ch = self.peek()
            self.i += 1
            if ch == close:
                return out
            if ch != ",":
                raise self.fail(f"missing '{close}'" if not ch else f"unexpected '{ch}'")

    def dict_key(self) -> Any:
        self.skip_ws()
        key = self.quoted() if self.peek() in ("'", '"') else self.primitive(in_dict_key=True)
        self.skip_ws()
        if self.peek() != ":":
            raise self.fail("map entries are written `{key: value}`")
        self.i += 1
        if key == "":
            raise self.fail("empty map key")
        return key if isinstance(key, int | str) else str(key)

    def quoted(self) -> str:
        q = self.s[self.i]
        self.i += 1
        out = []
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\" and self.s[self.i + 1 : self.i + 2] == q:
                out.append(q)
                self.i += 2
                continue
            self.i += 1
            if ch == q:
                return "".join(out)
            out.append(ch)
        raise self.fail(f"unterminated {q}quoted{q} string")

    def primitive(self, in_dict_key: bool) -> Any:
        out, start = [], self.i
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\" and self.s[self.i + 1 : self.i + 2] in _ESCAPABLE:
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if ch in _DELIMS or (in_dict_key and ch == ":"):
                break
            if ch in "=([{'\"":
                raise self.fail(
                    f"unexpected '{ch}' in an unquoted value",
                    hint="quote values with special characters, e.g. -S 'key=\"a=b\"'",
                )
            if self.s.startswith("${", self.i):
                raise self.fail("interpolations (${...}) are not supported; write the value")
            out.append(ch)
            self.i += 1
        text = "".join(out).strip()
        if not text:
            raise self.fail("missing value" if self.i >= len(self.s) else "empty element")
        return _typed(text) if self.s[start : self.i].strip() == text else text

    def function(self, name: str) -> Any:
        args: list[tuple[Any, str]] = []
        kwargs: dict[str, Any] = {}
        self.skip_ws()
        if self.peek() == ")":
            self.i += 1
        else:
            while True:
                self.skip_ws()
                m = _KWARG_RE.match(self.s, self.i)
                if m:
                    self.i = m.end()
                    kwargs[m.group(1)] = self.element()
                else:
                    args.append(self.element_raw())
                self.skip_ws()
                ch = self.peek()
                self.i += 1
                if ch == ")":
                    break
                if ch != ",":
                    raise self.fail(f"missing ')' after {name}(")
        return self.call(name, args, kwargs)

    def call(self, name: str, args: list[tuple[Any, str]], kwargs: dict[str, Any]) -> Any:
        values = [v for v, _ in args]
        try:
            if name == "choice":
                return _choice(args, kwargs)
            if name == "range":
                return _range(*values, **kwargs)
            if name == "sort":
                return _sort(values, **kwargs)
            if name in _CASTS:
                if len(values) != 1 or kwargs:
                    raise ValueError(f"{name}() takes exactly one value")
                return _cast(name, values[0])
        except (TypeError, ValueError) as exc:
            raise self.fail(f"{name}(): {exc}") from exc
        if name in ("glob", "interval", "shuffle", "tag"):
            raise self.fail(f"{name}() overrides are not supported")
        raise self.fail(f"unknown function {name}()")


def _typed(text: str) -> Any:
    """Type an unquoted primitive like Hydra: null, bool, int, float, else string."""
    low = text.lower()
    if low == "null":
        return None
    if low in ("true", "false"):
        return low == "true"
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return text


def _choice(args: list[tuple[Any, str]], kwargs: dict[str, Any]) -> _Sweep:
    if kwargs or not args:
        raise ValueError("expects one or more values")
    if any(isinstance(v, _Sweep) for v, _ in args):
        raise ValueError("cannot nest sweeps")
    return _Sweep(list(args))


def _range(start: Any, stop: Any = None, step: Any = 1) -> _Sweep:
    if stop is None:
        start, stop = 0, start
    for v in (start, stop, step):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError("start, stop and step must be numbers")
    if step == 0:
        raise ValueError("step must not be zero")
    values: list[Any] = []
    if all(isinstance(v, int) for v in (start, stop, step)):
        values = list(range(start, stop, step))
    else:  # like Hydra: exact decimal steps of the float values, then back to float
        at, end, by = Decimal(start), Decimal(stop), Decimal(step)
        while (at < end) if by > 0 else (at > end):
            values.append(float(at))
            at += by
    if not values:
        raise ValueError("the range is empty")
    return _Sweep([(v, _format_value(v)) for v in values])


def _sort(args: list[Any], reverse: bool = False) -> _Sweep:
    if len(args) == 1 and isinstance(args[0], _Sweep):
        values = [v for v, _ in args[0].items]
    else:
        values = list(args)
    values = sorted(values, reverse=bool(reverse))
    return _Sweep([(v, _format_value(v)) for v in values])


_CASTS: dict[str, Callable[[Any], Any]] = {
    "int": lambda v: int(float(v)) if isinstance(v, str) and "." in v else int(v),
    "float": float,
    "str": lambda v: _format_value(v) if isinstance(v, bool | None) else str(v),
    "bool": lambda v: v.lower() == "true" if isinstance(v, str) else bool(v),
}


def _cast(name: str, value: Any) -> Any:
    if isinstance(value, _Sweep):
        return _Sweep([(c := _cast(name, v), _format_value(c)) for v, _ in value.items])
    if isinstance(value, list):
        return [_cast(name, v) for v in value]
    if isinstance(value, dict):
        return {k: _cast(name, v) for k, v in value.items()}
    if name == "bool" and isinstance(value, str) and value.lower() not in ("true", "false"):
        raise ValueError(f"cannot cast '{value}' to bool")
    return _CASTS[name](value)


def _format_value(value: Any) -> str:
    """A Hydra source text that parses back to `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_format_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _typed(text) == text and re.fullmatch(r"[\w./@%*?|$+-][\w ./@%*?|$:+-]*", text):
        return text
    return "'" + text.replace("'", "\\'") + "'"


# --- sweeps -----------------------------------------------------------------------------


def has_sweeps(overrides: list[Override]) -> bool:
    """True if any override has several candidate values."""
    return any(o.sweep is not None for o in overrides)


def expand_sweeps(overrides: list[Override]) -> list[list[Override]]:
    """Cartesian product of all sweeps; the first swept override varies slowest.

    As with DVC's sweeper, a later override of the same file and key replaces an
    earlier one.
    """
    last = {(o.file, o.key): i for i, o in enumerate(overrides)}
    kept = [o for i, o in enumerate(overrides) if last[(o.file, o.key)] == i]
    choices = [_candidates(o) for o in kept]
    return [list(combo) for combo in itertools.product(*choices)]


def _candidates(o: Override) -> list[Override]:
    if o.sweep is None:
        return [o]
    raws = _sweep_raws(o)
    return [replace(o, value=v, sweep=None, raw=r) for v, r in zip(o.sweep, raws, strict=True)]


def _sweep_raws(o: Override) -> list[str]:
    """Source text of each candidate (re-parsed from `raw`; formatted as a fallback)."""
    if o.raw is not None:
        try:
            parsed = parse_value(o.raw)
        except ParamsError:
            parsed = None
        if isinstance(parsed, _Sweep) and len(parsed.items) == len(o.sweep or ()):
            return [r for _, r in parsed.items]
    return [_format_value(v) for v in o.sweep or ()]


# --- applying overrides to a tree -------------------------------------------------------

_ABSENT: Any = object()


def render_overrides(read: Reader, overrides: list[Override]) -> dict[str, bytes]:
    """New full content of each params file touched by `overrides` (nothing written)."""
    if has_sweeps(overrides):
        raise ParamsError(sweep_error_message(), hint="expand sweeps before rendering them")
    by_file: dict[str, list[Override]] = {}
    for o in overrides:
        by_file.setdefault(o.file, []).append(o)
    return {path: _render_file(path, read(path), ovs) for path, ovs in by_file.items()}


def _render_file(path: str, data: bytes | None, overrides: list[Override]) -> bytes:
    if data is None and any(o.op in ("set", "delete") for o in overrides):
        bad = next(o for o in overrides if o.op in ("set", "delete"))
        raise ParamsError(
            f"cannot apply '{bad.to_arg()}': params file '{path}' does not exist",
            hint=f"use `+{bad.key}=...` to create '{path}' with that key",
        )
    ext = posixpath.splitext(path)[1].lower()
    editors: dict[str, Callable[[str, bytes | None], _Editor]] = {
        ".json": _JsonFile,
        ".toml": _TomlFile,
        ".py": _PyFile,
    }
    doc = editors.get(ext, _YamlFile)(path, data)
    for o in overrides:
        _Apply(doc, doc.prepare(o), path).run()
    return doc.dump()


class _Editor(Protocol):
    """One params file being edited in memory; `assign`/`delete` keep its formatting."""

    root: Any

    def prepare(self, o: Override) -> Override: ...

    def assign(self, parent: Any, key: Any, value: Any, old: Any) -> None: ...

    def delete(self, parent: Any, key: Any) -> None: ...

    def dump(self) -> bytes: ...


class _PlainEditor:
    """Assignment and deletion as plain dict/list operations (JSON, Python)."""

    root: Any

    def prepare(self, o: Override) -> Override:
        return o

    def assign(self, parent: Any, key: Any, value: Any, old: Any) -> None:
        parent[key] = copy.deepcopy(value)

    def delete(self, parent: Any, key: Any) -> None:
        del parent[key]


@dataclass
class _Apply:
    """One override applied to one document, with Hydra's (struct-mode) rules."""

    doc: _Editor
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
        if seg.isdigit() and int(seg) in node:
            return True, int(seg)
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
            self.doc.assign(node, key, {}, _ABSENT)
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
            self.doc.assign(parent, key, o.value, _ABSENT)
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
                self.doc.assign(old, k, v, _ABSENT)


# --- file formats -----------------------------------------------------------------------


class _YamlFile:
    """Round-trip YAML: comments, blank lines, key order, quotes, flow style, indentation.

    ruamel keeps the comment lines that follow a value with that value; when a value
    is replaced or deleted those lines are moved along, so that they stay in front of
    the key they describe.
    """

    def __init__(self, path: str, data: bytes | None) -> None:
        text = _decode(data, path) if data is not None else ""
        self.yaml = YAML(typ="rt", pure=True)
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-fold long lines the user wrote on one line
        indent, seq_offset, root = 2, 0, None
        if text.strip():
            try:
                _, guessed, offset = load_yaml_guess_indent(text)
                root = self.yaml.load(text)
            except MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                where = f"{mark.line + 1}:{mark.column + 1}: " if mark is not None else ""
                what = exc.problem or exc.context or "invalid YAML"
                raise ParamsError(f"params file '{path}': {where}{what}") from exc
            except YAMLError as exc:
                raise ParamsError(f"params file '{path}': invalid YAML: {_one_line(exc)}") from exc
            indent, seq_offset = guessed or 2, offset or 0
        # a file holding only comments loads as nothing: keep its text above the new keys
        self.prefix = text if root is None and text.strip() else ""
        if self.prefix and not self.prefix.endswith("\n"):
            self.prefix += "\n"
        self.yaml.indent(mapping=indent, sequence=seq_offset + 2, offset=seq_offset)
        self.yaml.explicit_start = text.lstrip().startswith("---")
        self.root = CommentedMap() if root is None else root
        if not isinstance(self.root, CommentedMap):
            raise ParamsError(f"params file '{path}': the top level must be a mapping")

    @staticmethod
    def prepare(o: Override) -> Override:
        return o

    @staticmethod
    def assign(parent: Any, key: Any, value: Any, old: Any) -> None:
        fresh = _commented(value)
        if _is_flow(old) and isinstance(fresh, CommentedMap | CommentedSeq):
            fresh.fa.set_flow_style()
        moved: CommentToken | str | None = None
        if old is _ABSENT and isinstance(parent, CommentedMap) and len(parent):
            moved = _take_following(parent, list(parent)[-1])  # they stay at the end
        elif old is not _ABSENT and _is_block(old):
            moved = _following(_take_tail(parent, key))  # its last EOL comment goes with it
        elif old is not _ABSENT and _is_block(fresh):
            moved = _take_tail(parent, key)  # the value's own comment moves below it
        parent[key] = fresh
        if moved:
            _add_tail(parent, key, moved)

    @staticmethod
    def delete(parent: Any, key: Any) -> None:
        keys = list(parent) if isinstance(parent, CommentedMap) else list(range(len(parent)))
        at = keys.index(key)
        moved = _following(_take_tail(parent, key))
        del parent[key]
        if not moved:
            return
        if at > 0:
            _add_tail(parent, keys[at - 1], moved)
        else:
            comment = parent.ca.comment or [None, []]
            comment[1] = [*(comment[1] or []), CommentToken(moved, CommentMark(0), None)]
            parent.ca.comment = comment

    def dump(self) -> bytes:
        buf = io.StringIO()
        self.yaml.dump(self.root, buf)
        return (self.prefix + buf.getvalue()).encode("utf-8")


def _commented(value: Any) -> Any:
    """Plain dicts/lists as ruamel nodes, so that comments can be attached to them."""
    if isinstance(value, dict):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(v) for v in value)
    return value


def _is_flow(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and bool(node.fa.flow_style())


def _is_block(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0 and not _is_flow(node)


def _holder(parent: Any, key: Any) -> tuple[Any, Any, int]:
    """(container, key, slot) of the comment that follows the last line of `parent[key]`."""
    while _is_block(parent[key]):
        parent = parent[key]
        key = list(parent)[-1] if isinstance(parent, CommentedMap) else len(parent) - 1
    return parent, key, 2 if isinstance(parent, CommentedMap) else 0


def _take_tail(parent: Any, key: Any) -> CommentToken | None:
    """Detach the comment (end-of-line part and following lines) after `parent[key]`."""
    node, k, slot = _holder(parent, key)
    entry = node.ca.items.get(k)
    token = entry[slot] if entry else None
    if entry:
        entry[slot] = None
    return token


def _take_following(parent: Any, key: Any) -> str:
    """Detach only the full comment lines after `parent[key]`; its EOL comment stays."""
    node, k, slot = _holder(parent, key)
    entry = node.ca.items.get(k)
    if not entry or entry[slot] is None:
        return ""
    eol, _, rest = str(entry[slot].value).partition("\n")
    if eol:
        entry[slot].value = eol + "\n"
    else:
        entry[slot] = None
    return rest


def _following(token: CommentToken | None) -> str:
    """A comment's full lines after its end-of-line part."""
    return str(token.value).partition("\n")[2] if token is not None else ""


def _add_tail(parent: Any, key: Any, moved: CommentToken | str) -> None:
    """Put a detached comment token, or following comment lines, after `parent[key]`."""
    node, k, slot = _holder(parent, key)
    entry = node.ca.items.setdefault(k, [None, None, None, None])
    current = entry[slot]
    if isinstance(moved, CommentToken):
        if current is not None:
            moved.value = str(moved.value) + _following(current)
        entry[slot] = moved
    elif current is None:
        entry[slot] = CommentToken("\n" + moved, CommentMark(0), None)
    else:
        current.value = str(current.value) + moved


class _JsonFile(_PlainEditor):
    """JSON re-dumped like DVC: default separators, ASCII, no trailing newline."""

    def __init__(self, path: str, data: bytes | None) -> None:
        self.path = path
        self.root = {}
        if data is not None:
            try:
                self.root = json.loads(_decode(data, path) or "{}")
            except json.JSONDecodeError as exc:
                raise ParamsError(
                    f"params file '{path}': {exc.lineno}:{exc.colno}: {exc.msg}"
                ) from exc
        if not isinstance(self.root, dict):
            raise ParamsError(f"params file '{path}': the top level must be an object")

    def dump(self) -> bytes:
        try:
            return json.dumps(self.root, allow_nan=False).encode("utf-8")
        except ValueError as exc:
            raise ParamsError(f"cannot write NaN or infinity to JSON file '{self.path}'") from exc


class _TomlFile(_PlainEditor):
    """TOML through tomlkit, which keeps comments and layout."""

    def __init__(self, path: str, data: bytes | None) -> None:
        self.path = path
        try:
            self.root = tomlkit.parse(_decode(data, path) if data is not None else "")
        except TOMLKitError as exc:
            raise ParamsError(f"params file '{path}': {_one_line(exc)}") from exc

    def assign(self, parent: Any, key: Any, value: Any, old: Any) -> None:
        if _contains_none(value):
            raise ParamsError(f"cannot write null to '{self.path}': TOML has no null value")
        try:
            parent[key] = tomlkit.item(copy.deepcopy(value))
        except (TOMLKitError, TypeError, ValueError) as exc:
            raise ParamsError(f"cannot write {value!r} to '{self.path}': {exc}") from exc

    def dump(self) -> bytes:
        return tomlkit.dumps(self.root).encode("utf-8")


def _decode(data: bytes | None, path: str) -> str:
    try:
        return (data or b"").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"params file '{path}': not UTF-8 text ({exc.reason})") from exc


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _contains_none(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_contains_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_none(v) for v in value)
    return value is None


# --- Python files -----------------------------------------------------------------------


class _PyFile(_PlainEditor):
    """Python params: each touched assignment gets a new literal, in place.

    The file is never executed; the new text must load back (statically) as exactly
    the data the overrides produced, or nothing is written.
    """

    def __init__(self, path: str, data: bytes | None) -> None:
        self.path = path
        self.text = _decode(data, path) if data is not None else ""
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
                f"updating '{self.path}' would leave invalid Python ({_one_line(exc)})"
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
