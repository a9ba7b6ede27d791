"""The value grammar of `-S` overrides: the subset of Hydra's override values DVC 3 accepts.

A value is a typed Python value (null, bools, numbers, strings, lists, maps, casts) or a
`Sweep` of several candidates (`a,b`, `choice()`, `range()`, `sort()`), each kept with its
source text so that an expanded sweep can be written back as the user typed it.
`Override` (one parsed `-S` argument) lives here too, below both `overrides.py` and the
file editors of `params_edit/` that apply it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from xpt.errors import ParamsError
from xpt.pipeline.params import DEFAULT_PARAMS_FILE

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
MAX_SWEEP = 10_000
"""Most experiments one `-S` sweep (or a whole sweep set) may queue: a typo such as
`range(0,10**12)` is refused instead of exhausting memory."""


@dataclass
class Sweep:
    """Sweep candidates as (value, source text) pairs."""

    items: list[tuple[Any, str]]


def parse_value(text: str, arg: str = "") -> Any:
    """A Hydra value: a typed Python value, or a `Sweep` of several."""
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
            if any(isinstance(v, Sweep) for v, _ in items):
                raise self.fail("a sweep cannot be nested in another sweep")
            return Sweep(items)
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
        if isinstance(value, Sweep):
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


def _choice(args: list[tuple[Any, str]], kwargs: dict[str, Any]) -> Sweep:
    if kwargs or not args:
        raise ValueError("expects one or more values")
    if any(isinstance(v, Sweep) for v, _ in args):
        raise ValueError("cannot nest sweeps")
    return Sweep(list(args))


def _range(start: Any, stop: Any = None, step: Any = 1) -> Sweep:
    if stop is None:
        start, stop = 0, start
    for v in (start, stop, step):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError("start, stop and step must be numbers")
    if step == 0:
        raise ValueError("step must not be zero")
    values: list[Any] = []
    if all(isinstance(v, int) for v in (start, stop, step)):
        _check_size(len(range(start, stop, step)))
        values = list(range(start, stop, step))
    else:  # like Hydra: exact decimal steps of the float values, then back to float
        at, end, by = Decimal(start), Decimal(stop), Decimal(step)
        if not all(d.is_finite() for d in (at, end, by)):
            raise ValueError("start, stop and step must be finite")
        steps = (end - at) / by
        _check_size(int(steps) if steps > 0 else 0)
        while (at < end) if by > 0 else (at > end):
            values.append(float(at))
            at += by
    if not values:
        raise ValueError("the range is empty")
    return Sweep([(v, format_value(v)) for v in values])


def _check_size(count: int) -> None:
    if count > MAX_SWEEP:
        raise ValueError(f"the range has more than {MAX_SWEEP} values")


def _sort(args: list[Any], reverse: bool = False) -> Sweep:
    if len(args) == 1 and isinstance(args[0], Sweep):
        values = [v for v, _ in args[0].items]
    else:
        values = list(args)
    values = sorted(values, reverse=bool(reverse))
    return Sweep([(v, format_value(v)) for v in values])


_CASTS: dict[str, Callable[[Any], Any]] = {
    "int": lambda v: int(float(v)) if isinstance(v, str) and "." in v else int(v),
    "float": float,
    "str": lambda v: format_value(v) if isinstance(v, bool | None) else str(v),
    "bool": lambda v: v.lower() == "true" if isinstance(v, str) else bool(v),
}


def _cast(name: str, value: Any) -> Any:
    if isinstance(value, Sweep):
        return Sweep([(c := _cast(name, v), format_value(c)) for v, _ in value.items])
    if isinstance(value, list):
        return [_cast(name, v) for v in value]
    if isinstance(value, dict):
        return {k: _cast(name, v) for k, v in value.items()}
    if name == "bool" and isinstance(value, str) and value.lower() not in ("true", "false"):
        raise ValueError(f"cannot cast '{value}' to bool")
    return _CASTS[name](value)


def format_value(value: Any) -> str:
    """A Hydra source text that parses back to `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _typed(text) == text and re.fullmatch(r"[\w./@%*?|$+-][\w ./@%*?|$:+-]*", text):
        return text
    return "'" + text.replace("'", "\\'") + "'"


# --- one override -----------------------------------------------------------------------

Op = Literal["set", "add", "force", "delete"]


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
