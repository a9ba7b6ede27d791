"""`exp push`, `exp pull`, `exp list <remote>`, `exp remove -g`: experiments on a git remote.

Refs move with the `git` CLI (the user's credentials apply); only `refs/exps/…`
experiment refs are ever pushed, never a branch or HEAD. The data their commits
reference moves to/from the DVC data remote. The result says separately what reached
git and what reached the data remote, so a partial failure is visible and a rerun
finishes the job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xpt.errors import AmbiguousName, ExperimentError, UnknownExperiment
from xpt.experiments.names import resolve
from xpt.experiments.show import checkpoint_chain, experiments_by_baseline
from xpt.project import Project
from xpt.repro.transfer.sync import TransferResult, fetch, get_remote, push, used_objects
from xpt.scm.exprefs import EXPS_PREFIX, ExpRef
from xpt.scm.git import Git


@dataclass
class ExpTransfer:
    """Per-experiment git outcome and the data transfer result."""

    refs: dict[str, str] = field(default_factory=dict)
    data: TransferResult | None = None


@dataclass(frozen=True)
class Selection:
    """Which experiments: names, or baselines (`--rev`, `-n`), or all (`-A`)."""

    names: tuple[str, ...] = ()
    all_commits: bool = False
    revs: tuple[str, ...] = ()
    num: int = 1

    def baselines(self, git: Git) -> list[str]:
        """Baselines named by `--rev` (default HEAD) and `-n` first-parent commits each."""
        found: list[str] = []
        for rev in self.revs or ("HEAD",):
            sha = git.resolve(rev)
            if sha is None:
                raise ExperimentError(f"unknown git revision '{rev}'")
            found.extend(git.first_parents(sha, max(self.num, 1)))
        return found


def _select_local(git: Git, sel: Selection) -> list[tuple[ExpRef, str]]:
    grouped = experiments_by_baseline(git)
    if sel.names:
        chosen = []
        for name in sel.names:
            ref = resolve(git, name, baseline=git.head_sha())
            sha = git.get_ref(ref.ref)
            assert sha is not None
            chosen.append((ref, sha))
        return chosen
    if sel.all_commits:
        return [item for items in grouped.values() for item in items]
    baselines = sel.baselines(git)
    return [item for b in baselines for item in grouped.get(b, [])]


def _data_readers(git: Git, items: list[tuple[ExpRef, str]]):  # type: ignore[no-untyped-def]
    readers = []
    for ref, sha in items:
        for commit in checkpoint_chain(git, sha, ref.baseline):
            readers.append(git.reader(commit))
    return readers


def exp_push(
    project: Project,
    git_remote: str,
    sel: Selection,
    *,
    force: bool = False,
    no_cache: bool = False,
    data_remote: str | None = None,
    jobs: int | None = None,
) -> ExpTransfer:
    """Push experiment refs, then the data of the ones that reached the remote."""
    git = Git(project.root)
    items = _select_local(git, sel)
    result = ExpTransfer()
    if not items:
        return result
    result.refs = git.push(git_remote, [f"{ref.ref}:{ref.ref}" for ref, _ in items], force=force)
    arrived = [(ref, sha) for ref, sha in items if result.refs.get(ref.ref) != "rejected"]
    if not no_cache and arrived:
        oids = used_objects(project, _data_readers(git, arrived))
        if oids:
            result.data = push(project, get_remote(project, data_remote), oids, jobs)
    return result


def _remote_exps(git: Git, git_remote: str) -> dict[str, str]:
    return {
        ref: sha
        for ref, sha in git.ls_remote(git_remote, EXPS_PREFIX + "/").items()
        if ExpRef.parse(ref) is not None
    }


def _select_remote(
    git: Git, remote_refs: dict[str, str], sel: Selection, git_remote: str
) -> list[str]:
    if not sel.names:
        if sel.all_commits:
            return list(remote_refs)
        baselines = set(sel.baselines(git))
        return [r for r in remote_refs if (p := ExpRef.parse(r)) and p.baseline in baselines]
    chosen = []
    head = git.head_sha()
    for name in sel.names:
        if name in remote_refs:
            chosen.append(name)
            continue
        matches = [r for r in remote_refs if (p := ExpRef.parse(r)) and p.name == name]
        if head:
            preferred = [r for r in matches if ExpRef.parse(r).baseline == head]  # type: ignore[union-attr]
            matches = preferred or matches
        if not matches:
            raise UnknownExperiment(
                f"experiment '{name}' does not exist on git remote '{git_remote}'",
                hint=f"see `xpt exp list {git_remote} -A`",
            )
        if len(matches) > 1:
            raise AmbiguousName(
                f"'{name}' names several experiments on '{git_remote}': " + ", ".join(matches),
                hint="pass the full ref",
            )
        chosen.append(matches[0])
    return chosen


def exp_pull(
    project: Project,
    git_remote: str,
    sel: Selection,
    *,
    force: bool = False,
    no_cache: bool = False,
    data_remote: str | None = None,
    jobs: int | None = None,
) -> ExpTransfer:
    """Fetch experiment refs from the git remote, then the data they need."""
    git = Git(project.root)
    remote_refs = _remote_exps(git, git_remote)
    chosen = _select_remote(git, remote_refs, sel, git_remote)
    result = ExpTransfer()
    if not chosen:
        return result
    result.refs = git.fetch(git_remote, [f"{r}:{r}" for r in chosen], force=force)
    arrived = []
    for refname in chosen:
        parsed = ExpRef.parse(refname)
        sha = git.get_ref(refname)
        if parsed and sha and result.refs.get(refname) != "rejected":
            arrived.append((parsed, sha))
    if not no_cache and arrived:
        oids = used_objects(project, _data_readers(git, arrived))
        if oids:
            result.data = fetch(project, get_remote(project, data_remote), oids, jobs)
    return result


def list_remote(
    project: Project, git_remote: str, *, all_commits: bool = False
) -> dict[str, list[tuple[str, str]]]:
    """`exp list <remote>`: names grouped by baseline label (branch name, else short sha)."""
    git = Git(project.root)
    names: dict[str, str] = {}
    for branch, sha in git.branches().items():
        names.setdefault(sha, branch)
    head = git.head_sha()
    result: dict[str, list[tuple[str, str]]] = {}
    for refname in sorted(_remote_exps(git, git_remote)):
        parsed = ExpRef.parse(refname)
        assert parsed is not None
        if not all_commits and parsed.baseline != head:
            continue
        label = names.get(parsed.baseline, parsed.baseline[:7])
        result.setdefault(label, []).append((parsed.name, ""))
    return result


def remove_remote(project: Project, git_remote: str, names: list[str]) -> list[str]:
    """`exp remove -g REMOTE names…`: delete refs on the remote only."""
    git = Git(project.root)
    remote_refs = _remote_exps(git, git_remote)
    chosen = _select_remote(git, remote_refs, Selection(names=tuple(names)), git_remote)
    git.push(git_remote, [f":{r}" for r in chosen])
    return [ExpRef.parse(r).name for r in chosen]  # type: ignore[union-attr]
