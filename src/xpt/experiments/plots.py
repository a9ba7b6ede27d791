"""Collect plot definitions and plot data at revisions (what `plots show/diff` draw).

For each revision: the plot definitions of every dvc.yaml (top-level `plots:` and stage
plot outputs, directories expanded to their files) and the parsed content of every file
they use. Files are read from git, the workspace, or the cache through the dvc.lock entry
of the output that holds them, so plots inside cached directory outputs work at any
revision. Shapes and ids follow DVC 3, so `--json` matches it (see report/plots.py).
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xpt.cache.odb import ODB
from xpt.errors import XptError
from xpt.experiments.collect import load_pipelines_at, lock_entries
from xpt.experiments.names import resolve_rev
from xpt.experiments.revfiles import WORKSPACE, RevisionFiles, cached_outs
from xpt.pipeline.metrics import load_metrics
from xpt.pipeline.model import Pipeline, Reader
from xpt.pipeline.parse import DVCFILE, find_dvcfiles, workspace_reader
from xpt.project import Project
from xpt.scm.git import Git

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".gif", ".png", ".svg")
DATA_EXTENSIONS = (".json", ".yaml", ".yml", ".toml", ".csv", ".tsv")
PROP_KEYS = ("template", "x", "y", "x_label", "y_label", "title", "header")


class PlotError(XptError):
    """A plot file or definition cannot be used (its class name goes into `--json` errors)."""


class PlotMetricTypeError(PlotError):
    """Named like DVC's error: a plot file of a format DVC does not plot."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"'{path}' - file type error\nOnly JSON, YAML, CSV and TSV formats are supported."
        )


class FileMissing(PlotError):
    """A declared plot file is absent at this revision (reported as FileNotFoundError)."""

    type_name = "FileNotFoundError"

    def __init__(self, path: str, cached: bool = False) -> None:
        why = "No storage files available" if cached else "No such file or directory"
        super().__init__(f"[Errno 2] {why}: '{path}'")


@dataclass
class RevPlots:
    """Plot definitions and data of one revision, keyed like DVC's."""

    rev: str
    definitions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """config file ('' for stage outputs and targets) -> {plot id: properties}"""
    sources: dict[str, Any] = field(default_factory=dict)
    """file path -> parsed data (images: bytes)"""
    source_errors: dict[str, Exception] = field(default_factory=dict)
    error: Exception | None = None


def _join(base: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)


def _from(cwd: str, path: str) -> str:
    """A repo-relative path as seen from the folder the command runs in."""
    return posixpath.relpath(path, cwd) if cwd else path


def _matches(targets: list[str], config: str, plot_id: str) -> bool:
    if not targets:
        return True
    full = f"{config}::{plot_id}" if config else plot_id
    return any(re.match(t, plot_id) or re.match(t, full) for t in targets)


def _id_is_path(props: dict[str, Any]) -> bool:
    return not isinstance(props.get("y"), dict)


def _adjust_sources(props: dict[str, Any], config_dir: str) -> dict[str, Any]:
    """x/y file keys of a top-level definition, made repo-relative."""
    new = dict(props)
    for axis in ("x", "y"):
        if axis == "x" and (axis not in new or isinstance(new[axis], str)):
            continue
        old = new.pop(axis, None) or {}
        new[axis] = {_join(config_dir, f): v for f, v in old.items()}
    return new


def _closest_parent(path: str, parents: list[str]) -> str:
    best = ""
    for parent in parents:
        common = posixpath.commonpath([path, parent])
        if len(common) > len(best):
            best = common
    return best


def _top_level(
    files: RevisionFiles,
    pipeline: Pipeline,
    targets: list[str],
    props: dict[str, Any],
    cwd: str,
) -> dict[str, dict[str, Any]]:
    config_dir = posixpath.dirname(pipeline.dvcfile)
    defs: dict[str, dict[str, Any] | None] = {}
    for item in pipeline.plots:
        if isinstance(item, str):
            defs[posixpath.relpath(item, config_dir or ".")] = None
        elif isinstance(item, dict) and item:
            key, value = next(iter(item.items()))
            defs[str(key)] = value if isinstance(value, dict) else None
    parents = [_join(config_dir, pid) for pid in defs]
    result: dict[str, dict[str, Any]] = {}
    for plot_id, plot_props in defs.items():
        plot_props = plot_props or {}
        if not _matches(targets, _from(cwd, pipeline.dvcfile), plot_id):
            continue
        if _id_is_path(plot_props):
            data_path = _join(config_dir, plot_id)
            # a path out of the repository is never listed (it stays one missing file)
            inside = not (data_path == ".." or data_path.startswith(("../", "/")))
            for path in (files.files_under(data_path) if inside else []) or [data_path]:
                if _closest_parent(path, parents) == data_path:
                    result[path] = {**plot_props, **props}
        else:
            result[plot_id] = {**_adjust_sources(plot_props, config_dir), **props}
    return result


def _stage_outputs(
    files: RevisionFiles,
    pipelines: list[Pipeline],
    targets: list[str],
    props: dict[str, Any],
    cwd: str,
) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for pipeline in pipelines:
        config = _from(cwd, pipeline.dvcfile)
        for stage in pipeline.stages.values():
            for out in stage.outs:
                path = stage.repo_path(out.path)
                if out.kind != "plot" or not _matches(targets, config, _from(cwd, path)):
                    continue
                plot_props = {k: v for k, v in (out.plot or {}).items() if k in PROP_KEYS}
                for file in files.files_under(path) or [path]:
                    result[file] = {**plot_props, **props}
    return result


def _in_cached_out(pipelines: list[Pipeline], path: str) -> bool:
    """Is `path` a cached output of a stage, or inside one (even one never run)?"""
    for pipeline in pipelines:
        for stage in pipeline.stages.values():
            for out in stage.outs:
                out_path = stage.repo_path(out.path)
                if out.cache and (path == out_path or path.startswith(out_path + "/")):
                    return True
    return False


def data_sources(plot_id: str, props: dict[str, Any]) -> list[str]:
    """Files a definition draws from: its y files (or its id), then its first x file."""
    y = props.get("y")
    sources = list(y) if isinstance(y, dict) else [plot_id]
    x = props.get("x")
    if isinstance(x, dict) and x:
        sources.append(next(iter(x)))
    return list(dict.fromkeys(sources))


def _load_sv(text: str, delimiter: str, header: bool) -> list[dict[str, Any]]:
    """Rows as `csv.DictReader` gives them (blank lines skipped, short rows padded with
    None, extra cells under the key None), without its per-row overhead."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    if header:
        names = next(reader, [])
    else:  # DVC counts the columns of the first line with a comma, whatever the delimiter
        first = next(csv.reader(io.StringIO(text)), [])
        names = [str(i) for i in range(len(first))]
    width = len(names)
    rows: list[dict[str, Any]] = []
    for row in reader:
        if not row:
            continue
        point: dict[str, Any] = dict(zip(names, row, strict=False))
        if len(row) > width:
            point[None] = row[width:]  # type: ignore[index]
        elif len(row) < width:
            point.update(dict.fromkeys(names[len(row) :]))
        rows.append(point)
    return rows


def parse_plot_file(data: bytes, path: str, props: dict[str, Any]) -> Any:
    """Plot data as DVC reads it: images as bytes, CSV/TSV as rows of strings."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return data
    if ext not in DATA_EXTENSIONS:
        raise PlotMetricTypeError(path)
    if ext in (".csv", ".tsv"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PlotError(f"'{path}' is not valid UTF-8") from None
        return _load_sv(text, "\t" if ext == ".tsv" else ",", props.get("header", True))
    return load_metrics(data, path)


def _rev_files(project: Project, git: Git, sha: str | None) -> tuple[Reader, dict[str, Any]]:
    """The revision's reader (None: the workspace) and how to list it, with its dvc.yaml files."""
    if sha is None:
        dvcfiles = find_dvcfiles(project.root)
        return workspace_reader(project.root), {"root": project.root, "dvcfiles": dvcfiles}
    dvcfiles = sorted(git.find_named(sha, DVCFILE), key=lambda p: (p != DVCFILE, p))

    def listing(path: str) -> list[str]:
        return list(git.list_tree(sha, path))

    return git.reader(sha), {"list_tree": listing, "dvcfiles": dvcfiles}


def collect_rev(
    project: Project,
    git: Git,
    odb: ODB,
    rev: str,
    sha: str | None,
    targets: list[str],
    props: dict[str, Any],
    cwd: str = "",
) -> RevPlots:
    """Definitions and data of one revision; problems are recorded, not raised."""
    result = RevPlots(rev)
    try:
        read, where = _rev_files(project, git, sha)
        dvcfiles = where.pop("dvcfiles")
        pipelines = load_pipelines_at(read, dvcfiles)
    except XptError as exc:
        result.error = exc
        return result
    outs = cached_outs(pipelines, lock_entries(read, pipelines))
    files = RevisionFiles(read, outs, odb, **where)
    for pipeline in pipelines:
        if pipeline.plots:
            result.definitions[pipeline.dvcfile] = _top_level(files, pipeline, targets, props, cwd)
    outputs = _stage_outputs(files, pipelines, targets, props, cwd)
    for target in targets:
        target = _join(cwd, target)  # a path given on the command line
        if not result.definitions and not outputs or files.files_under(target):
            for path in files.files_under(target) or [target]:
                outputs[path] = {**outputs.get(path, {}), **props}
    if outputs:
        result.definitions[""] = outputs
    for defs in result.definitions.values():
        for plot_id, plot_props in defs.items():
            for path in data_sources(plot_id, plot_props):
                if path in result.sources or path in result.source_errors:
                    continue
                data = files.read(path)
                if data is None:
                    held = files.is_cached(path) or _in_cached_out(pipelines, path)
                    result.source_errors[path] = FileMissing(path, held)
                    continue
                try:
                    result.sources[path] = parse_plot_file(data, path, plot_props)
                except XptError as exc:
                    result.source_errors[path] = exc
    return _relative_to(result, cwd) if cwd else result


def _relative_to(result: RevPlots, cwd: str) -> RevPlots:
    """Paths as DVC prints them when run in a subfolder: relative to it (`../eval/...`)."""

    def rel(path: str) -> str:
        return _from(cwd, path)

    def props_of(props: dict[str, Any]) -> dict[str, Any]:
        new = dict(props)
        for axis in ("x", "y"):
            if isinstance(new.get(axis), dict):
                new[axis] = {rel(f): v for f, v in new[axis].items()}
        return new

    moved = RevPlots(result.rev, error=result.error)
    for config, defs in result.definitions.items():
        moved.definitions[rel(config) if config else ""] = {
            (rel(pid) if _id_is_path(props) else pid): props_of(props)
            for pid, props in defs.items()
        }
    moved.sources = {rel(p): data for p, data in result.sources.items()}
    moved.source_errors = {rel(p): exc for p, exc in result.source_errors.items()}
    return moved


def diff_revisions(project: Project, revs: list[str], experiment: bool = False) -> list[str]:
    """The revisions `plots diff` compares (DVC's defaults: HEAD and the workspace)."""
    revisions = list(revs)
    git = Git(project.root)
    if experiment and len(revisions) == 1:
        from xpt.experiments.names import resolve

        try:
            revisions.append(resolve(git, revisions[0], baseline=None).baseline[:7])
        except XptError:
            pass
    if len(revisions) <= 1:
        status = git.status()
        if not revisions and (status.modified or status.deleted or status.added):
            revisions.append("HEAD")
        revisions.append(WORKSPACE)
    return revisions


def collect(
    project: Project,
    revs: list[str] | None = None,
    targets: list[str] | None = None,
    props: dict[str, Any] | None = None,
) -> list[RevPlots]:
    """Plots of each revision, the workspace first (DVC's order)."""
    order = list(dict.fromkeys(revs or [WORKSPACE]))
    if WORKSPACE in order:
        order.remove(WORKSPACE)
        order.insert(0, WORKSPACE)
    git = Git(project.root)
    # an unknown revision fails the whole command, as in DVC
    shas = {rev: None if rev == WORKSPACE else resolve_rev(git, rev) for rev in order}
    odb = ODB(project.cache_dir)
    cwd = os.path.relpath(os.getcwd(), project.root).replace(os.sep, "/")
    cwd = "" if cwd == "." or cwd.startswith("..") else cwd
    return [
        collect_rev(project, git, odb, rev, shas[rev], targets or [], props or {}, cwd)
        for rev in order
    ]


MEMO_MAX_CHARS = 4_000_000
"""Longer `--json` outputs are not recorded for the fast path: every replay loads the
whole memo."""

PlotsRender = Callable[[list[RevPlots]], tuple[str, list[str]]]
"""Collected plots -> the text printed and the files written for it (its images)."""


def collect_json(
    project: Project,
    revs: list[str] | None,
    targets: list[str] | None,
    props: dict[str, Any] | None,
    render: PlotsRender,
    memo_key: str | None = None,
) -> str:
    """`plots show/diff --json`: the plots of `collect` as `render` prints them.

    With `memo_key` (see `xpt.fastpath`), an output over commits only (no workspace)
    where everything loaded, and small enough, is recorded for replay: it rests on the
    git refs, the config, the plot templates and the files `render` wrote (VS Code asks
    for it again and again)."""
    if memo_key is None:
        return render(collect(project, revs, targets, props))[0]
    from xpt.repro import verdict

    with verdict.noting() as since:  # notes what is read from here on (config, cache objects)
        collected = collect(project, revs, targets, props)
        text, written = render(collected)
        clean = not any(r.error is not None or r.source_errors for r in collected)
        if clean and len(text) < MEMO_MAX_CHARS and revs and WORKSPACE not in revs:
            verdict.record_commits(project, memo_key, written, f"{text}\n", since)
    return text
