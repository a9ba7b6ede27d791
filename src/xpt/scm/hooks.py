"""Git hooks that keep data in step with git (`xpt install`), the one writer of them.

Like `dvc install`: after a branch checkout the workspace data is checked out, before a
push the data is pushed, and before a commit the status is shown. A hook someone else
wrote is never overwritten.
"""

from __future__ import annotations

from pathlib import Path

from xpt.errors import ScmError
from xpt.utils.fsutil import atomic_write_text

MARK = "# installed by `xpt install`"

HOOKS: dict[str, str] = {
    # $3 is 1 for a branch checkout, 0 for a file checkout; nothing to do mid-rebase
    "post-checkout": (
        '[ "$3" = "1" ] || exit 0\n'
        'gitdir="$(git rev-parse --git-dir)"\n'
        '[ -d "$gitdir/rebase-merge" ] || [ -d "$gitdir/rebase-apply" ] && exit 0\n'
        "exec xpt checkout\n"
    ),
    "pre-push": "exec xpt push\n",
    "pre-commit": "exec xpt status\n",
}


def hook_text(body: str) -> str:
    return f"#!/bin/sh\n{MARK}\n{body}"


def install_hooks(git_dir: Path) -> list[Path]:
    """Write the hooks into `git_dir/hooks` (0755); refuse before writing any if one exists."""
    folder = git_dir / "hooks"
    for name in HOOKS:
        path = folder / name
        if path.exists() and MARK not in path.read_text(errors="replace"):
            raise ScmError(
                f"failed to install git hooks - Hook '{name}' already exists",
                hint=f"merge it by hand: add `xpt` calls to '{path}' (see `xpt install --help`)",
            )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in HOOKS.items():
        path = folder / name
        atomic_write_text(path, hook_text(body), mode=0o755)
        written.append(path)
    return written
