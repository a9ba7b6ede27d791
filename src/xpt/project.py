"""`Project`: where a DVC/xpt project lives and the paths xpt uses inside it.

A small value object passed explicitly to every core function (no god object).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from xpt.config import Config, load_config
from xpt.errors import NotAProject
from xpt.utils.dvcnames import DVC_DIR


@dataclass(frozen=True)
class Project:
    """A project root (the folder holding `.dvc/`) and its derived paths."""

    root: Path

    @property
    def dvc_dir(self) -> Path:
        return self.root / DVC_DIR

    @property
    def tmp_dir(self) -> Path:
        return self.dvc_dir / "tmp"

    @property
    def xpt_dir(self) -> Path:
        """xpt's private state: `.dvc/tmp/xpt/`."""
        return self.tmp_dir / "xpt"

    @cached_property
    def config(self) -> Config:
        return load_config(self.dvc_dir)

    @cached_property
    def cache_dir(self) -> Path:
        configured = self.config.get("cache", "dir")
        if configured:
            path = Path(os.path.expanduser(configured))
            return path if path.is_absolute() else (self.dvc_dir / path).resolve()
        return self.dvc_dir / "cache"

    @property
    def workspace_lock(self) -> Path:
        """Held by repro / exp run for the whole run in this workspace."""
        return self.xpt_dir / "workspace.lock"

    @property
    def state_db(self) -> Path:
        """Stat-keyed hash memo. Queue workspaces point this at the parent's memo."""
        from xpt.cache.state import db_path  # loaded anyway by whoever opens the memo

        override = os.environ.get("XPT_STATE_DB")
        return Path(override) if override else db_path(self.xpt_dir)

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Project:
        """The nearest ancestor of `start` (default cwd) holding a `.dvc/` folder."""
        here = Path(start or os.getcwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / DVC_DIR).is_dir():
                return cls(candidate)
        raise NotAProject(
            f"'{here}' is not inside an xpt/DVC project (no .dvc/ folder found)",
            hint="run 'xpt init' at the root of your git repository",
        )
