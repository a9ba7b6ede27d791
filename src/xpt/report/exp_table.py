"""`exp show` as a rich table, CSV or Markdown, from its rows (docs/dvc-formats.md §9.5).

Layout follows DVC 3.67.1: the table shows `Experiment` (tree + sha + [name]) and
`Created`; CSV shows `Experiment,rev,typ,Created,parent`; both add `State,Executor` when
some experiment has an executor, then metrics, params and deps. `--keep/--drop` are
regexes matched at the start of a column's header; keep wins over drop and only-changed.
rich is imported only when a rich table is drawn, so `xpt` starts fast.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xpt.errors import XptError
from xpt.experiments.show_rows import ExpState, rows_from_json
from xpt.report.rows import (
    Column,
    ExpRow,
    build_columns,
    build_groups,
    find_column,
    flatten_groups,
    sort_ranges,
)
from xpt.report.text import FILL, human_time, markdown_table, ruled_table, significant
from xpt.utils.gcpause import gc_paused

if TYPE_CHECKING:
    from rich.console import Console

_HEADER_STYLES = {
    "meta": "bold",
    "metrics": "bold yellow",
    "params": "bold blue",
    "deps": "bold magenta",
}


@dataclass(frozen=True)
class Field:
    """One output column: its header, section, raw value (for filters) and table text."""

    header: str
    section: str  # "meta" | "metrics" | "params" | "deps"
    raw: Callable[[ExpRow], Any]
    text: Callable[[ExpRow], str]


FAILED = "!"
"""DVC's cell for a value whose file failed to load."""


def _value_field(column: Column, precision: int | None) -> Field:
    ident = column.ident
    return Field(
        column.label,
        column.section,
        lambda row: row.values.get(ident),
        lambda row: (
            FAILED if row.cell_failed(column) else significant(row.values.get(ident), precision)
        ),
    )


def _compile(pattern: str | None, option: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise XptError(f"invalid regular expression for {option} '{pattern}': {exc}") from exc


@dataclass(frozen=True)
class ExpTable:
    """Rows and columns of `exp show`, renderable three ways."""

    rows: Sequence[ExpRow]
    columns: Sequence[Column]
    precision: int | None = None
    keep: re.Pattern[str] | None = None
    drop: re.Pattern[str] | None = None
    only_changed: bool = False
    today: _dt.date | None = None

    @property
    def has_state(self) -> bool:
        return any(row.state or row.executor for row in self.rows)

    def _state_fields(self, fill: str) -> list[Field]:
        if not self.has_state:
            return []
        return [
            Field("State", "meta", lambda r: r.state, lambda r: r.state or fill),
            Field("Executor", "meta", lambda r: r.executor, lambda r: r.executor or fill),
        ]

    def _filter(self, fields: list[Field]) -> list[Field]:
        kept = []
        for item in fields:
            if self.keep is not None and self.keep.match(item.header):
                kept.append(item)
                continue
            if self.drop is not None and self.drop.match(item.header):
                continue
            if self.only_changed and len({_hashable(item.raw(r)) for r in self.rows}) <= 1:
                continue
            kept.append(item)
        return kept

    def table_fields(self) -> list[Field]:
        """Columns of the rich/Markdown table, after --keep/--drop/--only-changed."""
        fields = [
            Field("Experiment", "meta", lambda r: r.experiment, lambda r: r.experiment),
            Field(
                "Created",
                "meta",
                lambda r: r.timestamp,
                lambda r: human_time(r.timestamp, self.today),
            ),
            *self._state_fields(FILL),
            *(_value_field(c, self.precision) for c in self.columns),
        ]
        return self._filter(fields)

    def csv_fields(self) -> list[Field]:
        """Columns of `--csv`: raw values unless `--precision` was given (as in DVC)."""

        def meta(header: str, get: Callable[[ExpRow], Any]) -> Field:
            return Field(header, "meta", get, lambda r: _csv_cell(get(r)))

        def value(column: Column) -> Field:
            get = _getter(column)
            digits = self.precision

            def text(r: ExpRow) -> str:
                if r.cell_failed(column):
                    return FAILED
                if digits is None:
                    return _csv_cell(get(r))
                return significant(get(r), digits, fill="")

            return Field(column.label, column.section, get, text)

        fields = [
            meta("Experiment", lambda r: r.name if r.kind == "experiment" else None),
            meta("rev", lambda r: r.label),
            meta("typ", lambda r: r.typ),
            meta("Created", lambda r: r.timestamp),
            meta("parent", lambda r: None),
            *(meta(f.header, f.raw) for f in self._state_fields("")),
            *(value(c) for c in self.columns),
        ]
        return self._filter(fields)

    def to_csv(self) -> str:
        """CSV text (`\\r\\n` line ends, like DVC's csv writer)."""
        fields = self.csv_fields()
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([f.header for f in fields])
        for row in self.rows:
            writer.writerow([f.text(row) for f in fields])
        return buf.getvalue()

    def to_markdown(self) -> str:
        """A GitHub Markdown table ending in a newline."""
        fields = self.table_fields()
        body = [[f.text(row) for f in fields] for row in self.rows]
        return markdown_table([f.header for f in fields], body)

    def to_text(self, color: bool = False, width: int | None = None) -> str | None:
        """The rich table's text without rich (30× faster at 3,000 rows); None: use rich.

        `color` adds the header and row styles as ANSI codes, for a terminal; `width`
        fits the table into that many columns (`fitted_fields`).
        """
        fields = self.table_fields() if width is None else self.fitted_fields(width)
        if not fields:
            return None
        header_styles = [_HEADER_STYLES[f.section] for f in fields] if color else None
        row_styles = [_row_style(row) for row in self.rows] if color else None
        return ruled_table(
            [f.header for f in fields],
            [[f.text(row) for f in fields] for row in self.rows],
            right=[f.section == "metrics" for f in fields],
            header_styles=header_styles,
            row_styles=row_styles,
        )

    def fitted_fields(self, width: int) -> list[Field]:
        """Table fields fitting `width` columns, as DVC fits its table without a pager.

        Columns are dropped from the right (never `Experiment`) and replaced by one
        `…` column, until the table fits.
        """
        fields = self.table_fields()
        natural = [max([len(f.header), *(len(f.text(r)) for r in self.rows)]) + 2 for f in fields]
        if sum(natural) + 3 <= width:
            return fields
        kept = len(fields)
        while kept > 1 and sum(natural[:kept]) + 3 + 3 > width:
            kept -= 1
        more = Field("…", "meta", lambda r: None, lambda r: "…")
        return [*fields[:kept], more]

    def to_rich(self, console: Console, width: int | None = None) -> None:
        """Print a rich table: metrics, params and deps headers styled by group.

        `width`: fit the table into that many columns (`fitted_fields`).
        """
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.HORIZONTALS, show_edge=True, header_style="bold")
        fields = self.table_fields() if width is None else self.fitted_fields(width)
        for item in fields:
            table.add_column(
                Text(item.header),
                header_style=_HEADER_STYLES[item.section],
                justify="right" if item.section == "metrics" else "left",
                no_wrap=True,
                overflow="ellipsis",
                min_width=len(item.header) if item.section == "meta" else None,
            )
        for row in self.rows:
            # Text, not markup: "[exp-a]" must print as is
            table.add_row(*(Text(f.text(row)) for f in fields), style=_row_style(row))
        console.print(table)


def _row_style(row: ExpRow) -> str | None:
    """Baselines stand out like in DVC; rows that failed to load are dimmed."""
    if row.error:
        return "dim"
    return "bold" if row.kind != "experiment" else None


def _getter(column: Column) -> Callable[[ExpRow], Any]:
    ident = column.ident
    return lambda row: row.values.get(ident)


def _csv_cell(value: Any) -> str:
    return "" if value is None else str(value)


def _hashable(value: Any) -> Any:
    """Values compared by --only-changed (lists by their text; bools apart from ints)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list | dict):
        return str(value)
    return value


def render_exp_show(
    rows: Sequence[ExpState | Mapping[str, Any]],
    *,
    sort_by: str | None = None,
    sort_order: str = "asc",
    keep: str | None = None,
    drop: str | None = None,
    only_changed: bool = False,
    precision: int | None = None,
    param_deps: bool = False,
    sha: bool = False,
    today: _dt.date | None = None,
) -> ExpTable:
    """Build the `exp show` table from its rows (typed, or the `--json` list, DVC's too).

    `param_deps` is accepted for the CLI's sake: the list does not say which params are
    stage dependencies, so the core must already have filtered them. `sha`: baselines
    show their short sha instead of a branch or tag name (`--sha`).
    """
    del param_deps
    with gc_paused():
        groups = build_groups(rows_from_json(rows), sha)
        columns = build_columns(r for g in groups for rng in [[g.head], *g.ranges] for r in rng)
    if sort_by:
        if sort_order not in ("asc", "desc"):
            raise XptError(f"unknown sort order '{sort_order}'", hint="use `asc` or `desc`")
        groups = sort_ranges(groups, find_column(columns, sort_by), sort_order == "desc")
    return ExpTable(
        rows=flatten_groups(groups),
        columns=columns,
        precision=precision,
        keep=_compile(keep, "--keep"),
        drop=_compile(drop, "--drop"),
        only_changed=only_changed,
        today=today,
    )
