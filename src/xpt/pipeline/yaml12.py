"""Fast YAML 1.2 safe loading: libyaml's C parser with YAML 1.2 core-schema typing.

ruamel.yaml's pure-Python loader (what DVC reads with) costs ~0.1 ms per line; `exp show`
over a thousand experiments parses thousands of params and lock blobs. libyaml (through
PyYAML) scans and parses in C; the resolvers and int/float constructors below follow
ruamel's YAML 1.2 rules so values come out exactly as DVC sees them (`yes` stays a
string, `0o17` is 15, `017` is 17, `1e-3` a float). Anything libyaml rejects is re-read
with ruamel so errors keep ruamel's wording and positions.
"""

from __future__ import annotations

import re
from typing import Any

try:  # pragma: no cover - exercised whichever way the machine has it
    import yaml as _pyyaml

    _BASE: Any = getattr(_pyyaml, "CSafeLoader", None) or _pyyaml.SafeLoader
except ImportError:  # pragma: no cover
    _pyyaml = None  # type: ignore[assignment]
    _BASE = None

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?[0-9_]+
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TIMESTAMP = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
    (?:[Tt]|[ \t]+)[0-9][0-9]?
    :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)


def _to_int(text: str) -> int:
    """A YAML 1.2 int (`_INT` matched): `0b`, `0o`, `0x` prefixes, `_` separators."""
    value = text.replace("_", "")
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value.startswith("0b"):
        return sign * int(value[2:], 2)
    if value.startswith("0x"):
        return sign * int(value[2:], 16)
    if value.startswith("0o"):
        return sign * int(value[2:], 8)
    return sign * int(value)


def _to_float(text: str) -> float:
    """A YAML 1.2 float (`_FLOAT` matched), `.inf` and `.nan` included."""
    value = text.replace("_", "").lower()
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value == ".inf":
        return sign * float("inf")
    if value == ".nan":
        return float("nan")
    return sign * float(value)


def _make_loader() -> Any:
    if _BASE is None:
        return None

    class Yaml12Loader(_BASE):  # type: ignore[misc,valid-type]
        """libyaml parser + YAML 1.2 core schema resolution."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            # PyYAML silently keeps the last of duplicate keys; ruamel (and DVC) refuse
            # them, so any duplicate sends the document to the ruamel path for its error.
            mapping = super().construct_mapping(node, deep=deep)
            if len(mapping) != len(node.value):
                raise ValueError("duplicate key")
            return mapping

    Yaml12Loader.yaml_implicit_resolvers = {}
    for tag, regexp, first in (
        ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
        ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
        ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
        ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
        ("tag:yaml.org,2002:timestamp", _TIMESTAMP, "0123456789"),
    ):
        Yaml12Loader.add_implicit_resolver(tag, regexp, list(first))

    def construct_int(loader: Any, node: Any) -> int:
        return _to_int(loader.construct_scalar(node))

    def construct_float(loader: Any, node: Any) -> float:
        return _to_float(loader.construct_scalar(node))

    Yaml12Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    return Yaml12Loader


_LOADER = _make_loader()


class YAMLLoadError(ValueError):
    """Invalid YAML; `line`/`column` are 0-based (None when unknown)."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column

    def where(self) -> str:
        """`line:col` (1-based) or ''."""
        if self.line is None or self.column is None:
            return ""
        return f"{self.line + 1}:{self.column + 1}"


_UNSURE: Any = object()
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_WORD = re.compile(r"(?:[A-Za-z0-9_]|[-+.][A-Za-z0-9_.])[A-Za-z0-9_.+/-]*\Z")
"""A plain scalar with no character YAML could read as syntax (no space, `:`, `#`...)."""


def _plain(word: str) -> Any:
    """A `_WORD` typed as the loader's implicit resolvers type it, in their order."""
    first = word[0]
    if first in "tTfF" and _BOOL.match(word):
        return word.lower() == "true"
    try:
        if first in "-+0123456789." and _FLOAT.match(word):
            return _to_float(word)
        if first in "-+0123456789" and _INT.match(word):
            return _to_int(word)
    except ValueError:  # `-_`: the loader fails too, and ruamel has the last word
        return _UNSURE
    if first in "nN" and _NULL.match(word):
        return None
    if first in "0123456789" and _TIMESTAMP.match(word):
        return _UNSURE
    return word


def _load_simple(text: str) -> Any:
    """Nested block mappings of plain words (most params files, `lr: 0.01`), read
    without a YAML parser; `_UNSURE` for anything else (lists, quotes, flow
    collections, inline comments, tabs, documents markers...), which the full
    parser then reads. `exp show` over thousands of experiments parses as many."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(0, root)]
    pending: tuple[int, dict[str, Any], str] | None = None  # `key:` awaiting a block
    for line in text.split("\n"):
        body = line.rstrip(" ")
        content = body.lstrip(" ")
        if not content or content[0] == "#":
            continue
        indent = len(body) - len(content)
        key, sep, rest = content.partition(":")
        if not sep or (rest and rest[0] != " ") or not _KEY.match(key):
            return _UNSURE
        if _BOOL.match(key) or _NULL.match(key):
            return _UNSURE
        if pending is not None:
            if indent > pending[0]:
                child: dict[str, Any] = {}
                pending[1][pending[2]] = child
                stack.append((indent, child))
            pending = None
        while indent < stack[-1][0]:
            stack.pop()
        level, mapping = stack[-1]
        if indent != level or key in mapping:
            return _UNSURE
        word = rest.strip(" ")
        if not word:
            mapping[key] = None
            pending = (indent, mapping, key)
            continue
        if not _WORD.match(word):
            return _UNSURE
        value = _plain(word)
        if value is _UNSURE:
            return _UNSURE
        mapping[key] = value
    return root if root else _UNSURE


def load(text: str) -> Any:
    """Parse one YAML document with YAML 1.2 semantics (C speed when available).

    Raises YAMLLoadError with ruamel's wording and position for invalid documents.
    """
    simple = _load_simple(text)
    if simple is not _UNSURE:
        return simple
    if _LOADER is not None:
        try:
            return _pyyaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader subclass
        except Exception:  # noqa: BLE001 - fall through to ruamel for its error message
            pass
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise YAMLLoadError(problem) from exc
        raise YAMLLoadError(problem, mark.line, mark.column) from exc
    except YAMLError as exc:  # one line: ruamel puts the position on a second one
        raise YAMLLoadError("invalid YAML: " + " ".join(str(exc).split())) from exc
