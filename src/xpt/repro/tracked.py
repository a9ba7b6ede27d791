"""freeze / unfreeze / remove / unprotect / move: edits of what a project tracks.

Targets are DVC's: a `.dvc` file, `path/to/dvc.yaml:stage`, or a stage of the dvc.yaml in
the current folder. `.dvc` files are read and written only through `pipeline/dvcfile.py`,
dvc.yaml through `pipeline/dvcyaml_edit.py`, dvc.lock through `pipeline/lockfile.py`.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from xpt.cache.outputs import remove_output
from xpt.cache.outputs import unprotect as unprotect_path
from xpt.errors import PipelineError, XptError
from xpt.pipeline import dvcfile as dvcfiles
from xpt.pipeline.dvcyaml_edit import remove_stage, set_frozen
from xpt.pipeline.lockfile import dump_lock
from xpt.pipeline.parse import DVCFILE, find_dvcfiles, load_pipeline, workspace_reader
from xpt.project import Project
from xpt.repro.workspace import git_if_any
from xpt.utils.fsutil import atomic_write_bytes, is_inside, posix_rel


@dataclass(frozen=True)
class Target:
    """A stage of a dvc.yaml (`name` set) or a whole `.dvc` file (`name` None)."""

    path: str
    """Repo-relative path of the dvc.yaml or `.dvc` file."""
    name: str | None = None

    @property
    def is_dvcfile(self) -> bool:
        return self.name is None


def resolve_target(project: Project, cwd: Path, target: str) -> Target:
    """DVC's reading of a stage/`.dvc` target, relative to `cwd`."""
    root = project.root.resolve()
    if dvcfiles.is_dvcfile(target):
        full = (cwd / target).resolve()
        if not full.is_file():
            raise PipelineError(f"'{full}' does not exist")
        return Target(_inside(root, full, target))
    path, sep, name = target.rpartition(":")
    if not sep:
        path, name = "", target
    full = (cwd / path).resolve() if path else cwd.resolve()
    if full.is_dir():
        full = full / DVCFILE
    rel = _inside(root, full, target)
    if not full.is_file():
        raise PipelineError(f"'{posix_rel(full, cwd)}' does not exist")
    return Target(rel, name)


def _inside(root: Path, full: Path, shown: str) -> str:
    if not is_inside(str(full), str(root)):
        raise PipelineError(f"'{shown}' is outside the project '{root}'")
    return posix_rel(full, root)


def _fail(verb: str, target: str, exc: XptError) -> XptError:
    return type(exc)(f"failed to {verb} '{target}' - {exc.message}", exc.hint)


# --- freeze / unfreeze -------------------------------------------------------------------


def freeze(project: Project, cwd: Path, targets: list[str], frozen: bool) -> list[Target]:
    """Set or clear `frozen` on each target; returns the dvc.yaml stages modified."""
    root = project.root
    verb = "freeze" if frozen else "unfreeze"
    modified = []
    for raw in targets:
        try:
            target = resolve_target(project, cwd, raw)
            if target.is_dvcfile:
                parsed = _read_dvcfile(root, target.path)
                dvcfiles.write(str(root), replace(parsed, frozen=frozen))
                continue
            old = (root / target.path).read_bytes()
            new = set_frozen(old, str(target.name), frozen, target.path)
        except XptError as exc:
            raise _fail(verb, raw, exc) from None
        atomic_write_bytes(root / target.path, new)
        modified.append(target)
    return modified


def _read_dvcfile(root: Path, path: str) -> dvcfiles.DvcFile:
    found = dvcfiles.read(workspace_reader(root), path)
    if found is None:
        raise PipelineError(f"'{path}' does not exist")
    return found


# --- remove ---------------------------------------------------------------------------------


def remove(project: Project, cwd: Path, targets: list[str], *, outs: bool) -> list[str]:
    """Stop tracking: drop the stages/`.dvc` files, their lock entries and `.gitignore`
    lines; with `outs`, delete the outputs too. Returns the files changed."""
    root = project.root
    git = git_if_any(project)
    resolved = [resolve_target(project, cwd, t) for t in targets]
    changed: list[str] = []
    for target in resolved:
        if target.is_dvcfile:
            parsed = _read_dvcfile(root, target.path)
            paths = [(parsed.repo_path(o.path), o.cache) for o in parsed.outs]
            os.unlink(root / target.path)
        else:
            paths = _remove_stage(root, target)
        changed.append(target.path)
        for repo_path, cached in paths:
            if cached and git is not None:
                from xpt.scm.gitignore import unignore_output

                written = unignore_output(root, git, repo_path)
                if written:
                    changed.append(posix_rel(written, root))
            if outs:
                remove_output(root / repo_path)
    return list(dict.fromkeys(changed))


def _remove_stage(root: Path, target: Target) -> list[tuple[str, bool]]:
    name = str(target.name)
    read = workspace_reader(root)
    old = read(target.path)
    pipeline = load_pipeline(read, target.path)
    stage = pipeline.stages.get(name)
    if stage is None:
        raise PipelineError(f"Stage '{name}' not found inside '{target.path}' file")
    new = remove_stage(old, name, target.path)
    lock_path = stage.lockfile
    lock_old = read(lock_path)
    if new:
        atomic_write_bytes(root / target.path, new)
    else:
        os.unlink(root / target.path)
    if lock_old is not None:
        lock_new = dump_lock(lock_old, {}, remove=[name])
        if lock_new:
            atomic_write_bytes(root / lock_path, lock_new)
        else:
            os.unlink(root / lock_path)
    return [(stage.repo_path(o.path), o.cache) for o in stage.outs]


# --- outputs of the project ------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """One tracked output: where it is and who tracks it."""

    path: str
    """Repo-relative posix path."""
    owner: str
    """The `.dvc` file, or the stage's addressing."""
    cache: bool
    dvcfile: str | None = None


def project_outputs(project: Project) -> Iterator[Output]:
    """Every output of every dvc.yaml stage and `.dvc` file of the workspace."""
    root = project.root
    read = workspace_reader(root)
    for path in find_dvcfiles(root):
        for stage in load_pipeline(read, path).stages.values():
            owner = stage.dvcfile if stage.is_dvcfile_stage else None
            for out in stage.outs:
                yield Output(stage.repo_path(out.path), stage.addressing, out.cache, owner)


def _owning(outputs: list[Output], repo_path: str) -> Output | None:
    for out in outputs:
        if repo_path == out.path or repo_path.startswith(out.path + "/"):
            return out
    return None


def unprotect(project: Project, cwd: Path, targets: list[str]) -> None:
    """Replace cache links of tracked outputs by writable copies."""
    root = project.root.resolve()
    outputs = list(project_outputs(project))
    for target in targets:
        full = Path(os.path.abspath(cwd / target))
        rel = posix_rel(full, root) if is_inside(str(full), str(root)) else None
        if rel is None or not os.path.lexists(full) or _owning(outputs, rel) is None:
            raise XptError(
                f"can't unprotect non-existing data '{target}'",
                hint="name an output tracked by a .dvc file or a stage",
            )
        unprotect_path(full)


# --- move -------------------------------------------------------------------------------------


def move(project: Project, cwd: Path, src: str, dst: str) -> list[str]:
    """Rename data tracked by a `.dvc` file; the `.dvc` file follows it when named after it."""
    root = project.root.resolve()
    try:
        return _move(project, root, cwd, src, dst)
    except XptError as exc:
        raise _fail("move", f"{src}' -> '{dst}", exc) from None


def _move(project: Project, root: Path, cwd: Path, src: str, dst: str) -> list[str]:
    src_full = Path(os.path.abspath(cwd / src))
    dst_full = Path(os.path.abspath(cwd / dst))
    if dst_full.is_dir():
        dst_full = dst_full / src_full.name
    for full, shown in ((src_full, src), (dst_full, dst)):
        if not is_inside(str(full), str(root)):
            raise PipelineError(f"'{shown}' is outside the project")
    src_rel, dst_rel = posix_rel(src_full, root), posix_rel(dst_full, root)
    outputs = list(project_outputs(project))
    owner = next((o for o in outputs if o.path == src_rel), None)
    if owner is None:
        raise PipelineError(f"Unable to find DVC file with output '{src}'")
    if owner.dvcfile is None:
        raise PipelineError(
            f"'{src}' is an output of stage '{owner.owner}'",
            hint="rename it in dvc.yaml and rerun the stage",
        )
    if os.path.lexists(dst_full):
        raise PipelineError(f"'{dst}' already exists", hint="remove it or pick another name")
    clash = _owning(outputs, dst_rel)
    if clash is not None:
        raise PipelineError(f"'{dst}' is inside output '{clash.path}' of '{clash.owner}'")
    old_file = owner.dvcfile
    parsed = _read_dvcfile(root, old_file)
    default_name = old_file == dvcfiles.dvcfile_for(src_rel)
    new_file = dvcfiles.dvcfile_for(dst_rel) if default_name else old_file
    if new_file != old_file and os.path.lexists(root / new_file):
        raise PipelineError(f"'{new_file}' already exists")
    base = posixpath.dirname(new_file)
    if parsed.wdir:
        base = posixpath.normpath(posixpath.join(base, parsed.wdir))
    new_path = posixpath.relpath(dst_rel, base or ".")
    outs = tuple(
        replace(o, path=new_path) if parsed.repo_path(o.path) == src_rel else o for o in parsed.outs
    )
    git = git_if_any(project)
    changed = [old_file, new_file]
    dst_full.parent.mkdir(parents=True, exist_ok=True)
    os.rename(src_full, dst_full)
    moved = replace(parsed, path=new_file, outs=outs)
    old_bytes = (root / old_file).read_bytes()
    atomic_write_bytes(root / new_file, dvcfiles.dumps(moved, old_bytes))
    if new_file != old_file:
        os.unlink(root / old_file)
    if git is not None and owner.cache:
        from xpt.scm.gitignore import ignore_output, unignore_output

        for written in (unignore_output(root, git, src_rel), ignore_output(root, git, dst_rel)):
            if written:
                changed.append(posix_rel(written, root))
    return list(dict.fromkeys(changed))
