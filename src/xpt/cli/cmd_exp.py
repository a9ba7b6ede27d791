"""CLI: exp run/show/diff/apply/branch/list/remove/gc/save/rename/push/pull/clean."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from xpt.cli.cmd_repro import repro_options
from xpt.cli.ui import note, out, refuse, warn
from xpt.errors import XptError
from xpt.project import Project

if TYPE_CHECKING:  # the name as the experiments layer hands it out (no git layer here)
    from xpt.experiments.autopush import ExpRef


def run(args: argparse.Namespace) -> int:
    if args.queue or args.run_all or args.temp:
        from xpt.cli import cmd_queue

        return cmd_queue.exp_run_queue(args)
    from xpt.experiments.run import ExpRunRequest, run_workspace

    request = ExpRunRequest(
        set_params=tuple(args.set_param),
        name=args.name,
        message=args.message,
        repro=repro_options(args),
        rev=args.rev,
        reset=args.reset,
    )
    project = Project.find()
    result = run_workspace(project, request)
    if result.ref is None:
        return 0
    for path in result.left_out:
        warn(f"untracked file '{path}' is not part of the experiment (not used by the pipeline)")
    out(f"\nRan experiment(s): {result.ref.name}")
    out("Experiment results have been applied to your workspace.")
    out(
        f"\nTo promote an experiment to a Git branch run:\n\n\txpt exp branch {result.ref.name} <branch>\n"
    )
    _auto_push(project, result.ref)
    return 1 if result.repro.failed else 0


def _auto_push(project: Project, ref: ExpRef) -> None:
    """`exp.auto_push`: send the new experiment to the git remote; failures only warn."""
    from xpt.experiments.autopush import auto_push

    result = auto_push(project, [ref])
    for line in result.messages:
        out(line)
    for line in result.warnings:
        warn(line)


def _show_opts(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from xpt.experiments.show import ShowOptions

    return ShowOptions(
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
        revs=tuple(args.rev),
        num=args.num,
        hide_workspace=getattr(args, "hide_workspace", False),
        hide_queued=getattr(args, "hide_queued", False),
        hide_failed=getattr(args, "hide_failed", False),
        param_deps=getattr(args, "param_deps", False),
    )


def show(args: argparse.Namespace) -> int:
    from xpt.experiments.show import show_json, show_with_queue

    project = Project.find()
    if args.json:
        from xpt.report.json import dumps_json

        out(show_json(project, _show_opts(args), dumps_json, getattr(args, "memo_key", None)))
        return 0
    rows = show_with_queue(project, _show_opts(args))
    from xpt.report.exp_table import render_exp_show

    table = render_exp_show(
        rows,
        sort_by=args.sort_by,
        sort_order=args.sort_order,
        keep=args.keep,
        drop=args.drop,
        only_changed=args.only_changed,
        precision=args.precision,
        param_deps=args.param_deps,
        sha=args.sha,
    )
    if args.pcp:
        _write_pcp(table, args.out or "dvc_plots", args.open)
    elif args.csv:
        sys.stdout.write(table.to_csv())
    elif args.md:
        out(table.to_markdown())
    elif args.no_pager:  # like DVC: without a pager the table fits the terminal
        import functools
        import shutil

        width = shutil.get_terminal_size().columns
        fitted = table.to_text(sys.stdout.isatty(), width=width)
        show_wide(functools.partial(table.to_rich, width=width), no_pager=True, text=fitted)
    else:
        show_wide(table.to_rich, no_pager=args.no_pager, text=table.to_text(sys.stdout.isatty()))
    return 0


def _write_pcp(table, folder: str, open_it: bool) -> None:  # type: ignore[no-untyped-def]
    """`--pcp`: the parallel-coordinates page in `folder/index.html` (offline, no CDN)."""
    from pathlib import Path

    from xpt.report.pcp import render_pcp
    from xpt.utils.fsutil import atomic_write_bytes

    path = Path(folder).resolve() / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(str(path), render_pcp(table).encode())
    out(f"file://{path}")
    if open_it:
        import webbrowser

        webbrowser.open(path.as_uri())


def show_wide(render, *, no_pager: bool = False, text: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Render a rich table at its natural width; page it (`less -S`) if it overflows a TTY.

    `text` is the table already laid out (report's fast path); rich renders otherwise.
    """
    import shutil
    import subprocess

    tty = sys.stdout.isatty()
    if text is None:
        import io

        from rich.console import Console

        buf = io.StringIO()
        render(
            Console(
                file=buf, width=100_000, force_terminal=tty, color_system="auto" if tty else None
            )
        )
        text = "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
    widest = max((len(line) for line in text.splitlines()), default=0)
    pager = shutil.which("less")
    if tty and not no_pager and pager and widest > shutil.get_terminal_size().columns:
        subprocess.run([pager, "-RSFX"], input=text.encode(), check=False)
    else:
        sys.stdout.write(text)


def diff(args: argparse.Namespace) -> int:
    from xpt.experiments.compare import exp_diff

    data = exp_diff(
        Project.find(), args.a_rev, args.b_rev, all=args.all, param_deps=args.param_deps
    )
    if args.json:
        from xpt.report.json import dumps_json

        out(dumps_json(data))
        return 0
    from xpt.report.tables import render_exp_diff

    a, b = diff_labels(args.a_rev, args.b_rev)
    render_exp_diff(
        data, precision=args.precision, md=args.md, no_path=args.no_path, a_label=a, b_label=b
    )
    return 0


def diff_labels(a_rev: str | None, b_rev: str | None) -> tuple[str, str]:
    """Column headers of diff tables, as DVC names them."""
    if a_rev is None:
        return "HEAD", "workspace"
    return a_rev, b_rev or "workspace"


def apply(args: argparse.Namespace) -> int:
    from xpt.experiments.apply import apply_experiment

    if args.no_force:  # DVC's words; the workspace is always saved first (see below)
        out("The --no-force option is deprecated and will be removed in a future DVC release.")
    result = apply_experiment(Project.find(), args.experiment)
    for path in result.missing_outputs:
        warn(f"output '{path}' is not in the cache; fetch it with `xpt pull` or rerun the pipeline")
    if result.backup_ref:
        note(
            f"Your previous workspace was saved as {result.backup_ref}\n"
            f"  restore it with: git restore --source={result.backup_ref} --worktree -- ."
        )
    out(f"Changes for experiment '{result.name}' have been applied to your current workspace.")
    return 0


def branch(args: argparse.Namespace) -> int:
    from xpt.experiments.manage import branch as do_branch

    name, _sha = do_branch(Project.find(), args.experiment, args.branch)
    out(f"Git branch '{name}' has been created from experiment '{args.experiment}'.")
    out(f"To switch to the new branch run:\n\n\tgit checkout {name}")
    return 0


def list_(args: argparse.Namespace) -> int:
    project = Project.find()
    if args.git_remote:
        if args.sha_only:
            raise XptError("`--sha-only` cannot be used with a git remote")
        from xpt.experiments.share import list_remote

        data = list_remote(project, args.git_remote, all_commits=args.all_commits)
    else:
        from xpt.experiments.show import list_experiments

        data = list_experiments(project, _show_opts(args))
    if args.json:
        out(json.dumps({k: [n for n, _s in v] for k, v in data.items()}))
        return 0
    for baseline, items in data.items():
        if not (args.name_only or args.sha_only):
            out(f"{baseline}:")
        for name, sha in items:
            if args.name_only:
                out(name)
            elif args.sha_only:
                out(sha)
            else:
                out(f"\t{sha[:7]} [{name}]" if sha else f"\t{name}")
    return 0


def remove(args: argparse.Namespace) -> int:
    from xpt.experiments.manage import RemoveRequest

    project = Project.find()
    if args.git_remote:
        from xpt.experiments.share import remove_remote

        removed = remove_remote(project, args.git_remote, list(args.experiment))
    else:
        from xpt.experiments.queue import remove_experiments

        removed = remove_experiments(
            project,
            RemoveRequest(
                names=tuple(args.experiment),
                all_commits=args.all_commits,
                revs=tuple(args.rev),
                num=args.num,
                queue=args.queue,
                keep=args.keep,
            ),
        )
    if removed:
        out("Removed experiments: " + ",".join(removed))
    return 0


def gc(args: argparse.Namespace) -> int:
    from xpt.experiments.manage import GcRequest
    from xpt.experiments.manage import gc as do_gc

    project = Project.find()
    req = GcRequest(
        workspace=args.workspace,
        all_branches=args.all_branches,
        all_tags=args.all_tags,
        all_commits=args.all_commits,
        queued=args.queued,
    )
    if not (req.workspace or req.all_branches or req.all_tags or req.all_commits):
        do_gc(project, req)  # raises the scope error
    if not args.force:
        sys.stderr.write(
            "This will remove all experiments except those derived from the selected "
            "baselines. Are you sure you want to proceed? [y/n] "
        )
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise XptError("cancelled: no experiments were removed")
    from xpt.experiments.queue import queue_gc

    removed = do_gc(project, req, queue_gc=lambda keep: queue_gc(project, keep))
    out(f"Removed {len(removed)} experiments." if removed else "No experiments to remove.")
    return 0


def save(args: argparse.Namespace) -> int:
    from xpt.experiments.save import save as do_save

    refuse(args, "targets", "--recursive", hint="save the whole workspace: leave them out")
    project = Project.find()
    result = do_save(
        project,
        name=args.name,
        force=args.force,
        include=tuple(args.include_untracked),
        message=args.message,
    )
    for path in result.left_out:
        warn(f"untracked file '{path}' was not saved; include it with `-I {path}`")
    if result.stale:
        warn(
            "the pipeline is not up to date ("
            + ", ".join(result.stale)
            + "); the saved metrics may not match the params. Run `xpt exp run` to reproduce."
        )
    out(f"Experiment has been saved as: {result.ref.name}")
    _auto_push(project, result.ref)
    return 0


def rename(args: argparse.Namespace) -> int:
    from xpt.experiments.manage import rename as do_rename

    refuse(args, "--git-remote", hint="rename locally, then `xpt exp push`")
    new = do_rename(Project.find(), args.experiment, args.name, force=args.force)
    out(f"Renamed experiment '{args.experiment}' to '{new.name}'.")
    return 0


def clean(args: argparse.Namespace) -> int:
    from xpt.experiments.clean import clean as do_clean

    do_clean(Project.find())
    return 0


def _selection(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from xpt.experiments.share import Selection

    return Selection(
        names=tuple(args.experiment),
        all_commits=args.all_commits,
        revs=tuple(args.rev),
        num=args.num,
    )


def _report_transfer(verb: str, remote: str, result) -> int:  # type: ignore[no-untyped-def]
    code = 0
    if not result.refs:
        out(f"No experiments to {verb}.")
    for ref, state in result.refs.items():
        name = ref.rsplit("/", 1)[-1]
        if state == "rejected":
            warn(
                f"experiment '{name}' has diverged from git remote '{remote}': not {verb}ed "
                f"(use `-f` to overwrite)"
            )
        elif state == "up-to-date":
            out(f"Experiment '{name}' is up to date on '{remote}'.")
        else:
            out(
                f"{verb.capitalize()}ed experiment '{name}' ({'to' if verb == 'push' else 'from'} git remote '{remote}')."
            )
    if result.data is not None:
        moved = len(result.data.transferred)
        out(f"Data: {moved} object(s) {verb}ed, {result.data.present} already there.")
        if result.data.failed:
            note(
                f"ERROR: {len(result.data.failed)} object(s) failed to {verb}; the git refs above did arrive. "
                f"Rerun `xpt exp {verb}` to finish."
            )
            code = 1
    return code


def push(args: argparse.Namespace) -> int:
    from xpt.experiments.share import exp_push

    result = exp_push(
        Project.find(),
        args.git_remote,
        _selection(args),
        force=args.force,
        no_cache=args.no_cache,
        data_remote=args.remote,
        jobs=args.jobs,
    )
    return _report_transfer("push", args.git_remote, result)


def pull(args: argparse.Namespace) -> int:
    from xpt.experiments.share import exp_pull

    result = exp_pull(
        Project.find(),
        args.git_remote,
        _selection(args),
        force=args.force,
        no_cache=args.no_cache,
        data_remote=args.remote,
        jobs=args.jobs,
    )
    return _report_transfer("pull", args.git_remote, result)
