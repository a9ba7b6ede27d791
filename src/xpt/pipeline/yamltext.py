"""Safe-load DVC's YAML files with `file:line:col` errors.

Shared by `parse.py` (dvc.yaml), `dvcfile.py` (`.dvc` files) and `lockfile.py` (dvc.lock),
below all three, so that none imports another to say where a problem is.
"""

from __future__ import annotations

from typing import Any

from xpt.errors import PipelineError
from xpt.pipeline.params import yaml_safe_load
from xpt.pipeline.templating import PathSeg
from xpt.pipeline.yaml12 import YAMLLoadError


def load_yaml_text(data: bytes, path: str) -> Any:
    """Safe-load a DVC YAML file; syntax errors raise PipelineError with `file:line:col`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    try:
        return yaml_safe_load(text)
    except YAMLLoadError as exc:
        where = f"{exc.where()}:" if exc.where() else ""
        raise PipelineError(f"{path}:{where} {exc.problem}") from exc


def locate(data: bytes, path: str, where: tuple[PathSeg, ...], message: str) -> str:
    """`file:line:col: key.path: message` for a problem at key path `where` of `data`."""
    return located(data, path, where, where, message)


def located(
    data: bytes, path: str, raw: tuple[PathSeg, ...], shown: tuple[PathSeg, ...], message: str
) -> str:
    """`file:line:col: key.path: message`: line/col of the deepest key of `raw` in the file,
    `shown` as the user wrote it (before templating)."""
    position = _position(data, raw)
    where = f"{path}:{position[0] + 1}:{position[1] + 1}" if position else path
    text = _format_path(shown)
    return f"{where}: {text}: {message}" if text else f"{where}: {message}"


def _position(data: bytes, path: tuple[PathSeg, ...]) -> tuple[int, int] | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError

    try:
        node = YAML(typ="rt", pure=True).load(data.decode("utf-8-sig"))
    except (YAMLError, UnicodeDecodeError):
        return None
    position = None
    for seg in path:
        if isinstance(node, CommentedMap) and seg in node:
            position = node.lc.key(seg)
        elif isinstance(node, CommentedSeq) and isinstance(seg, int) and seg < len(node):
            position = node.lc.item(seg)
        else:
            break
        node = node[seg]
    return position


def _format_path(path: tuple[PathSeg, ...]) -> str:
    text = ""
    for seg in path:
        text += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if text else str(seg))
    return text
