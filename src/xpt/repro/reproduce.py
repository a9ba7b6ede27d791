"""`repro`: bring stages up to date, in dependency order, updating dvc.lock per stage.

For each planned stage: observe (status.check_stage); skip if unchanged; otherwise
remove non-persistent outputs, restore from the run-cache when an earlier identical
run exists, else run the commands; then cache the outputs, record the run-cache entry,
git-ignore cached outputs and write the stage's lock entry atomically.

A project with a checkpoint output writes its lock files in DVC 2's dialect (see
`legacy_locks`): checkpoints exist only in DVC 2, which rejects any `hash:` key.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from xpt.cache.digest import info_from_entry
from xpt.cache.outputs import (
    checkout_output,
    remove_output,
    save_output,
    unprotect,
)
from xpt.errors import ReproError, StageFailed
from xpt.pipeline.graph import Graph
from xpt.pipeline.lockfile import new_entry
from xpt.pipeline.lockformat import LockEntry, LockItem
from xpt.pipeline.model import Stage
from xpt.project import Project
from xpt.repro import runcache
from xpt.repro.monitor import monitoring
from xpt.repro.options import ReproOptions
from xpt.repro.record import (
    Locks,
    commit_outputs,
    dep_entries,
    is_legacy_entry,
    legacy_locks,
    save_legacy,
    stage_abspath,
)
from xpt.repro.runner import run_stage_commands
from xpt.repro.stage_status import UP_TO_DATE, StageCheck, check_stage
from xpt.repro.workspace import Workspace, load_graph, locked_workspace
from xpt.scm.gitignore import ignore_output
from xpt.utils.fsutil import resolve_inside

Outcome = Literal["ran", "restored", "skipped", "failed", "frozen", "dry", "blocked"]


@dataclass(frozen=True)
class StageResult:
    """What happened to one stage."""

    stage: Stage
    outcome: Outcome
    entry: LockEntry | None = None
    error: str | None = None


@dataclass
class ReproResult:
    """Per-stage outcomes of one reproduction, in execution order."""

    results: list[StageResult] = field(default_factory=list)

    @property
    def reproduced(self) -> dict[str, LockEntry]:
        """{stage name: lock entry} of stages that ran or were restored (experiment hash)."""
        return {
            r.stage.name: r.entry
            for r in self.results
            if r.outcome in ("ran", "restored") and r.entry is not None
        }

    @property
    def failed(self) -> list[StageResult]:
        return [r for r in self.results if r.outcome == "failed"]


def _ignore_outputs(ws: Workspace, stage: Stage) -> None:
    if ws.git is None:
        return
    for out in stage.outs:
        if out.cache:
            ignore_output(ws.root, ws.git, stage.repo_path(out.path))


def _prepare_outputs(ws: Workspace, stage: Stage) -> None:
    """Delete outputs before running; persistent ones are made writable instead."""
    for out in stage.outs:
        keep = out.persist or out.checkpoint  # kept outputs are followed, others unlinked
        path = resolve_inside(
            ws.root,
            stage_abspath(ws, stage, out.path),
            allow=(str(ws.odb.cache_dir),),
            replace_leaf=not keep,
        )
        if keep:
            if os.path.lexists(path):
                unprotect(path)
        else:
            remove_output(path)


def _restore_from_run_cache(
    ws: Workspace, stage: Stage, check: StageCheck, deps: list[LockItem], legacy: bool
) -> LockEntry | None:
    probe = new_entry(stage.cmd, deps, check.param_entries(), [])
    cached = runcache.lookup(ws.project.cache_dir, probe, [o.path for o in stage.outs])
    if cached is None:
        return None
    outs = cached.outs_by_path()
    if set(outs) != {o.path for o in stage.outs}:
        return None
    if legacy and not is_legacy_entry(cached):
        return None
    infos = {p: info for p, item in outs.items() if (info := info_from_entry(item)) is not None}
    if len(infos) != len(outs) or any(ws.odb.missing(info) for info in infos.values()):
        return None
    print(f"Stage '{stage.addressing}' is cached - skipping run, checking out outputs", flush=True)
    for out in stage.outs:
        info = infos[out.path]
        checkout_output(
            ws.odb,
            stage_abspath(ws, stage, out.path),
            info,
            ws.link_types,
            isexec=info.isexec,
            hasher=ws.hasher,
            root=ws.root,
        )
    _ignore_outputs(ws, stage)
    return new_entry(stage.cmd, deps, check.param_entries(), outs.values())


def _save_uncached_metrics(ws: Workspace, stage: Stage, legacy: bool) -> None:
    """cache:false metrics/plots go into the object cache so the run-cache can restore them."""
    for out in stage.outs:
        if out.cache or out.kind == "out":
            continue
        path = stage_abspath(ws, stage, out.path)
        if legacy:
            save_legacy(ws, path)
        else:
            save_output(ws.odb, ws.hasher, path, ("copy",), relink=False)


def _run_checkpoint_stage(
    ws: Workspace,
    stage: Stage,
    check: StageCheck,
    options: ReproOptions,
    record: Callable[[LockEntry], None],
    deps: list[LockItem],
    legacy: bool,
) -> None:
    """Run a checkpoint stage: each signal caches outputs, records the lock entry and calls the hook."""

    def on_signal() -> None:
        outs = commit_outputs(ws, stage, allow_missing=True, legacy=legacy)
        record(new_entry(stage.cmd, deps, check.param_entries(), outs))
        if options.checkpoint_hook is not None:
            options.checkpoint_hook()

    env = {**options.env, "DVC_CHECKPOINT": "1"}
    with monitoring(ws.root, on_signal) as mon:
        run_stage_commands(ws.root, stage, env)
    if mon.error is not None:
        raise mon.error


def run_stage(
    ws: Workspace,
    stage: Stage,
    check: StageCheck,
    options: ReproOptions,
    record: Callable[[LockEntry], None] | None = None,
    *,
    legacy: bool = False,
) -> tuple[LockEntry, Outcome]:
    """Make one changed stage up to date; returns its new lock entry (2.x dialect if `legacy`)."""
    missing = check.missing_deps()
    if missing:
        raise ReproError(
            f"stage '{stage.addressing}': dependency '{missing[0]}' does not exist",
            hint="create it, or run the stage that produces it",
        )
    deps = dep_entries(ws, stage, check, legacy)
    _prepare_outputs(ws, stage)
    use_run_cache = not (options.force or options.no_run_cache) and runcache.eligible(stage)
    if use_run_cache:
        entry = _restore_from_run_cache(ws, stage, check, deps, legacy)
        if entry is not None:
            return entry, "restored"
    print(f"Running stage '{stage.addressing}':", flush=True)
    if stage.is_checkpoint and options.allow_checkpoints and record is not None:
        _run_checkpoint_stage(ws, stage, check, options, record, deps, legacy)
    else:
        run_stage_commands(ws.root, stage, options.env)
    outs = commit_outputs(ws, stage, no_commit=options.no_commit, legacy=legacy)
    entry = new_entry(stage.cmd, deps, check.param_entries(), outs)
    if runcache.eligible(stage) and not options.no_commit:
        _save_uncached_metrics(ws, stage, legacy)
        runcache.save(ws.project.cache_dir, entry)
    _ignore_outputs(ws, stage)
    return entry, "ran"


def _confirm(stage: Stage) -> bool:
    sys.stdout.write(
        f"Going to reproduce stage: '{stage.addressing}'. Are you sure you want to continue? [y/n] "
    )
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _check_frozen(ws: Workspace, stage: Stage) -> None:
    for out in stage.outs:
        if not os.path.lexists(stage_abspath(ws, stage, out.path)):
            raise ReproError(
                f"frozen stage '{stage.addressing}' is missing its output '{out.path}'",
                hint="restore it with `xpt checkout` or unfreeze the stage",
            )


def iter_reproduce(
    ws: Workspace, stages: list[Stage], graph: Graph, options: ReproOptions
) -> Iterator[StageResult]:
    """Reproduce `stages` (already in dependency order), yielding each outcome."""
    locks = Locks(ws)
    legacy = legacy_locks(graph)
    blocked: set[str] = set()
    ran: set[str] = set()
    missing_data: set[str] = set()
    for stage in stages:
        upstream = {s.addressing for s in graph.upstream(stage)}
        if upstream & blocked:
            blocked.add(stage.addressing)
            yield StageResult(stage, "blocked")
            continue
        if stage.frozen:
            _check_frozen(ws, stage)
            yield StageResult(stage, "frozen")
            continue
        check = check_stage(ws, stage, locks.entry(stage), checkpoint_run=options.allow_checkpoints)
        forced = options.force or (options.force_downstream and bool(upstream & ran))
        if options.allow_missing and not forced and _only_missing_data(check, missing_data):
            missing_data.update(stage.repo_path(o.path) for o in stage.outs)
            print(f"Stage '{stage.addressing}' is only missing data, skipping", flush=True)
            yield StageResult(stage, "skipped", entry=locks.entry(stage))
            continue
        if not (check.changed or forced):
            print(skip_message(stage), flush=True)
            stale = not is_legacy_entry(locks.entry(stage)) and not stage.is_dvcfile_stage
            if legacy and not options.dry and stale:
                locks.write(stage, _to_legacy_entry(ws, stage, check))
            yield StageResult(stage, "skipped", entry=locks.entry(stage))
            continue
        if stage.is_data_source:
            yield _verify_data_source(ws, stage, check, options, locks)
            continue
        if options.dry:
            print(f"Running stage '{stage.addressing}':", flush=True)
            for line in stage.commands():
                print(f"> {line}", flush=True)
            yield StageResult(stage, "dry")
            continue
        if options.interactive and not _confirm(stage):
            yield StageResult(stage, "skipped", entry=locks.entry(stage))
            continue
        try:
            entry, outcome = run_stage(
                ws, stage, check, options, functools.partial(locks.write, stage), legacy=legacy
            )
        except (StageFailed, ReproError) as exc:
            if not (options.keep_going or options.ignore_errors):
                raise
            print(f"ERROR: {exc.message}", file=sys.stderr, flush=True)
            blocked.add(stage.addressing)
            yield StageResult(stage, "failed", error=exc.message)
            continue
        locks.write(stage, entry)
        ran.add(stage.addressing)
        yield StageResult(stage, outcome, entry=entry)


def skip_message(stage: Stage) -> str:
    """What repro says about an up-to-date stage (DVC names a `.dvc` file without `Stage`)."""
    if stage.is_dvcfile_stage:
        return f"'{stage.addressing}' didn't change, skipping"
    return f"Stage '{stage.addressing}' didn't change, skipping"


def _verify_data_source(
    ws: Workspace, stage: Stage, check: StageCheck, options: ReproOptions, locks: Locks
) -> StageResult:
    """A changed `.dvc` data source is never run: its data must exist, and is recorded."""
    print(f"Verifying data sources in stage: '{stage.addressing}'\n", flush=True)
    for out in stage.outs:
        if not os.path.lexists(stage_abspath(ws, stage, out.path)):
            raise ReproError(
                f"failed to reproduce '{stage.addressing}': missing data 'source': "
                f"{stage.repo_path(out.path)}",
                hint="restore it with `xpt checkout` or `xpt pull`",
            )
    if options.dry:
        return StageResult(stage, "dry")
    outs = commit_outputs(ws, stage, no_commit=options.no_commit)
    entry = new_entry(stage.cmd, check.dep_entries(), {}, outs)
    locks.write(stage, entry)
    _ignore_outputs(ws, stage)
    return StageResult(stage, "ran", entry=entry)


def _to_legacy_entry(ws: Workspace, stage: Stage, check: StageCheck) -> LockEntry:
    """An unchanged stage's DVC 3 entry rewritten in the 2.x dialect (outputs re-stored)."""
    outs = commit_outputs(ws, stage, allow_missing=True, legacy=True)
    return new_entry(stage.cmd, dep_entries(ws, stage, check, True), check.param_entries(), outs)


def _only_missing_data(check: StageCheck, skipped_outputs: set[str]) -> bool:
    """True when the stage's only change is missing data: its outputs absent from the
    workspace or cache, or deps that are missing outputs of stages skipped that way."""
    if not check.reasons:
        return False
    for reason in check.reasons:
        if not isinstance(reason, dict):
            return False
        for title, changes in reason.items():
            if title == "changed outs":
                if any(v not in ("deleted", "not in cache") for v in changes.values()):
                    return False
            elif title == "changed deps":
                if any(v != "deleted" or p not in skipped_outputs for p, v in changes.items()):
                    return False
            else:
                return False
    return True


def pull_missing(ws: Workspace) -> None:
    """`--pull`: fetch the workspace's missing cached objects and check them out."""
    from xpt.pipeline.parse import workspace_reader
    from xpt.repro.checkout import checkout
    from xpt.repro.transfer.sync import fetch, get_remote, used_objects

    oids = {
        oid
        for oid in used_objects(ws.project, [workspace_reader(ws.root)])
        if not ws.odb.exists(*oid)
    }
    if oids:
        result = fetch(ws.project, get_remote(ws.project, None), oids)
        if result.transferred:
            print(f"Fetched {len(result.transferred)} object(s) from the remote", flush=True)
    checkout(ws, None, allow_missing=True, unsaved="keep")


def expand_targets(ws: Workspace, graph: Graph, options: ReproOptions) -> list[str]:
    """`-R` (directories -> their dvc.yaml files) and `--glob` (patterns -> stage names)."""
    import fnmatch

    from xpt.errors import PipelineError
    from xpt.pipeline.parse import dvcfiles_under

    targets = list(options.targets)
    if options.recursive:
        targets = dvcfiles_under(ws.root, targets)
    if options.glob:
        names = [s.addressing for s in graph.stages()]
        expanded = []
        for target in targets:
            matches = [n for n in names if fnmatch.fnmatchcase(n, target)]
            if not matches:
                raise PipelineError(f"no stage matches '{target}'", hint="see `xpt dag`")
            expanded.extend(matches)
        targets = expanded
    return targets


def plan(ws: Workspace, options: ReproOptions) -> tuple[Graph, list[Stage]]:
    """The graph and the stages `options` selects, dependency-first."""
    graph = load_graph(ws)
    stages = graph.plan(
        expand_targets(ws, graph, options) or None,
        single_item=options.single_item,
        downstream=options.downstream,
        pipeline=options.pipeline,
        all_pipelines=options.all_pipelines,
    )
    if not options.allow_checkpoints:
        for stage in stages:
            if stage.is_checkpoint:
                raise ReproError(
                    f"stage '{stage.addressing}' has checkpoint outputs and can only run as an experiment",
                    hint="use `xpt exp run`",
                )
    return graph, stages


def reproduce(ws: Workspace, options: ReproOptions) -> ReproResult:
    """Reproduce what `options` selects in an opened workspace (caller holds the lock)."""
    graph, stages = plan(ws, options)
    if options.pull and not options.dry:
        pull_missing(ws)
    result = ReproResult()
    for stage_result in iter_reproduce(ws, stages, graph, options):
        result.results.append(stage_result)
    return result


def run_repro(project: Project, options: ReproOptions, memo_key: str | None = None) -> ReproResult:
    """`xpt repro`: lock the workspace, open the cache and reproduce.

    With `memo_key` (a plain command line, see `xpt.fastpath`), a run that finds every
    stage up to date records its verdict so the same command can be answered from stats.
    """
    if memo_key is None:
        with locked_workspace(project) as ws:
            return reproduce(ws, options)
    from xpt.repro import verdict

    # noting starts before the config is read, and stops on the way out, recorded or not
    with verdict.noting() as since, locked_workspace(project) as ws:
        reads = verdict.track_reads(ws)
        result = reproduce(ws, options)
        if result.results and all(r.outcome == "skipped" for r in result.results):
            lines = [skip_message(r.stage) for r in result.results]
            text = "".join(f"{line}\n" for line in [*lines, UP_TO_DATE])
            verdict.record(ws, memo_key, [r.stage for r in result.results], reads, text, since)
        return result
