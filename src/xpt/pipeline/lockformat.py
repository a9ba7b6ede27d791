"""The pieces of DVC's lock format that `dvc.lock` (`lockfile.py`) and `.dvc` files
(`dvcfile.py`) share: a dep/out hash entry, canonical JSON and DVC's YAML writer.

It sits below both, so that the two file owners do not import each other.
"""

from __future__ import annotations

import io
import json
from typing import Any

from xpt.errors import PipelineError


def hash_entry(
    path: str,
    md5: str,
    size: int | None,
    nfiles: int | None = None,
    isexec: bool = False,
    legacy: bool = False,
) -> dict[str, Any]:
    """A dep/out entry in DVC's key order; `legacy` (2.x md5-dos2unix) has no `hash` key."""
    entry: dict[str, Any] = {"path": path}
    if not legacy:
        entry["hash"] = "md5"
    entry["md5"] = md5
    if size is not None:
        entry["size"] = size
    if nfiles is not None:
        entry["nfiles"] = nfiles
    if isexec:
        entry["isexec"] = True
    return entry


def canonical_json(obj: Any) -> bytes:
    """DVC's canonical JSON (docs/dvc-formats.md §4.4): sorted keys, default separators, ASCII, UTF-8."""
    return json.dumps(obj, sort_keys=True).encode("utf-8")


def yaml_rt() -> Any:
    """Round-trip YAML configured like DVC's writer (block style, ruamel defaults)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    return yaml


def load_roundtrip(data: bytes, path: str) -> Any:
    """A YAML file as a comment-keeping ruamel document (for in-place updates)."""
    from ruamel.yaml.error import YAMLError

    try:
        return yaml_rt().load(data.decode("utf-8-sig"))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise PipelineError(
            f"cannot update '{path}': it is not valid YAML ({exc})",
            hint="fix or delete it; xpt writes it anew",
        ) from exc


def dump_yaml(doc: Any) -> bytes:
    """YAML bytes as DVC's writer emits them (also for `.dvc` files)."""
    buf = io.StringIO()
    yaml_rt().dump(doc, buf)
    return buf.getvalue().encode("utf-8")
