"""`plots modify`: set or unset display properties of a stage's plot output in dvc.yaml.

The one place that rewrites dvc.yaml, round-trip through ruamel.yaml so comments, order
and flow style survive. As in DVC, an entry of `outs` that gets properties moves to the
stage's `plots` list, keeping its flags.
"""

from __future__ import annotations

import io
import posixpath
from pathlib import Path
from typing import Any

from xpt.errors import XptError
from xpt.pipeline.parse import find_dvcfiles, load_pipelines, workspace_reader

PLOT_PROPS = ("template", "x", "y", "x_label", "y_label", "title", "header")
_LISTS = ("outs", "metrics", "plots")


def _find(root: Path, target: str) -> tuple[str, str, str]:
    """(dvc.yaml path, stage name, path as written) of the output `target`."""
    rel = posixpath.normpath(target)
    read = workspace_reader(root)
    for pipeline in load_pipelines(read, find_dvcfiles(root)):
        for stage in pipeline.stages.values():
            for out in stage.outs:
                if stage.repo_path(out.path) == rel:
                    if "@" in stage.name:
                        raise XptError(
                            f"'{target}' is an output of the generated stage '{stage.name}'",
                            hint="edit its foreach/matrix definition in dvc.yaml",
                        )
                    return pipeline.dvcfile, stage.name, out.path
    raise XptError(
        f"Unable to find DVC file with output '{target}'",
        hint="name an output of a stage (see `xpt dag -o`)",
    )


def _entry(items: Any, path: str) -> tuple[int, Any] | None:
    for index, item in enumerate(items or []):
        key = item if isinstance(item, str) else next(iter(item), None)
        if isinstance(key, str) and posixpath.normpath(key) == path:
            return index, item
    return None


def modify_plot(
    root: Path, target: str, props: dict[str, Any], unset: list[str] | None
) -> tuple[str, str]:
    """Apply the change; returns the dvc.yaml that was rewritten and the stage name."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from xpt.utils.fsutil import atomic_write_bytes

    dvcfile, name, written = _find(root, target)
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    path = root / dvcfile
    doc = yaml.load(path.read_text(encoding="utf-8"))
    stage = doc["stages"][name]
    found = None
    for section in _LISTS:
        hit = _entry(stage.get(section), posixpath.normpath(written))
        if hit is not None:
            found = (section, *hit)
            break
    if found is None:
        raise XptError(
            f"output '{target}' of stage '{name}' is not written in '{dvcfile}'",
            hint="templated outputs cannot be modified; edit dvc.yaml",
        )
    section, index, item = found
    flags = CommentedMap() if isinstance(item, str) else item[next(iter(item))] or CommentedMap()
    if section != "plots" and unset is not None:
        raise XptError(
            f"'{target}' is not a known plot. Use `xpt plots modify` to turn it into one.",
            hint="run it without --unset first",
        )
    missing = [p for p in unset or [] if p not in flags]
    if missing:
        raise XptError(f"display properties {missing} not found in plot '{target}'")
    for prop in unset or []:
        del flags[prop]
    for key, value in props.items():
        flags[key] = value
    entry: Any = CommentedMap([(written, flags)]) if flags else written
    if section == "plots":
        stage[section][index] = entry
    else:
        del stage[section][index]
        if not stage[section]:
            del stage[section]
        if "plots" not in stage or stage["plots"] is None:
            stage["plots"] = CommentedSeq()
        stage["plots"].insert(0, entry)
    buf = io.StringIO()
    yaml.dump(doc, buf)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    return dvcfile, name
