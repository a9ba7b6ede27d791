"""End-to-end tests of data remotes, push/pull/fetch/gc and exp push/pull/list."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.func.test_exp_run import exp_refs
from tests.helpers import TmpRepo

TRAIN_PY = """\
foo = open("params.yaml").read().split(":")[1].strip()
open("model.bin", "w").write("model " + foo)
open("metrics.json", "w").write('{"foo": ' + foo + "}")
"""

MODEL_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [foo]
    outs: [model.bin]
    metrics:
    - metrics.json:
        cache: false
"""


@pytest.fixture
def shared(project: TmpRepo, tmp_path: Path, xpt) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """F6: a bare git remote `origin` and a default local data remote."""
    upstream = tmp_path / "upstream.git"
    subprocess.run(["git", "init", "-q", "--bare", str(upstream)], check=True)
    storage = tmp_path / "storage"
    project.gen({"params.yaml": "foo: 1\n", "dvc.yaml": MODEL_YAML})
    project.gen({"train.py": TRAIN_PY})
    xpt("remote", "add", "-d", "store", str(storage))
    xpt("repro")
    project.commit("F6")
    project.git("remote", "add", "origin", str(upstream))
    project.git("push", "-q", "origin", "main")
    return {"upstream": upstream, "storage": storage}


def clone(src: Path, dest: Path) -> TmpRepo:
    subprocess.run(["git", "clone", "-q", str(src), str(dest)], check=True)
    return TmpRepo(dest)


def test_remote_config_written_like_dvc(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("remote", "add", "-d", "myremote", "/abs/path")
    text = (project / ".dvc" / "config").read_text()
    assert text == "[core]\n    remote = myremote\n['remote \"myremote\"']\n    url = /abs/path\n"
    xpt("remote", "modify", "myremote", "jobs", "4")
    assert "    jobs = 4\n" in (project / ".dvc" / "config").read_text()
    assert xpt("remote", "list").out.strip() == "myremote\t/abs/path"
    assert xpt("remote", "default").out.strip() == "myremote"
    xpt("remote", "add", "myremote", "/other", ok=False)
    xpt("remote", "remove", "myremote")
    assert (project / ".dvc" / "config").read_text() == "\n"  # as configobj writes it
    xpt("remote", "remove", "myremote", ok=False)


def test_push_then_pull_in_fresh_clone(
    shared: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    res = xpt("push")
    assert "pushed" in res.out
    assert "up to date" in xpt("push").out
    other = clone(shared["upstream"], tmp_path / "other")
    monkeypatch.chdir(other)
    xpt("pull")
    assert (other / "model.bin").read_text() == "model 1"


def test_corrupted_remote_object_refused(
    shared: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    xpt("push")
    md5 = hashlib.md5(b"model 1").hexdigest()
    obj = shared["storage"] / "files" / "md5" / md5[:2] / md5[2:]
    obj.chmod(0o644)
    obj.write_text("evil")
    other = clone(shared["upstream"], tmp_path / "other")
    monkeypatch.chdir(other)
    res = xpt("pull", ok=False)
    assert "corrupted" in res.err
    assert not (other / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).exists()


def test_no_remote_configured(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("push", ok=False)
    assert "remote" in res.err


def test_exp_push_pull_round_trip(
    shared: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "p5", "-S", "foo=5")
    head = project.git("rev-parse", "HEAD")
    res = xpt("exp", "push", "origin", "p5")
    assert "p5" in res.out
    remote_refs = subprocess.run(
        ["git", "ls-remote", str(shared["upstream"])], capture_output=True, text=True
    ).stdout
    ref = f"refs/exps/{head[:2]}/{head[2:]}/p5"
    assert ref in remote_refs
    assert (
        subprocess.run(
            ["git", "rev-parse", "main"], cwd=shared["upstream"], capture_output=True, text=True
        ).stdout.strip()
        == head
    )
    assert "p5" in xpt("exp", "list", "origin").out
    other = clone(shared["upstream"], tmp_path / "other")
    monkeypatch.chdir(other)
    xpt("exp", "pull", "origin", "p5")
    assert other.git("rev-parse", ref) == project.git("rev-parse", ref)
    shutil.rmtree(shared["storage"])  # apply must work without the network
    xpt("exp", "apply", "p5")
    assert (other / "model.bin").read_text() == "model 5"
    xpt("exp", "pull", "origin", "nope", ok=False)


def test_exp_push_diverged_needs_force(shared: dict[str, Path], project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "div", "-S", "foo=2")
    xpt("exp", "push", "origin", "div")
    xpt("exp", "run", "-n", "div", "-S", "foo=3", "-f")
    res = xpt("exp", "push", "origin", "div")
    assert "diverged" in res.err
    head = project.git("rev-parse", "HEAD")
    ref = f"refs/exps/{head[:2]}/{head[2:]}/div"
    remote_sha = subprocess.run(
        ["git", "rev-parse", ref], cwd=shared["upstream"], capture_output=True, text=True
    ).stdout.strip()
    assert remote_sha != project.git("rev-parse", ref)
    xpt("exp", "push", "-f", "origin", "div")
    remote_sha = subprocess.run(
        ["git", "rev-parse", ref], cwd=shared["upstream"], capture_output=True, text=True
    ).stdout.strip()
    assert remote_sha == project.git("rev-parse", ref)


def test_gc_keeps_workspace_and_experiments(shared: dict[str, Path], project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-n", "keep", "-S", "foo=7")
    (project / "params.yaml").write_text("foo: 8\n")
    xpt("repro")
    cache = project / ".dvc" / "cache" / "files" / "md5"

    def has(text: str) -> bool:
        md5 = hashlib.md5(text.encode()).hexdigest()
        return (cache / md5[:2] / md5[2:]).exists()

    assert has("model 7") and has("model 8") and has("model 1")
    xpt("gc", "-w", "--all-experiments", "-f")
    assert has("model 7") and has("model 8") and not has("model 1")
    xpt("gc", "-w", "-f")
    assert not has("model 7") and has("model 8")
    xpt("gc", "-f", ok=False)
    _ = (os, exp_refs)


def test_repro_pull_fetches_instead_of_running(
    shared: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    xpt("push")
    other = clone(shared["upstream"], tmp_path / "other")
    monkeypatch.chdir(other)
    res = xpt("repro", "--pull")
    assert "Running stage" not in res.out
    assert (other / "model.bin").read_text() == "model 1"


def test_exp_push_data_failure_mid_push_then_rerun_finishes(
    shared: dict[str, Path], project: TmpRepo, xpt
) -> None:  # type: ignore[no-untyped-def]
    """One object cannot be written on the data remote: non-zero exit, refs reported, rerun ok."""
    xpt("exp", "run", "-n", "p7", "-S", "foo=7")
    md5 = hashlib.md5(b"model 7").hexdigest()
    blocker = shared["storage"] / "files" / "md5" / md5[:2]
    shutil.rmtree(blocker, ignore_errors=True)
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")  # even root cannot create files below a regular file
    res = xpt("exp", "push", "origin", "p7", ok=False)
    assert res.rc != 0
    head = project.git("rev-parse", "HEAD")
    ref = f"refs/exps/{head[:2]}/{head[2:]}/p7"
    remote_refs = subprocess.run(
        ["git", "ls-remote", str(shared["upstream"])], capture_output=True, text=True, check=True
    ).stdout
    assert ref in remote_refs  # the git side arrived ...
    assert "p7" in res.out + res.err
    assert "Traceback" not in res.err and res.err.strip()  # ... and the data failure is said
    assert not (blocker.is_dir() and (blocker / md5[2:]).exists())
    blocker.unlink()
    again = xpt("exp", "push", "origin", "p7")
    assert again.rc == 0
    obj = shared["storage"] / "files" / "md5" / md5[:2] / md5[2:]
    assert obj.read_bytes() == b"model 7"
