"""The queue's rules through the Python API (`experiments/queue_verbs.py`), no CLI:
the same checks and outcomes `xpt exp run --queue` and `xpt queue …` render."""

from __future__ import annotations

import time

import pytest

from tests.helpers import TmpRepo
from xpt.errors import ExperimentError, QueueError, UnknownExperiment
from xpt.experiments import queue_verbs as qv
from xpt.experiments.local_worker import stop_queue
from xpt.experiments.queue_db import Entry, read_state
from xpt.experiments.queue_files import has_queue
from xpt.experiments.run import ExpRunRequest
from xpt.project import Project
from xpt.scm.git import Git


def _queue(project: Project, *params: str, name: str | None = None) -> qv.QueueRunResult:
    return qv.exp_run_queue(project, ExpRunRequest(set_params=params, name=name, queue=True))


def _exp_names(repo: TmpRepo) -> set[str]:
    refs = Git(repo).list_refs("refs/exps/")
    return {ref.rsplit("/", 1)[1] for ref in refs if "/exec/" not in ref}


def test_rev_with_run_all_alone_is_refused_by_the_request() -> None:
    with pytest.raises(QueueError, match="`--rev` picks the checkpoint"):
        ExpRunRequest(rev="exp-1", run_all=True)
    # queued or temp runs may start from a checkpoint, and so may a workspace run
    assert ExpRunRequest(rev="exp-1", run_all=True, queue=True).rev == "exp-1"
    assert ExpRunRequest(rev="exp-1", temp=True).rev == "exp-1"
    assert ExpRunRequest(rev="exp-1").rev == "exp-1"


def test_the_run_all_rule_comes_before_the_reset_rule() -> None:
    with pytest.raises(QueueError, match="`--rev` picks the checkpoint"):
        ExpRunRequest(rev="exp-1", run_all=True, reset=True)
    with pytest.raises(ExperimentError, match="cannot be combined"):
        ExpRunRequest(rev="exp-1", queue=True, reset=True)


def test_gpus_are_shared_out_only_by_run_all() -> None:
    with pytest.raises(QueueError, match="`--gpus` shares devices"):
        ExpRunRequest(queue=True, gpus="0,1")
    with pytest.raises(QueueError, match="`--gpus` shares devices"):
        ExpRunRequest(temp=True, gpus_per_exp=2)
    assert ExpRunRequest(run_all=True, gpus="0,1").gpus == "0,1"


def test_queue_only_queues_and_tells_before_running(f1: TmpRepo) -> None:
    project = Project(f1)
    seen: list[qv.Queued] = []
    request = ExpRunRequest(set_params=("foo=2,3",), queue=True)
    result = qv.exp_run_queue(project, request, on_queued=seen.append)
    assert result.summary is None  # nothing ran
    assert result.queued is not None and len(result.queued.entries) == 2
    assert not result.queued.distributed
    assert seen == [result.queued]
    assert _exp_names(f1) == set()
    assert [r["status"] for r in qv.status(project).rows] == ["Queued", "Queued"]


def test_temp_runs_its_own_entry_only(f1: TmpRepo) -> None:
    project = Project(f1)
    _queue(project, "foo=2", name="waits")
    states: list[tuple[str, str]] = []
    result = qv.exp_run_queue(
        project,
        ExpRunRequest(set_params=("foo=5",), name="now", temp=True),
        report=lambda state, entry: states.append((state, entry.label)),
    )
    assert result.summary is not None
    assert [e.label for e in result.summary.done] == ["now"]
    assert states == [("running", "now"), ("success", "now")]
    assert _exp_names(f1) == {"now"}
    rows = {r["name"]: r["status"] for r in qv.status(project).rows}
    assert rows == {"waits": "Queued", "now": "Success"}


def test_run_all_runs_what_is_queued(f1: TmpRepo) -> None:
    project = Project(f1)
    _queue(project, "foo=2", name="a")
    _queue(project, "foo=3", name="b")
    result = qv.exp_run_queue(project, ExpRunRequest(run_all=True, jobs=2))
    assert result.queued is None
    assert result.summary is not None
    assert sorted(e.label for e in result.summary.done) == ["a", "b"]
    assert _exp_names(f1) == {"a", "b"}


def test_logs_raw_decoded_and_refused(f1: TmpRepo) -> None:
    project = Project(f1)
    (f1 / "copy.py").write_text(
        "import shutil, sys\nprint('caf\\u00e9')\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"
    )
    f1.commit("prints")
    qv.exp_run_queue(project, ExpRunRequest(name="talks", temp=True))
    raw = b"".join(c for c in qv.logs(project, qv.LogsRequest("talks")) if isinstance(c, bytes))
    assert "café".encode() in raw
    text = "".join(
        c
        for c in qv.logs(project, qv.LogsRequest("talks", encoding="latin-1"))
        if isinstance(c, str)
    )
    assert "cafÃ©" in text  # the utf-8 bytes read as latin-1
    with pytest.raises(QueueError, match="unknown encoding 'nope'"):
        qv.logs(project, qv.LogsRequest("talks", encoding="nope"))  # checked before it returns
    with pytest.raises(UnknownExperiment, match="unknown queue entry 'ghost'"):
        qv.logs(project, qv.LogsRequest("ghost"))


def test_remove_needs_names_or_states(f1: TmpRepo) -> None:
    project = Project(f1)
    _queue(project, "foo=2", name="a")
    qv.exp_run_queue(project, ExpRunRequest(set_params=("foo=3",), name="done", temp=True))
    with pytest.raises(QueueError, match="nothing to remove"):
        qv.remove(project, qv.QueueRemoveRequest())
    assert qv.remove(project, qv.QueueRemoveRequest(success=True)) == ["done"]
    assert [e.label for e in read_state(project.xpt_dir).entries] == ["a"]
    assert qv.QueueRemoveRequest(all=True, failed=True).states[-1].value == "failed"
    assert qv.remove(project, qv.QueueRemoveRequest(("a",))) == ["a"]
    assert read_state(project.xpt_dir).entries == []


def test_kill_refuses_entries_that_are_not_running(f1: TmpRepo) -> None:
    project = Project(f1)
    _queue(project, "foo=2", name="a")
    with pytest.raises(QueueError, match="not running: a"):
        qv.kill(project, qv.KillRequest(("a",)))
    with pytest.raises(UnknownExperiment):
        qv.kill(project, qv.KillRequest(("ghost",)))


def test_no_database_reads_as_an_empty_queue(project: TmpRepo) -> None:
    from xpt.web.data import queue_panel

    proj = Project(project)
    assert queue_panel(proj) == {"entries": [], "workers": 0}
    assert not has_queue(proj.xpt_dir)  # the page never creates it
    assert qv.status(proj) == qv.QueueStatus([], 0)


def test_queue_panel_and_status_read_the_same_entries(f1: TmpRepo) -> None:
    from xpt.web.data import queue_panel

    project = Project(f1)
    _queue(project, "foo=2", name="a")
    qv.exp_run_queue(project, ExpRunRequest(set_params=("foo=3",), name="b", temp=True))
    panel = queue_panel(project)
    rows = qv.status(project).rows
    assert [(e["name"], e["state"]) for e in panel["entries"]] == [
        (r["name"], r["status"].lower()) for r in rows
    ]
    assert [e["snapshot"][:7] for e in panel["entries"]] == [r["id"] for r in rows]


def test_start_runs_the_queue_in_a_detached_worker(f1: TmpRepo) -> None:
    project = Project(f1)
    _queue(project, "foo=7", name="bg")
    started = qv.start(project, qv.StartRequest(jobs=1))
    assert started.pid > 0 and started.jobs == 1 and started.broker is None
    deadline = time.monotonic() + 60
    entries: list[Entry] = []
    while time.monotonic() < deadline:
        entries = read_state(project.xpt_dir).entries
        if entries and entries[0].state.value in ("success", "failed"):
            break
        time.sleep(0.2)
    stop_queue(project)
    assert [(e.label, e.state.value) for e in entries] == [("bg", "success")]
    assert _exp_names(f1) == {"bg"}
