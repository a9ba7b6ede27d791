"""The workspace lock and the fast-path memo rules live in the core (issue 18): the Python
API gets them without the CLI, and the CLI says the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import COPY_PY
from tests.helpers import TmpRepo
from xpt import fastpath
from xpt.errors import LockBusy
from xpt.experiments.plots import collect_json
from xpt.experiments.show import ShowOptions, show_json
from xpt.project import Project
from xpt.repro.checkout import checkout_project, commit_project
from xpt.repro.datastatus import run_data_status
from xpt.repro.options import ReproOptions
from xpt.repro.reproduce import run_repro
from xpt.repro.stage_status import UP_TO_DATE, run_status
from xpt.repro.transfer.sync import pull_checkout
from xpt.utils import readlog

CACHED = {
    "copy.py": COPY_PY,
    "data.txt": "input\n",
    "dvc.yaml": (
        "stages:\n"
        "  s:\n"
        "    cmd: python copy.py data.txt out.txt\n"
        "    deps: [copy.py, data.txt]\n"
        "    outs: [out.txt]\n"
    ),
}

HOLD = (
    "import os, sys\n"
    "from xpt.utils.lock import file_lock\n"
    "with file_lock(os.environ['LOCK'], 'the workspace'):\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"
)


@pytest.fixture
def cached(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """One stage with a cached output, reproduced and committed."""
    project.gen(CACHED)
    xpt("repro")
    project.commit("pipeline")
    return project


@pytest.fixture
def holder(cached: TmpRepo) -> Iterator[subprocess.Popen[str]]:
    """Another process holding `workspace.lock` (as a running `xpt repro` would)."""
    lock = Project.find().workspace_lock
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD],
        env={**os.environ, "LOCK": str(lock)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield proc
    proc.communicate("")


def _busy(holder: subprocess.Popen[str]) -> str:
    return f"the workspace is busy: locked by pid {holder.pid} (-c)"


def test_checkout_takes_the_lock(cached: TmpRepo, holder, xpt) -> None:  # type: ignore[no-untyped-def]
    (cached / "out.txt").unlink()
    with pytest.raises(LockBusy) as exc:
        checkout_project(Project.find(), None)
    assert exc.value.message == _busy(holder)
    assert xpt("checkout", ok=False).err.splitlines()[0] == f"ERROR: {_busy(holder)}"
    assert not (cached / "out.txt").exists()
    holder.communicate("")
    assert checkout_project(Project.find(), None).changed == ["out.txt"]
    assert (cached / "out.txt").read_text() == "input\n"


def test_commit_takes_the_lock(cached: TmpRepo, holder, xpt) -> None:  # type: ignore[no-untyped-def]
    before = (cached / "dvc.lock").read_text()
    (cached / "out.txt").chmod(0o644)
    (cached / "out.txt").write_text("edited by hand\n")
    with pytest.raises(LockBusy) as exc:
        commit_project(Project.find(), None)
    assert exc.value.message == _busy(holder)
    assert xpt("commit", ok=False).err.splitlines()[0] == f"ERROR: {_busy(holder)}"
    assert (cached / "dvc.lock").read_text() == before
    holder.communicate("")
    assert commit_project(Project.find(), None) == ["s"]
    assert (cached / "dvc.lock").read_text() != before


def test_pull_checkout_takes_the_lock(cached: TmpRepo, holder, xpt) -> None:  # type: ignore[no-untyped-def]
    (cached / "out.txt").unlink()
    with pytest.raises(LockBusy) as exc:
        pull_checkout(Project.find(), [])
    assert exc.value.message == _busy(holder)
    assert not (cached / "out.txt").exists()
    holder.communicate("")
    assert pull_checkout(Project.find(), []).changed == ["out.txt"]


def _settle() -> None:
    time.sleep(0.15)  # past the racy window: a verdict may be stored


def _key(*argv: str) -> str:
    key = fastpath.memo_key(list(argv), os.getcwd())
    assert key is not None
    return key


def _stored(*argv: str) -> bool:
    return _key(*argv) in fastpath.load(os.getcwd())


def _replay(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | None, str]:
    capsys.readouterr()
    code = fastpath.replay(list(argv))
    return code, capsys.readouterr().out


def _not_noting() -> bool:
    """The core stopped noting reads when it returned (stored or not)."""
    readlog.note("/probe")
    return readlog.stop() == {}


def test_status_records_only_an_up_to_date_answer(cached: TmpRepo, capsys) -> None:  # type: ignore[no-untyped-def]
    _settle()
    project = Project.find()
    data = run_status(project, None, memo_key=_key("status"), render=lambda d: UP_TO_DATE)
    assert data == {} and _not_noting()
    assert _replay(capsys, "status") == (0, f"{UP_TO_DATE}\n")

    (cached / "data.txt").write_text("other input\n")
    _settle()
    key = _key("status", "--json")
    data = run_status(project, None, memo_key=key, render=json.dumps)
    assert "s" in data and _not_noting()
    assert not _stored("status", "--json")
    assert _replay(capsys, "status")[0] is None  # the earlier verdict sees the change


def test_repro_records_only_a_no_op_and_stops_noting(cached: TmpRepo, capsys) -> None:  # type: ignore[no-untyped-def]
    project = Project.find()
    (cached / "data.txt").write_text("other input\n")
    _settle()
    result = run_repro(project, ReproOptions(), memo_key=_key("repro"))
    assert [r.outcome for r in result.results] != ["skipped"] and _not_noting()
    assert not _stored("repro")

    _settle()
    result = run_repro(project, ReproOptions(), memo_key=_key("repro"))
    assert [r.outcome for r in result.results] == ["skipped"] and _not_noting()
    code, out = _replay(capsys, "repro")
    assert code == 0 and out.endswith(f"{UP_TO_DATE}\n")


def test_data_status_records_only_a_clean_answer(cached: TmpRepo, capsys) -> None:  # type: ignore[no-untyped-def]
    _settle()
    project = Project.find()
    key = _key("data", "status", "--json")

    def render(result):  # type: ignore[no-untyped-def]
        return json.dumps(result.to_dict())

    result = run_data_status(project, git_status=False, memo_key=key, render=render)
    assert result.to_dict() == {} and _not_noting()
    assert _replay(capsys, "data", "status", "--json") == (0, "{}\n")

    (cached / "out.txt").chmod(0o644)
    (cached / "out.txt").write_text("changed\n")
    _settle()
    (cached / ".dvc/tmp/xpt" / fastpath.MEMO_NAME).unlink()
    result = run_data_status(project, git_status=False, memo_key=key, render=render)
    assert "uncommitted" in result.to_dict() and _not_noting()
    assert not _stored("data", "status", "--json")


def test_exp_show_is_not_recorded_while_the_queue_has_entries(f1: TmpRepo, xpt, capsys) -> None:  # type: ignore[no-untyped-def]
    project = Project.find()
    key = _key("exp", "show", "--json")
    xpt("exp", "run", "--queue", "-S", "foo=3")
    _settle()
    text = show_json(project, ShowOptions(), json.dumps, key)
    assert '"queued"' in text and _not_noting()
    assert not _stored("exp", "show", "--json")

    xpt("queue", "remove", "--all")
    _settle()
    text = show_json(project, ShowOptions(), json.dumps, key)
    assert '"queued"' not in text and _not_noting()
    assert _replay(capsys, "exp", "show", "--json") == (0, f"{text}\n")


PLOTS = {
    "dvc.yaml": "plots:\n- loss.json:\n    x: step\n    y: loss\n",
    "loss.json": json.dumps([{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}]),
}


def test_plots_json_is_recorded_over_commits_only(project: TmpRepo, capsys) -> None:  # type: ignore[no-untyped-def]
    project.gen(PLOTS)
    project.commit("plots")
    _settle()
    key = _key("plots", "diff", "--json", "HEAD")

    def render(collected):  # type: ignore[no-untyped-def]
        return json.dumps(sorted(r.rev for r in collected)), []

    assert collect_json(Project.find(), ["workspace", "HEAD"], [], {}, render, key) == (
        '["HEAD", "workspace"]'
    )
    assert _not_noting() and not (project / ".dvc/tmp/xpt" / fastpath.MEMO_NAME).exists()
    assert collect_json(Project.find(), ["HEAD"], [], {}, render, key) == '["HEAD"]'
    assert _not_noting()
    assert _replay(capsys, "plots", "diff", "--json", "HEAD") == (0, '["HEAD"]\n')
