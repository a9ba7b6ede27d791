"""Config files: real DVC keeps working with what xpt writes, and xpt writes what DVC writes.

xpt's own `queue.*` options live in files DVC never reads (`.dvc/xpt.config`,
`.dvc/tmp/xpt/config`), because DVC refuses a whole config file holding a `[queue]` section.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.oracle_fixtures import DvcOracle, XptCmd

pytestmark = pytest.mark.compat

BROKER = "redis://broker.example:6379/0"


def _init(repo: Path, tool: DvcOracle | XptCmd) -> Path:
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    tool("init", "-q", cwd=repo)
    return repo


def _dvc_works(dvc: DvcOracle, repo: Path) -> str:
    """Commands that load and validate every config level; returns `dvc config -l`."""
    dvc("status", cwd=repo)
    dvc("exp", "show", "--no-pager", cwd=repo)
    dvc("gc", "-w", "-f", cwd=repo)
    return dvc("config", "-l", cwd=repo).stdout


def test_dvc_works_after_xpt_sets_the_queue(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt_cmd: XptCmd
) -> None:
    repo = _init(tmp_path / "repo", xpt_cmd)
    xpt_cmd("config", "queue.backend", "celery", cwd=repo)
    xpt_cmd("config", "queue.broker", BROKER, cwd=repo)
    xpt_cmd("config", "--local", "queue.visibility_timeout", "90", cwd=repo)
    xpt_cmd("config", "exp.git_remote", "up", cwd=repo)
    assert "queue" not in (repo / ".dvc" / "config").read_text()
    assert (repo / ".dvc" / "xpt.config").read_text() == (
        f"[queue]\n    backend = celery\n    broker = {BROKER}\n"
    )
    assert _dvc_works(dvc_oracle, repo) == "exp.git_remote=up\n"
    listing = xpt_cmd("config", "-l", "--show-origin", cwd=repo).stdout.splitlines()
    assert listing == [
        ".dvc/config\texp.git_remote=up",
        ".dvc/xpt.config\tqueue.backend=celery",
        f".dvc/xpt.config\tqueue.broker={BROKER}",
        ".dvc/tmp/xpt/config\tqueue.visibility_timeout=90",
    ]
    # the shared file is committed with .dvc/; the per-clone one is ignored by DVC's .gitignore
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", ".dvc"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "?? .dvc/xpt.config" in status.splitlines()
    assert "tmp/xpt/config" not in status


def test_xpt_moves_an_old_queue_section_out_of_dvc_config(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt_cmd: XptCmd
) -> None:
    repo = _init(tmp_path / "repo", xpt_cmd)
    (repo / ".dvc" / "config").write_text(
        f"[exp]\n    auto_push = false\n[queue]\n    backend = celery\n    broker = {BROKER}\n"
    )
    assert dvc_oracle("status", cwd=repo, check=False).returncode != 0  # the problem
    res = xpt_cmd("exp", "show", "--json", cwd=repo)
    assert res.stderr.count("xpt config queue.backend celery") == 1  # how to fix, said once
    xpt_cmd("config", "queue.broker", "redis://other:6379/1", cwd=repo)
    assert (repo / ".dvc" / "config").read_text() == "[exp]\n    auto_push = false\n"
    assert (repo / ".dvc" / "xpt.config").read_text() == (
        "[queue]\n    backend = celery\n    broker = redis://other:6379/1\n"
    )
    assert _dvc_works(dvc_oracle, repo) == "exp.auto_push=false\n"
    assert "WARNING" not in xpt_cmd("exp", "show", "--json", cwd=repo).stderr


REMOTE_STEPS: list[tuple[str, list[str]]] = [
    (".", ["remote", "add", "a", "../x"]),
    (".", ["config", "exp.auto_push", "true"]),
    ("sub", ["remote", "add", "-d", "b", "../y"]),
    ("sub/deep", ["remote", "add", "c", "z"]),
    ("sub", ["remote", "modify", "c", "url", "./w"]),
    (".", ["remote", "add", "s", "ssh://h/p"]),
    ("sub", ["remote", "modify", "s", "keyfile", "k.pem"]),
    (".", ["remote", "modify", "s", "user", ""]),
    (".", ["remote", "modify", "s", "password", "a,b#c"]),
    (".", ["remote", "modify", "s", "ask_password", "true"]),
    (".", ["remote", "modify", "--unset", "s", "ask_password"]),
    (".", ["remote", "add", "-f", "a", "/abs"]),
    (".", ["remote", "add", "-f", "s", "ssh://h/q"]),
    (".", ["remote", "rename", "a", "r"]),
    (".", ["remote", "default", "r"]),
    (".", ["remote", "add", "--local", "l", "../loc"]),
    ("sub", ["remote", "default", "--local", "l"]),
    (".", ["remote", "default", "-u"]),
    (".", ["remote", "remove", "b"]),
    (".", ["remote", "remove", "c"]),
    (".", ["remote", "remove", "s"]),
    (".", ["remote", "remove", "r"]),
    (".", ["config", "-u", "exp.auto_push"]),
    (".", ["remote", "remove", "--local", "l"]),
]


def _files(repo: Path) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        (repo / ".dvc" / name).read_text() if (repo / ".dvc" / name).exists() else "-"
        for name in ("config", "config.local")
    )


def test_remote_commands_write_the_files_dvc_writes(
    tmp_path: Path, dvc_oracle: DvcOracle, xpt_cmd: XptCmd
) -> None:
    made: dict[str, list[tuple[str, str]]] = {}
    for name, tool in (("dvc", dvc_oracle), ("xpt", xpt_cmd)):
        repo = _init(tmp_path / name, tool)
        (repo / "sub" / "deep").mkdir(parents=True)
        made[name] = []
        for where, args in REMOTE_STEPS:
            tool(*args, cwd=repo / where)
            made[name].append(_files(repo))
        dvc_oracle("config", "-l", cwd=repo)  # DVC accepts the files
    for step, (dvc, xpt) in enumerate(zip(made["dvc"], made["xpt"], strict=True)):
        assert xpt == dvc, REMOTE_STEPS[step]
