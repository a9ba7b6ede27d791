"""`-S/--set-param` overrides: the Hydra-subset grammar DVC 3 accepts, sweeps, and
rendering of the changed params files.

Rendering is pure: `render_overrides` returns the new content of every touched file and
writes nothing, so one bad override in a set aborts the run before any file changes.
Files are edited in place where their format allows it (YAML round-trip with comments,
quotes, flow style and indentation kept; TOML via tomlkit; Python by patching literals),
which keeps the diff of an experiment commit down to the values that changed.

The value grammar lives in `override_values`, the file editors in `params_edit/`; the
editor of a format (and its parser library) is imported only when such a file is edited.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable
from dataclasses import replace

from xpt.errors import ParamsError
from xpt.pipeline.override_values import (
    MAX_SWEEP,
    Op,
    Override,
    Sweep,
    format_value,
    parse_value,
)
from xpt.pipeline.params import DEFAULT_PARAMS_FILE
from xpt.pipeline.params_edit.apply import Apply, Editor
from xpt.utils.dvcnames import DVC_DIR

__all__ = [
    "Op",
    "Override",
    "Reader",
    "expand_sweeps",
    "has_sweeps",
    "parse_set_params",
    "parse_value",
    "render_overrides",
    "sweep_error_message",
]

Reader = Callable[[str], "bytes | None"]

_SEGMENT = r"[\w$][\w$/-]*"
_KEY_RE = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
_PIECE_RE = re.compile(rf"(?:~|\+\+?)?{_KEY_RE.pattern}=.*|~{_KEY_RE.pattern}", re.DOTALL)


def sweep_error_message() -> str:
    """What the CLI says when sweeps are given without `--queue`."""
    return "Sweep overrides (`key=a,b`, `choice()`, `range()`) can't be used without `--queue`"


# --- parsing `-S` arguments -------------------------------------------------------------


def parse_set_params(args: list[str]) -> list[Override]:
    """Parse `-S` arguments `[<file>:]<override>[,<override>...]` in order."""
    overrides: list[Override] = []
    for arg in args:
        try:
            file, rest = _split_file(arg)
            for piece in _split_pieces(rest):
                overrides.append(_parse_override(file, piece, arg))
        except ParamsError as exc:
            if arg.isprintable():
                raise
            raise ParamsError(_one_line(exc.message), hint=exc.hint) from None
    return overrides


def _one_line(text: str) -> str:
    """An error quoting the user's text on one line: control characters escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _split_file(arg: str) -> tuple[str, str]:
    """The file prefix counts only when its `:` comes before the first `=`."""
    eq = arg.find("=")
    colon = arg.find(":")
    if colon != -1 and (eq == -1 or colon < eq):
        file = posixpath.normpath(arg[:colon]) if arg[:colon] else ""
        if not file:
            raise ParamsError(f"invalid --set-param '{arg}': empty file name before ':'")
        _check_file(file, arg)
        return file, arg[colon + 1 :]
    return DEFAULT_PARAMS_FILE, arg


def _check_file(file: str, arg: str) -> None:
    """A params file is a path inside the project, outside `.git` and `.dvc` (it is written)."""
    parts = file.split("/")
    try:
        file.encode("utf-8", "surrogateescape")  # the file system's encoding of argv
    except UnicodeEncodeError:
        raise ParamsError(
            f"invalid --set-param {arg!r}: params file name is not valid text"
        ) from None
    if file.startswith("/") or parts[0] == ".." or "\0" in file:
        raise ParamsError(
            f"invalid --set-param '{arg}': params file '{file}' is outside the project",
            hint="name the params file relative to the project root",
        )
    if ".git" in parts or DVC_DIR in parts:
        raise ParamsError(
            f"invalid --set-param '{arg}': params file '{file}' is inside git's or DVC's folder",
            hint="keep params files in the project's own folders",
        )


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
    if isinstance(parsed, Sweep):
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
    count = 1
    for options in choices:
        count *= len(options)
    if count > MAX_SWEEP:
        raise ParamsError(
            f"the sweep makes {count} experiments (at most {MAX_SWEEP})",
            hint="queue it in smaller parts",
        )
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
        if isinstance(parsed, Sweep) and len(parsed.items) == len(o.sweep or ()):
            return [r for _, r in parsed.items]
    return [format_value(v) for v in o.sweep or ()]


# --- rendering the touched files --------------------------------------------------------


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
    doc = _open_editor(path, data)
    for o in overrides:
        Apply(doc, doc.prepare(o), path).run()
    return doc.dump()


def _open_editor(path: str, data: bytes | None) -> Editor:
    """The editor for the file's extension (YAML otherwise, like DVC).

    Imported here, on first use, so that `exp run` pays for ruamel.yaml (~12 ms) or
    tomlkit (~8 ms) only when it edits a file of that format.
    """
    ext = posixpath.splitext(path)[1].lower()
    if ext == ".json":
        from xpt.pipeline.params_edit.json_file import JsonFile

        return JsonFile(path, data)
    if ext == ".toml":
        from xpt.pipeline.params_edit.toml_file import TomlFile

        return TomlFile(path, data)
    if ext == ".py":
        from xpt.pipeline.params_edit.py_file import PyFile

        return PyFile(path, data)
    from xpt.pipeline.params_edit.yaml_file import YamlFile

    return YamlFile(path, data)
