"""`exp show`: the workspace, selected baselines and their experiments (docs/dvc-formats.md §9.5 list).

One pass over `refs/exps` groups experiments by baseline; each commit's data is read
in-process from its tree (collect.py memoises by content). Queue entries (queued,
running, failed) are added by the queue module through `extra_entries`. The rows are
the typed `show_rows.ExpState`; their `to_json()` is the `--json` list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from xpt.cache.odb import ODB
from xpt.experiments.active import ActiveRun, active_run
from xpt.experiments.collect import collect_data
from xpt.experiments.show_rows import (
    ExpExecutor,
    ExpRange,
    ExpState,
    LocalExecutor,
    rows_to_json,
)
from xpt.pipeline.model import Reader
from xpt.pipeline.parse import find_dvcfiles, workspace_reader
from xpt.project import Project
from xpt.scm.exprefs import EXPS_PREFIX, ExpRef
from xpt.scm.git import Git
from xpt.utils.dvcnames import DVCFILE
from xpt.utils.gcpause import gc_paused
from xpt.utils.parallel import fork_map


@dataclass(frozen=True)
class ShowOptions:
    """Which baselines to show (`exp show` row selection flags)."""

    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    revs: tuple[str, ...] = ()
    num: int = 1
    hide_workspace: bool = False
    hide_queued: bool = False
    hide_failed: bool = False
    param_deps: bool = False


ExtraEntries = Callable[[Git], dict[str, list[ExpRange]]]
"""baseline sha -> experiment entries (queued/running/failed) from the queue."""


def select_baselines(git: Git, opts: ShowOptions) -> list[str]:
    """Baseline commits to show, in DVC's order (HEAD first), without duplicates."""
    head = git.head_sha()
    chosen: list[str] = []
    starts: list[str] = []
    if opts.revs:
        for rev in opts.revs:
            sha = git.resolve(rev)
            if sha is None:
                from xpt.errors import ScmError

                raise ScmError(f"unknown git revision '{rev}'", hint="pass a branch, tag or commit")
            starts.append(sha)
    elif head is not None:
        starts.append(head)
    for sha in starts:
        chosen.extend(git.first_parents(sha, max(opts.num, 1)))
    if opts.all_branches:
        chosen.extend(git.branches().values())
    if opts.all_tags:
        chosen.extend(git.tags().values())
    if opts.all_commits:
        chosen.extend(git.all_commits())
    seen: set[str] = set()
    return [s for s in chosen if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]


def _names_for(git: Git, refs: dict[str, str] | None = None) -> dict[str, str]:
    """Commit sha -> the tag or branch naming it; `refs` is a listing already made."""
    refs = git.list_refs("refs/") if refs is None else refs
    names: dict[str, str] = {}
    if any(name.startswith("refs/tags/") for name in refs):
        for tag, sha in git.tags().items():  # annotated tags need peeling
            names.setdefault(sha, tag)
    for name, sha in refs.items():
        if name.startswith("refs/heads/"):
            names[sha] = name[len("refs/heads/") :]
    head_branch = git.head_branch()
    head = git.head_sha()
    if head_branch and head:
        names[head] = head_branch
    return names


def experiments_by_baseline(
    git: Git, refs: dict[str, str] | None = None
) -> dict[str, list[tuple[ExpRef, str]]]:
    """All experiment refs grouped by baseline sha (one refs listing, or `refs`)."""
    grouped: dict[str, list[tuple[ExpRef, str]]] = {}
    prefix = EXPS_PREFIX + "/"
    listed = git.list_refs(prefix) if refs is None else refs
    for refname, sha in listed.items():
        if not refname.startswith(prefix):
            continue
        ref = ExpRef.parse(refname)
        if ref is not None:
            grouped.setdefault(ref.baseline, []).append((ref, sha))
    return grouped


def checkpoint_chain(git: Git, tip: str, baseline: str, limit: int = 100000) -> list[str]:
    """Commits from tip back to (excluding) baseline along first parents."""
    chain: list[str] = []
    sha: str | None = tip
    while sha and sha != baseline and len(chain) < limit:
        chain.append(sha)
        parents = git.commit_info(sha).parents
        sha = parents[0] if parents else None
    return chain


def _running_entry(project: Project, run: ActiveRun, workspace: ExpState) -> ExpRange:
    """The workspace run in progress, shaped as DVC shows it (metrics so far, live)."""
    rev = replace(workspace, name=run.name)
    local = LocalExecutor(root=str(project.root), pid=run.pid)
    return ExpRange((rev,), ExpExecutor("running", "workspace", local), run.name)


def show(
    project: Project,
    opts: ShowOptions,
    extra_entries: ExtraEntries | None = None,
    *,
    workspace_read: Reader | None = None,
    visited: list[str] | None = None,
) -> list[ExpState]:
    """The `exp show` rows (`show_rows.rows_to_json`: the `--json` list).

    `workspace_read` replaces the work-tree reader and `visited` collects the folders
    searched for dvc.yaml (both let the caller know what the result depends on).
    """
    with gc_paused():
        return _show(project, opts, extra_entries, workspace_read, visited)


def _show(
    project: Project,
    opts: ShowOptions,
    extra_entries: ExtraEntries | None,
    workspace_read: Reader | None,
    visited: list[str] | None,
) -> list[ExpState]:
    git = Git(project.root)
    dvcfiles = find_dvcfiles(project.root, visited) or [DVCFILE]
    if DVCFILE not in dvcfiles:
        dvcfiles = [DVCFILE, *dvcfiles]
    odb = ODB(project.cache_dir)
    rows: list[ExpState] = []
    if git.head_sha() is None:
        return rows
    running = active_run(project)
    workspace: ExpState | None = None
    if not opts.hide_workspace or running is not None:
        data, error = collect_data(
            workspace_read or workspace_reader(project.root),
            "workspace",
            None,
            dvcfiles,
            odb,
            param_deps=opts.param_deps,
        )
        workspace = ExpState("workspace", None, data, error)
        if not opts.hide_workspace:
            rows.append(workspace)
    refs = git.list_refs("refs/")  # loose refs are files: list them once, not three times
    names = _names_for(git, refs)
    grouped = experiments_by_baseline(git, refs)
    extras = extra_entries(git) if extra_entries else {}
    for baseline in select_baselines(git, opts):
        info = git.commit_info(baseline)
        data, error = collect_data(
            git.reader(baseline),
            baseline,
            info.time,
            dvcfiles,
            odb,
            param_deps=opts.param_deps,
        )

        def one(item: tuple[ExpRef, str], baseline: str = baseline) -> tuple[int, ExpRange]:
            ref, sha = item
            chain = checkpoint_chain(git, sha, baseline)
            revs = []
            for i, rev in enumerate(chain):
                cinfo = git.commit_info(rev)
                rdata, rerror = collect_data(
                    git.reader(rev),
                    rev,
                    cinfo.time,
                    dvcfiles,
                    odb,
                    has_checkpoints=True if len(chain) > 1 else None,
                    param_deps=opts.param_deps,
                )
                revs.append(ExpState(rev, ref.name if i == 0 else None, rdata, rerror))
            return git.commit_info(sha).time, ExpRange(tuple(revs), None, ref.name)

        exps = fork_map(one, grouped.get(baseline, []), min_items=200)
        exps.sort(key=lambda pair: pair[0], reverse=True)
        entries = [e for _t, e in exps]
        if running is not None and running.baseline == baseline and workspace is not None:
            entries.insert(0, _running_entry(project, running, workspace))
        for extra in extras.get(baseline, []):
            state = extra.executor.state if extra.executor is not None else None
            if (state == "queued" and opts.hide_queued) or (state == "failed" and opts.hide_failed):
                continue
            entries.append(extra)
        if any(len(e.revs) > 1 for e in entries):
            data = replace(data, has_checkpoints=True)
        rows.append(ExpState(baseline, names.get(baseline), data, error, tuple(entries) or None))
    return rows


def show_with_queue(
    project: Project, opts: ShowOptions, queued: list[ExpRange] | None = None, **kwargs: Any
) -> list[ExpState]:
    """`show` with the queue's unfinished entries (xpt's queue.db, then DVC's celery
    stash), as `exp show` lists them; `queued` collects every such entry, shown or not.
    `kwargs` go to `show`."""

    def extra(git: Git) -> dict[str, list[ExpRange]]:
        from xpt.experiments.queue_show import queue_entries

        found = queue_entries(project, git)
        if queued is not None:
            queued.extend(e for entries in found.values() for e in entries)
        return found

    return show(project, opts, extra_entries=extra, **kwargs)


def show_json(
    project: Project,
    opts: ShowOptions,
    render: Callable[[list[dict[str, Any]]], str],
    memo_key: str | None = None,
) -> str:
    """`exp show --json`: the JSON of `show_with_queue`'s rows as `render` prints it.

    With `memo_key` (see `xpt.fastpath`) the output is recorded for replay, unless the
    queue has entries or a workspace run is in progress: neither ends with a trace the
    memo watches."""
    if memo_key is None:
        return render(rows_to_json(show_with_queue(project, opts)))
    from xpt.repro import verdict

    with verdict.noting() as since:
        reads = verdict.ReadLog(workspace_reader(project.root))
        visited: list[str] = []
        queued: list[ExpRange] = []
        rows = show_with_queue(project, opts, queued, workspace_read=reads, visited=visited)
        text = render(rows_to_json(rows))
        running = any(
            e.executor is not None and e.executor.name == "workspace"
            for row in rows
            for e in row.experiments or ()
        )
        if not queued and not running:
            from xpt.experiments.queue_show import watched_files

            queue_files = watched_files(project)
            verdict.record_show(
                project, memo_key, reads, visited, f"{text}\n", since, queue_files=queue_files
            )
    return text


def list_experiments(project: Project, opts: ShowOptions) -> dict[str, list[tuple[str, str]]]:
    """`exp list` data: {baseline label: [(name, sha), ...]} newest first."""
    git = Git(project.root)
    names = _names_for(git)
    grouped = experiments_by_baseline(git)
    result: dict[str, list[tuple[str, str]]] = {}
    for baseline in select_baselines(git, opts):
        exps = grouped.get(baseline, [])
        if not exps:
            continue
        items = sorted(exps, key=lambda pair: git.commit_info(pair[1]).time, reverse=True)
        result[names.get(baseline, baseline[:7])] = [(r.name, s) for r, s in items]
    return result


def iter_all_experiments(git: Git) -> Iterable[tuple[ExpRef, str]]:
    """Every experiment ref and its sha."""
    for items in experiments_by_baseline(git).values():
        yield from items
