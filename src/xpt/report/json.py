"""`--json` output exactly as DVC prints it when piped: one compact line, ASCII only.

DVC writes `json.dumps(obj)` with the default separators (`", "`, `": "`) and
`ensure_ascii`, so xpt does the same and scripts parse byte-identical output.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any


def _default(value: Any) -> Any:
    """Serialise what the core may hand over besides plain JSON types."""
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_json(obj: Any) -> str:
    """The text of `--json` output (no trailing newline)."""
    return json.dumps(obj, default=_default)
