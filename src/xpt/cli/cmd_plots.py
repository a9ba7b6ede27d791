"""CLI: plots show, plots diff, plots templates, plots modify."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpt.cli.ui import note, out
from xpt.errors import XptError
from xpt.project import Project

if TYPE_CHECKING:
    from xpt.experiments.plots import RevPlots

PROP_FLAGS = ("template", "x", "y", "x_label", "y_label", "title", "header")


def _props(args: argparse.Namespace) -> dict[str, Any]:
    """Display properties given on the command line (they override the definitions)."""
    props = {p: getattr(args, p, None) for p in PROP_FLAGS}
    return {k: v for k, v in props.items() if v is not None}


def _html_template(project: Project, args: argparse.Namespace) -> str | None:
    path = args.html_template or project.config.get("plots", "html_template")
    if path and not args.html_template and not os.path.isabs(path):
        path = str(project.dvc_dir / path)
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise XptError(
            f"cannot read the HTML template '{path}': {exc.strerror}",
            hint="pass an existing file to --html-template",
        ) from None


def _write(path: str, data: bytes) -> None:
    """Write an output file, leaving one that already holds these bytes alone."""
    from xpt.utils.fsutil import atomic_write_bytes

    try:
        if os.path.getsize(path) == len(data):
            with open(path, "rb") as f:
                if f.read() == data:
                    return
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write_bytes(Path(path), data)


def _run(args: argparse.Namespace, revs: list[str] | None) -> int:
    from xpt.experiments.plots import collect, collect_json
    from xpt.report.plots import build_renderers, html_page

    project = Project.find()
    if args.show_vega:
        if not args.targets:
            raise XptError("please specify a target for `--show-vega`")
        if len(args.targets) > 1:
            raise XptError("you can only specify one target for `--show-vega`")
        if args.json:
            raise XptError("'--show-vega' and '--json' are mutually exclusive options.")
    if args.json:
        out(
            collect_json(
                project,
                revs,
                args.targets or [],
                _props(args),
                lambda collected: _json_text(project, args, collected),
                getattr(args, "memo_key", None),
            )
        )
        return 0
    collected = collect(project, revs, args.targets or [], _props(args))
    has_plots = any(r.definitions for r in collected)
    out_dir = args.out or project.config.get("plots", "out_dir") or "dvc_plots"
    templates_dir = str(project.dvc_dir / "plots")
    failed = [r.rev for r in collected if r.error is not None or r.source_errors]
    if failed:
        note(
            f"ERROR: xpt failed to load some plots for following revisions: '{', '.join(failed)}'."
        )
    if not has_plots:
        note("ERROR: No plots were loaded, visualization file will not be created.")
    renders, images = build_renderers(collected, os.path.join(out_dir, "static"), templates_dir)
    if args.show_vega:
        vega = next((r.renderer for r in renders if r.renderer.TYPE == "vega"), None)
        if vega is not None:
            from xpt.report.json import dumps_json

            out(dumps_json(vega.get_filled_template()))
        return 0
    if not renders:
        return 0
    for image in images:
        _write(image.path, image.data)
    index = (Path.cwd() / out_dir).resolve() / "index.html"
    page = html_page(renders, str(index), _html_template(project, args))
    _write(str(index), page.encode("utf-8"))
    out(index.as_uri())
    auto_open = project.config.get_bool("plots", "auto_open")
    if args.open or auto_open:
        if not auto_open:
            out("To enable auto opening, you can run:\n\n\txpt config plots.auto_open true")
        import webbrowser

        if not webbrowser.open(index.as_uri()):
            raise XptError("failed to open a web browser", hint=f"open {index.as_uri()} yourself")
    return 0


def _json_text(
    project: Project, args: argparse.Namespace, collected: list[RevPlots]
) -> tuple[str, list[str]]:
    """`--json`: DVC's document, with its images written into the output folder."""
    from xpt.report.json import dumps_json
    from xpt.report.plots import build_renderers, to_json

    out_dir = args.out or project.config.get("plots", "out_dir") or "dvc_plots"
    renders, images = build_renderers(collected, out_dir, str(project.dvc_dir / "plots"))
    for image in images:
        _write(image.path, image.data)
    rev_errors = {r.rev: r.error for r in collected if r.error is not None}
    return dumps_json(to_json(renders, args.split, rev_errors)), [i.path for i in images]


def show(args: argparse.Namespace) -> int:
    return _run(args, None)


def diff(args: argparse.Namespace) -> int:
    from xpt.experiments.plots import diff_revisions

    revs = diff_revisions(Project.find(), args.revisions or [], args.experiment)
    return _run(args, revs)


def templates(args: argparse.Namespace) -> int:
    from dvc_render.vega_templates import TEMPLATES

    if args.template:
        for template in TEMPLATES:
            if args.template == template.DEFAULT_NAME:
                from xpt.report.json import dumps_json

                out(dumps_json(template.DEFAULT_CONTENT))
                return 0
        names = ", ".join(t.DEFAULT_NAME for t in TEMPLATES)
        raise XptError(f"Unexpected template: {args.template}.", hint=f"one of: {names}")
    for template in TEMPLATES:
        out(template.DEFAULT_NAME)
    return 0


def modify(args: argparse.Namespace) -> int:
    from xpt.pipeline.plots_modify import modify_plot

    project = Project.find()
    props = _props(args)
    if props.get("template"):
        from dvc_render.vega_templates import TemplateNotFoundError, get_template

        try:
            get_template(props["template"], str(project.dvc_dir / "plots"))
        except TemplateNotFoundError as exc:
            raise XptError(str(exc), hint="see `xpt plots templates`") from None
    project = Project.find()
    target = os.path.relpath(os.path.abspath(args.target), project.root)
    dvcfile, stage = modify_plot(project.root, target, props, args.unset)
    out(f"Modifying stage '{stage}' in '{dvcfile}'")
    return 0
