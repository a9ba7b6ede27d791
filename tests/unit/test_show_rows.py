"""The typed `exp show` rows (`experiments/show_rows.py`): `to_json()` is the `--json` text.

Checked against real outputs: DVC 3.67.1's and DVC 2.58.2's `exp show --json` (captured in
tests/resources/show, byte for byte), and xpt's own output on a real project with an
experiment, a queued entry and a params file that fails to load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TmpRepo
from xpt.api import exp_show as api_exp_show
from xpt.experiments.queue_show import queue_entries
from xpt.experiments.show import ShowOptions, show
from xpt.experiments.show_rows import (
    DepInfo,
    ExpData,
    ExpExecutor,
    ExpRange,
    ExpState,
    LocalExecutor,
    OutInfo,
    RowError,
    rows_from_json,
    rows_to_json,
)
from xpt.project import Project
from xpt.report.json import dumps_json

SHOW = Path(__file__).parents[1] / "resources" / "show"


def _captured(name: str) -> str:
    """A captured `dvc exp show --json` (one line, as DVC prints it when piped)."""
    return (SHOW / name).read_text().rstrip("\n")


def _shapes(rows: list[dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    """The key order of every structural object of a §9.5 list (values left out)."""
    found: set[tuple[str, tuple[str, ...]]] = set()

    def state(obj: dict[str, Any]) -> None:
        found.add(("state", tuple(obj)))
        if obj["error"] is not None:
            found.add(("error", tuple(obj["error"])))
        data = obj["data"]
        if data is not None:
            found.add(("data", tuple(data)))
            found.update(("dep", tuple(d)) for d in data["deps"].values())
            found.update(("out", tuple(o)) for o in data["outs"].values())
        for exp in obj["experiments"] or []:
            found.add(("range", tuple(exp)))
            if exp["executor"] is not None:
                found.add(("executor", tuple(exp["executor"])))
                found.add(("local", tuple(exp["executor"]["local"])))
            for rev in exp["revs"]:
                state(rev)

    for row in rows:
        state(row)
    return found


@pytest.mark.parametrize("name", ["exp-show.json", "exp-show-checkpoints.json"])
def test_dvc_output_round_trips_byte_for_byte(name: str) -> None:
    text = _captured(name)
    rows = rows_from_json(json.loads(text))
    assert all(isinstance(row, ExpState) for row in rows)
    assert dumps_json(rows_to_json(rows)) == text


def test_typed_view_of_dvc_output() -> None:
    workspace, main = rows_from_json(json.loads(_captured("exp-show.json")))
    assert workspace.rev == "workspace" and workspace.experiments is None
    assert workspace.data is not None and workspace.data.timestamp is None
    assert main.name == "main" and main.experiments is not None
    states = [e.executor.state if e.executor else None for e in main.experiments]
    assert states == ["success", "success", None, None, "queued", "failed"]
    failed = main.experiments[-1]
    assert failed.revs[0].error == RowError("Experiment run failed")
    assert failed.executor is not None and failed.executor.local is not None
    assert failed.executor.local.returncode == 255
    assert main.data is not None
    assert main.data.deps["src/train.py"] == DepInfo("73b3d6e754a825f9d4992f537f4673c6", 251, None)
    assert main.data.outs["model.bin"].use_cache is True
    ckpt = rows_from_json(json.loads(_captured("exp-show-checkpoints.json")))
    assert all(r.data is not None and r.data.has_checkpoints for r in ckpt[1:])


def test_to_json_key_order_is_dvcs() -> None:
    """Every object xpt writes has the key order DVC writes it with."""
    data = ExpData(
        "b" * 40,
        "2030-01-02T10:00:00",
        {"params.yaml": {"data": {"lr": 0.1}}},
        {"m.json": {"error": {"type": "JSONFileCorruptedError", "msg": "bad"}}},
        {"train.py": DepInfo("d" * 32, 10, None)},
        {"model": OutInfo("e" * 32 + ".dir", 20, 2, True, False)},
    )
    local = LocalExecutor(None, "/tmp/x.log", None, 255, "c" * 40)
    exp = ExpState("b" * 40, "bad", data, RowError("Experiment run failed"))
    row = ExpState(
        "a" * 40, "main", data, None, (ExpRange((exp,), ExpExecutor("failed", None, local), "bad"),)
    )
    ours = _shapes([row.to_json()])
    dvc = _shapes(json.loads(_captured("exp-show.json")))
    assert ours <= dvc, ours - dvc
    assert {kind for kind, _keys in ours} == {
        "state", "error", "data", "dep", "out", "range", "executor", "local",
    }  # fmt: skip


def test_meta_and_devices() -> None:
    data = ExpData("a" * 40, None, {}, {}, {}, {}, has_checkpoints=True, live=True)
    assert data.to_json()["meta"] == {"has_checkpoints": True, "live": True}
    assert ExpData.from_json(data.to_json()) == data
    executor = ExpExecutor("running", "xpt-queue", LocalExecutor(pid=7), devices=("0", "1"))
    assert list(executor.to_json()) == ["state", "name", "local", "devices"]
    assert ExpExecutor.from_json(executor.to_json()) == executor
    assert "devices" not in ExpExecutor("queued", "xpt-queue").to_json()


def test_rows_are_frozen() -> None:
    row = ExpState("workspace", None, None)
    with pytest.raises(AttributeError):
        row.name = "x"  # type: ignore[misc]


def test_xpt_output_is_the_rows_json(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    """`exp show --json` prints `to_json()` of the core's rows; the API returns the same."""
    xpt("exp", "run", "-S", "foo=2", "-n", "two")
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "later")
    (f1 / "params.yaml").write_text("foo: [unclosed\n")
    text = xpt("exp", "show", "--json").out.rstrip("\n")
    project = Project.find(f1)
    rows = show(project, ShowOptions(), extra_entries=lambda git: queue_entries(project, git))
    assert dumps_json(rows_to_json(rows)) == text
    assert dumps_json(rows_to_json(rows_from_json(json.loads(text)))) == text
    assert api_exp_show(f1) == json.loads(text)
    workspace, head = rows
    assert workspace.data is not None
    assert "error" in workspace.data.params["params.yaml"]
    assert head.experiments is not None
    names = [(e.name, e.executor.state if e.executor else None) for e in head.experiments]
    assert names == [("two", None), ("later", "queued")]
    assert _shapes(json.loads(text)) <= _shapes(json.loads(_captured("exp-show.json")))
