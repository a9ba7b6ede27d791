"""`exp branch`, `exp rename`, `exp remove`, `exp gc`: operations on experiment refs.

None of them touches the workspace or the data cache. Removal is all-or-nothing:
every name is resolved before any ref is deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from xpt.errors import ExperimentError, ExperimentExists, UnknownExperiment
from xpt.experiments.names import resolve, validate_name
from xpt.experiments.show import experiments_by_baseline
from xpt.project import Project
from xpt.scm.exprefs import ExpRef
from xpt.scm.git import Git


def branch(project: Project, target: str, branch_name: str | None) -> tuple[str, str]:
    """Create a git branch at an experiment's commit; returns (branch, sha)."""
    git = Git(project.root)
    ref = resolve(git, target, baseline=git.head_sha())
    sha = git.get_ref(ref.ref)
    assert sha is not None
    name = branch_name or f"{ref.name}-branch"
    git.create_branch(name, sha)
    return name, sha


def rename(project: Project, target: str, new_name: str, *, force: bool = False) -> ExpRef:
    """Move an experiment ref to a new name under the same baseline."""
    git = Git(project.root)
    ref = resolve(git, target, baseline=git.head_sha())
    if new_name == ref.name:
        return ref
    validate_name(git, new_name)
    new = ExpRef(ref.baseline, new_name)
    existing = git.get_ref(new.ref)
    if existing is not None and not force:
        raise ExperimentExists(
            f"experiment '{new_name}' already exists for baseline {ref.baseline[:7]}",
            hint="choose another name, or overwrite it with `-f`",
        )
    sha = git.get_ref(ref.ref)
    assert sha is not None
    git.set_ref(new.ref, sha, expected_old=existing, message=f"xpt: rename {ref.name}")
    git.delete_ref(ref.ref, expected_old=sha)
    return new


@dataclass(frozen=True)
class RemoveRequest:
    """Selection of `exp remove`."""

    names: tuple[str, ...] = ()
    all_commits: bool = False
    revs: tuple[str, ...] = ()
    num: int = 1
    queue: bool = False
    keep: bool = False


QueueRemover = Callable[[Iterable[str], bool], list[str]]
"""(names, all) -> removed queue entry names; raises UnknownExperiment for unknown names."""


def _scope(git: Git, req: RemoveRequest) -> list[tuple[ExpRef, str]]:
    grouped = experiments_by_baseline(git)
    if req.all_commits:
        return [item for items in grouped.values() for item in items]
    baselines: list[str] = []
    for rev in req.revs:
        sha = git.resolve(rev)
        if sha is None:
            raise ExperimentError(
                f"unknown git revision '{rev}'", hint="pass a branch, tag or commit"
            )
        baselines.extend(git.first_parents(sha, max(req.num, 1)))
    return [item for b in baselines for item in grouped.get(b, [])]


def remove(
    project: Project,
    req: RemoveRequest,
    queue_names: Callable[[], set[str]] | None = None,
    queue_remove: QueueRemover | None = None,
) -> list[str]:
    """Remove experiments (and queue entries); returns the removed names."""
    git = Git(project.root)
    if not (req.names or req.all_commits or req.revs or req.queue):
        raise ExperimentError(
            "nothing to remove: name experiments or pass a scope",
            hint="`xpt exp remove NAME…`, or `--rev REV`, `-A`, `--queue`",
        )
    if req.keep and req.queue:
        raise ExperimentError("`--keep` cannot be combined with `--queue`")
    head = git.head_sha()
    queued = queue_names() if queue_names else set()
    targets: dict[str, tuple[ExpRef, str]] = {}
    queue_targets: list[str] = []
    unknown: list[str] = []
    for name in req.names:
        try:
            ref = resolve(git, name, baseline=head)
            sha = git.get_ref(ref.ref)
            assert sha is not None
            targets[ref.ref] = (ref, sha)
        except UnknownExperiment:
            if name in queued:
                queue_targets.append(name)
            else:
                unknown.append(name)
    if unknown:
        raise UnknownExperiment(
            "unknown experiment(s): " + ", ".join(f"'{n}'" for n in unknown),
            hint="see `xpt exp list -A` and `xpt queue status`",
        )
    if req.keep:
        scope = (
            _scope(git, req)
            if (req.all_commits or req.revs)
            else [
                item
                for items in experiments_by_baseline(git).values()
                for item in items
                if item[0].baseline == head
            ]
        )
        to_remove = [item for item in scope if item[0].ref not in targets]
    else:
        to_remove = list(targets.values())
        if req.all_commits or req.revs:
            to_remove.extend(item for item in _scope(git, req) if item[0].ref not in targets)
    removed = []
    for ref, sha in to_remove:
        git.delete_ref(ref.ref, expected_old=sha)
        removed.append(ref.name)
    if queue_remove is not None and (queue_targets or req.queue):
        removed.extend(queue_remove(queue_targets, req.queue))
    return removed


@dataclass(frozen=True)
class GcRequest:
    """Scope of `exp gc`: which baselines' experiments to keep."""

    workspace: bool = False
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    queued: bool = False


def gc(
    project: Project, req: GcRequest, queue_gc: Callable[[set[str] | None], list[str]] | None = None
) -> list[str]:
    """Remove experiments whose baseline is not kept; returns removed names."""
    if not (req.workspace or req.all_branches or req.all_tags or req.all_commits):
        raise ExperimentError(
            "`exp gc` needs a scope of experiments to keep",
            hint="pass -w (HEAD), -a (branches), -T (tags) or -A (all commits)",
        )
    git = Git(project.root)
    keep: set[str] = set()
    head = git.head_sha()
    if head:
        keep.add(head)
    if req.all_branches:
        keep.update(git.branches().values())
    if req.all_tags:
        keep.update(git.tags().values())
    if req.all_commits:
        keep.update(git.all_commits())
    removed = []
    for baseline, items in experiments_by_baseline(git).items():
        if baseline in keep:
            continue
        for ref, sha in items:
            git.delete_ref(ref.ref, expected_old=sha)
            removed.append(ref.name)
    if queue_gc is not None:
        removed.extend(queue_gc(keep if req.queued else None))
    return removed
