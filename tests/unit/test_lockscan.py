"""The fast dvc.lock scanner agrees with the full parser, and gives up when unsure."""

from __future__ import annotations

from pathlib import Path

import pytest

from xpt.pipeline.lockfile import parse_lock, scan_hashes

LOCKS = sorted(p for p in (Path(__file__).parent.parent / "resources" / "lock").glob("*.lock"))


@pytest.mark.parametrize("path", LOCKS, ids=[p.name for p in LOCKS])
def test_scan_matches_full_parse_or_falls_back(path: Path) -> None:
    data = path.read_bytes()
    full = parse_lock(data, path.name)
    fast = scan_hashes(data)
    if fast is None:
        return
    assert set(fast) == set(full)
    for stage, entry in full.items():
        assert fast[stage]["deps"] == (entry.get("deps") or [])
        assert fast[stage]["outs"] == (entry.get("outs") or [])


def test_most_real_locks_take_the_fast_path() -> None:
    assert sum(scan_hashes(p.read_bytes()) is not None for p in LOCKS) >= len(LOCKS) - 2


@pytest.mark.parametrize(
    "text",
    [
        "schema: '2.0'\nstages:\n  a:\n    outs:\n    - path: 'q x'\n      md5: abc\n",
        "schema: '2.0'\nstages:\n  a:\n    outs:\n    - path: x\n      md5: &a abc\n",
        "# c\nschema: '2.0'\nstages: {}\n",
        "schema: '2.0'\nstages:\n  a:\n    outs:\n    - path: x\n      size: big\n",
    ],
)
def test_unusual_layouts_fall_back(text: str) -> None:
    assert scan_hashes(text.encode()) is None
