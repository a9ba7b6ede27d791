"""`stage add` and `stage list`: define a stage in dvc.yaml the way DVC does, list stages.

The new dvc.yaml is rendered in memory and the whole project re-parsed with it (duplicate
or nested outputs, cycles) before anything is written; then dvc.yaml is written atomically
and cached outputs get their `.gitignore` lines.
"""

from __future__ import annotations

import os
import posixpath
import string
from dataclasses import dataclass, field
from pathlib import Path

from xpt.errors import PipelineError, ScmError
from xpt.pipeline.dvcyaml_edit import OutDef, StageDef, add_stage, has_stage
from xpt.pipeline.graph import Graph
from xpt.pipeline.model import Pipeline, Reader, Stage
from xpt.pipeline.params import DEFAULT_PARAMS_FILE
from xpt.pipeline.parse import DVCFILE, find_dvcfiles, load_pipelines, workspace_reader
from xpt.project import Project
from xpt.repro.workspace import git_if_any
from xpt.utils.dvcnames import DVC_SUFFIX, LOCKFILE
from xpt.utils.fsutil import atomic_write_bytes, is_inside, posix_rel

_BAD_NAME_CHARS = set(string.punctuation) - {"_", "-"}
_DVC_FILE_NAMES = (DVCFILE, LOCKFILE)


@dataclass(frozen=True)
class StageAddRequest:
    """The flags of `stage add`; paths as the user typed them (relative to `wdir`)."""

    name: str
    command: tuple[str, ...]
    cwd: Path
    deps: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    outs_no_cache: tuple[str, ...] = ()
    outs_persist: tuple[str, ...] = ()
    outs_persist_no_cache: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    metrics_no_cache: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    plots_no_cache: tuple[str, ...] = ()
    wdir: str | None = None
    always_changed: bool = False
    desc: str | None = None
    force: bool = False


@dataclass(frozen=True)
class StageAddResult:
    dvcfile: str
    """Repo-relative path of the dvc.yaml written."""
    addressing: str
    replaced: bool
    changed: list[str] = field(default_factory=list)
    """Repo-relative paths written (dvc.yaml, .gitignore files), for the `git add` hint."""


def join_command(words: tuple[str, ...] | list[str]) -> str:
    """One command string from the words after the flags (DVC quotes words with spaces)."""

    def quote(word: str) -> str:
        if not word:
            return '""'
        if " " in word and '"' not in word:
            return f'"{word}"'
        return word

    if len(words) < 2:
        return " ".join(words)
    return " ".join(quote(w) for w in words)


def parse_params(values: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """`-p a,b` / `-p file.yaml:a,b` / `-p file.yaml:` -> (file, keys or None) pairs."""
    out: list[tuple[str, tuple[str, ...] | None]] = []
    for value in values:
        path, sep, keys = value.rpartition(":")
        if not sep:
            path, keys = DEFAULT_PARAMS_FILE, value
        names = tuple(k for k in keys.split(",") if k)
        out.append((path, names if names else None))
    return tuple(out)


def _check_name(name: str) -> None:
    if not name or set(name) & _BAD_NAME_CHARS:
        raise PipelineError(
            "Stage name cannot contain punctuation characters.",
            hint="use letters, digits, '_' and '-' only",
        )


def _stage_def(req: StageAddRequest, wdir: str) -> StageDef:
    def outs(paths: tuple[str, ...], cache: bool, persist: bool = False) -> list[OutDef]:
        return [OutDef(p, cache=cache, persist=persist) for p in paths]

    return StageDef(
        cmd=join_command(req.command),
        wdir=wdir,
        deps=req.deps,
        params=parse_params(req.params),
        outs=tuple(
            outs(req.outs, True)
            + outs(req.outs_no_cache, False)
            + outs(req.outs_persist, True, True)
            + outs(req.outs_persist_no_cache, False, True)
        ),
        metrics=tuple(outs(req.metrics, True) + outs(req.metrics_no_cache, False)),
        plots=tuple(outs(req.plots, True) + outs(req.plots_no_cache, False)),
        always_changed=req.always_changed,
        desc=req.desc,
    )


def _overlay(read: Reader, path: str, data: bytes) -> Reader:
    def reader(p: str) -> bytes | None:
        return data if p == path else read(p)

    return reader


def _check_outputs(project: Project, stage_dir: str, definition: StageDef) -> None:
    root = str(project.root)
    deps = {os.path.normpath(os.path.join(root, stage_dir, d)) for d in definition.deps}
    for out in (*definition.outs, *definition.metrics, *definition.plots):
        full = os.path.normpath(os.path.join(root, stage_dir, out.path))
        if not is_inside(full, root) or full == root:
            kind = "Cached output(s)" if out.cache else "Output(s)"
            raise PipelineError(
                f"{kind} outside of DVC project: {out.path}",
                hint="outputs must be inside the repository",
            )
        base = os.path.basename(full)
        if base in _DVC_FILE_NAMES or base.endswith(DVC_SUFFIX):
            raise PipelineError(f"DVC file '{out.path}' cannot be an output.")
        if full in deps:
            raise PipelineError(f"'{full}' is specified as an output and as a dependency.")


def _check_not_taken(graph: Graph, new: Stage) -> None:
    """DVC's message when another stage already produces one of the new outputs."""
    mine = {new.repo_path(o.path) for o in new.outs}
    for other in graph.stages():
        if other.addressing == new.addressing:
            continue
        for out in other.outs:
            if other.repo_path(out.path) in mine:
                raise PipelineError(
                    f"output '{out.path}' is already specified in stage: '{other.addressing}'.",
                    hint=f"use `xpt remove {other.addressing}` to stop tracking the overlapping output",
                )


def stage_add(project: Project, req: StageAddRequest) -> StageAddResult:
    """Add (or with `force` replace) a stage in the dvc.yaml of `req.cwd`; nothing else runs."""
    _check_name(req.name)
    if not req.command or not join_command(req.command).strip():
        raise PipelineError("command is not specified", hint="put the command after the flags")
    root = project.root
    cwd = req.cwd.resolve()
    if not is_inside(str(cwd), str(root.resolve())):
        raise PipelineError(f"'{cwd}' is outside the project '{root}'")
    folder = posix_rel(cwd, root.resolve())
    dvcfile = DVCFILE if folder in ("", ".") else f"{folder}/{DVCFILE}"
    wdir_abs = (cwd / req.wdir).resolve() if req.wdir else cwd
    if not wdir_abs.is_dir():
        raise PipelineError(
            f"stage working dir '{wdir_abs}' does not exist", hint="create it or fix --wdir"
        )
    wdir = os.path.relpath(wdir_abs, cwd).replace(os.sep, "/")
    definition = _stage_def(req, wdir)
    stage_dir = posixpath.normpath(posixpath.join(posixpath.dirname(dvcfile), wdir))
    _check_outputs(project, stage_dir, definition)

    read = workspace_reader(root)
    old = read(dvcfile)
    existed = has_stage(old, req.name, dvcfile)
    if existed and not req.force:
        raise PipelineError(
            f"Stage '{req.name}' already exists in '{dvcfile}'. Use '--force' to overwrite."
        )
    new = add_stage(old, req.name, definition, dvcfile)
    files = find_dvcfiles(root)
    if dvcfile not in files:
        files.append(dvcfile)
    pipelines = load_pipelines(_overlay(read, dvcfile, new), files)
    stages = [s for p in pipelines for s in p.stages.values()]
    added = next(s for s in stages if s.dvcfile == dvcfile and s.name == req.name)
    others = Graph(s for s in stages if s is not added)
    _check_not_taken(others, added)
    Graph(stages)  # nested outputs, cycles, a dependency that is also an output

    git = git_if_any(project)
    cached = [added.repo_path(o.path) for o in added.outs if o.cache]
    if git is not None:
        for path in cached:
            rel = posix_rel(root / path, git.root)
            if git.is_tracked(rel):
                raise ScmError(
                    f"output '{path}' is already tracked by SCM (e.g. Git)",
                    hint=f"stop tracking it with `git rm -r --cached '{path}'` and commit",
                )
    atomic_write_bytes(root / dvcfile, new)
    changed = [dvcfile]
    if git is not None:
        from xpt.scm.gitignore import ignore_output

        for path in cached:
            written = ignore_output(root, git, path)
            if written:
                changed.append(posix_rel(written, root))
    return StageAddResult(dvcfile, added.addressing, existed, sorted(set(changed)))


# --- stage list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    addressing: str
    description: str


def describe(stage: Stage) -> str:
    """`desc`'s first line, else what the stage outputs, reports or depends on."""
    if stage.desc:
        return stage.desc.splitlines()[0] if stage.desc.strip() else ""
    deps = [*stage.deps, *(p.path for p in stage.params)]
    outs = [o.path for o in stage.outs if o.kind == "out"]
    reports = [o.path for o in stage.outs if o.kind != "out"]
    if not outs and not reports:
        return f"Depends on {', '.join(deps)}" if deps else "No outputs or dependencies"
    parts = []
    if outs:
        parts.append(f"Outputs {', '.join(outs)}")
    if reports:
        parts.append(f"Reports {', '.join(reports)}")
    return "; ".join(parts)


def stage_list(
    project: Project,
    targets: list[str],
    *,
    all_stages: bool,
    recursive: bool,
    cwd: Path,
    fail: bool = False,
) -> list[StageRow]:
    """The stages of the targets (default: the dvc.yaml of `cwd`, or all with `all_stages`).

    Files found by `--all`/`-R` that do not parse are skipped, as DVC does, unless `fail`."""
    root = project.root.resolve()
    every = find_dvcfiles(root)
    if all_stages:
        files = every
        names: dict[str, str | None] = {}
    else:
        files, names = _select_files(root, cwd.resolve(), targets or [DVCFILE], every, recursive)
    rows: list[StageRow] = []
    read = workspace_reader(root)
    for pipeline in _load(read, files, skip_invalid=(all_stages or recursive) and not fail):
        wanted = names.get(pipeline.dvcfile)
        if wanted is not None and wanted not in pipeline.stages:
            matches = [s for s in pipeline.stages if s.split("@")[0] == wanted]
            if not matches:
                raise PipelineError(
                    f"Stage '{wanted}' not found inside '{pipeline.dvcfile}' file",
                    hint="see `xpt stage list --all`",
                )
        for stage in pipeline.stages.values():
            if wanted is None or wanted in (stage.name, stage.name.split("@")[0]):
                rows.append(StageRow(stage.addressing, describe(stage)))
    return rows


def _load(read: Reader, files: list[str], *, skip_invalid: bool) -> list[Pipeline]:
    if not skip_invalid:
        return load_pipelines(read, files)
    pipelines = []
    for path in files:
        try:
            pipelines += load_pipelines(read, [path])
        except PipelineError:
            continue
    return pipelines


def _select_files(
    root: Path, cwd: Path, targets: list[str], every: list[str], recursive: bool
) -> tuple[list[str], dict[str, str | None]]:
    files: list[str] = []
    names: dict[str, str | None] = {}
    for target in targets:
        path, sep, name = target.rpartition(":")
        if not sep:
            path, name = target, ""
        full = (cwd / path).resolve() if path else cwd / DVCFILE
        rel = posix_rel(full, root)
        if not is_inside(str(full), str(root)):
            raise PipelineError(f"'{target}' is outside the project")
        if full.is_dir():
            if recursive:
                prefix = "" if rel in ("", ".") else rel + "/"
                files += [f for f in every if f.startswith(prefix)]
                continue
            rel = posixpath.join(rel, DVCFILE) if rel not in ("", ".") else DVCFILE
        elif not sep and not full.exists():
            # a bare stage name in the dvc.yaml of cwd
            here = posix_rel(cwd / DVCFILE, root)
            if here not in every:
                raise PipelineError(
                    f"'{DVCFILE}' does not exist", hint="see `xpt stage list --all`"
                )
            files.append(here)
            names[here] = target
            continue
        if rel not in every:
            raise PipelineError(f"'{rel}' does not exist", hint="see `xpt stage list --all`")
        files.append(rel)
        if name:
            names[rel] = name
    return list(dict.fromkeys(files)), names
