"""scm/head.py: HEAD's commit read from .git files, on real repositories."""

from __future__ import annotations

from tests.helpers import TmpRepo
from xpt.scm.head import head_sha


def test_branch_detached_packed_and_unborn(tmp_repo: TmpRepo) -> None:
    assert head_sha(tmp_repo) is None  # no commit yet
    sha = tmp_repo.commit("first") if (tmp_repo / "f").write_text("x") else None
    assert head_sha(tmp_repo) == sha == tmp_repo.git("rev-parse", "HEAD")
    tmp_repo.git("pack-refs", "--all")
    assert not (tmp_repo / ".git/refs/heads/main").exists()
    assert head_sha(tmp_repo) == sha
    (tmp_repo / "f").write_text("y")
    second = tmp_repo.commit("second")
    tmp_repo.git("checkout", "-q", "--detach", sha)
    assert head_sha(tmp_repo) == sha != second
    (tmp_repo / ".git/HEAD").write_text("ref: ../../etc/passwd\n")
    assert head_sha(tmp_repo) is None
