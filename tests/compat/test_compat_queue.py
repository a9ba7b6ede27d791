"""Queue: what `xpt exp run --run-all -j 2` records is what DVC records for `exp run --temp`.

Two copies of one baseline repo: in one xpt queues and runs two experiments in isolated
workspaces, in the other DVC runs the same overrides with `--temp`. A third copy holds
experiments left in DVC's celery queue (`dvc exp run --queue`), which `xpt exp show` lists.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from typing import Any

import pytest

from tests.compat.goldens import Base, Builder, Goldens
from tests.compat.projects import MODEL, Xpt, exp_ref, load_yaml, show_json, tree_files
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat

# (xpt's name, DVC's name, overrides)
RUNS = [("q5", "t5", ["-S", "foo=5"]), ("q6", "t6", ["-S", "foo=6", "-S", "opt.layers=[3,4]"])]


def base(xpt: Xpt) -> Base:
    def build(repo: TmpRepo) -> None:
        repo.gen(MODEL)
        xpt("init")
        xpt("repro")
        repo.commit("baseline")

    return ("queue-base", build)


def queued_by_xpt(xpt: Xpt, dvc: DvcOracle) -> Builder:
    def build(repo: TmpRepo) -> None:
        for name, _, overrides in RUNS:
            xpt("exp", "run", "--queue", *overrides, "-n", name)
        xpt("exp", "run", "--run-all", "-j", "2")
        (repo.parent / "dvc-show.json").write_text(dvc("exp", "show", "--json").stdout)
        (repo.parent / "xpt-show.json").write_text(xpt("exp", "show", "--json").out)

    return build


def temp_by_dvc(dvc: DvcOracle) -> Builder:
    def build(repo: TmpRepo) -> None:
        for _, name, overrides in RUNS:
            dvc("exp", "run", "--temp", *overrides, "-n", name)
        (repo.parent / "dvc-show.json").write_text(dvc("exp", "show", "--json").stdout)

    return build


@pytest.fixture
def by_xpt(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    return goldens.get("queue-xpt", queued_by_xpt(xpt, dvc_oracle), base=base(xpt))


@pytest.fixture
def by_dvc(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    return goldens.get("queue-dvc", temp_by_dvc(dvc_oracle), base=base(xpt))


def shown(repo: TmpRepo, tool: str) -> dict[str, dict[str, Any]]:
    """{experiment name: its rev entry} from the recorded `exp show --json` of `tool`."""
    rows = show_json((repo.parent / f"{tool}-show.json").read_text())
    (row,) = [r for r in rows if r["rev"] == repo.git("rev-parse", "HEAD")]
    return {name: exp["revs"][0] for name, exp in row["experiments"].items()}


def test_dvc_lists_queue_results_like_its_own_temp_runs(by_xpt: TmpRepo, by_dvc: TmpRepo) -> None:
    assert by_xpt.git("rev-parse", "HEAD") == by_dvc.git("rev-parse", "HEAD")
    xpt_runs, dvc_runs = shown(by_xpt, "dvc"), shown(by_dvc, "dvc")
    assert set(xpt_runs) == {"q5", "q6"} and set(dvc_runs) == {"t5", "t6"}
    for ours, theirs, _ in RUNS:
        mine, ref = xpt_runs[ours], dvc_runs[theirs]
        assert mine["rev"] == by_xpt.git("rev-parse", exp_ref(by_xpt, ours))
        for field in ("params", "metrics", "deps", "outs"):
            assert mine["data"][field] == ref["data"][field], (ours, field)
    assert xpt_runs["q6"]["data"]["params"]["params.yaml"]["data"]["opt"]["layers"] == [3, 4]
    assert xpt_runs["q6"]["data"]["metrics"]["metrics.json"]["data"]["foo"] == 6


def test_xpt_show_of_queue_results_matches_dvc(by_xpt: TmpRepo) -> None:
    """Whole rows, executor fields included: finished queue runs show no executor."""
    by_dvc = show_json((by_xpt.parent / "dvc-show.json").read_text())
    ours = show_json((by_xpt.parent / "xpt-show.json").read_text())
    assert ours == by_dvc
    assert {e["executor"] is None for e in by_dvc[1]["experiments"].values()} == {True}


def test_queue_commits_match_dvc_temp_commits(by_xpt: TmpRepo, by_dvc: TmpRepo) -> None:
    """Same parent, same experiment hash, same files; params.yaml equal as data.

    (DVC rewrites params.yaml in block style on -S; xpt keeps the user's flow lists.)
    """
    for ours, theirs, _ in RUNS:
        mine, ref = exp_ref(by_xpt, ours), exp_ref(by_dvc, theirs)
        assert by_xpt.git("rev-parse", f"{mine}^") == by_dvc.git("rev-parse", f"{ref}^")
        assert by_xpt.git("log", "-1", "--format=%B", mine) == by_dvc.git(
            "log", "-1", "--format=%B", ref
        )
        my_files, ref_files = tree_files(by_xpt, mine), tree_files(by_dvc, ref)
        assert load_yaml(my_files.pop("params.yaml")) == load_yaml(ref_files.pop("params.yaml"))
        assert my_files == ref_files, ours


def queued_by_dvc(dvc: DvcOracle) -> Builder:
    """Two experiments in DVC's celery queue (never started), and DVC's own view of them."""

    def build(repo: TmpRepo) -> None:
        dvc("exp", "run", "--queue", "-S", "foo=9", "-n", "dq")
        dvc("exp", "run", "--queue", "-S", "foo=10", "-S", "opt.lr=0.5", "-n", "dq2")
        (repo.parent / "dvc-show.json").write_text(dvc("exp", "show", "--json").stdout)
        (repo.parent / "dvc-show.csv").write_text(dvc("exp", "show", "--csv").stdout)

    return build


@pytest.fixture
def dvc_queue(goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle) -> TmpRepo:
    """A private copy of the repo where DVC queued `dq` and `dq2`; DVC's show next to it."""
    return goldens.copy_folder("queue-dvc-queued", queued_by_dvc(dvc_oracle), base=base(xpt))


def dvc_state(repo: TmpRepo) -> tuple[str, list[str]]:
    """What DVC's queue is made of: the stash reflog and the pending broker messages."""
    inbox = repo / ".dvc/tmp/exps/celery/broker/in"
    messages = sorted(p.name + p.read_text() for p in inbox.iterdir())
    return repo.git("reflog", "show", "--format=%H %gs", "refs/exps/celery/stash"), messages


def test_xpt_shows_experiments_dvc_queued(dvc_queue: TmpRepo, xpt: Xpt) -> None:
    """Whole `exp show --json` equal to DVC's on the same repo, executor fields included."""
    before = dvc_state(dvc_queue)
    theirs = show_json((dvc_queue.parent / "dvc-show.json").read_text())
    raw = xpt("exp", "show", "--json").out
    ours = show_json(raw)
    queued = ours[1]["experiments"]
    assert set(queued) == {"dq", "dq2"}
    for name in ("dq", "dq2"):
        for field in ("name", "executor"):
            assert queued[name][field] == theirs[1]["experiments"][name][field], (name, field)
        (mine,), (ref,) = queued[name]["revs"], theirs[1]["experiments"][name]["revs"]
        for field in ("rev", "name", "error", "experiments"):
            assert mine[field] == ref[field], (name, field)
        for field in ("rev", "timestamp", "params", "metrics", "deps", "outs", "meta"):
            assert mine["data"][field] == ref["data"][field], (name, field)
    assert ours == theirs
    stash = dict(reversed(line.split(" ", 1)) for line in before[0].splitlines())
    dq = queued["dq"]
    assert dq["executor"] == {
        "state": "queued",
        "name": "dvc-task",
        "local": {
            "root": None,
            "log": None,
            "pid": None,
            "returncode": None,
            "task_id": stash[f"commit: dvc-exp:{ours[1]['rev']}:{ours[1]['rev']}:dq"],
        },
    }
    assert dq["revs"][0]["rev"] == dq["executor"]["local"]["task_id"]
    assert dq["revs"][0]["data"]["params"]["params.yaml"]["data"]["foo"] == 9
    assert dq["revs"][0]["data"]["metrics"] == {}
    assert queued["dq2"]["revs"][0]["data"]["params"]["params.yaml"]["data"]["opt"]["lr"] == 0.5
    order = [e["name"] for e in json.loads(raw)[1]["experiments"]]
    assert order == [
        e["name"]
        for e in json.loads((dvc_queue.parent / "dvc-show.json").read_text())[1]["experiments"]
    ]
    assert dvc_state(dvc_queue) == before  # read-only: DVC's queue is left as it was


def test_xpt_table_marks_dvc_queued_experiments(dvc_queue: TmpRepo, xpt: Xpt) -> None:
    """The same table as DVC's (state Queued, executor Dvc-task, no metrics)."""
    ours = xpt("exp", "show", "--no-pager", "--csv").out
    assert ours.splitlines() == (dvc_queue.parent / "dvc-show.csv").read_text().splitlines()
    rows = {row["Experiment"]: row for row in csv.DictReader(io.StringIO(ours))}
    assert rows["dq"]["State"] == "Queued" and rows["dq"]["params.yaml:foo"] == "9"
    assert rows["dq2"]["Executor"] == "Dvc-task" and rows["dq2"]["opt.lr"] == "0.5"
    assert rows["dq2"]["score"] == ""
    assert "dq" not in xpt("exp", "show", "--no-pager", "--csv", "--hide-queued").out


def test_dvc_entries_taken_by_a_worker_are_not_listed(dvc_queue: TmpRepo, xpt: Xpt) -> None:
    """A DVC worker moves the broker message to processed/ before it drops the stash entry."""
    broker = dvc_queue / ".dvc/tmp/exps/celery/broker"
    (processed := broker / "processed").mkdir(exist_ok=True)
    for msg in (broker / "in").iterdir():
        if '"name": "dq"' in base64.b64decode(json.loads(msg.read_text())["body"]).decode():
            msg.rename(processed / msg.name)
    assert "dvc-exp:" in dvc_queue.git("reflog", "show", "refs/exps/celery/stash@{1}")
    rows = show_json(xpt("exp", "show", "--json").out)
    assert set(rows[1]["experiments"]) == {"dq2"}


def test_dvc_and_xpt_queues_listed_together(dvc_queue: TmpRepo, xpt: Xpt) -> None:
    xpt("exp", "run", "--queue", "-S", "foo=11", "-n", "mine")
    queued = show_json(xpt("exp", "show", "--json").out)[1]["experiments"]
    assert {n: e["executor"]["name"] for n, e in queued.items()} == {
        "mine": "xpt-queue",
        "dq": "dvc-task",
        "dq2": "dvc-task",
    }
    assert queued["mine"]["revs"][0]["data"]["params"]["params.yaml"]["data"]["foo"] == 11


def test_memoised_show_sees_a_new_dvc_queue(
    goldens: Goldens, xpt: Xpt, dvc_oracle: DvcOracle
) -> None:
    """A verdict memoised before DVC queued is not replayed after; none is kept while queued."""
    name, build = base(xpt)
    repo = goldens.copy(name, build)
    time.sleep(0.2)  # let the copy's files age past the memo's racy window
    assert not show_json(xpt("exp", "show", "--json").out)[1]["experiments"]
    memo = repo / ".dvc/tmp/xpt/verdicts.marshal"
    assert memo.exists()
    dvc_oracle("exp", "run", "--queue", "-S", "foo=9", "-n", "dq")
    time.sleep(0.2)
    stored = memo.read_bytes()
    for _ in range(2):
        assert set(show_json(xpt("exp", "show", "--json").out)[1]["experiments"]) == {"dq"}
    assert memo.read_bytes() == stored
