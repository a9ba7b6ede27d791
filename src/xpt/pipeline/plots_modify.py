"""`plots modify`: find the stage that owns a plot output; `dvcyaml_edit` rewrites dvc.yaml."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from xpt.errors import XptError
from xpt.pipeline.dvcyaml_edit import set_plot_props
from xpt.pipeline.parse import find_dvcfiles, load_pipelines, workspace_reader


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


def modify_plot(
    root: Path, target: str, props: dict[str, Any], unset: list[str] | None
) -> tuple[str, str]:
    """Apply the change; returns the dvc.yaml that was rewritten and the stage name."""
    from xpt.utils.fsutil import atomic_write_bytes

    dvcfile, name, written = _find(root, target)
    path = root / dvcfile
    atomic_write_bytes(path, set_plot_props(path.read_bytes(), name, written, props, unset))
    return dvcfile, name
