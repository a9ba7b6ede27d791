"""experiments.names: validity (git ref rules, no shadowing), default names, resolution."""

from __future__ import annotations

import pytest

from tests.helpers import TmpRepo
from xpt.errors import AmbiguousName, InvalidName, UnknownExperiment
from xpt.experiments.names import default_name, resolve, validate_name
from xpt.scm.exprefs import ExpRef
from xpt.scm.git import Git


@pytest.fixture
def git(tmp_repo: TmpRepo) -> Git:
    tmp_repo.gen({"f": "1"})
    tmp_repo.commit("one")
    tmp_repo.git("tag", "v1")
    return Git(tmp_repo)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a/b", "'/'"),
        ("fo^o", "'\\^'"),
        ("a..b", "'\\.\\.'"),
        ("a~b", "'~'"),
        ("a?b", "'\\?'"),
        ("a*b", "'\\*'"),
        ("a[b", "'\\['"),
        ("a\\b", "'\\\\'"),
        ("abc.", "ends with '\\.'"),
        ("abc.lock", "ends with '\\.lock'"),
        (".hidden", "starts with '\\.'"),
        ("a b", "whitespace"),
        ("a:b", "':'"),
        ("a@{b", "'@\\{'"),
        ("@", "'@'"),
        ("", "empty"),
    ],
)
def test_invalid_names(git: Git, name: str, why: str) -> None:
    with pytest.raises(InvalidName, match=why) as info:
        validate_name(git, name)
    assert "valid git ref components" in info.value.message


@pytest.mark.parametrize("name", ["main", "v1", "HEAD"])
def test_names_shadowing_git_revisions(git: Git, name: str) -> None:
    with pytest.raises(InvalidName, match=f"'{name}'"):
        validate_name(git, name)


@pytest.mark.parametrize("name", ["exp-1a2b3", "lucid-hems", "my_exp.v2", "A1", "main2"])
def test_valid_names(git: Git, name: str) -> None:
    validate_name(git, name)


def test_default_name() -> None:
    assert default_name("1a2b3c4d5e6f") == "exp-1a2b3"


@pytest.fixture
def exps(tmp_repo: TmpRepo) -> dict[str, object]:
    """Two baselines; 'same' exists under both, 'solo' only under the first."""
    tmp_repo.gen({"f": "1"})
    b1 = tmp_repo.commit("one")
    tmp_repo.gen({"f": "2"})
    b2 = tmp_repo.commit("two")
    git = Git(tmp_repo)
    shas = {}
    for baseline, name, content in ((b1, "same", "x"), (b2, "same", "y"), (b1, "solo", "z")):
        tmp_repo.gen({"f": content})
        sha = git.snapshot_commit(baseline, message=f"{name} {content}")
        git.set_ref(ExpRef(baseline, name).ref, sha)
        shas[(baseline, name)] = sha
    tmp_repo.git("checkout", "--", "f")
    return {"git": git, "b1": b1, "b2": b2, "shas": shas}


def test_resolve_name_prefers_baseline(exps: dict) -> None:
    git, b1, b2 = exps["git"], exps["b1"], exps["b2"]
    assert resolve(git, "same", baseline=b2) == ExpRef(b2, "same")
    assert resolve(git, "same", baseline=b1) == ExpRef(b1, "same")
    assert resolve(git, "solo", baseline=b2) == ExpRef(b1, "solo")


def test_resolve_ambiguous_name_lists_refs(exps: dict) -> None:
    git, b1, b2 = exps["git"], exps["b1"], exps["b2"]
    with pytest.raises(AmbiguousName) as info:
        resolve(git, "same", baseline=None)
    assert ExpRef(b1, "same").ref in info.value.message
    assert ExpRef(b2, "same").ref in info.value.message
    with pytest.raises(AmbiguousName):
        resolve(git, "same", baseline="0" * 40)


def test_resolve_full_ref_and_shas(exps: dict) -> None:
    git, b1, b2, shas = exps["git"], exps["b1"], exps["b2"], exps["shas"]
    full = ExpRef(b1, "same").ref
    assert resolve(git, full, baseline=b2) == ExpRef(b1, "same")
    sha = shas[(b2, "same")]
    assert resolve(git, sha, baseline=None) == ExpRef(b2, "same")
    assert resolve(git, sha[:7], baseline=None) == ExpRef(b2, "same")
    with pytest.raises(UnknownExperiment):
        resolve(git, ExpRef(b2, "missing").ref, baseline=None)


def test_resolve_checkpoint_chain_commit(exps: dict, tmp_repo: TmpRepo) -> None:
    git, b1 = exps["git"], exps["b1"]
    first = exps["shas"][(b1, "solo")]
    tip = git.create_commit([first], first, "checkpoint 2")
    git.set_ref(ExpRef(b1, "solo").ref, tip)
    assert resolve(git, first[:8], baseline=None) == ExpRef(b1, "solo")
    assert resolve(git, tip[:8], baseline=None) == ExpRef(b1, "solo")


def test_resolve_unknown_suggests_close_names(exps: dict) -> None:
    with pytest.raises(UnknownExperiment, match="'sol' does not exist") as info:
        resolve(exps["git"], "sol", baseline=None)
    assert info.value.hint is not None and "'solo'" in info.value.hint
    with pytest.raises(UnknownExperiment):
        resolve(exps["git"], "deadbeef", baseline=None)
