"""JSON params files, re-dumped the way DVC writes them."""

from __future__ import annotations

import json

from xpt.errors import ParamsError
from xpt.pipeline.params_edit.apply import PlainEditor, decode


class JsonFile(PlainEditor):
    """JSON re-dumped like DVC: default separators, ASCII, no trailing newline."""

    def __init__(self, path: str, data: bytes | None) -> None:
        self.path = path
        self.root = {}
        if data is not None:
            try:
                self.root = json.loads(decode(data, path) or "{}")
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
