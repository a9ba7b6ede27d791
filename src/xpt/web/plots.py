"""The compare view's plots: `plots diff --json` of the chosen revisions, drawn by the page.

Collection and rendering are h15b's (`experiments/plots.py`, `report/plots.py`); this
only picks labels (an experiment's name where it resolves back to the same commit) and
keeps images inline (data URIs), so the page never asks for a file path.
"""

from __future__ import annotations

from typing import Any

from xpt.errors import XptError
from xpt.experiments.compare import WORKSPACE, _Revisions
from xpt.experiments.plots import collect
from xpt.experiments.show_rows import ExpState
from xpt.project import Project
from xpt.report.plots import build_renderers, to_json
from xpt.web.data import find_revision


def labels(project: Project, rows: list[ExpState], revs: list[str]) -> list[str]:
    """A name `plots` resolves to the same commit as the row, else the row's sha."""
    resolver = _Revisions(project)
    out = []
    for rev in revs:
        row = find_revision(rows, rev)
        sha, name = (row.rev, row.name) if row is not None else (rev, None)
        label = sha
        if sha == WORKSPACE:
            label = WORKSPACE
        elif name:
            try:
                if resolver.sha(name) == sha:
                    label = name
            except XptError:
                pass
        out.append(label)
    return out


def plots_json(project: Project, rows: list[ExpState], revs: list[str]) -> dict[str, Any]:
    """The `plots diff --json` document of `revs` (rows of the page), images inline."""
    chosen = list(dict.fromkeys(labels(project, rows, revs)))
    collected = collect(project, chosen)
    renders, _images = build_renderers(collected, None, str(project.dvc_dir / "plots"))
    errors = {r.rev: r.error for r in collected if r.error is not None}
    return {"revisions": chosen, **to_json(renders, False, errors)}
