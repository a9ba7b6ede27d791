"""The argparse command tree: DVC's verbs and flags, each bound to a handler by name.

Handlers are referenced as "module:function" strings and imported only when the
command runs, so `xpt --help` and `xpt --version` import nothing heavy.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from xpt import __version__

SUPPRESS = argparse.SUPPRESS


def _common() -> argparse.ArgumentParser:
    """-q/-v/--cd accepted after any subcommand too (values don't clobber the top level)."""
    parent = _Parser(add_help=False)
    parent.add_argument("-q", "--quiet", action="count", default=SUPPRESS, help="be quiet")
    parent.add_argument("-v", "--verbose", action="count", default=SUPPRESS, help="be verbose")
    parent.add_argument("--cd", metavar="DIR", default=SUPPRESS, help="run as if started in DIR")
    return parent


class Retry(Exception):
    """The trimmed parser could not parse argv: rebuild the full tree for a proper error."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors can be turned into `Retry` (trimmed trees only)."""

    lenient = False

    def error(self, message: str):  # type: ignore[no-untyped-def]
        if _Parser.lenient:
            raise Retry(message)
        super().error(message)


class _Null:
    """Stands in for a parser of a command that was not asked for (nothing is built)."""

    def add_argument(self, *args: object, **kwargs: object) -> None:
        return None

    def set_defaults(self, **kwargs: object) -> None:
        return None


class _Builder:
    """Small helper to declare subcommands with a handler name.

    `only` limits the tree to the command being run: building all ~45 argparse
    parsers costs more than a no-op `repro` itself.
    """

    def __init__(
        self,
        subparsers: argparse._SubParsersAction | None,
        common: argparse.ArgumentParser,
        only: list[str] | None = None,
    ):  # type: ignore[type-arg]
        self.subparsers = subparsers
        self.common = common
        self.only = only or []

    def _skip(self, name: str) -> bool:
        return self.subparsers is None or bool(self.only and self.only[0] != name)

    def add(self, name: str, handler: str, help: str, **kw: object) -> argparse.ArgumentParser:
        if self._skip(name):
            return _Null()  # type: ignore[return-value]
        p = self.subparsers.add_parser(  # type: ignore[union-attr]
            name,
            parents=[self.common],
            help=help,
            description=help,
            **kw,  # type: ignore[arg-type]
        )
        p.set_defaults(handler=handler, command=name)
        return p

    def group(self, name: str, help: str) -> _Builder:
        if self._skip(name):
            return _Builder(None, self.common)
        p = self.subparsers.add_parser(name, parents=[self.common], help=help, description=help)  # type: ignore[union-attr]
        p.set_defaults(handler="xpt.cli.main:group_help", command=name, group_parser=p)
        sub = p.add_subparsers(dest=f"{name}_cmd", metavar="COMMAND")
        return _Builder(sub, self.common, self.only[1:])


def _repro_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="*", help="stages or dvc.yaml files to reproduce")
    p.add_argument("-f", "--force", action="store_true", help="reproduce even if nothing changed")
    p.add_argument(
        "-s", "--single-item", action="store_true", help="do not look at upstream stages"
    )
    p.add_argument("-p", "--pipeline", action="store_true", help="whole pipeline of the targets")
    p.add_argument("-P", "--all-pipelines", action="store_true", help="all pipelines")
    p.add_argument("-R", "--recursive", action="store_true", help="targets are directories")
    p.add_argument("--downstream", action="store_true", help="the targets and their descendants")
    p.add_argument("--force-downstream", action="store_true", help="rerun everything downstream")
    p.add_argument("--dry", action="store_true", help="print what would run, run nothing")
    p.add_argument("-i", "--interactive", action="store_true", help="ask before each stage")
    p.add_argument("-k", "--keep-going", action="store_true", help="continue independent stages")
    p.add_argument("--ignore-errors", action="store_true", help="ignore failed stages")
    p.add_argument("--no-run-cache", action="store_true", help="do not restore from the run-cache")
    p.add_argument("--no-commit", action="store_true", help="do not save outputs to the cache")
    p.add_argument("--allow-missing", action="store_true", help="skip stages missing only data")
    p.add_argument("--pull", action="store_true", help="pull missing data from the remote")
    p.add_argument("--glob", action="store_true", help="targets are glob patterns")


def _json_md(p: argparse.ArgumentParser, precision: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--md", action="store_true", help="print a Markdown table")
    if precision:
        p.add_argument("--precision", type=int, default=None, help="significant digits")


def _revs(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all-branches", action="store_true", help="all branches")
    p.add_argument("-T", "--all-tags", action="store_true", help="all tags")
    p.add_argument("-A", "--all-commits", action="store_true", help="all commits")


def _transfer(p: argparse.ArgumentParser, pull: bool = False) -> None:
    p.add_argument("targets", nargs="*", help="outputs or stages to transfer")
    p.add_argument("-r", "--remote", help="data remote name")
    p.add_argument("-j", "--jobs", type=int, help="parallel transfers")
    _revs(p)
    p.add_argument("--all-experiments", action="store_true", help="all experiments")
    p.add_argument("-R", "--recursive", action="store_true", help="targets are directories")
    if pull:
        p.add_argument("-f", "--force", action="store_true", help="overwrite workspace files")
        p.add_argument("--allow-missing", action="store_true", help="ignore missing objects")


def _gpu_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gpus",
        metavar="LIST|all|auto",
        help="GPUs to share out, K per running experiment (default: queue.gpus)",
    )
    p.add_argument(
        "--gpus-per-exp",
        type=int,
        metavar="K",
        help="GPUs each experiment gets in CUDA_VISIBLE_DEVICES (default 1)",
    )


def _plot_props(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--template", nargs="?", default=None, help="template name or file")
    p.add_argument("-x", default=None, help="field name for the X axis")
    p.add_argument("-y", default=None, help="field name for the Y axis")
    p.add_argument(
        "--no-header",
        action="store_false",
        dest="header",
        default=None,
        help="CSV/TSV files have no header row",
    )
    p.add_argument("--title", default=None, help="plot title")
    p.add_argument("--x-label", default=None, help="X axis label")
    p.add_argument("--y-label", default=None, help="Y axis label")


def _plot_output(p: argparse.ArgumentParser) -> None:
    _plot_props(p)
    p.add_argument("-o", "--out", default=None, help="folder for the page (dvc_plots/)")
    p.add_argument("--show-vega", action="store_true", help="print the Vega-Lite spec")
    p.add_argument("--json", action="store_true", help="print JSON (DVC's schema)")
    p.add_argument("--split", action="store_true", help="with --json: anchors apart")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.add_argument("--html-template", default=None, help="custom HTML page template")


def _plots_commands(b: _Builder) -> None:
    show = b.add("show", "xpt.cli.cmd_plots:show", "draw plots of the workspace")
    show.add_argument("targets", nargs="*", help="plot files or ids (default: all)")
    _plot_output(show)
    diff = b.add("diff", "xpt.cli.cmd_plots:diff", "overlay plots of revisions or experiments")
    diff.add_argument("--targets", nargs="*", help="plot files or ids (default: all)")
    diff.add_argument("-e", "--experiment", action="store_true", help=SUPPRESS)
    diff.add_argument("revisions", nargs="*", default=None, help="revisions or experiments")
    _plot_output(diff)
    modify = b.add("modify", "xpt.cli.cmd_plots:modify", "set display properties of a plot")
    modify.add_argument("target", help="plot output of a stage")
    _plot_props(modify)
    modify.add_argument("--unset", nargs="*", metavar="PROPERTY", help="properties to remove")
    templates = b.add("templates", "xpt.cli.cmd_plots:templates", "list or print templates")
    templates.add_argument("template", nargs="?", default=None, help="template to print")


def _exp_commands(b: _Builder) -> None:
    run = b.add("run", "xpt.cli.cmd_exp:run", "run an experiment")
    _repro_options(run)
    run.add_argument(
        "-S",
        "--set-param",
        action="append",
        default=[],
        metavar="[FILE:]KEY=VALUE",
        help="override a param (repeatable)",
    )
    run.add_argument("-n", "--name", help="experiment name")
    run.add_argument("--queue", action="store_true", help="queue the experiment, run later")
    run.add_argument("--run-all", action="store_true", help="run all queued experiments")
    run.add_argument("-j", "--jobs", type=int, default=1, help="parallel workers for --run-all")
    _gpu_options(run)
    run.add_argument("--temp", action="store_true", help="run in an isolated temp workspace")
    run.add_argument("-C", "--copy-paths", action="append", default=[], help="copy untracked paths")
    run.add_argument("-m", "--message", help="experiment commit message")
    run.add_argument("--reset", action="store_true", help="checkpoints: start over (like -f)")
    run.add_argument("--rev", help="checkpoints: resume from this experiment or checkpoint")

    show = b.add("show", "xpt.cli.cmd_exp:show", "show experiments")
    _revs(show)
    show.add_argument("--rev", action="append", default=[], help="show this commit (repeatable)")
    show.add_argument("-n", "--num", type=int, default=1, help="commits to show from each rev")
    show.add_argument("--no-pager", action="store_true", help="do not page the output")
    show.add_argument("--drop", help="regex of columns to hide")
    show.add_argument("--keep", help="regex of columns to keep (wins over --drop)")
    show.add_argument("--param-deps", action="store_true", help="only params that are stage deps")
    show.add_argument("--sort-by", help="column to sort experiments by")
    show.add_argument("--sort-order", choices=["asc", "desc"], default="asc")
    show.add_argument("--sha", action="store_true", help="always show shas")
    show.add_argument("--csv", action="store_true", help="print CSV")
    show.add_argument("--only-changed", action="store_true", help="only columns that change")
    show.add_argument("--hide-workspace", action="store_true")
    show.add_argument("--hide-queued", action="store_true")
    show.add_argument("--hide-failed", action="store_true")
    show.add_argument("--pcp", action="store_true", help="write a parallel-coordinates page")
    show.add_argument("-o", "--out", default=None, help="folder for --pcp (dvc_plots/)")
    show.add_argument("--open", action="store_true", help="open the --pcp page in a browser")
    show.add_argument("-f", "--force", action="store_true", help="ignored (DVC compatibility)")
    _json_md(show)

    diff = b.add("diff", "xpt.cli.cmd_exp:diff", "compare experiments")
    diff.add_argument("a_rev", nargs="?")
    diff.add_argument("b_rev", nargs="?")
    diff.add_argument("--all", action="store_true", help="include unchanged values")
    diff.add_argument("--param-deps", action="store_true")
    diff.add_argument("--no-path", action="store_true")
    _json_md(diff)

    apply = b.add("apply", "xpt.cli.cmd_exp:apply", "put an experiment in the workspace")
    apply.add_argument("experiment")
    apply.add_argument("--no-force", action="store_true", help="deprecated")

    branch = b.add("branch", "xpt.cli.cmd_exp:branch", "make a git branch from an experiment")
    branch.add_argument("experiment")
    branch.add_argument("branch", nargs="?")

    ls = b.add("list", "xpt.cli.cmd_exp:list_", "list experiments")
    ls.add_argument("git_remote", nargs="?")
    _revs(ls)
    ls.add_argument("--rev", action="append", default=[])
    ls.add_argument("-n", "--num", type=int, default=1)
    ls.add_argument("--name-only", "--names-only", dest="name_only", action="store_true")
    ls.add_argument("--sha-only", action="store_true")
    ls.add_argument("--json", action="store_true")

    rm = b.add("remove", "xpt.cli.cmd_exp:remove", "remove experiments")
    rm.add_argument("experiment", nargs="*")
    rm.add_argument("-A", "--all-commits", action="store_true")
    rm.add_argument("--rev", action="append", default=[])
    rm.add_argument("-n", "--num", type=int, default=1)
    rm.add_argument("--queue", action="store_true", help="remove queued experiments")
    rm.add_argument("-g", "--git-remote", help="remove from this git remote")
    rm.add_argument("--keep", action="store_true", help="keep the selected, remove the rest")

    gc = b.add("gc", "xpt.cli.cmd_exp:gc", "remove experiments of unselected baselines")
    gc.add_argument("-w", "--workspace", action="store_true", help="keep HEAD's experiments")
    _revs(gc)
    gc.add_argument("--queued", action="store_true", help="keep queued entries in scope")
    gc.add_argument("-f", "--force", action="store_true", help="do not prompt")

    save = b.add("save", "xpt.cli.cmd_exp:save", "save the workspace as an experiment")
    save.add_argument("targets", nargs="*")
    save.add_argument("-n", "--name")
    save.add_argument("-f", "--force", action="store_true")
    save.add_argument("-I", "--include-untracked", action="append", default=[])
    save.add_argument("-m", "--message")
    save.add_argument("-R", "--recursive", action="store_true")

    ren = b.add("rename", "xpt.cli.cmd_exp:rename", "rename an experiment")
    ren.add_argument("experiment")
    ren.add_argument("name")
    ren.add_argument("-f", "--force", action="store_true")
    ren.add_argument("-g", "--git-remote")

    for verb in ("push", "pull"):
        p = b.add(verb, f"xpt.cli.cmd_exp:{verb}", f"{verb} experiments")
        p.add_argument("git_remote")
        p.add_argument("experiment", nargs="*")
        p.add_argument("-A", "--all-commits", action="store_true")
        p.add_argument("--rev", action="append", default=[])
        p.add_argument("-n", "--num", type=int, default=1)
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("--no-cache", action="store_true")
        p.add_argument("-r", "--remote")
        p.add_argument("-j", "--jobs", type=int)

    b.add("clean", "xpt.cli.cmd_exp:clean", "remove temporary experiment files")


def _queue_commands(b: _Builder) -> None:
    start = b.add("start", "xpt.cli.cmd_queue:start", "start detached queue workers")
    start.add_argument("-j", "--jobs", type=int, default=1)
    start.add_argument("--broker", help="celery broker URL (distributed queue)")
    _gpu_options(start)
    stop = b.add("stop", "xpt.cli.cmd_queue:stop", "stop queue workers")
    stop.add_argument("--kill", action="store_true", help="kill running experiments too")
    status = b.add("status", "xpt.cli.cmd_queue:status", "show queued and running experiments")
    status.add_argument("--json", action="store_true")
    logs = b.add("logs", "xpt.cli.cmd_queue:logs", "show an experiment's output")
    logs.add_argument("task")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-e", "--encoding", help="text encoding of the log (default: as written)")
    rm = b.add("remove", "xpt.cli.cmd_queue:remove", "remove queue entries")
    rm.add_argument("task", nargs="*")
    rm.add_argument("--all", action="store_true")
    rm.add_argument("--queued", action="store_true")
    rm.add_argument("--success", action="store_true")
    rm.add_argument("--failed", action="store_true")
    kill = b.add("kill", "xpt.cli.cmd_queue:kill", "kill running experiments")
    kill.add_argument("task", nargs="+")
    kill.add_argument("-f", "--force", action="store_true")
    worker = b.add("worker", "xpt.cli.cmd_worker:worker", "run a distributed (celery) worker")
    worker.add_argument("--broker", required=False)
    worker.add_argument("-j", "--jobs", type=int, default=1)
    worker.add_argument("--workdir")
    _gpu_options(worker)


def _remote_commands(b: _Builder) -> None:
    add = b.add("add", "xpt.cli.cmd_remote:add", "add a data remote")
    add.add_argument("name")
    add.add_argument("url")
    add.add_argument("-d", "--default", action="store_true")
    add.add_argument("-f", "--force", action="store_true")
    add.add_argument("--local", action="store_true")
    ls = b.add("list", "xpt.cli.cmd_remote:list_", "list data remotes")
    ls.add_argument("--local", action="store_true")
    mod = b.add("modify", "xpt.cli.cmd_remote:modify", "set a remote option")
    mod.add_argument("name")
    mod.add_argument("option")
    mod.add_argument("value", nargs="?")
    mod.add_argument("-u", "--unset", action="store_true")
    mod.add_argument("--local", action="store_true")
    default = b.add("default", "xpt.cli.cmd_remote:default", "show or set the default remote")
    default.add_argument("name", nargs="?")
    default.add_argument("-u", "--unset", action="store_true")
    default.add_argument("--local", action="store_true")
    rm = b.add("remove", "xpt.cli.cmd_remote:remove", "remove a data remote")
    rm.add_argument("name")
    rm.add_argument("--local", action="store_true")
    ren = b.add("rename", "xpt.cli.cmd_remote:rename", "rename a data remote")
    ren.add_argument("name")
    ren.add_argument("new")
    ren.add_argument("--local", action="store_true")


def _stage_commands(b: _Builder) -> None:
    add = b.add("add", "xpt.cli.cmd_stage:add", "add a stage to dvc.yaml")
    add.add_argument("-n", "--name", required=True, help="name of the stage")
    add.add_argument("-f", "--force", action="store_true", help="overwrite an existing stage")
    for flags, dest, what in (
        (("-d", "--deps"), "deps", "a dependency"),
        (("-p", "--params"), "params", "params: [FILE:]KEY[,KEY...]"),
        (("-o", "--outs"), "outs", "a cached output"),
        (("-O", "--outs-no-cache"), "outs_no_cache", "an output not cached"),
        (("--outs-persist",), "outs_persist", "an output kept between runs"),
        (("--outs-persist-no-cache",), "outs_persist_no_cache", "kept, not cached"),
        (("-m", "--metrics"), "metrics", "a metrics file"),
        (("-M", "--metrics-no-cache"), "metrics_no_cache", "a metrics file, not cached"),
        (("--plots",), "plots", "a plots file"),
        (("--plots-no-cache",), "plots_no_cache", "a plots file, not cached"),
    ):
        add.add_argument(*flags, dest=dest, action="append", default=[], help=what)
    add.add_argument("-w", "--wdir", help="working directory of the command")
    add.add_argument("--always-changed", action="store_true", help="always consider changed")
    add.add_argument("--desc", help="description of the stage")
    add.add_argument("--run", action="store_true", help="run the stage once added")
    add.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    ls = b.add("list", "xpt.cli.cmd_stage:list_", "list stages")
    ls.add_argument("targets", nargs="*", help="dvc.yaml files, stages or folders")
    ls.add_argument("--all", action="store_true", help="all stages of the project")
    ls.add_argument("--fail", action="store_true", help="fail on the first invalid file")
    ls.add_argument("-R", "--recursive", action="store_true", help="folders recursively")
    ls.add_argument("--name-only", "--names-only", dest="name_only", action="store_true")


def _cache_commands(b: _Builder) -> None:
    cdir = b.add("dir", "xpt.cli.cmd_project:cache_dir", "show or set the cache folder")
    cdir.add_argument("value", nargs="?", help="the cache folder")
    cdir.add_argument("-u", "--unset", action="store_true", help="unset the option")
    levels = (
        cdir.add_mutually_exclusive_group() if isinstance(cdir, argparse.ArgumentParser) else cdir
    )
    for flag, level in (
        ("--global", "global"),
        ("--system", "system"),
        ("--project", "repo"),
        ("--local", "local"),
    ):
        levels.add_argument(flag, dest="level", action="store_const", const=level)
    verify = b.add(
        "verify", "xpt.cli.cmd_cache:verify", "re-hash every cache object; move bad ones aside"
    )
    verify.add_argument("-j", "--jobs", type=int, help="objects hashed in parallel")
    verify.add_argument("--json", action="store_true")


def _project_commands(b: _Builder) -> None:
    """Commands around the data and the pipeline: root, version, install, remove, ..."""
    b.add("root", "xpt.cli.cmd_project:root", "print the project's root folder")
    b.add("version", "xpt.cli.cmd_project:version", "show xpt's environment")
    b.add("doctor", "xpt.cli.cmd_project:version", "show xpt's environment")
    inst = b.add("install", "xpt.cli.cmd_project:install", "install git hooks")
    inst.add_argument("--use-pre-commit-tool", action="store_true", help="via pre-commit")
    ci = b.add("check-ignore", "xpt.cli.cmd_project:check_ignore", "is a path .dvcignored")
    ci.add_argument("targets", nargs="*", help="paths to check")
    ci.add_argument("-d", "--details", action="store_true", help="show the matching pattern")
    ci.add_argument("-n", "--non-matching", action="store_true", help="list non-matching too")
    ci.add_argument("--stdin", action="store_true", help="read paths from stdin")
    for verb, what in (("freeze", "freeze stages"), ("unfreeze", "unfreeze stages")):
        p = b.add(verb, f"xpt.cli.cmd_tracked:{verb}", what)
        p.add_argument("targets", nargs="+", help="stages or .dvc files")
    unp = b.add("unprotect", "xpt.cli.cmd_tracked:unprotect", "make outputs writable")
    unp.add_argument("targets", nargs="+")
    rm = b.add("remove", "xpt.cli.cmd_tracked:remove", "remove stages or .dvc files")
    rm.add_argument("targets", nargs="+", help="stages or .dvc files")
    rm.add_argument("--outs", action="store_true", help="remove the outputs too")
    mv = b.add("move", "xpt.cli.cmd_tracked:move", "rename tracked data")
    mv.add_argument("src")
    mv.add_argument("dst")
    diff = b.add("diff", "xpt.cli.cmd_tracked:diff", "compare tracked data of two revisions")
    diff.add_argument("a_rev", nargs="?")
    diff.add_argument("b_rev", nargs="?")
    diff.add_argument("--targets", nargs="*", help="limit to these paths")
    diff.add_argument("--json", action="store_true")
    diff.add_argument("--show-hash", action="store_true")
    diff.add_argument("--md", action="store_true")
    diff.add_argument("--hide-missing", action="store_true")
    _imports_commands(b)


def _imports_commands(b: _Builder) -> None:
    for verb in ("import", "get"):
        p = b.add(verb, f"xpt.cli.cmd_imports:{verb}_", f"{verb} data from a git repository")
        p.add_argument("url", help="git repository (path or URL)")
        p.add_argument("path", help="path in that repository")
        p.add_argument("-o", "--out", nargs="?", help="destination")
        p.add_argument("--rev", nargs="?", help="git revision")
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("-j", "--jobs", type=int)
        p.add_argument("--config")
        p.add_argument("--remote")
        p.add_argument("--remote-config", nargs="*")
        if verb == "import":
            p.add_argument("--no-exec", action="store_true")
            p.add_argument("--no-download", action="store_true")
        else:
            p.add_argument("--show-url", action="store_true")
    for verb in ("import-url", "get-url"):
        p = b.add(verb, f"xpt.cli.cmd_imports:{verb.replace('-', '_')}", f"{verb} data by URL")
        p.add_argument("url", help="a path, file:// or s3:// URL")
        p.add_argument("out", nargs="?", help="destination")
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("-j", "--jobs", type=int)
        p.add_argument("--fs-config", nargs="*", default=[])
        if verb == "import-url":
            p.add_argument("--no-exec", action="store_true")
            p.add_argument("--no-download", action="store_true")
            p.add_argument("--to-remote", action="store_true")
            p.add_argument("-r", "--remote")
            p.add_argument("--version-aware", action="store_true")
    up = b.add("update", "xpt.cli.cmd_imports:update", "update imported data")
    up.add_argument("targets", nargs="+")
    up.add_argument("--rev", nargs="?")
    up.add_argument("-R", "--recursive", action="store_true")
    up.add_argument("--no-download", action="store_true")
    up.add_argument("--to-remote", action="store_true")
    up.add_argument("-r", "--remote")
    up.add_argument("-j", "--jobs", type=int)


def _data_status_command(b: _Builder) -> None:
    st = b.add("status", "xpt.cli.cmd_tracked:data_status", "show changes of tracked data")
    st.add_argument("--json", action="store_true")
    st.add_argument("--granular", action="store_true")
    st.add_argument("--unchanged", action="store_true")
    st.add_argument(
        "--untracked-files", nargs="?", const="all", default="no", choices=["no", "all"]
    )
    st.add_argument("-r", "--remote")
    st.add_argument("--not-in-remote", action="store_true")
    st.add_argument("--no-remote-refresh", action="store_true")


def _config_command(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="option name (section.option or remote.name.option)")
    p.add_argument("value", nargs="?", help="option value")
    p.add_argument("-u", "--unset", action="store_true", help="unset the option")
    p.add_argument("-l", "--list", action="store_true", help="list all defined config values")
    p.add_argument("--show-origin", action="store_true", help="show the file holding each value")
    levels = p.add_mutually_exclusive_group() if isinstance(p, argparse.ArgumentParser) else p
    for flag, level, what in (
        ("--global", "global", "global config"),
        ("--system", "system", "system config (not supported)"),
        ("--project", "repo", "project config (.dvc/config)"),
        ("--local", "local", "local config (.dvc/config.local)"),
    ):
        levels.add_argument(
            flag, dest="level", action="store_const", const=level, help=f"use {what}"
        )


def _add_command(b: _Builder) -> None:
    add = b.add("add", "xpt.cli.cmd_add:add", "track data files or folders with .dvc files")
    add.add_argument("targets", nargs="+", metavar="TARGET")
    add.add_argument("--no-commit", action="store_true", help="do not put the data in the cache")
    add.add_argument("--glob", action="store_true", help="expand wildcards in the targets")
    add.add_argument("-o", "--out", metavar="PATH", help="track the data at PATH (copied there)")
    add.add_argument("--to-remote", action="store_true", help="upload straight to the remote")
    add.add_argument("-r", "--remote", metavar="NAME", help="remote for --to-remote")
    add.add_argument("--remote-jobs", type=int, metavar="N", help="parallel uploads")
    add.add_argument("-f", "--force", action="store_true", help="replace an existing --out")
    add.add_argument("--no-relink", action="store_true", help="leave the files unlinked")


def _ui_command(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser")
    p.add_argument(
        "--allow-actions",
        action="store_true",
        help="let the page queue, start/stop, apply, branch and remove experiments",
    )


def command_path(argv: list[str]) -> list[str]:
    """The first two positional words of argv (`exp run`), skipping global options."""
    words: list[str] = []
    skip = False
    for tok in argv:
        if skip:
            skip = False
            continue
        if tok == "--cd":
            skip = True
            continue
        if tok.startswith("-"):
            if tok in ("-h", "--help") and not words:
                return []
            continue
        words.append(tok)
        if len(words) == 2:
            break
    return words


def build_parser(only: list[str] | None = None) -> argparse.ArgumentParser:
    """The `xpt` command tree; `only=["exp", "run"]` builds just that branch."""
    common = _common()
    parser = _Parser(
        prog="xpt",
        description="Reproducible pipelines and git-native ML experiments (DVC 3 compatible).",
    )
    parser.add_argument("-q", "--quiet", action="count", default=0, help="be quiet")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="be verbose")
    parser.add_argument("--cd", metavar="DIR", default=None, help="run as if started in DIR")
    parser.add_argument("-V", "--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    b = _Builder(sub, common, only)

    init = b.add("init", "xpt.cli.cmd_init:init", "initialise a project in a git repository")
    init.add_argument("-f", "--force", action="store_true", help="re-initialise")
    init.add_argument("--no-scm", action="store_true", help="without git (not supported yet)")
    init.add_argument("--subdir", action="store_true", help="project in a git subdirectory")

    repro = b.add("repro", "xpt.cli.cmd_repro:repro", "reproduce the pipeline")
    _repro_options(repro)

    status = b.add("status", "xpt.cli.cmd_repro:status", "show changed stages")
    status.add_argument("targets", nargs="*")
    status.add_argument("--json", action="store_true")
    status.add_argument("-c", "--cloud", action="store_true")
    status.add_argument("-r", "--remote")
    status.add_argument("-j", "--jobs", type=int)
    status.add_argument("-d", "--with-deps", action="store_true", help="and upstream stages")
    status.add_argument("-R", "--recursive", action="store_true")
    _revs(status)

    dag = b.add("dag", "xpt.cli.cmd_repro:dag", "show the pipeline graph")
    dag.add_argument("target", nargs="?")
    dag.add_argument("--dot", action="store_true")
    dag.add_argument("--mermaid", action="store_true")
    dag.add_argument("--md", action="store_true")
    dag.add_argument("--full", action="store_true", help="the target's whole pipeline")
    dag.add_argument("-o", "--outs", action="store_true")

    checkout = b.add("checkout", "xpt.cli.cmd_repro:checkout", "restore outputs from the cache")
    checkout.add_argument("targets", nargs="*")
    checkout.add_argument("-f", "--force", action="store_true")
    checkout.add_argument("-d", "--with-deps", action="store_true", help="and upstream stages")
    checkout.add_argument("-R", "--recursive", action="store_true")
    checkout.add_argument("--relink", action="store_true", help="recreate links even if unchanged")
    checkout.add_argument("--summary", action="store_true")
    checkout.add_argument("--allow-missing", action="store_true")

    commit = b.add("commit", "xpt.cli.cmd_repro:commit", "record workspace outputs in dvc.lock")
    commit.add_argument("targets", nargs="*")
    commit.add_argument("-f", "--force", action="store_true")
    commit.add_argument("-d", "--with-deps", action="store_true", help="and upstream stages")
    commit.add_argument("-R", "--recursive", action="store_true")
    commit.add_argument("--no-relink", action="store_true")

    params = b.group("params", "params of the pipeline")
    pdiff = params.add("diff", "xpt.cli.cmd_metrics:params_diff", "compare params")
    pdiff.add_argument("a_rev", nargs="?")
    pdiff.add_argument("b_rev", nargs="?")
    pdiff.add_argument("--targets", nargs="*")
    pdiff.add_argument("--all", action="store_true")
    pdiff.add_argument("--deps", action="store_true")
    pdiff.add_argument("--no-path", action="store_true")
    _json_md(pdiff, precision=False)

    metrics = b.group("metrics", "metrics of the pipeline")
    mshow = metrics.add("show", "xpt.cli.cmd_metrics:metrics_show", "show metrics")
    mshow.add_argument("targets", nargs="*")
    _revs(mshow)
    mshow.add_argument("-R", "--recursive", action="store_true")
    _json_md(mshow)
    mdiff = metrics.add("diff", "xpt.cli.cmd_metrics:metrics_diff", "compare metrics")
    mdiff.add_argument("a_rev", nargs="?")
    mdiff.add_argument("b_rev", nargs="?")
    mdiff.add_argument("--targets", nargs="*")
    mdiff.add_argument("-R", "--recursive", action="store_true")
    mdiff.add_argument("--all", action="store_true")
    mdiff.add_argument("--no-path", action="store_true")
    _json_md(mdiff)

    _plots_commands(b.group("plots", "draw and compare plots"))
    _exp_commands(b.group("exp", "run and manage experiments"))
    _queue_commands(b.group("queue", "the experiment queue"))
    _remote_commands(b.group("remote", "data remotes"))
    _config_command(b.add("config", "xpt.cli.cmd_config:config", "get or set config options"))
    _ui_command(b.add("ui", "xpt.cli.cmd_ui:ui", "serve a local web page of the experiments"))

    _add_command(b)
    _transfer(b.add("push", "xpt.cli.cmd_data:push", "upload cached data to a remote"))
    _transfer(b.add("pull", "xpt.cli.cmd_data:pull", "download data and check it out"), pull=True)
    _transfer(b.add("fetch", "xpt.cli.cmd_data:fetch", "download data into the cache"))

    gc = b.add("gc", "xpt.cli.cmd_data:gc", "remove unused objects from the cache")
    gc.add_argument("-w", "--workspace", action="store_true")
    _revs(gc)
    gc.add_argument("--all-experiments", action="store_true")
    gc.add_argument("-c", "--cloud", action="store_true")
    gc.add_argument("-r", "--remote")
    gc.add_argument("-f", "--force", action="store_true")
    gc.add_argument("-j", "--jobs", type=int)
    gc.add_argument("--dry", action="store_true")

    _stage_commands(b.group("stage", "pipeline stages"))
    _cache_commands(b.group("cache", "the object cache"))
    _data_status_command(b.group("data", "tracked data"))
    _project_commands(b)
    return parser


Handler = Callable[[argparse.Namespace], int]
