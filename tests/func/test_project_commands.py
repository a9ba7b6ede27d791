"""`root`, `version`, `cache dir`, `check-ignore`, `install` end to end."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys

from tests.helpers import TmpRepo


def test_root_from_subfolder(project: TmpRepo, xpt, monkeypatch) -> None:
    assert xpt("root").out == ".\n"
    (project / "a/b").mkdir(parents=True)
    monkeypatch.chdir(project / "a/b")
    assert xpt("root").out == "../..\n"


def test_root_outside_a_project(tmp_repo: TmpRepo, xpt) -> None:
    res = xpt("root", ok=False)
    assert "not inside an xpt/DVC project" in res.err


def test_version_reports_environment(project: TmpRepo, xpt) -> None:
    xpt("remote", "add", "-d", "store", str(project.parent / "store"))
    out = xpt("version").out
    assert out.startswith("xpt version: ")
    assert "Platform: Python" in out
    assert "\tpygit2 = " in out
    types = next(line for line in out.splitlines() if line.startswith("Cache types: "))
    assert "hardlink" in types and "symlink" in types
    assert "Remotes: local" in out
    assert "Repo: dvc, git" in out
    assert not [p for p in os.listdir(project / ".dvc/tmp") if "probe" in p]


def test_version_outside_project(tmp_path, xpt, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = xpt("version").out
    assert "xpt version" in out and "Cache types" not in out


def test_cache_dir_show_set_unset(project: TmpRepo, xpt, monkeypatch) -> None:
    assert xpt("cache", "dir").out.strip() == str(project / ".dvc/cache")
    xpt("cache", "dir", "--local", "../cc")
    assert "dir = ../../cc" in (project / ".dvc/config.local").read_text()
    assert xpt("cache", "dir").out.strip() == str(project.parent / "cc")
    xpt("cache", "dir", "--local", "-u")
    assert xpt("cache", "dir").out.strip() == str(project / ".dvc/cache")
    res = xpt("cache", "dir", "-u", ok=False)
    assert "option 'dir' doesn't exist in section 'cache'" in res.err


def test_check_ignore(project: TmpRepo, xpt, monkeypatch) -> None:
    project.gen({".dvcignore": "*.log\n!keep.log\n/build/\n", "sub/.dvcignore": "x*\n"})
    (project / "build").mkdir()
    res = xpt("check-ignore", "a.log", "keep.log", "b.txt", "sub/xy", "build/f")
    assert res.out.split() == ["a.log", "sub/xy", "build/f"]
    res = xpt("check-ignore", "-d", "a.log", "keep.log", "sub/xy")
    assert res.out.splitlines() == [
        ".dvcignore:1:*.log\ta.log",
        ".dvcignore:2:!keep.log\tkeep.log",
        "sub/.dvcignore:1:x*\tsub/xy",
    ]
    assert xpt("check-ignore", "-d", "-n", "b.txt", ok=False).out == "::\tb.txt\n"
    assert xpt("check-ignore", "b.txt", ok=False).out == ""
    monkeypatch.setattr(sys, "stdin", io.StringIO("a.log\nb.txt\n"))
    assert xpt("check-ignore", "--stdin").out == "a.log\n"


def test_check_ignore_bad_usage(project: TmpRepo, xpt) -> None:
    assert "`targets` or `--stdin` needed" in xpt("check-ignore", ok=False).err
    assert "only valid with `--details`" in xpt("check-ignore", "-n", "x", ok=False).err


def test_install_hooks_run_checkout_and_push(project: TmpRepo, xpt) -> None:
    xpt("install")
    hooks = project / ".git/hooks"
    for name in ("post-checkout", "pre-push", "pre-commit"):
        assert stat.S_IMODE((hooks / name).stat().st_mode) & 0o111
    assert "xpt checkout" in (hooks / "post-checkout").read_text()
    assert "xpt push" in (hooks / "pre-push").read_text()
    xpt("install")  # our own hooks are rewritten, not refused

    # the hook really runs on a branch checkout: a stage output comes back from the cache
    project.gen({"dvc.yaml": "stages:\n  g:\n    cmd: echo v1 > o.txt\n    outs:\n    - o.txt\n"})
    xpt("repro")
    project.commit("v1")
    project.git("checkout", "-q", "-b", "other")
    (project / "o.txt").unlink()
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    subprocess.run(["git", "checkout", "-q", "main"], cwd=project, env=env, check=True)
    assert (project / "o.txt").read_text() == "v1\n"


def test_install_refuses_foreign_hook(project: TmpRepo, xpt) -> None:
    hook = project / ".git/hooks/pre-push"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    res = xpt("install", ok=False)
    assert "Hook 'pre-push' already exists" in res.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert not (project / ".git/hooks/post-checkout").exists()
