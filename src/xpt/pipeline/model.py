"""Pipeline definitions as plain frozen data (what dvc.yaml says, after templating).

Paths inside specs are kept *as written* in dvc.yaml (relative to the stage's wdir),
because that is what dvc.lock records; `Stage.repo_path` normalises them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from xpt.utils.dvcnames import DVC_SUFFIX, DVCFILE, lockfile_for

Reader = Callable[[str], "bytes | None"]
"""Repo-relative posix path -> file content, or None when the file does not exist."""

OutKind = Literal["out", "metric", "plot"]


@dataclass(frozen=True)
class OutSpec:
    """One entry of `outs`, `metrics` or `plots`."""

    path: str
    kind: OutKind = "out"
    cache: bool = True
    persist: bool = False
    checkpoint: bool = False
    remote: str | None = None
    push: bool = True
    plot: Mapping[str, object] | None = field(default=None, compare=False)
    """Display properties of a stage plot (x, y, template, ...); None for other kinds."""


@dataclass(frozen=True)
class ParamsSpec:
    """Tracked keys of one params file; `keys=None` tracks the whole file."""

    path: str
    keys: tuple[str, ...] | None


@dataclass(frozen=True)
class Stage:
    """A resolved pipeline stage (foreach/matrix already expanded)."""

    name: str
    """Name as in dvc.lock: `train`, `gen@small`."""
    dvcfile: str
    """Repo-relative posix path of the defining file, e.g. `dvc.yaml`, `sub/dvc.yaml`."""
    wdir: str
    """Repo-relative posix working directory; `''` for the repository root."""
    cmd: str | list[str]
    deps: tuple[str, ...] = ()
    params: tuple[ParamsSpec, ...] = ()
    outs: tuple[OutSpec, ...] = ()
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None
    meta: object = field(default=None, compare=False)

    @property
    def is_dvcfile_stage(self) -> bool:
        """Defined by a single-stage `.dvc` file (`dvc add`, `dvc import`)."""
        return self.dvcfile.endswith(DVC_SUFFIX)

    @property
    def is_data_source(self) -> bool:
        """Data tracked by a `.dvc` file with nothing to run: never run, only verified."""
        return self.is_dvcfile_stage and not self.cmd

    @property
    def addressing(self) -> str:
        """How the CLI names this stage: `train`, `sub/dvc.yaml:train` or `data.xml.dvc`."""
        if self.dvcfile == DVCFILE or self.is_dvcfile_stage:
            return self.name
        return f"{self.dvcfile}:{self.name}"

    @property
    def lockfile(self) -> str:
        """Where the stage's state is recorded: `X.yaml` -> `X.lock`; a `.dvc` file itself."""
        if self.is_dvcfile_stage:
            return self.dvcfile
        return lockfile_for(self.dvcfile)

    @property
    def is_checkpoint(self) -> bool:
        return any(o.checkpoint for o in self.outs)

    def repo_path(self, path: str) -> str:
        """Normalised repo-relative posix path of a path written relative to wdir."""
        return (
            posixpath.normpath(posixpath.join(self.wdir, path))
            if self.wdir
            else posixpath.normpath(path)
        )

    def commands(self) -> list[str]:
        """The command lines to run in order (a string cmd is split into lines)."""
        if isinstance(self.cmd, list):
            return [str(c) for c in self.cmd]
        return [line for line in self.cmd.splitlines() if line.strip()]


@dataclass(frozen=True)
class Pipeline:
    """One dvc.yaml: its stages in file order plus top-level params/metrics/plots."""

    dvcfile: str
    stages: dict[str, Stage]
    params_files: tuple[str, ...] = ()
    metrics_files: tuple[str, ...] = ()
    plots: tuple[object, ...] = ()
