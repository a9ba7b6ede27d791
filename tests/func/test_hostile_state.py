"""Hostile state (issue 17, items 5-11): stale memo verdicts, queue state after crashes,
litter of killed writers, names refused before anything runs.

End to end on real repositories: real `xpt` commands in-process or as subprocesses,
real SIGKILLs, databases and temp files crafted on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import COPY_PY
from tests.func.test_fastpath import replay, settle
from xpt import fastpath
from xpt.repro import verdict

# -- items 5-7: the memo never replays a stale verdict -----------------------------------

NESTED = {
    "copy.py": COPY_PY,
    "sub": {".dvcignore": "*.tmp\n", "data": {"a.txt": "a\n", "b.tmp": "scratch\n"}},
    "dvc.yaml": (
        "stages:\n"
        "  count:\n"
        "    cmd: ls sub/data > listing.txt\n"
        "    deps: [sub/data]\n"
        "    outs: [listing.txt]\n"
    ),
}


def _recorded(xpt, *argv: str) -> str:  # type: ignore[no-untyped-def]
    """Run a command twice (the second, settled, run records its verdict); its output."""
    xpt(*argv)
    settle()
    return str(xpt(*argv).out)


def test_nested_dvcignore_edit_is_seen(project, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    project.gen(NESTED)
    xpt("repro")
    project.commit("pipeline")
    assert _recorded(xpt, "status") == "Data and pipelines are up to date.\n"
    assert replay(capsys, "status")[0] == 0
    Path("sub/.dvcignore").write_text("*.txt\n")  # same size, in place
    assert replay(capsys, "status") == (None, "")
    assert "modified:           sub/data" in xpt("status").out


@pytest.mark.parametrize("how", ["xpt config --global", "XDG_CONFIG_HOME", "DVC_GLOBAL_CONFIG_DIR"])
def test_global_config_and_its_location_are_seen(
    project, xpt, capsys, tmp_path, monkeypatch, how
) -> None:  # type: ignore[no-untyped-def]
    project.gen({"copy.py": COPY_PY, "data.txt": "x\n"})
    project.gen(
        {
            "dvc.yaml": "stages:\n  c:\n    cmd: python copy.py data.txt c.txt\n"
            "    deps: [data.txt]\n    outs: [c.txt]\n"
        }
    )
    xpt("repro")
    project.commit("pipeline")
    _recorded(xpt, "repro")
    _recorded(xpt, "data", "status", "--json")
    assert replay(capsys, "repro")[0] == 0
    assert replay(capsys, "data", "status", "--json")[0] == 0
    elsewhere = tmp_path / "elsewhere-cache"
    if how == "xpt config --global":
        xpt("config", "--global", "cache.dir", str(elsewhere))
    else:
        conf = tmp_path / "other-conf"
        (conf / "dvc").mkdir(parents=True)
        folder = conf if how == "XDG_CONFIG_HOME" else conf / "dvc"
        (conf / "dvc" / "config").write_text(f"[cache]\n    dir = {elsewhere}\n")
        monkeypatch.setenv(how, str(folder))
    assert replay(capsys, "repro") == (None, "")
    assert replay(capsys, "data", "status", "--json") == (None, "")
    # the full path sees the new cache: c.txt is not in it, so the stage runs again
    assert "Running stage 'c'" in xpt("repro").out
    assert any(p.is_file() for p in elsewhere.rglob("*"))


CACHED_METRICS = (
    "stages:\n"
    "  train:\n"
    "    cmd: python copy.py params.yaml metrics.json\n"
    "    deps: [copy.py]\n"
    "    params: [foo]\n"
    "    metrics: [metrics.json]\n"
)


def test_exp_show_sees_metrics_leave_and_return_to_the_cache(project, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    # metrics.json is a cached output (the default): exp show reads experiments' from the cache
    project.gen({"copy.py": COPY_PY, "params.yaml": '{"foo": 1}\n', "dvc.yaml": CACHED_METRICS})
    xpt("repro")
    project.commit("pipeline")
    xpt("exp", "run", "--temp", "-S", "foo=7", "-n", "seven")  # the workspace keeps foo=1
    shown = _recorded(xpt, "exp", "show", "--json")
    assert '"foo": 7' in shown
    assert replay(capsys, "exp", "show", "--json") == (0, shown)
    aside = Path("../aside")
    aside.mkdir()
    moved = []
    for obj in Path(".dvc/cache/files/md5").rglob("*"):
        if obj.is_file():
            moved.append(obj)
            shutil.copy2(obj, aside / obj.name)
    xpt("gc", "-w", "-f")  # drops the experiment's metrics object
    assert replay(capsys, "exp", "show", "--json") == (None, "")
    after_gc = _recorded(xpt, "exp", "show", "--json")
    assert after_gc != shown
    for obj in moved:  # as a fetch would bring them back
        if not obj.exists():
            obj.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(aside / obj.name, obj)
    assert replay(capsys, "exp", "show", "--json") == (None, "")
    assert xpt("exp", "show", "--json").out == shown


def test_the_build_is_part_of_the_verdict(project, xpt, capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.gen(NESTED)
    xpt("repro")
    project.commit("pipeline")
    probe = tmp_path / "probe.py"  # stands for one of xpt's own source files
    probe.write_text("VALUE = 1\n")
    os.utime(probe, (time.time() - 60, time.time() - 60))
    module = type(sys)("xpt._probe")
    module.__file__ = str(probe)
    monkeypatch.setitem(sys.modules, "xpt._probe", module)
    _recorded(xpt, "repro")
    watched = [
        path
        for path, _rec in fastpath.load(".")[fastpath.memo_key(["repro"], os.getcwd())]["watch"]
    ]  # type: ignore[index]
    assert str(probe) in watched and fastpath.__file__ in watched and verdict.__file__ in watched
    assert replay(capsys, "repro")[0] == 0
    probe.write_text("VALUE = 2\n")  # a rebuilt / edited xpt
    assert replay(capsys, "repro") == (None, "")
    key = fastpath.memo_key(["repro"], os.getcwd())
    monkeypatch.setattr("xpt.__file__", str(tmp_path / "other-install" / "__init__.py"))
    assert fastpath.memo_key(["repro"], os.getcwd()) != key  # another install, another key


def test_xpt_no_memo_turns_the_memo_off(project, xpt, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    project.gen(NESTED)
    xpt("repro")
    project.commit("pipeline")
    _recorded(xpt, "repro")
    assert replay(capsys, "repro")[0] == 0
    monkeypatch.setenv("XPT_NO_MEMO", "1")
    assert fastpath.memo_key(["repro"], os.getcwd()) is None
    assert replay(capsys, "repro") == (None, "")
    memo = Path(".dvc/tmp/xpt") / fastpath.MEMO_NAME
    memo.unlink()
    assert "didn't change" in _recorded(xpt, "repro")
    assert not memo.exists()  # nothing recorded either
    monkeypatch.setenv("XPT_NO_MEMO", "0")
    assert fastpath.memo_key(["repro"], os.getcwd()) is not None


# -- item 11: a name too long for a ref is refused before anything runs ---------------


@pytest.mark.parametrize("queue", [False, True])
def test_name_longer_than_a_ref_allows_is_refused_first(f1, xpt, queue) -> None:  # type: ignore[no-untyped-def]
    before = {p: p.read_bytes() for p in map(Path, ("params.yaml", "metrics.yaml", "dvc.lock"))}
    refs = f1.git("for-each-ref")
    name = "n" * 251
    res = xpt("exp", "run", *(["--queue"] if queue else []), "-S", "foo=5", "-n", name, ok=False)
    assert res.rc == 1
    assert res.err.count("\n") <= 2 and "251 bytes long (at most 250)" in res.err
    assert "Traceback" not in res.err
    assert {p: p.read_bytes() for p in before} == before
    assert f1.git("for-each-ref") == refs and f1.git("status", "--porcelain") == ""
    ok = "é" * 125  # 250 bytes: the longest name git can store
    xpt("exp", "run", "-S", "foo=6", "-n", ok)
    assert ok in xpt("exp", "list").out


# -- item 8: a SIGKILLed --run-all parent: finished workers' results stand ---------------

TRAIN_WAITS = """\
import json, os, sys, time
gate = {gate!r}
open(os.path.join(gate, f"started-{{os.getpid()}}"), "w").close()
deadline = time.time() + 120
while not os.path.exists(os.path.join(gate, "go")) and time.time() < deadline:
    time.sleep(0.05)
foo = int(open("params.yaml").read().split(":")[1])
json.dump({{"score": foo * 10}}, open("metrics.json", "w"))
"""
WAITING_PIPELINE = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps: [train.py]\n"
    "    params: [foo]\n"
    "    metrics:\n"
    "    - metrics.json:\n"
    "        cache: false\n"
)


def _wait_for(what, check, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _xpt_process(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "xpt", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _exp_show_names(xpt) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    """(name, executor state) of every experiment row `exp show --json` lists."""
    rows = json.loads(xpt("exp", "show", "--json").out)
    return [
        (exp["name"], (exp.get("executor") or {}).get("state"))
        for row in rows
        for exp in row.get("experiments") or []
    ]


def test_killed_run_all_parent_keeps_finished_results(project, xpt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = tmp_path / "gate"
    gate.mkdir()
    project.gen(
        {
            "train.py": TRAIN_WAITS.format(gate=str(gate)),
            "params.yaml": "foo: 1\n",
            "dvc.yaml": WAITING_PIPELINE,
        }
    )
    (gate / "go").touch()
    xpt("repro")
    (gate / "go").unlink()
    for started in gate.iterdir():
        started.unlink()
    project.commit("pipeline")
    xpt("exp", "run", "--queue", "-S", "foo=2", "-n", "two")
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "three")
    parent = _xpt_process("exp", "run", "--run-all", "-j", "2")
    _wait_for("both experiments to start", lambda: len(list(gate.glob("started-*"))) == 2)
    parent.send_signal(signal.SIGKILL)
    assert parent.wait() == -signal.SIGKILL
    (gate / "go").touch()  # the orphaned workers finish and record their experiments

    def finished() -> list[dict[str, str]] | None:
        rows = json.loads(xpt("queue", "status", "--json").out)
        return rows if all(r["status"] not in ("Running", "Queued") for r in rows) else None

    rows = _wait_for("the orphans to finish", finished)
    assert sorted((r["name"], r["status"]) for r in rows) == [
        ("three", "Success"),
        ("two", "Success"),
    ]
    assert sorted(_exp_show_names(xpt)) == [("three", None), ("two", None)]
    assert sorted(xpt("exp", "list", "--name-only").out.split()) == ["three", "two"]


# -- item 9: a broken queue.db is moved aside and rebuilt from git ------------------------


def _break(db: Path, how: str) -> None:
    if how == "garbage":
        db.write_bytes(b"this is not a database\n" * 300)
    else:
        size = db.stat().st_size
        assert size >= 8192
        with open(db, "r+b") as f:
            f.truncate(4096)  # the schema page survives, the rows are gone


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_broken_queue_db_is_moved_aside_and_rebuilt(f1, xpt, how) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=2", "-n", "done")
    xpt("exp", "run", "--run-all")
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "alpha")
    xpt("exp", "run", "--queue", "-S", "foo=4", "-n", "beta")
    db = Path(".dvc/tmp/xpt/queue.db")
    for extra in ("-wal", "-shm"):
        assert not Path(f"{db}{extra}").exists()  # every connection closed: all rows in the file
    _break(db, how)

    res = xpt("queue", "status", "--json")
    assert res.err.startswith("WARNING: the queue database") and res.err.count("\n") == 1
    aside = Path(res.err.split("moved it to '")[1].split("'")[0])
    assert aside.parent.resolve() == db.parent.resolve() and aside.exists()
    rows = {r["name"]: r["status"] for r in json.loads(res.out)}
    assert rows == {"done": "Success", "alpha": "Queued", "beta": "Queued"}

    again = xpt("exp", "show", "--json")
    assert again.err == ""  # rebuilt once
    assert sorted(_exp_show_names(xpt)) == [("alpha", "queued"), ("beta", "queued"), ("done", None)]
    if how == "garbage":
        return  # the rest is the same for both
    xpt("exp", "remove", "alpha")
    xpt("exp", "run", "--queue", "-S", "foo=5", "-n", "gamma")
    xpt("exp", "run", "--run-all")
    assert sorted(xpt("exp", "list", "--name-only").out.split()) == ["beta", "done", "gamma"]
    rows = {r["name"]: r["status"] for r in json.loads(xpt("queue", "status", "--json").out)}
    assert rows == {"done": "Success", "beta": "Success", "gamma": "Success"}
    shown = json.loads(xpt("exp", "show", "--json").out)
    metrics = {
        exp["name"]: exp["revs"][0]["data"]["metrics"]["metrics.yaml"]["data"]["foo"]
        for row in shown
        for exp in row.get("experiments") or []
    }
    assert metrics == {"done": 2, "beta": 4, "gamma": 5}


# -- item 10: temp files of dead writers are cleaned up -----------------------------------

HOUR = 3600.0


def _dead_pid() -> int:
    """The pid of a process that was SIGKILLed (and reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.pid


def _litter(path: Path, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half-written object\n" * 100)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


BIG_OUTPUT = (
    "stages:\n"
    "  make:\n"
    "    cmd: python -c \"open('big.bin','wb').write(bytes(range(256)) * 4096)\"\n"
    "    outs: [big.bin]\n"
)


def test_gc_removes_cache_temp_files_of_dead_writers(project, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen({"dvc.yaml": BIG_OUTPUT})
    xpt("repro")
    project.commit("pipeline")
    md5 = Path("dvc.lock").read_text().split("md5: ")[1].split()[0]
    files = Path(".dvc/cache/files/md5")
    obj = files / md5[:2] / md5[2:]
    dead, me = _dead_pid(), os.getpid()
    gone = [
        _litter(files / f".staging.{dead}-1-0.tmp", 120),  # a killed repro's output copy
        _litter(files / md5[:2] / f"{md5[2:]}.{dead}-1-1.tmp", 120),
        _litter(files / f".staging.{me}-1-2.tmp", 2 * 24 * HOUR),  # nobody wrote for 2 days
    ]
    kept = [
        _litter(files / f".staging.{dead}-1-3.tmp", 5),  # its writer may be on another host
        _litter(files / f".staging.{me}-1-4.tmp", 120),  # a live writer
        _litter(files / md5[:2] / f"{md5[2:]}.{me}-1-5.tmp", 120),
    ]
    xpt("gc", "-w", "-f")
    assert [p for p in gone if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert obj.exists() and xpt("status").out == "Data and pipelines are up to date.\n"


def test_push_rerun_and_gc_cloud_remove_remote_temp_files_of_dead_pushes(
    project, xpt, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote"
    xpt("remote", "add", "-d", "store", str(remote))
    project.gen({"dvc.yaml": BIG_OUTPUT})
    xpt("repro")
    project.commit("pipeline")
    md5 = Path("dvc.lock").read_text().split("md5: ")[1].split()[0]
    folder = remote / "files" / "md5" / md5[:2]
    dead = _dead_pid()
    killed_push = _litter(folder / f".{md5[2:]}.xpt-tmp-{dead}", 120)
    fresh = _litter(folder / f".{md5[2:]}.xpt-tmp-{_dead_pid()}", 1)
    xpt("push")
    assert not killed_push.exists() and fresh.exists()
    assert (folder / md5[2:]).read_bytes() == Path("big.bin").read_bytes()
    elsewhere = _litter(remote / "files" / "md5" / "ff" / f".{'0' * 30}.xpt-tmp-{dead}", 120)
    os.utime(fresh, (time.time() - 120, time.time() - 120))
    xpt("gc", "-w", "-c", "-f")
    assert not elsewhere.exists() and not fresh.exists()
    assert (folder / md5[2:]).exists()


# -- -S: a params file outside the project is refused before anything runs ---------------


@pytest.mark.parametrize(
    "target",
    ["../outside.yaml", "{tmp}/abs.yaml", "sub/../../out.yaml", ".git/x.yaml", "link/p.yaml"],
)
def test_set_param_file_outside_the_project_is_refused(f1, xpt, tmp_path, target) -> None:  # type: ignore[no-untyped-def]
    os.symlink(tmp_path, "link")
    f1.commit("a link out")
    target = target.format(tmp=tmp_path)
    repo = Path.cwd()  # tmp_path/repo: everything else in tmp_path is outside it

    def outside() -> list[Path]:
        return sorted(p for p in tmp_path.rglob("*") if repo not in (p, *p.parents))

    before = outside()
    params = Path("params.yaml").read_bytes()
    for queue in ([], ["--queue"]):
        res = xpt("exp", "run", *queue, "-S", f"{target}:+a=1", ok=False)
        assert res.err.startswith("ERROR: ") and "Traceback" not in res.err
    assert outside() == before and Path("params.yaml").read_bytes() == params
    assert f1.git("for-each-ref", "refs/exps", "refs/xpt") == ""
