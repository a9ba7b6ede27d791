"""`status -c` / `status -r`: objects used by the workspace (and revisions) vs a local remote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.func.gen_pipeline import DVC_YAML, gen_pipeline, object_path
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

ALL_NEW = {"data": "new", "data/a.txt": "new", "data/b.txt": "new", "model.bin": "new"}


@pytest.fixture
def repo(project: TmpRepo, tmp_path: Path, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """A reproduced pipeline with a folder and a file output; a default local remote."""
    return gen_pipeline(project, tmp_path / "storage", xpt, "pipeline")


def status_json(xpt, *args: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return json.loads(xpt("status", "-c", "--json", *args).out)


def test_states_text_and_json(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    assert status_json(xpt) == ALL_NEW
    assert xpt("status", "-c").out == (
        "\tnew:                data\n"
        "\tnew:                data/a.txt\n"
        "\tnew:                data/b.txt\n"
        "\tnew:                model.bin\n"
    )
    xpt("push")
    assert xpt("status", "-c").out == "Cache and remote 'store' are in sync.\n"
    assert xpt("status", "-c", "--json").out == "{}\n"
    # only on the remote: the .dir object comes back to learn the files, so it is in sync
    shutil.rmtree(repo / ".dvc" / "cache")
    assert xpt("status", "-c").out == (
        "\tdeleted:            data/a.txt\n"
        "\tdeleted:            data/b.txt\n"
        "\tdeleted:            model.bin\n"
    )
    # in neither place; DVC's order: deleted, new, missing
    storage = tmp_path / "storage"
    object_path(storage, "model 1").unlink()
    object_path(storage, "b").unlink()
    res = xpt("status", "-c", "--json")
    assert list(json.loads(res.out).items()) == [
        ("data/a.txt", "deleted"),
        ("data/b.txt", "missing"),
        ("model.bin", "missing"),
    ]
    # a tree object found nowhere: warned, its files cannot be named
    shutil.rmtree(storage)
    shutil.rmtree(repo / ".dvc" / "cache")
    res = xpt("status", "-c")
    assert res.out == "\tmissing:            model.bin\n"
    assert "do not exist neither locally nor on remote" in res.err
    assert "name: data, md5: " in res.err


def test_new_and_missing_order(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("push")
    object_path(tmp_path / "storage", "a 1").unlink()
    object_path(repo / ".dvc" / "cache", "b").unlink()
    object_path(tmp_path / "storage", "b").unlink()
    assert list(status_json(xpt).items()) == [("data/a.txt", "new"), ("data/b.txt", "missing")]


def test_targets_and_names_relative_to_cwd(
    repo: TmpRepo, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert status_json(xpt, "model.bin") == {"model.bin": "new"}
    assert status_json(xpt, "data") == {"data": "new", "data/a.txt": "new", "data/b.txt": "new"}
    assert status_json(xpt, "data/a.txt") == {"data": "new", "data/a.txt": "new"}
    assert status_json(xpt, "gen") == ALL_NEW
    assert status_json(xpt, "dvc.yaml:gen") == ALL_NEW
    res = xpt("status", "-c", "nope", ok=False)
    assert "'nope' does not exist as an output or a stage name in 'dvc.yaml'" in res.err
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert status_json(xpt, "../model.bin") == {"../model.bin": "new"}
    assert set(status_json(xpt)) == {"../data", "../data/a.txt", "../data/b.txt", "../model.bin"}


def test_remote_flag_alone_and_errors(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("remote", "add", "other", str(tmp_path / "other"))
    res = xpt("status", "-r", "other", "model.bin")
    assert res.out == "new:                model.bin\n"  # DVC indents only with -c
    xpt("push", "-r", "other")
    assert xpt("status", "-r", "other").out == "Cache and remote 'other' are in sync.\n"
    assert status_json(xpt) == ALL_NEW  # the default remote is still empty
    assert "data remote 'nope' does not exist" in xpt("status", "-c", "-r", "nope", ok=False).err
    xpt("remote", "default", "--unset")
    assert "no data remote is configured" in xpt("status", "-c", ok=False).err


def test_all_branches_include_their_objects(repo: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("push")
    repo.git("checkout", "-q", "-b", "other")
    repo.gen({"params.yaml": "foo: 2\n"})
    xpt("repro")
    repo.commit("foo 2")
    repo.git("checkout", "-q", "main")
    xpt("checkout")
    assert status_json(xpt) == {}
    assert status_json(xpt, "-a") == {"data": "new", "data/a.txt": "new", "model.bin": "new"}


def test_many_objects_use_listings(repo: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    many = "import os\nos.makedirs('many', exist_ok=True)\n" + (
        "for i in range(150):\n    open(f'many/{i}.txt', 'w').write(str(i))\n"
    )
    repo.gen({"many.py": many})
    yaml = DVC_YAML + "  many:\n    cmd: python many.py\n    deps: [many.py]\n    outs: [many]\n"
    repo.gen({"dvc.yaml": yaml})
    xpt("repro")
    xpt("push")
    assert status_json(xpt) == {}
    object_path(tmp_path / "storage", "77").unlink()
    assert status_json(xpt) == {"many/77.txt": "new"}


@pytest.mark.compat
def test_json_matches_dvc(repo: TmpRepo, tmp_path: Path, xpt, dvc_oracle: DvcOracle) -> None:  # type: ignore[no-untyped-def]
    def both() -> tuple[dict[str, str], dict[str, str]]:
        dvc = json.loads(dvc_oracle("status", "-c", "--json").stdout)
        return dvc, status_json(xpt)

    dvc, ours = both()
    assert dvc == ours == ALL_NEW
    xpt("push")
    assert both() == ({}, {})
    # (DVC trusts a tree's files to be on the remote when its .dir object is: drop it too)
    storage = tmp_path / "storage"
    (dir_object,) = storage.rglob("*.dir")
    dir_object.unlink()
    object_path(storage, "a 1").unlink()
    object_path(repo / ".dvc" / "cache", "model 1").unlink()
    object_path(repo / ".dvc" / "cache", "b").unlink()
    dvc, ours = both()
    assert (
        dvc
        == ours
        == {
            "data": "new",
            "data/a.txt": "new",
            "data/b.txt": "deleted",
            "model.bin": "deleted",
        }
    )
    assert list(dvc_oracle("status", "-c", "model.bin").stdout.splitlines()) == (
        xpt("status", "-c", "model.bin").out.splitlines()
    )
