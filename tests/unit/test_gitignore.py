"""scm.gitignore: `.gitignore` entries for cached outputs, as DVC writes them (spec §5.5)."""

from __future__ import annotations

import pytest

from tests.helpers import TmpRepo
from xpt.errors import ScmError
from xpt.scm.git import Git
from xpt.scm.gitignore import escape, ignore_output, unignore_output


def test_escape_matches_dvc() -> None:
    assert escape("we[ir]d #n!.txt") == "we\\[ir\\]d \\#n\\!.txt"
    assert escape("a*b?c") == "a\\*b\\?c"
    assert escape("back\\sl") == "back\\\\sl"
    assert escape("plain-name.csv") == "plain-name.csv"
    assert escape("tr  ") == "tr\\ \\ "


def test_entry_goes_into_parent_directory(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"models": {"m.pkl": "m"}, "out": {"prepared": {"x": "1"}}})
    git = Git(tmp_repo)
    assert ignore_output(tmp_repo, git, "models") == str(tmp_repo / ".gitignore")
    assert ignore_output(tmp_repo, git, "out/prepared") == str(tmp_repo / "out" / ".gitignore")
    assert (tmp_repo / ".gitignore").read_text() == "/models\n"
    assert (tmp_repo / "out" / ".gitignore").read_text() == "/prepared\n"
    assert tmp_repo.git("check-ignore", "out/prepared/x") == "out/prepared/x"


def test_not_added_twice_or_when_already_ignored(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({".gitignore": "*.bin", "model.bin": "m", "data.csv": "d"})
    git = Git(tmp_repo)
    assert ignore_output(tmp_repo, git, "model.bin") is None
    assert ignore_output(tmp_repo, git, "data.csv") == str(tmp_repo / ".gitignore")
    assert ignore_output(tmp_repo, git, "data.csv") is None
    assert (tmp_repo / ".gitignore").read_text() == "*.bin\n/data.csv\n"


def test_special_characters_are_escaped_and_effective(tmp_repo: TmpRepo) -> None:
    name = "we[ir]d #n!.txt"
    tmp_repo.gen({name: "x", "wed #n!.txt": "other"})
    ignore_output(tmp_repo, Git(tmp_repo), name)
    assert (tmp_repo / ".gitignore").read_text() == "/we\\[ir\\]d \\#n\\!.txt\n"
    assert tmp_repo.git("check-ignore", name) == name
    assert tmp_repo.git("check-ignore", "wed #n!.txt", check=False) == ""


def test_tracked_output_is_refused(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"data": {"f.csv": "1"}})
    tmp_repo.commit("track data")
    with pytest.raises(ScmError, match="output 'data' is already tracked by SCM") as info:
        ignore_output(tmp_repo, Git(tmp_repo), "data")
    assert info.value.hint is not None and "git rm -r --cached 'data'" in info.value.hint
    assert not (tmp_repo / ".gitignore").exists()


def test_unignore_removes_line_and_empty_file(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"a": "1", "b": "2"})
    git = Git(tmp_repo)
    ignore_output(tmp_repo, git, "a")
    ignore_output(tmp_repo, git, "b")
    assert unignore_output(tmp_repo, git, "a") == str(tmp_repo / ".gitignore")
    assert (tmp_repo / ".gitignore").read_text() == "/b\n"
    assert unignore_output(tmp_repo, git, "a") is None
    assert unignore_output(tmp_repo, git, "b") == str(tmp_repo / ".gitignore")
    assert not (tmp_repo / ".gitignore").exists()
    assert unignore_output(tmp_repo, git, "b") is None


def test_project_in_a_subdirectory(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"proj": {"out": {"model": "m"}}})
    git = Git(tmp_repo)
    changed = ignore_output(tmp_repo / "proj", git, "out/model")
    assert changed == str(tmp_repo / "proj" / "out" / ".gitignore")
    assert tmp_repo.git("check-ignore", "proj/out/model") == "proj/out/model"
    assert ignore_output(tmp_repo / "proj", git, "out/model") is None
