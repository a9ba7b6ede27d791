"""HEAD's commit id read from the files under `.git`, without loading pygit2.

For commands that only need to know *which* commit HEAD is (to reuse a memo keyed by
it), importing pygit2 costs more than the whole command. Anything unusual (a `.git`
file, a symbolic ref to a missing branch, an unreadable file) answers None and the
caller asks `scm/git.py`.
"""

from __future__ import annotations

import re
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{40}")


def head_sha(root: Path) -> str | None:
    """The commit HEAD points to in the repository at `root`, or None when unsure."""
    git_dir = root / ".git"
    try:
        head = (git_dir / "HEAD").read_text().strip()
    except OSError:
        return None
    if _SHA.fullmatch(head):
        return head
    if not head.startswith("ref: "):
        return None
    ref = head[5:].strip()
    if not ref.startswith("refs/") or ".." in ref:
        return None
    try:
        value = (git_dir / ref).read_text().strip()
        return value if _SHA.fullmatch(value) else None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        packed = (git_dir / "packed-refs").read_text()
    except OSError:
        return None
    for line in packed.splitlines():
        sha, _sep, name = line.partition(" ")
        if name == ref and _SHA.fullmatch(sha):
            return sha
    return None
