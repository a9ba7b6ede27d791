"""`xpt init`: make a DVC 3-compatible project in a git repository.

Writes exactly what `dvc init` writes (empty `.dvc/config`, `.dvc/.gitignore`,
`.dvcignore`, `.dvc/tmp/btime`) and stages the tracked ones in git. `force` re-creates
the files but never deletes the cache; a previous config is backed up first.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from xpt.cache.ignore import IGNORE_FILE
from xpt.config import config_path
from xpt.errors import NotAProject, XptError
from xpt.project import Project
from xpt.scm.git import Git
from xpt.scm.gitignore import GITIGNORE
from xpt.utils.fsutil import atomic_write_text, posix_rel

DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"
DVCIGNORE = (
    "# Add patterns of files dvc should ignore, which could improve\n"
    "# the performance. Learn more at\n"
    "# https://dvc.org/doc/user-guide/dvcignore\n"
)


def init_project(
    cwd: Path, *, force: bool = False, subdir: bool = False, no_scm: bool = False
) -> Path:
    """Create `.dvc/` in `cwd` (the git root unless `subdir`); returns the project root."""
    if no_scm:
        raise XptError(
            "xpt needs git: `--no-scm` projects are not supported", hint="run `git init` first"
        )
    try:
        git = Git(cwd)
    except XptError:
        raise NotAProject(
            f"'{cwd}' is not inside a git repository", hint="run `git init` first (xpt needs git)"
        ) from None
    root = cwd.resolve()
    if root != git.root.resolve() and not subdir:
        raise XptError(
            f"'{root}' is not the root of the git repository '{git.root}'",
            hint="run `xpt init` at the git root, or pass `--subdir`",
        )
    project = Project(root)
    dvc_dir = project.dvc_dir
    if dvc_dir.exists() and not force:
        raise XptError(f"'{dvc_dir}' already exists", hint="use `xpt init -f` to re-initialise")
    if force and (dvc_dir / "config").exists():
        backup = project.xpt_dir / "backup" / f"config-{time.strftime('%Y%m%d-%H%M%S')}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dvc_dir / "config", backup)
    dvc_dir.mkdir(exist_ok=True)
    atomic_write_text(dvc_dir / "config", "")
    atomic_write_text(dvc_dir / GITIGNORE, DVC_GITIGNORE)
    dvcignore = root / IGNORE_FILE
    if not dvcignore.exists():
        atomic_write_text(dvcignore, DVCIGNORE)
    tmp = project.tmp_dir
    tmp.mkdir(exist_ok=True)
    btime = tmp / "btime"
    if not btime.exists():
        btime.touch()
    rel = os.path.relpath(root, git.root)
    prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
    git.add(
        [
            prefix + posix_rel(path, root)
            for path in (config_path(dvc_dir), dvc_dir / GITIGNORE, dvcignore)
        ]
    )
    return root
