"""`checkout --relink` recreates the link or copy of an output that already matches."""

from __future__ import annotations

import os

from tests.conftest import TmpRepo


def test_relink_replaces_a_matching_output_and_plain_checkout_leaves_it(
    project: TmpRepo, xpt
) -> None:  # type: ignore[no-untyped-def]
    project.gen({"data.txt": "1\n"})
    xpt("add", "data.txt")
    before = os.stat(project / "data.txt").st_ino
    xpt("checkout", "data.txt.dvc")
    assert os.stat(project / "data.txt").st_ino == before
    res = xpt("checkout", "--relink", "data.txt.dvc")
    assert res.out == "Relinked successfully\n"  # a relink alone is no change (as DVC)
    assert os.stat(project / "data.txt").st_ino != before
    assert (project / "data.txt").read_text() == "1\n"
