"""The files the running command read: what a memoised verdict rests on (`repro/verdict.py`).

Readers of anything a "nothing to do" verdict could depend on (the workspace reader,
the dvc.yaml search, the `.dvcignore` loader, the config loader, cache reads) call
`note(path)`, present or absent: a file that appears later changes the answer as much
as one that is edited. While no verdict is being recorded a note costs one check.
The watch list is derived from these reads, so a new reader is watched without a
hand-kept list. Import-light: `xpt.fastpath` style, no imports at all.
"""

from __future__ import annotations

_paths: dict[str, bool] | None = None


def start() -> None:
    """Begin noting reads (drops any earlier log)."""
    global _paths
    _paths = {}


def note(path: str, recursive: bool = False) -> None:
    """Remember that `path` (absolute) was read; `recursive` for a folder read whole."""
    if _paths is not None:
        _paths[path] = _paths.get(path, False) or recursive


def noted() -> dict[str, bool]:
    """The paths noted so far (empty while not noting); for helpers to send back."""
    return dict(_paths or {})


def merge(paths: dict[str, bool]) -> None:
    """Add the reads a helper process made on this command's behalf."""
    for path, recursive in paths.items():
        note(path, recursive)


def stop() -> dict[str, bool]:
    """End noting; the paths noted since `start` (path -> recursive)."""
    global _paths
    found, _paths = _paths or {}, None
    return found
