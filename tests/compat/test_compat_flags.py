"""Flags that used to be parsed and ignored now do what DVC's do (issue 18): `exp show
--sha`, `add`/`commit --no-relink`, `commit -f`, `-R` on `status`/`checkout`/`commit`/
`push`, `--targets` of `metrics diff`/`params diff`; flags DVC 3 does not have are usage
errors in both tools."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

PIPELINE = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr]
    metrics:
    - m.json:
        cache: false
"""
TRAIN = "import json\njson.dump({'acc': 0.5}, open('m.json', 'w'))\n"


def _exp_repo(root: Path, dvc_oracle: DvcOracle) -> TmpRepo:
    root.mkdir()
    repo = TmpRepo(root)
    repo.git("init", "-q", "-b", "main")
    dvc_oracle("init", "-q", cwd=root)
    repo.gen({"dvc.yaml": PIPELINE, "params.yaml": "lr: 1\n", "train.py": TRAIN})
    dvc_oracle("repro", "-q", cwd=root)
    repo.commit("pipeline")
    dvc_oracle("exp", "run", "-q", "-S", "lr=2", "-n", "e1", cwd=root)
    return repo


def test_exp_show_sha_names_baselines_by_sha(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _exp_repo(tmp_path / "repo", dvc_oracle)
    monkeypatch.chdir(repo)
    sha = repo.git("rev-parse", "HEAD")[:7]
    for flags in (["--csv"], ["--csv", "--sha"], ["--md", "--sha"]):
        ours = xpt("exp", "show", *flags, "--drop", "Created").out
        theirs = dvc_oracle("exp", "show", *flags, "--drop", "Created").stdout
        assert ours.splitlines() == theirs.splitlines(), flags
    rows = xpt("exp", "show", "--csv", "--sha").out.splitlines()
    assert rows[2].startswith(f",{sha},baseline,") and "main" not in rows[2]


def _links(root: Path, *names: str) -> list[int]:
    return [os.stat(root / name).st_nlink for name in names]


def _data_repo(root: Path, dvc_oracle: DvcOracle) -> TmpRepo:
    root.mkdir()
    repo = TmpRepo(root)
    repo.git("init", "-q")
    dvc_oracle("init", "-q", cwd=root)
    dvc_oracle("config", "cache.type", "hardlink", cwd=root)
    repo.gen({"a.txt": "a\n", "b.txt": "b\n", "d": {"c": "c\n", "sub": {"e": "e\n"}}})
    return repo


def test_no_relink_leaves_files_unlinked_like_dvc(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = _data_repo(tmp_path / "dvc", dvc_oracle)
    ours = _data_repo(tmp_path / "xpt", dvc_oracle)
    dvc_oracle("add", "-q", "--no-relink", "a.txt", "d", cwd=theirs)
    dvc_oracle("add", "-q", "b.txt", cwd=theirs)
    monkeypatch.chdir(ours)
    xpt("add", "--no-relink", "a.txt", "d")
    xpt("add", "b.txt")
    files = ("a.txt", "b.txt", "d/c", "d/sub/e")
    assert _links(ours, *files) == _links(theirs, *files) == [1, 2, 1, 1]
    for repo in (theirs, ours):
        (repo / "b.txt").unlink()  # a new file, not an edit through the link
        (repo / "b.txt").write_text("b2\n")
    dvc_oracle("commit", "-q", "-f", "--no-relink", "b.txt.dvc", cwd=theirs)
    xpt("commit", "-f", "--no-relink", "b.txt.dvc")
    assert _links(ours, "b.txt") == _links(theirs, "b.txt") == [1]
    assert (ours / "b.txt.dvc").read_text() == (theirs / "b.txt.dvc").read_text()
    # -f also commits what did not change: the files get linked to the cache now
    dvc_oracle("commit", "-q", "-f", cwd=theirs)
    xpt("commit", "-f")
    assert _links(ours, *files) == _links(theirs, *files) == [2, 2, 2, 2]


def test_commit_force_commits_an_unchanged_stage(project: TmpRepo, xpt) -> None:
    project.gen({"data.txt": "data\n"})
    xpt("add", "data.txt")
    assert xpt("commit").out == ""
    assert xpt("commit", "-f").out == "Committed stage 'data.txt.dvc'\n"


def test_recursive_targets_are_the_dvc_files_in_a_folder(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = _data_repo(tmp_path / "dvc", dvc_oracle)
    ours = _data_repo(tmp_path / "xpt", dvc_oracle)
    for repo in (theirs, ours):
        dvc_oracle("add", "-q", "a.txt", "d/c", "d/sub/e", cwd=repo)
        for name in ("a.txt", "d/c", "d/sub/e"):
            (repo / name).unlink()
    monkeypatch.chdir(ours)
    for args in (["status", "--json", "-R", "d"], ["checkout", "-R", "d/sub"]):
        expected = dvc_oracle(*args, cwd=theirs)
        got = xpt(*args)
        assert got.out == expected.stdout, args
    assert (ours / "d/sub/e").exists() and not (ours / "d/c").exists()
    assert xpt("checkout", "-R", "d").out == "A       d/c\n"
    assert not (ours / "a.txt").exists()
    res = xpt("checkout", "-R", "nowhere", ok=False)
    assert "no dvc.yaml under 'nowhere'" in res.err


def test_push_recursive_sends_only_the_folder(project: TmpRepo, xpt, tmp_path: Path) -> None:
    project.gen({"a.txt": "a\n", "d": {"c": "c\n", "sub": {"e": "e\n"}}})
    xpt("add", "a.txt", "d/c", "d/sub/e")
    xpt("remote", "add", "-d", "store", str(tmp_path / "store"))
    assert xpt("push", "-R", "d").out == "2 files pushed\n"
    assert xpt("push").out == "1 file pushed\n"


@pytest.mark.parametrize(
    "argv",
    [["repro", "-m"], ["check-ignore", "-a", "x"], ["exp", "apply", "--force", "e1"]],
    ids=["repro -m", "check-ignore -a", "exp apply --force"],
)
def test_flags_dvc_does_not_have_are_usage_errors(
    project: TmpRepo, xpt, dvc_oracle: DvcOracle, argv: list[str]
) -> None:
    assert dvc_oracle(*argv, check=False).returncode != 0
    with pytest.raises(SystemExit) as exc:
        xpt(*argv, ok=None)
    assert exc.value.code == 2


def test_diff_targets_match_dvc(tmp_repo: TmpRepo, dvc_oracle: DvcOracle, xpt) -> None:
    dvc_oracle("init", "-q")
    tmp_repo.gen(
        {
            "dvc.yaml": "stages:\n  s:\n    cmd: echo\n    params: [lr, other.yaml:p]\n"
            "    metrics: [top.json]\n",
            "params.yaml": "lr: 1\n",
            "other.yaml": "p: 2\n",
            "top.json": '{"top": 1}',
            "md": {"m1.json": '{"a": 1}', "x.yaml": "c: 3\n", "sub": {"m2.json": '{"b": 2}'}},
        }
    )
    tmp_repo.commit("metrics and params")
    tmp_repo.gen({"params.yaml": "lr: 3\n", "other.yaml": "p: 4\n", "top.json": '{"top": 2}'})
    tmp_repo.gen({"md": {"m1.json": '{"a": 5}', "sub": {"m2.json": '{"b": 7}'}}})
    for args in (
        ["metrics", "diff", "--targets", "md/m1.json", "--json"],
        ["metrics", "diff", "--targets", "md", "--json"],
        ["metrics", "show", "-R", "md", "--json"],
        ["params", "diff", "--targets", "other.yaml", "--json"],
    ):  # DVC's order of files in a diff is a set's: compare the data
        assert json.loads(xpt(*args).out) == json.loads(dvc_oracle(*args).stdout), args
    for args in (
        ["metrics", "diff", "-R", "--targets", "md/sub"],
        ["params", "diff", "--targets", "params.yaml", "--all", "--md"],
    ):
        assert xpt(*args).out == dvc_oracle(*args).stdout, args
