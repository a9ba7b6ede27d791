"""Declared files read at any revision: git first, else the cache through the lock entry."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests import live_project
from tests.helpers import TmpRepo
from xpt.experiments.collect import read_file_at, revision_files
from xpt.project import Project


@pytest.fixture
def live(project: TmpRepo, xpt, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:  # type: ignore[no-untyped-def]
    """The dvclive-style project, reproduced with LIVE=1 and committed."""
    monkeypatch.setenv("LIVE", "1")
    project.gen(live_project.files())
    xpt("repro")
    project.commit("train")
    return project


def test_cached_dir_member_is_read_from_the_cache_at_a_commit(live: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-S", "lr=0.5", "-n", "fast")
    proj = Project(live)
    head = json.loads(read_file_at(proj, "HEAD", "eval/metrics.json") or b"null")
    exp = json.loads(read_file_at(proj, "fast", "eval/metrics.json") or b"null")
    assert head["loss"] == pytest.approx(1 / (1 + 1.0 * 2))
    assert exp["loss"] == pytest.approx(1 / (1 + 5.0 * 2))
    # git-tracked files of the experiment come from its commit
    assert json.loads(read_file_at(proj, "fast", "dvclive/metrics.json") or b"{}")["step"] == 2
    files = revision_files(proj, "fast")
    assert files.files_under("eval") == ["eval/metrics.json", "eval/plots/loss.tsv"]
    assert files.files_under("dvclive/plots") == ["dvclive/plots/metrics/acc.tsv"]
    assert files.read("eval/nothing.json") is None


def test_workspace_falls_back_to_the_cache(live: TmpRepo) -> None:
    proj = Project(live)
    shutil.rmtree(live / "eval")
    data = read_file_at(proj, "workspace", "eval/plots/loss.tsv")
    assert data is not None and data.startswith(b"step\tloss\n")


def test_bad_hashes_and_corrupt_objects_read_as_missing(live: TmpRepo) -> None:
    proj = Project(live)
    shutil.rmtree(live / "eval")
    files = revision_files(proj)
    (entry,) = [o for o in files.outs if o.path == "eval"]
    tree = proj.cache_dir / "files" / "md5" / entry.md5[:2] / entry.md5[2:]
    (member,) = [m for r, m in _tree(tree) if r == "metrics.json"]
    obj = proj.cache_dir / "files" / "md5" / member[:2] / member[2:]
    os.chmod(obj, 0o644)
    obj.write_text('{"loss": 99}')
    os.chmod(obj, 0o444)
    assert read_file_at(proj, "workspace", "eval/metrics.json") is None
    lock = (live / "dvc.lock").read_text().replace(entry.md5, "../../../../etc/passwd")
    (live / "dvc.lock").write_text(lock)
    assert revision_files(proj).outs == []
    assert read_file_at(proj, "workspace", "eval/plots/loss.tsv") is None


def _tree(path: object) -> list[tuple[str, str]]:
    with open(path, "rb") as f:  # type: ignore[call-overload]
        return [(i["relpath"], i["md5"]) for i in json.loads(f.read())]


def test_metrics_show_targets(live: TmpRepo, xpt, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    shown = json.loads(xpt("metrics", "show", "eval/metrics.json", "--json").out)
    assert list(shown[""]["data"]) == ["eval/metrics.json"]
    assert shown[""]["data"]["eval/metrics.json"]["data"]["epochs"] == 3
    folder = json.loads(xpt("metrics", "show", "dvclive", "--json").out)[""]["data"]
    assert sorted(folder) == ["dvclive/metrics.json", "dvclive/plots/metrics/acc.tsv"]
    missing = json.loads(xpt("metrics", "show", "nothere.json", "--json").out)[""]["data"]
    assert missing["nothere.json"]["error"]["type"] == "FileNotFoundError"
    monkeypatch.chdir(live / "dvclive")
    inside = json.loads(xpt("metrics", "show", "metrics.json", "-a", "--json").out)
    assert inside["main"]["data"]["dvclive/metrics.json"]["data"]["step"] == 2
