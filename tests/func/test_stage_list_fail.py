"""`stage list --all` skips dvc.yaml files that do not parse unless `--fail`; a file named
as the target is always an error (as DVC 3.67.1)."""

from __future__ import annotations

from tests.conftest import TmpRepo


def test_invalid_files_are_skipped_by_all_unless_fail(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen(
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: echo a\n",
            "sub/dvc.yaml": "stages:\n  b:\n    cmd: [1\n",
            "s2/dvc.yaml": "stages:\n  c:\n    cmdx: echo\n",
        }
    )
    assert xpt("stage", "list", "--all", "--name-only").out == "a\n"
    assert xpt("stage", "list", "--all", "--fail", ok=False).err.startswith(
        "ERROR: s2/dvc.yaml:3:5"
    )
    assert "sub/dvc.yaml" in xpt("stage", "list", "sub/dvc.yaml", ok=False).err
