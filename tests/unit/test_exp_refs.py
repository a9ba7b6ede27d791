"""scm.exprefs: DVC's refs/exps layout, parsing, and listing on a real repository."""

from __future__ import annotations

import pytest

from tests.helpers import TmpRepo
from xpt.scm.exprefs import (
    APPLY_STASH,
    EXEC_APPLY,
    EXEC_CHECKPOINT,
    XPT_BACKUP_PREFIX,
    XPT_QUEUE_PREFIX,
    ExpRef,
    list_experiments,
)
from xpt.scm.git import Git

BASE = "8ba078bc0d1f2e3a4b5c6d7e8f90112233445566"


def test_ref_layout() -> None:
    exp = ExpRef(BASE, "exp-1a2b3")
    assert exp.ref == "refs/exps/8b/a078bc0d1f2e3a4b5c6d7e8f90112233445566/exp-1a2b3"
    assert str(exp) == exp.ref
    assert ExpRef.parse(exp.ref) == exp


def test_constants() -> None:
    assert EXEC_APPLY == "refs/exps/exec/EXEC_APPLY"
    assert EXEC_CHECKPOINT == "refs/exps/exec/EXEC_CHECKPOINT"
    assert APPLY_STASH == "refs/exps/apply/stash"
    assert XPT_QUEUE_PREFIX == "refs/xpt/queue/"
    assert XPT_BACKUP_PREFIX == "refs/xpt/backup/"


@pytest.mark.parametrize(
    "ref",
    [
        "refs/exps/stash",
        "refs/exps/celery/stash",
        "refs/exps/celery/failed",
        "refs/exps/apply/stash",
        "refs/exps/apply/ORIG_HEAD",
        "refs/exps/exec/EXEC_APPLY",
        "refs/exps/exec/EXEC_BRANCH",
        "refs/exps/temp/head-abc",
        f"refs/exps/{BASE[:2]}/{BASE[2:]}",
        f"refs/exps/{BASE[:2]}/{BASE[2:]}/",
        f"refs/exps/{BASE[:2]}/{BASE[2:]}/a/b",
        f"refs/exps/{BASE[:2]}/{BASE[2:10]}/short",
        f"refs/exps/zz/{BASE[2:]}/nothex",
        f"refs/heads/{BASE[:2]}/{BASE[2:]}/name",
        "refs/xpt/queue/1",
    ],
)
def test_parse_rejects_internal_and_malformed(ref: str) -> None:
    assert ExpRef.parse(ref) is None


def test_list_experiments(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"f": "1"})
    first = tmp_repo.commit("one")
    tmp_repo.gen({"f": "2"})
    second = tmp_repo.commit("two")
    git = Git(tmp_repo)
    a, b, c = ExpRef(first, "a"), ExpRef(first, "b"), ExpRef(second, "a")
    for exp, sha in ((a, first), (b, second), (c, second)):
        git.set_ref(exp.ref, sha)
    git.set_ref("refs/exps/exec/EXEC_APPLY", second)
    git.set_ref("refs/exps/apply/stash", second)
    git.set_ref("refs/xpt/queue/q1", first)
    everything = list_experiments(git)
    assert sorted(everything, key=lambda p: p[0].ref) == sorted(
        [(a, first), (b, second), (c, second)], key=lambda p: p[0].ref
    )
    assert list_experiments(git, first) == [(a, first), (b, second)]
    assert list_experiments(git, second) == [(c, second)]
    assert list_experiments(git, "0" * 40) == []
