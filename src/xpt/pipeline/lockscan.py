"""Fast scan of dvc.lock for the dep/out hash entries only (`exp show` hot path).

DVC and xpt both write dvc.lock in one strict block layout (docs/dvc-formats.md §3.7). `exp show` over a
thousand experiments needs just each stage's `deps`/`outs` items (path, md5, size,
nfiles), not a full YAML parse. This line scanner reads exactly that layout and gives
up (returns None) on anything unexpected, so the caller falls back to the real parser:
it can be fast without ever being wrong.
"""

from __future__ import annotations

from typing import Any

from xpt.utils.oids import is_oid

_INT_KEYS = {"size", "nfiles"}
_STR_KEYS = {"path", "hash", "md5"}


def _scalar(key: str, raw: str) -> Any:
    """Decode a plain scalar we understand; raise ValueError for anything else."""
    if not raw or raw[0] in "'\"&*!|>[{" or raw.endswith(":") or " #" in raw:
        raise ValueError(raw)
    if key in _INT_KEYS:
        return int(raw)
    if key == "isexec":
        if raw in ("true", "True", "TRUE"):
            return True
        if raw in ("false", "False", "FALSE"):
            return False
        raise ValueError(raw)
    if key == "md5" and not is_oid(raw):
        raise ValueError(raw)  # the full parser names the entry
    if key in _STR_KEYS:
        return raw
    raise ValueError(key)


def _put(item: dict[str, Any], body: str) -> None:
    key, sep, raw = body.partition(": ")
    if not sep or key in item:
        raise ValueError(body)
    item[key] = _scalar(key, raw.rstrip())


def scan_hashes(data: bytes) -> dict[str, dict[str, list[dict[str, Any]]]] | None:
    """{stage: {"deps": [...], "outs": [...]}}, or None when the layout is unusual."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if not lines or lines[0] != "schema: '2.0'" or len(lines) < 2 or lines[1] != "stages:":
        return None
    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    stage: dict[str, list[dict[str, Any]]] | None = None
    section: str | None = None
    item: dict[str, Any] | None = None
    try:
        for line in lines[2:]:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                return None
            if line.startswith("    - "):
                if section is None:
                    continue  # items of a list cmd
                assert stage is not None
                item = {}
                stage[section].append(item)
                _put(item, line[6:])
                continue
            indent = len(line) - len(line.lstrip(" "))
            body = line[indent:]
            if indent == 2:
                if not body.endswith(":") or body[0] in "'\"&*!?-":
                    return None
                stage = result.setdefault(body[:-1], {"deps": [], "outs": []})
                section = item = None
            elif indent == 4:
                if stage is None:
                    return None
                section = body[:-1] if body in ("deps:", "outs:") else None
                item = None
            elif section is None:
                continue  # cmd continuation lines, params values: not needed here
            elif indent == 6 and item is not None:
                _put(item, body)
            else:
                return None
    except (ValueError, KeyError):
        return None
    return result
