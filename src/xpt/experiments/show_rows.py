"""The rows of `exp show` as typed, frozen data; `to_json()` gives docs/dvc-formats.md §9.5.

`experiments/show.py` returns a list of `ExpState`: the workspace, then each baseline
with its experiments (`ExpRange`s: one commit each, or a checkpoint chain, tip first).
Queue entries carry an `ExpExecutor`. Metric and param values are the user's data and
stay untyped; the per-file results keep DVC's `{"data": ...}` / `{"error": ...}` shape,
as `metrics show --json` prints them.

`to_json()` writes DVC's key order (that of its own dataclasses), so `--json` is DVC's
text. `from_json()` reads that list back, leniently (a missing key is None), for the
report layer's tests and for JSON captured from DVC. Nothing heavy is imported here:
`report/` builds its tables from these types without git.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, TypedDict

from xpt.utils.gcpause import gc_paused

JsonObject = dict[str, Any]


class FileError(TypedDict):
    """A params or metrics file that failed to load (DVC's order: type, then msg)."""

    type: str
    msg: str


class FileResult(TypedDict, total=False):
    """One params or metrics file of a revision: `data` (the values) or `error`."""

    data: Any
    error: FileError


def file_error(type_: str, msg: str) -> FileResult:
    """The `{"error": {"type", "msg"}}` entry of a file that could not be read."""
    return {"error": {"type": type_, "msg": msg}}


@dataclass(frozen=True, slots=True)
class DepInfo:
    """A stage dependency as its lock entry records it (None: not in the lock)."""

    hash: str | None
    size: int | None
    nfiles: int | None

    def to_json(self) -> JsonObject:
        return {"hash": self.hash, "size": self.size, "nfiles": self.nfiles}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> DepInfo:
        return cls(obj.get("hash"), obj.get("size"), obj.get("nfiles"))


@dataclass(frozen=True, slots=True)
class OutInfo:
    """A stage output (not a metric or plot) as its lock entry records it."""

    hash: str | None
    size: int | None
    nfiles: int | None
    use_cache: bool
    is_data_source: bool

    def to_json(self) -> JsonObject:
        return {
            "hash": self.hash,
            "size": self.size,
            "nfiles": self.nfiles,
            "use_cache": self.use_cache,
            "is_data_source": self.is_data_source,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> OutInfo:
        return cls(
            obj.get("hash"),
            obj.get("size"),
            obj.get("nfiles"),
            bool(obj.get("use_cache", True)),
            bool(obj.get("is_data_source", False)),
        )


@dataclass(frozen=True, slots=True)
class ExpData:
    """What one revision holds: params, metrics, deps and outs (DVC's `data` object)."""

    rev: str
    timestamp: str | None
    """Commit time, local, ISO-8601 without zone; None for the workspace."""
    params: Mapping[str, FileResult]
    metrics: Mapping[str, FileResult]
    deps: Mapping[str, DepInfo]
    outs: Mapping[str, OutInfo]
    has_checkpoints: bool | None = None
    """DVC 2's `meta.has_checkpoints`: set on checkpoint chains and their baseline."""
    live: bool = False
    """`xpt ui` only: the metrics were read from a running experiment's workspace now."""

    def to_json(self) -> JsonObject:
        meta: JsonObject = {}
        if self.has_checkpoints is not None:
            meta["has_checkpoints"] = self.has_checkpoints
        if self.live:
            meta["live"] = True
        return {
            "rev": self.rev,
            "timestamp": self.timestamp,
            "params": self.params,
            "metrics": self.metrics,
            "deps": {path: dep.to_json() for path, dep in self.deps.items()},
            "outs": {path: out.to_json() for path, out in self.outs.items()},
            "meta": meta,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ExpData:
        meta = obj.get("meta") or {}
        return cls(
            rev=str(obj.get("rev") or ""),
            timestamp=obj.get("timestamp"),
            params=dict(obj.get("params") or {}),
            metrics=dict(obj.get("metrics") or {}),
            deps={p: DepInfo.from_json(d or {}) for p, d in (obj.get("deps") or {}).items()},
            outs={p: OutInfo.from_json(o or {}) for p, o in (obj.get("outs") or {}).items()},
            has_checkpoints=meta.get("has_checkpoints"),
            live=bool(meta.get("live")),
        )


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a revision could not be collected (DVC's order: msg, then type)."""

    msg: str
    type: str = ""

    def to_json(self) -> JsonObject:
        return {"msg": self.msg, "type": self.type}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> RowError:
        return cls(str(obj.get("msg") or ""), str(obj.get("type") or ""))


@dataclass(frozen=True, slots=True)
class LocalExecutor:
    """Where a queued or running experiment lives on this machine."""

    root: str | None = None
    """Its work tree while it runs."""
    log: str | None = None
    pid: int | None = None
    returncode: int | None = None
    task_id: str | None = None

    def to_json(self) -> JsonObject:
        return {
            "root": self.root,
            "log": self.log,
            "pid": self.pid,
            "returncode": self.returncode,
            "task_id": self.task_id,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LocalExecutor:
        return cls(
            obj.get("root"),
            obj.get("log"),
            obj.get("pid"),
            obj.get("returncode"),
            obj.get("task_id"),
        )


@dataclass(frozen=True, slots=True)
class ExpExecutor:
    """A queue entry's or running experiment's state; finished experiments have none."""

    state: str
    """queued | running | success | failed."""
    name: str | None
    """workspace | xpt-queue | dvc-task (DVC's queue) | tempdir."""
    local: LocalExecutor | None = None
    devices: tuple[str, ...] = ()
    """The GPU slots of a running queue entry (xpt only: written when not empty)."""

    def to_json(self) -> JsonObject:
        obj: JsonObject = {
            "state": self.state,
            "name": self.name,
            "local": self.local.to_json() if self.local is not None else None,
        }
        if self.devices:
            obj["devices"] = list(self.devices)
        return obj

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ExpExecutor:
        local = obj.get("local")
        return cls(
            state=str(obj.get("state") or ""),
            name=obj.get("name"),
            local=LocalExecutor.from_json(local) if isinstance(local, Mapping) else None,
            devices=tuple(obj.get("devices") or ()),
        )


@dataclass(frozen=True, slots=True)
class ExpState:
    """One revision: the workspace, a baseline commit (with its experiments) or an
    experiment commit."""

    rev: str
    """"workspace" or a full sha."""
    name: str | None
    """Branch or tag of a baseline; experiment name of an experiment's tip."""
    data: ExpData | None
    error: RowError | None = None
    experiments: tuple[ExpRange, ...] | None = None
    """A baseline's experiments, in display order; None elsewhere and when it has none."""

    def to_json(self) -> JsonObject:
        return {
            "rev": self.rev,
            "name": self.name,
            "data": self.data.to_json() if self.data is not None else None,
            "error": self.error.to_json() if self.error is not None else None,
            "experiments": (
                [e.to_json() for e in self.experiments] if self.experiments is not None else None
            ),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ExpState:
        data, error, exps = obj.get("data"), obj.get("error"), obj.get("experiments")
        return cls(
            rev=str(obj.get("rev") or ""),
            name=obj.get("name"),
            data=ExpData.from_json(data) if isinstance(data, Mapping) else None,
            error=RowError.from_json(error) if isinstance(error, Mapping) else None,
            experiments=tuple(ExpRange.from_json(e) for e in exps) if exps is not None else None,
        )


@dataclass(frozen=True, slots=True)
class ExpRange:
    """One experiment: its commits (a checkpoint chain has several, tip first)."""

    revs: tuple[ExpState, ...]
    executor: ExpExecutor | None
    name: str | None

    def to_json(self) -> JsonObject:
        return {
            "revs": [r.to_json() for r in self.revs],
            "executor": self.executor.to_json() if self.executor is not None else None,
            "name": self.name,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ExpRange:
        executor = obj.get("executor")
        return cls(
            revs=tuple(ExpState.from_json(r) for r in obj.get("revs") or ()),
            executor=ExpExecutor.from_json(executor) if isinstance(executor, Mapping) else None,
            name=obj.get("name"),
        )


def _pickled_as_tuples(cls: type) -> None:
    """Pickle as `cls(*fields)`: a frozen slots dataclass's default state dict costs
    several times more, and `fork_map` sends thousands of rows between processes."""
    get = attrgetter(*(f.name for f in fields(cls)))

    def reduce(self: object) -> tuple[type, tuple[Any, ...]]:
        return cls, get(self)

    setattr(cls, "__reduce__", reduce)  # noqa: B010 - mypy refuses a method assignment


for _cls in (DepInfo, OutInfo, ExpData, RowError, LocalExecutor, ExpExecutor, ExpState, ExpRange):
    _pickled_as_tuples(_cls)


def rows_to_json(rows: Sequence[ExpState]) -> list[JsonObject]:
    """The `exp show --json` list of `rows`."""
    with gc_paused():
        return [row.to_json() for row in rows]


def rows_from_json(rows: Sequence[Mapping[str, Any] | ExpState]) -> list[ExpState]:
    """Typed rows of an `exp show --json` list (docs/dvc-formats.md §9.5); typed rows pass."""
    return [r if isinstance(r, ExpState) else ExpState.from_json(r) for r in rows]
