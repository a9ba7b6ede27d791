"""`exp.auto_push` / `exp.git_remote`: experiments reach the remotes as soon as they exist.

Real parts only: a bare git repo as the git remote, a local folder as the data remote,
runs through `xpt.cli.main` in-process (queued runs fork real worker children).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.func.test_exp_run import exp_refs
from tests.func.test_remote import MODEL_YAML, TRAIN_PY
from tests.helpers import TmpRepo
from xpt.config import Config
from xpt.experiments.autopush import read_settings


def remote_exps(bare: Path) -> dict[str, str]:
    """{name: sha} of the experiment refs in a bare repo."""
    res = subprocess.run(
        ["git", "--git-dir", str(bare), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=True,
    )
    refs = dict(line.split() for line in res.stdout.splitlines())
    return {ref.rsplit("/", 1)[1]: sha for ref, sha in refs.items() if ref.startswith("refs/exps/")}


def local_exps(repo: TmpRepo) -> dict[str, str]:
    return {ref.rsplit("/", 1)[1]: sha for ref, sha in exp_refs(repo).items()}


def stored(storage: Path, content: str) -> bool:
    """Whether the data remote holds the object of a file with this content."""
    md5 = hashlib.md5(content.encode()).hexdigest()
    return (storage / "files" / "md5" / md5[:2] / md5[2:]).is_file()


def bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


@pytest.fixture
def remotes(project: TmpRepo, tmp_path: Path, xpt) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """A model pipeline, a bare `origin` and a default local data remote `store`."""
    upstream = bare(tmp_path / "upstream.git")
    storage = tmp_path / "storage"
    project.gen({"params.yaml": "foo: 1\n", "dvc.yaml": MODEL_YAML, "train.py": TRAIN_PY})
    xpt("remote", "add", "-d", "store", str(storage))
    xpt("repro")
    project.commit("model pipeline")
    project.git("remote", "add", "origin", str(upstream))
    project.git("push", "-q", "origin", "main")
    return {"upstream": upstream, "storage": storage}


def test_exp_run_pushes_ref_and_data(remotes: dict[str, Path], project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    res = xpt("exp", "run", "-n", "p5", "-S", "foo=5")
    assert "Pushed experiment 'p5' to git remote 'origin'." in res.out
    assert remote_exps(remotes["upstream"]) == {"p5": local_exps(project)["p5"]}
    assert stored(remotes["storage"], "model 5")
    assert "up to date" in xpt("exp", "push", "origin", "p5").out
    assert res.err == ""


def test_off_by_default_and_when_false(remotes: dict[str, Path], project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    res = xpt("exp", "run", "-n", "p2", "-S", "foo=2")
    assert "Pushed" not in res.out
    xpt("config", "exp.auto_push", "false")
    xpt("exp", "run", "-n", "p3", "-S", "foo=3")
    xpt("exp", "save", "-n", "s3")
    assert set(local_exps(project)) == {"p2", "p3", "s3"}
    assert remote_exps(remotes["upstream"]) == {}
    assert not stored(remotes["storage"], "model 2")
    assert not stored(remotes["storage"], "model 3")


def test_unreachable_git_remote_only_warns(
    remotes: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    xpt("config", "exp.git_remote", str(tmp_path / "nowhere.git"))
    res = xpt("exp", "run", "-n", "p7", "-S", "foo=7")
    warnings = [line for line in res.err.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, res.err
    assert "nowhere.git" in warnings[0]
    assert f"`xpt exp push {tmp_path / 'nowhere.git'} p7`" in warnings[0]
    assert "p7" in local_exps(project)
    assert "Ran experiment(s): p7" in res.out


def test_exp_save_is_pushed(remotes: dict[str, Path], project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    res = xpt("exp", "save", "-n", "saved")
    assert "Pushed experiment 'saved'" in res.out
    assert remote_exps(remotes["upstream"]) == {"saved": local_exps(project)["saved"]}
    assert stored(remotes["storage"], "model 1")


def test_run_all_pushes_each_queued_experiment(
    remotes: dict[str, Path], project: TmpRepo, xpt
) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    xpt("exp", "run", "--queue", "-S", "foo=2", "-n", "q2")
    xpt("exp", "run", "--queue", "-S", "foo=4", "-n", "q4")
    xpt("exp", "run", "--run-all", "-j", "2")
    local = local_exps(project)
    assert remote_exps(remotes["upstream"]) == {"q2": local["q2"], "q4": local["q4"]}
    assert stored(remotes["storage"], "model 2") and stored(remotes["storage"], "model 4")
    assert "Pushed experiment 'q2'" in xpt("queue", "logs", "q2").out


def test_temp_run_is_pushed(remotes: dict[str, Path], project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    xpt("exp", "run", "--temp", "-S", "foo=6", "-n", "t6")
    assert remote_exps(remotes["upstream"]) == {"t6": local_exps(project)["t6"]}
    assert stored(remotes["storage"], "model 6")


def test_queued_push_failure_reaches_the_terminal(
    remotes: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    xpt("config", "exp.git_remote", "gone")
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "q3")
    terminal = tmp_path / "stderr.txt"
    saved = os.dup(2)
    with terminal.open("w") as sink:
        os.dup2(sink.fileno(), 2)  # the worker children inherit this as their stderr
        try:
            xpt("exp", "run", "--run-all")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    err = terminal.read_text()
    assert "WARNING: experiment 'q3' was not auto-pushed (git push to remote 'gone'" in err
    assert "`xpt exp push gone q3`" in err
    assert "q3" in local_exps(project)


def test_diverged_remote_experiment_only_warns(
    remotes: dict[str, Path], project: TmpRepo, xpt
) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "exp.auto_push", "true")
    xpt("exp", "run", "-n", "div", "-S", "foo=5")
    first = remote_exps(remotes["upstream"])["div"]
    res = xpt("exp", "run", "-f", "-n", "div", "-S", "foo=6")
    assert "`xpt exp push -f origin div`" in res.err
    assert remote_exps(remotes["upstream"])["div"] == first != local_exps(project)["div"]


def test_without_data_remote_only_refs_go(project: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    upstream = bare(tmp_path / "up.git")
    project.gen({"params.yaml": "foo: 1\n", "dvc.yaml": MODEL_YAML, "train.py": TRAIN_PY})
    xpt("repro")
    project.commit("model pipeline")
    project.git("remote", "add", "up", str(upstream))
    xpt("config", "exp.auto_push", "true")
    xpt("config", "exp.git_remote", "up")
    res = xpt("exp", "run", "-n", "p4", "-S", "foo=4")
    assert "only the git refs were pushed" in res.out
    assert remote_exps(upstream) == {"p4": local_exps(project)["p4"]}
    assert res.err == ""


def test_environment_wins_over_config(
    remotes: dict[str, Path], project: TmpRepo, tmp_path: Path, xpt, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    other = bare(tmp_path / "other.git")
    project.git("remote", "add", "other", str(other))
    xpt("config", "exp.auto_push", "false")
    monkeypatch.setenv("DVC_EXP_AUTO_PUSH", "true")
    monkeypatch.setenv("DVC_EXP_GIT_REMOTE", "other")
    xpt("exp", "run", "-n", "e1", "-S", "foo=8")
    assert set(remote_exps(other)) == {"e1"}
    assert remote_exps(remotes["upstream"]) == {}


def test_bad_config_value_warns_and_pushes_nothing(
    remotes: dict[str, Path], project: TmpRepo, xpt
) -> None:  # type: ignore[no-untyped-def]
    (project / ".dvc" / "config.local").write_text("[exp]\n    auto_push = maybe\n")
    res = xpt("exp", "run", "-n", "m1", "-S", "foo=9")
    assert "exp.auto_push is 'maybe'" in res.err
    assert remote_exps(remotes["upstream"]) == {}


@pytest.mark.parametrize(
    ("sections", "env", "expected"),
    [
        ({}, {}, (False, "origin")),
        ({"exp": {"auto_push": "True", "git_remote": "up"}}, {}, (True, "up")),
        ({"exp": {"auto_push": "TRUE"}}, {"DVC_EXP_AUTO_PUSH": "no"}, (False, "origin")),
        ({}, {"DVC_EXP_AUTO_PUSH": "1", "DVC_EXP_GIT_REMOTE": "x"}, (True, "x")),
        ({"exp": {"auto_push": "false"}}, {"DVC_EXP_AUTO_PUSH": "yes"}, (True, "origin")),
    ],
)
def test_settings(
    sections: dict[str, dict[str, str]], env: dict[str, str], expected: tuple[bool, str]
) -> None:
    got = read_settings(Config(sections), env)
    assert (got.enabled, got.git_remote) == expected
    assert got.problem is None
