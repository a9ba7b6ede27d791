"""`xpt config`: the same files, names, order and messages as `dvc config`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle
from xpt.config import dvc_order
from xpt.config_schema import parse_name


def test_set_get_unset(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    config = project / ".dvc" / "config"
    xpt("config", "exp.auto_push", "true")
    assert config.read_text() == "[exp]\n    auto_push = true\n"
    xpt("config", "Exp.Git_Remote", "up")
    assert config.read_text() == "[exp]\n    auto_push = true\n    git_remote = up\n"
    assert xpt("config", "exp.git_remote").out == "up\n"
    xpt("config", "--local", "exp.auto_push", "false")
    assert (project / ".dvc" / "config.local").read_text() == "[exp]\n    auto_push = false\n"
    assert xpt("config", "exp.auto_push").out == "false\n"
    assert xpt("config", "--project", "exp.auto_push").out == "true\n"
    xpt("config", "-u", "exp.git_remote")
    xpt("config", "-u", "exp.auto_push")
    assert config.read_text() == "\n"  # what configobj writes for DVC
    res = xpt("config", "exp.auto_push", "--project", ok=False)
    assert "option 'auto_push' doesn't exist in section 'exp'" in res.err
    assert xpt("config", "core.remote").out == ""  # unset everywhere: silent, like DVC


def test_list_order_and_paths(project: TmpRepo, xpt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (project / "sub").mkdir()
    xpt("config", "exp.auto_push", "true")
    monkeypatch.chdir(project / "sub")
    xpt("config", "remote.store.url", "../storage")
    xpt("config", "core.remote", "store")
    xpt("config", "cache.type", "hardlink,symlink")
    assert (project / ".dvc" / "config").read_text() == (
        "[exp]\n    auto_push = true\n[core]\n    remote = store\n"
        '[cache]\n    type = "hardlink,symlink"\n'
        "['remote \"store\"']\n    url = ../storage\n"
    )
    assert xpt("config", "remote.store.url").out == f"{project / 'storage'}\n"
    listing = xpt("config", "-l", "--show-origin").out.splitlines()
    assert listing == [
        f".dvc/config\tremote.store.url={project / 'storage'}",
        ".dvc/config\texp.auto_push=true",
        ".dvc/config\tcore.remote=store",
        ".dvc/config\tcache.type=hardlink,symlink",
    ]


def test_global_level(project: TmpRepo, xpt, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path / "glob"))
    xpt("config", "--global", "exp.git_remote", "up")
    assert (tmp_path / "glob" / "config").read_text() == "[exp]\n    git_remote = up\n"
    assert xpt("config", "--show-origin", "exp.git_remote").out == (
        f"{tmp_path / 'glob' / 'config'}\tup\n"
    )
    monkeypatch.chdir(tmp_path)  # outside any project: the global level still works
    assert xpt("config", "exp.git_remote").out == "up\n"
    xpt("config", "exp.git_remote", "x", ok=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch.key", "1"], "unknown config section 'nosuch'"),
        (["exp.autopush", "true"], "unknown option 'autopush' in section 'exp'"),
        (["exp.auto_push", "yes"], "exp.auto_push must be true or false"),
        (["justaword"], "should look like remote.name.option"),
        (["--system", "exp.auto_push", "true"], "system config"),
        (["-l", "exp.auto_push"], "-l/--list can't be used together"),
        (["--show-origin", "exp.auto_push", "true"], "--show-origin can't be used"),
        (["remote.ghost.jobs", "4"], "remote 'ghost' doesn't exist"),
        (["-u", "remote.ghost.url"], "remote 'ghost' doesn't exist"),
        (["-u", "exp.auto_push"], "option 'auto_push' doesn't exist in section 'exp'"),
        ([], "name argument is required"),
    ],
)
def test_refusals(project: TmpRepo, xpt, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    res = xpt("config", *args, ok=False)
    assert message in res.err
    assert (project / ".dvc" / "config").read_text() == ""


def test_remote_url_cannot_be_unset(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("remote", "add", "store", "/somewhere")
    xpt("config", "remote.store.jobs", "4")
    assert "    jobs = 4\n" in (project / ".dvc" / "config").read_text()
    assert "xpt remote remove" in xpt("config", "-u", "remote.store.url", ok=False).err


def test_dvc_order_and_names() -> None:
    got = dvc_order(
        {'remote "a"': {"url": "x"}, "core": {"remote": "a"}, "exp": {}, "cache": {"x": "1"}}
    )
    assert list(got) == ["core", "cache", 'remote "a"']
    name = parse_name("remote.MyStore.URL")
    assert (name.file_section, name.option, name.is_path) == ('remote "mystore"', "url", True)


SEQUENCE = [
    ["exp.auto_push", "true"],
    ["-u", "exp.auto_push"],
    ["exp.auto_push", "true"],
    ["remote.store.url", "../storage"],
    ["core.remote", "store"],
    ["cache.type", "hardlink,symlink"],
    ["exp.git_remote", "up"],
    ["-u", "exp.auto_push"],
    ["--local", "exp.auto_push", "TRUE"],
    ["--local", "core.remote", "store"],
    ["--local", "-u", "exp.auto_push"],
]


def _snapshot(repo: Path) -> tuple[str, ...]:
    return tuple(
        (repo / ".dvc" / name).read_text() if (repo / ".dvc" / name).exists() else "-"
        for name in ("config", "config.local")
    )


@pytest.mark.compat
def test_same_files_as_dvc(tmp_path: Path, dvc_oracle: DvcOracle, xpt_cmd) -> None:  # type: ignore[no-untyped-def]
    made = {}
    for tool, run in (("dvc", dvc_oracle), ("xpt", xpt_cmd)):
        repo = tmp_path / tool
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        run("init", "-q", cwd=repo)
        states = []
        for args in SEQUENCE:
            run("config", *args, cwd=repo)
            states.append(_snapshot(repo))
        listing = run("config", "-l", "--show-origin", cwd=repo).stdout
        made[tool] = (states, listing.replace(str(repo.parent), "ROOT"))
        dvc_oracle("config", "-l", cwd=repo)  # DVC accepts the files
    assert made["xpt"] == made["dvc"]


def test_queue_options_go_to_xpt_files(project: TmpRepo, xpt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dvc = project / ".dvc"
    before = (dvc / "config").read_bytes()
    xpt("config", "queue.backend", "celery")
    xpt("config", "queue.broker", "redis://shared:6379/0")
    xpt("config", "--local", "queue.broker", "redis://mine:6379/0")
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(project / "glob"))
    xpt("config", "--global", "queue.visibility_timeout", "90")
    assert (dvc / "config").read_bytes() == before  # DVC's files never get [queue]
    assert not (dvc / "config.local").exists()
    assert (dvc / "xpt.config").read_text() == (
        "[queue]\n    backend = celery\n    broker = redis://shared:6379/0\n"
    )
    assert (
        dvc / "tmp" / "xpt" / "config"
    ).read_text() == "[queue]\n    broker = redis://mine:6379/0\n"
    assert (project / "glob" / "xpt.config").read_text() == "[queue]\n    visibility_timeout = 90\n"
    assert xpt("config", "queue.broker").out == "redis://mine:6379/0\n"
    assert xpt("config", "--show-origin", "queue.backend").out == ".dvc/xpt.config\tcelery\n"
    assert xpt("config", "-l", "--show-origin").out.splitlines() == [
        f"{project / 'glob' / 'xpt.config'}\tqueue.visibility_timeout=90",
        ".dvc/xpt.config\tqueue.backend=celery",
        ".dvc/xpt.config\tqueue.broker=redis://shared:6379/0",
        ".dvc/tmp/xpt/config\tqueue.broker=redis://mine:6379/0",
    ]
    xpt("config", "--local", "-u", "queue.broker")
    assert xpt("config", "queue.broker").out == "redis://shared:6379/0\n"
    assert "option 'broker' doesn't exist" in xpt("config", "--local", "queue.broker", ok=False).err
    assert "unknown option 'brokr'" in xpt("config", "queue.brokr", "x", ok=False).err


def test_old_queue_section_is_shown_then_moved(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    dvc = project / ".dvc"
    (dvc / "config").write_text("[queue]\n    backend = celery\n[exp]\n    auto_push = true\n")
    assert xpt("config", "--show-origin", "queue.backend").out == ".dvc/config\tcelery\n"
    assert xpt("config", "-l").out == "queue.backend=celery\nexp.auto_push=true\n"
    xpt("config", "queue.broker", "redis://h:6379/0")
    assert (dvc / "config").read_text() == "[exp]\n    auto_push = true\n"
    assert (dvc / "xpt.config").read_text() == (
        "[queue]\n    backend = celery\n    broker = redis://h:6379/0\n"
    )
    (dvc / "config.local").write_text("[queue]\n    backend = none\n")
    xpt("config", "--local", "exp.auto_push", "false")  # a DVC option: the section moves too
    assert (dvc / "config.local").read_text() == "[exp]\n    auto_push = false\n"
    assert (dvc / "tmp" / "xpt" / "config").read_text() == "[queue]\n    backend = none\n"
