"""Options of one reproduction (the flags of `repro` / `exp run`), as plain data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReproOptions:
    """What to reproduce and how; defaults are `xpt repro` with no flags."""

    targets: tuple[str, ...] = ()
    force: bool = False
    single_item: bool = False
    pipeline: bool = False
    all_pipelines: bool = False
    downstream: bool = False
    force_downstream: bool = False
    dry: bool = False
    interactive: bool = False
    keep_going: bool = False
    ignore_errors: bool = False
    no_run_cache: bool = False
    no_commit: bool = False
    allow_missing: bool = False
    pull: bool = False
    recursive: bool = False
    """Targets are directories: every dvc.yaml below them."""
    glob: bool = False
    """Targets are shell-style patterns matched against stage names."""
    """Fetch missing cached data from the default remote before reproducing."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for stage commands (DVC_EXP_NAME, ...)."""
    checkpoint_hook: Callable[[], object] | None = None
    """Called on each checkpoint signal of a checkpoint stage (exp run only)."""
    allow_checkpoints: bool = False
    """`repro` refuses checkpoint stages; `exp run` allows them."""
