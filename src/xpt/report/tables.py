"""Plain/Markdown tables of `metrics show`, `metrics diff`, `params diff`, `exp diff`, `queue status`.

Inputs are the DVC-shaped dicts of docs/dvc-formats.md §9.1-9.4; `format_*` return the text (pure, for
tests), `render_*` print it. Number formatting follows DVC 3.67.1 per command:
`metrics show/diff` round floats to `precision` decimals (default 5), `exp diff` shows
metrics with `precision` significant digits and params as they are, `params diff` has no
`Change` column at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from xpt.pipeline.params import flatten
from xpt.report.text import cell, markdown_table, plain_table, rounded, significant

NO_DIFF = "diff not supported"


def _emit(text: str, file: TextIO | None) -> None:
    if text:
        print(text, file=file or sys.stdout, flush=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], md: bool) -> str:
    return markdown_table(headers, rows) if md else plain_table(headers, rows)


def _diff_rows(
    diff: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Rows sorted by file and key (DVC's own order varies from run to run)."""
    return [(path, key, diff[path][key]) for path in sorted(diff) for key in sorted(diff[path])]


def format_diff_table(
    diff: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    kind: str,
    precision: int | None = None,
    md: bool = False,
    no_path: bool = False,
    a_label: str = "HEAD",
    b_label: str = "workspace",
    exp: bool = False,
) -> str:
    """One diff table (`kind` "metrics" or "params"); `exp` selects `exp diff` styling."""
    if not diff:
        return ""
    value: Callable[[Any], str]
    if kind == "metrics":
        value = (lambda v: significant(v, precision)) if exp else (lambda v: rounded(v, precision))
    else:
        value = cell
    show_change = exp or kind == "metrics"
    missing_change = NO_DIFF if exp else "-"

    def change(entry: Mapping[str, Any]) -> str:
        return value(entry["diff"]) if "diff" in entry else missing_change

    headers = ["Path", "Metric" if kind == "metrics" else "Param", a_label, b_label]
    if show_change:
        headers.append("Change")
    rows = []
    for path, key, entry in _diff_rows(diff):
        line = [path, key, value(entry.get("old")), value(entry.get("new"))]
        if show_change:
            line.append(change(entry))
        rows.append(line)
    if no_path:
        headers = headers[1:]
        rows = [line[1:] for line in rows]
    return _table(headers, rows, md)


def render_diff_table(
    diff: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    kind: str,
    precision: int | None = None,
    md: bool = False,
    no_path: bool = False,
    a_label: str = "HEAD",
    b_label: str = "workspace",
    exp: bool = False,
    file: TextIO | None = None,
) -> None:
    """Print `metrics diff` / `params diff` (or one half of `exp diff`); nothing when empty."""
    _emit(
        format_diff_table(
            diff,
            kind=kind,
            precision=precision,
            md=md,
            no_path=no_path,
            a_label=a_label,
            b_label=b_label,
            exp=exp,
        ),
        file,
    )


def format_exp_diff(
    data: Mapping[str, Any],
    *,
    precision: int | None = None,
    md: bool = False,
    no_path: bool = False,
    a_label: str = "HEAD",
    b_label: str = "workspace",
) -> str:
    """`exp diff`: the metrics table, a blank line, the params table."""
    tables = [
        format_diff_table(
            data.get(kind) or {},
            kind=kind,
            precision=precision,
            md=md,
            no_path=no_path,
            a_label=a_label,
            b_label=b_label,
            exp=True,
        )
        for kind in ("metrics", "params")
    ]
    return "\n\n".join(t for t in tables if t)


def render_exp_diff(
    data: Mapping[str, Any],
    *,
    precision: int | None = None,
    md: bool = False,
    no_path: bool = False,
    a_label: str = "HEAD",
    b_label: str = "workspace",
    file: TextIO | None = None,
) -> None:
    """Print `exp diff` tables; nothing when nothing changed."""
    _emit(
        format_exp_diff(
            data, precision=precision, md=md, no_path=no_path, a_label=a_label, b_label=b_label
        ),
        file,
    )


def _metric_values(content: Any) -> dict[str, Any]:
    if isinstance(content, Mapping):
        return flatten(dict(content))
    return {"": content}


def failed_revisions(data: Mapping[str, Any]) -> list[str]:
    """Revisions of `metrics show` data where a metrics file (or the rev) failed to load."""
    failed = []
    for rev, item in data.items():
        files = (item or {}).get("data") or {}
        if (item or {}).get("error") or any("error" in (f or {}) for f in files.values()):
            failed.append(rev)
    return failed


def format_metrics_show(
    data: Mapping[str, Any], *, precision: int | None = None, md: bool = False
) -> str:
    """`metrics show`: one row per (revision, file), one column per flattened key (sorted)."""
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for rev, item in data.items():
        for path, content in ((item or {}).get("data") or {}).items():
            content = content or {}
            values = _metric_values(content["data"]) if "data" in content else {}
            entries.append((rev, path, values))
    if not entries:
        return ""
    keys = sorted({key for _r, _p, values in entries for key in values})
    with_rev = list(data) != [""]
    headers = (["Revision"] if with_rev else []) + ["Path", *keys]
    rows = []
    for rev, path, values in entries:
        line = ([rev] if with_rev else []) + [path]
        line.extend(rounded(values.get(key), precision) for key in keys)
        rows.append(line)
    return _table(headers, rows, md)


def render_metrics_show(
    data: Mapping[str, Any],
    *,
    precision: int | None = None,
    md: bool = False,
    file: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    """Print `metrics show`; name the revisions whose metrics could not be read on stderr."""
    _emit(format_metrics_show(data, precision=precision, md=md), file)
    failed = failed_revisions(data)
    if failed:
        revs = ", ".join(f"'{rev}'" for rev in failed)
        print(
            f"WARNING: failed to load some metrics for following revisions: {revs}.",
            file=err or sys.stderr,
            flush=True,
        )


def _worker_line(entries: Sequence[Mapping[str, Any]], workers: int | Sequence[Any]) -> str:
    total = workers if isinstance(workers, int) else len(workers)
    running = sum(1 for e in entries if str(e.get("status", "")).lower() == "running")
    active = min(running, total)
    return f"Worker status: {active} active, {total - active} idle"


def format_queue_status(
    entries: Sequence[Mapping[str, Any]], *, workers: int | Sequence[Any] = 0
) -> str:
    """`queue status`: Task, Name, Created, Status (+ Devices, Progress), then the workers.

    Devices and Progress appear only when some entry has GPU slots or reports progress.
    """
    if entries:
        rows = [
            [cell(e.get("id")), cell(e.get("name")), cell(e.get("created")), cell(e.get("status"))]
            for e in entries
        ]
        header = ["Task", "Name", "Created", "Status"]
        if any(e.get("devices") for e in entries):
            header.append("Devices")
            for row, e in zip(rows, entries, strict=True):
                row.append(",".join(e.get("devices") or []))
        if any(e.get("progress") for e in entries):
            header.append("Progress")
            for row, e in zip(rows, entries, strict=True):
                row.append(progress_cell(e.get("progress")))
        body = plain_table(header, rows)
    else:
        body = "No experiment tasks in the queue."
    return f"{body}\n\n{_worker_line(entries, workers)}"


def progress_cell(progress: Mapping[str, Any] | None) -> str:
    """A running entry's progress in one cell: `step 3, loss=0.213` (first metric only)."""
    if not progress:
        return ""
    parts = []
    if progress.get("step") is not None:
        parts.append(f"step {progress['step']}")
    for name, value in list((progress.get("metrics") or {}).items())[:1]:
        parts.append(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}")
    return ", ".join(parts)


def render_queue_status(
    entries: Sequence[Mapping[str, Any]],
    *,
    workers: int | Sequence[Any] = 0,
    file: TextIO | None = None,
) -> None:
    """Print `queue status`."""
    _emit(format_queue_status(entries, workers=workers), file)
