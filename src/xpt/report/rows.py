"""Flatten the `exp show` rows (`experiments/show_rows.py`) into table rows and columns.

Each baseline keeps its place; its experiments may be sorted (`--sort-by`) and are then
drawn as a tree: `├──`/`└──` for single commits, `│ ╓`/`│ ╟`/`├─╨` for checkpoint
chains (tip first). Values are kept raw here; formatting belongs to the outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from xpt.errors import XptError
from xpt.experiments.show_rows import ExpData, ExpRange, ExpState, RowError
from xpt.pipeline.params import flatten

SECTIONS = ("metrics", "params", "deps")

ColumnKey = tuple[str, str, str]
"""(section, file or dep path, flattened key; "" for deps)."""


@dataclass(frozen=True)
class Column:
    """One metric, param or dep column; `label` is the bare key unless it is ambiguous."""

    section: str
    path: str
    key: str
    label: str

    @property
    def ident(self) -> ColumnKey:
        return (self.section, self.path, self.key)

    @property
    def full(self) -> str:
        return f"{self.path}:{self.key}" if self.section != "deps" else self.path


@dataclass(frozen=True)
class ExpRow:
    """One line of the table: the workspace, a baseline commit or an experiment commit."""

    kind: str  # "workspace" | "baseline" | "experiment"
    rev: str
    name: str | None
    timestamp: str | None
    values: Mapping[ColumnKey, Any]
    state: str | None = None
    executor: str | None = None
    typ: str = "baseline"
    tree: str = ""
    error: RowError | None = field(default=None, compare=False)
    failed: frozenset[tuple[str, str]] = frozenset()
    """(section, file) pairs that failed to load: their cells show DVC's `!`."""

    def cell_failed(self, column: Column) -> bool:
        return (column.section, column.path) in self.failed

    @property
    def short_rev(self) -> str:
        return self.rev if self.kind == "workspace" else self.rev[:7]

    @property
    def label(self) -> str:
        """The CSV `rev` cell: workspace, branch/tag name or short sha."""
        if self.kind == "experiment":
            return self.short_rev
        return self.name or self.short_rev

    @property
    def experiment(self) -> str:
        """The table's first cell: tree marker, short sha and `[name]`."""
        if self.kind != "experiment":
            return self.label
        text = f"{self.tree} {self.short_rev}" if self.tree else self.short_rev
        return f"{text} [{self.name}]" if self.name else text


def row_values(data: ExpData | None) -> dict[ColumnKey, Any]:
    """Flattened metrics/params and dep hashes of one revision's `data`."""
    values: dict[ColumnKey, Any] = {}
    if data is None:
        return values
    for section, files in (("metrics", data.metrics), ("params", data.params)):
        for path, item in files.items():
            content = item.get("data") if isinstance(item, Mapping) else None
            if not isinstance(content, Mapping):
                continue
            for key, value in flatten(dict(content)).items():
                if section == "metrics" and not isinstance(value, str | int | float):
                    continue  # metrics drop lists and nulls
                values[(section, path, key)] = value
    for path, dep in sorted(data.deps.items()):
        values[("deps", path, "")] = dep.hash
    return values


def failed_files(data: ExpData | None) -> frozenset[tuple[str, str]]:
    """(section, path) of the metrics/params files carrying an error entry."""
    if data is None:
        return frozenset()
    return frozenset(
        (section, path)
        for section, files in (("metrics", data.metrics), ("params", data.params))
        for path, item in files.items()
        if isinstance(item, Mapping) and item.get("error")
    )


def _state(
    rev: ExpState,
    kind: str,
    name: str | None = None,
    state: str | None = None,
    executor: str | None = None,
) -> ExpRow:
    """The row of one revision; `name` stands in for a missing one."""
    return ExpRow(
        kind=kind,
        rev=rev.rev,
        name=rev.name or name,
        timestamp=rev.data.timestamp if rev.data is not None else None,
        values=row_values(rev.data),
        state=state,
        executor=executor,
        error=rev.error,
        failed=failed_files(rev.data),
    )


def _capital(text: Any) -> str | None:
    return str(text).capitalize() if text else None


def _range_rows(exp_range: ExpRange) -> list[ExpRow]:
    executor = exp_range.executor
    state = _capital(executor.state) if executor is not None else None
    name = _capital(executor.name) if executor is not None else None
    if name and executor is not None and executor.devices:
        name += f" (GPU {','.join(executor.devices)})"
    return [
        _state(rev, "experiment", exp_range.name if i == 0 else None, state, name)
        for i, rev in enumerate(exp_range.revs)
    ]


@dataclass(frozen=True)
class Group:
    """A baseline row (or the workspace) and its experiments, one list per experiment."""

    head: ExpRow
    ranges: list[list[ExpRow]]


def build_groups(states: Iterable[ExpState], sha: bool = False) -> list[Group]:
    """The `exp show` rows as groups, experiments in the given (core) order; `sha`
    (`--sha`): baselines named by their short sha, not their branch or tag."""
    groups = []
    for state in states:
        kind = "workspace" if state.rev == "workspace" else "baseline"
        ranges = [_range_rows(r) for r in state.experiments or ()]
        head = _state(state, kind)
        if sha and kind == "baseline":
            head = replace(head, name=None)
        groups.append(Group(head, [r for r in ranges if r]))
    return groups


def build_columns(rows: Iterable[ExpRow]) -> list[Column]:
    """Metrics, then params (file and key order of first appearance), then deps sorted by path."""
    seen: dict[str, dict[str, list[str]]] = {s: {} for s in SECTIONS}
    for row in rows:
        for section, path, key in row.values:
            keys = seen[section].setdefault(path, [])
            if key not in keys:
                keys.append(key)
    counts: dict[str, int] = {}
    for section in ("metrics", "params"):
        for keys in seen[section].values():
            for key in keys:
                counts[key] = counts.get(key, 0) + 1
    columns = []
    for section in ("metrics", "params"):
        for path, keys in seen[section].items():
            for key in keys:
                label = key if counts[key] == 1 else f"{path}:{key}"
                columns.append(Column(section, path, key, label))
    for path in sorted(seen["deps"]):
        columns.append(Column("deps", path, "", path))
    return columns


def find_column(columns: Sequence[Column], name: str) -> Column:
    """The metric/param column `--sort-by NAME` means: `file:key` or an unambiguous key."""
    candidates = [c for c in columns if c.section != "deps"]
    for column in candidates:
        if column.full == name:
            return column
    bare = [c for c in candidates if c.key == name]
    if len(bare) == 1:
        return bare[0]
    if bare:
        matched = ", ".join(c.full for c in bare)
        raise XptError(
            f"ambiguous sort column '{name}' matched '{matched}'",
            hint=f"name the file too, e.g. `--sort-by {bare[0].full}`",
        )
    raise XptError(
        f"unknown sort column '{name}'",
        hint="pass a metric or param shown by `xpt exp show`, as `key` or `file:key`",
    )


def _sort_key(value: Any) -> tuple[Any, ...]:
    """Numbers before strings before anything else; missing values sort as the largest."""
    if value is None:
        return (3,)
    if isinstance(value, int | float):
        return (0, float(value), "")
    if isinstance(value, str):
        return (1, 0.0, value)
    return (2, 0.0, str(value))


def sort_ranges(groups: list[Group], column: Column, descending: bool) -> list[Group]:
    """Experiments of each baseline ordered by their tip's value (stable, DVC's order)."""

    def key(exp_range: list[ExpRow]) -> tuple[Any, ...]:
        return _sort_key(exp_range[0].values.get(column.ident))

    return [Group(g.head, sorted(g.ranges, key=key, reverse=descending)) for g in groups]


def _mark(exp_range: list[ExpRow], last: bool) -> list[ExpRow]:
    if len(exp_range) == 1:
        tree, typ = ("└──", "branch_base") if last else ("├──", "branch_commit")
        return [replace(exp_range[0], tree=tree, typ=typ)]
    marked = []
    for i, row in enumerate(exp_range):
        if i == 0:
            tree, typ = "│ ╓", "checkpoint_tip"
        elif i == len(exp_range) - 1:
            tree, typ = "├─╨", "checkpoint_base"
        else:
            tree, typ = "│ ╟", "checkpoint_commit"
        marked.append(replace(row, tree=tree, typ=typ))
    return marked


def flatten_groups(groups: Iterable[Group]) -> list[ExpRow]:
    """Rows in display order, with tree markers and CSV `typ` filled in."""
    rows: list[ExpRow] = []
    for group in groups:
        rows.append(group.head)
        for i, exp_range in enumerate(group.ranges):
            rows.extend(_mark(exp_range, last=i == len(group.ranges) - 1))
    return rows
