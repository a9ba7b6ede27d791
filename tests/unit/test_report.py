"""The report layer: exp show tables/CSV/Markdown, diff and metrics tables, queue status, JSON.

Two kinds of checks: real DVC output captured in tests/resources/show (byte for byte), and
a hand-built §9.5 list covering two baselines, queued/failed experiments and a checkpoint
chain.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from xpt.errors import XptError
from xpt.report.exp_table import render_exp_show
from xpt.report.json import dumps_json
from xpt.report.tables import (
    format_diff_table,
    format_exp_diff,
    format_metrics_show,
    format_queue_status,
    render_diff_table,
    render_metrics_show,
    render_queue_status,
)

SHOW = Path(__file__).parents[1] / "resources" / "show"
ORACLE_DAY = dt.date(2026, 11, 28)
TODAY = dt.date(2030, 1, 2)


def _read(name: str) -> str:
    with open(SHOW / name, newline="") as f:
        return f.read()


def _load(name: str) -> Any:
    return json.loads(_read(name))


# -- a §9.5 list built by hand ---------------------------------------------------------

SHA_MAIN = "a" * 40
SHA_OLD = "b" * 40


def _data(
    rev: str, ts: str | None, params: dict[str, Any], metrics: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "rev": rev,
        "timestamp": ts,
        "params": {"params.yaml": {"data": params}},
        "metrics": {} if metrics is None else {"metrics.json": {"data": metrics}},
        "deps": {
            "src/train.py": {"hash": "73b3d6e754a825f9d4992f537f4673c6", "size": 1, "nfiles": None},
            "data/raw": {"hash": "0e63383dd5b97e4abd29761447d310a2.dir", "size": 2, "nfiles": 1},
        },
        "outs": {},
        "meta": {},
    }


def _state(
    rev: str,
    name: str | None,
    lr: Any,
    acc: Any,
    ts: str | None = "2030-01-02T10:00:00",
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    metrics = None if acc is None else {"acc": acc, "loss": 0.5, "name": "m"}
    return {
        "rev": rev,
        "name": name,
        "data": _data(
            rev, ts, {"lr": lr, "epochs": 5, "name": "model", "layers": [64, 32]}, metrics
        ),
        "error": error,
        "experiments": None,
    }


def _executor(state: str, name: str | None = "dvc-task", rc: int | None = None) -> dict[str, Any]:
    return {
        "state": state,
        "name": name,
        "local": {"root": None, "log": None, "pid": None, "returncode": rc, "task_id": "c" * 40},
    }


def _exp(
    name: str, revs: list[dict[str, Any]], executor: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"name": name, "executor": executor, "revs": revs}


def _rows(*, queue: bool = True) -> list[dict[str, Any]]:
    """workspace; main with 2 experiments, a 3-commit checkpoint chain, a queued and a failed run;
    an older unnamed baseline with one experiment."""
    main = _state(SHA_MAIN, "main", 0.01, 0.91, ts="2030-01-01T09:00:00")
    ck = [
        _state("c3" + "0" * 38, "ck", 0.04, 0.97, ts="2030-01-02T10:03:00"),
        _state("c2" + "0" * 38, None, 0.04, 0.95),
        _state("c1" + "0" * 38, None, 0.04, 0.93),
    ]
    main["experiments"] = [
        _exp("exp-b", [_state("e2" + "0" * 38, "exp-b", 0.05, 0.95)]),
        _exp("exp-a", [_state("e1" + "0" * 38, "exp-a", 0.02, 0.92)]),
        _exp("ck", ck),
    ]
    if queue:
        main["experiments"] += [
            _exp("q1", [_state("f1" + "0" * 38, "q1", 0.07, None)], _executor("queued")),
            _exp(
                "bad",
                [
                    _state(
                        "f2" + "0" * 38,
                        "bad",
                        "oops",
                        0.91,
                        error={"msg": "Experiment run failed", "type": ""},
                    )
                ],
                _executor("failed", name=None, rc=255),
            ),
        ]
    old = _state(SHA_OLD, None, 0.01, 0.9, ts="2029-12-31T23:00:00")
    old["experiments"] = [_exp("old-exp", [_state("d1" + "0" * 38, "old-exp", 0.03, 0.8)])]
    workspace = _state("workspace", None, 0.05, 0.95, ts=None)
    return [workspace, main, old]


def _first_cells(md: str) -> list[str]:
    return [line.split("|")[1].strip() for line in md.splitlines()[2:] if line]


def _header(md: str) -> list[str]:
    return [cell.strip() for cell in md.splitlines()[0].split("|")[1:-1]]


def test_tree_markers_and_rows() -> None:
    table = render_exp_show(_rows(), today=TODAY)
    assert _first_cells(table.to_markdown()) == [
        "workspace",
        "main",
        "├── e200000 [exp-b]",
        "├── e100000 [exp-a]",
        "│ ╓ c300000 [ck]",
        "│ ╟ c200000",
        "├─╨ c100000",
        "├── f100000 [q1]",
        "└── f200000 [bad]",
        "bbbbbbb",
        "└── d100000 [old-exp]",
    ]


def test_markdown_cells_and_columns() -> None:
    md = render_exp_show(_rows(), today=TODAY).to_markdown()
    assert _header(md) == [
        "Experiment", "Created", "State", "Executor", "acc", "loss", "metrics.json:name",
        "lr", "epochs", "params.yaml:name", "layers", "data/raw", "src/train.py",
    ]  # fmt: skip
    lines = md.splitlines()
    assert lines[1].startswith("|-----")
    cells = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines[2:]
    }
    assert cells["workspace"][:5] == ["-", "-", "-", "0.95", "0.5"]
    assert cells["main"][0] == "Jan 01, 2030"
    assert cells["├── e200000 [exp-b]"][0] == "10:00 AM"
    assert cells["├── f100000 [q1]"][:6] == ["10:00 AM", "Queued", "Dvc-task", "-", "-", "-"]
    assert cells["└── f200000 [bad]"][1:3] == ["Failed", "-"]
    assert cells["└── f200000 [bad]"][6] == "oops"
    assert cells["workspace"][9] == "[64, 32]"
    assert cells["workspace"][10] == "0e63383dd5b97e4abd29761447d310a2.dir"
    assert cells["workspace"][11] == "73b3d6e754a825f9d4992f537f4673c6"
    assert md.endswith("|\n")


def test_csv_layout() -> None:
    text = render_exp_show(_rows(), today=TODAY).to_csv()
    lines = text.split("\r\n")
    assert lines[0] == (
        "Experiment,rev,typ,Created,parent,State,Executor,acc,loss,metrics.json:name,"
        "lr,epochs,params.yaml:name,layers,data/raw,src/train.py"
    )
    rows = [line.split(",")[:7] for line in lines[1:] if line]
    assert rows == [
        ["", "workspace", "baseline", "", "", "", ""],
        ["", "main", "baseline", "2030-01-01T09:00:00", "", "", ""],
        ["exp-b", "e200000", "branch_commit", "2030-01-02T10:00:00", "", "", ""],
        ["exp-a", "e100000", "branch_commit", "2030-01-02T10:00:00", "", "", ""],
        ["ck", "c300000", "checkpoint_tip", "2030-01-02T10:03:00", "", "", ""],
        ["", "c200000", "checkpoint_commit", "2030-01-02T10:00:00", "", "", ""],
        ["", "c100000", "checkpoint_base", "2030-01-02T10:00:00", "", "", ""],
        ["q1", "f100000", "branch_commit", "2030-01-02T10:00:00", "", "Queued", "Dvc-task"],
        ["bad", "f200000", "branch_base", "2030-01-02T10:00:00", "", "Failed", ""],
        ["", "bbbbbbb", "baseline", "2029-12-31T23:00:00", "", "", ""],
        ["old-exp", "d100000", "branch_base", "2030-01-02T10:00:00", "", "", ""],
    ]
    assert '"[64, 32]"' in lines[1]
    assert text.endswith("\r\n")


def test_csv_without_executors_has_no_state_columns() -> None:
    header = render_exp_show(_rows(queue=False)).to_csv().split("\r\n")[0]
    assert header.startswith("Experiment,rev,typ,Created,parent,acc,")
    assert "State" not in header


def test_sort_within_baselines() -> None:
    table = render_exp_show(_rows(), sort_by="lr", today=TODAY)
    # exp-a 0.02 < ck 0.04 < exp-b 0.05 < q1 0.07 < "oops" (text after numbers)
    assert _first_cells(table.to_markdown())[2:9] == [
        "├── e100000 [exp-a]",
        "│ ╓ c300000 [ck]",
        "│ ╟ c200000",
        "├─╨ c100000",
        "├── e200000 [exp-b]",
        "├── f100000 [q1]",
        "└── f200000 [bad]",
    ]
    desc = render_exp_show(_rows(), sort_by="metrics.json:acc", sort_order="desc", today=TODAY)
    names = _first_cells(desc.to_markdown())
    # missing values sort as the largest (DVC: queued first when descending)
    assert names[2:5] == ["├── f100000 [q1]", "│ ╓ c300000 [ck]", "│ ╟ c200000"]
    assert names[-4:] == [
        "├── e100000 [exp-a]",
        "└── f200000 [bad]",
        "bbbbbbb",
        "└── d100000 [old-exp]",
    ]


def test_sort_column_errors() -> None:
    with pytest.raises(XptError, match="ambiguous sort column 'name'"):
        render_exp_show(_rows(), sort_by="name")
    with pytest.raises(XptError, match="unknown sort column 'nope'"):
        render_exp_show(_rows(), sort_by="nope")
    with pytest.raises(XptError, match="unknown sort column 'lr:x'"):
        render_exp_show(_rows(), sort_by="lr:x")
    table = render_exp_show(_rows(), sort_by="params.yaml:name")
    assert table.rows


def test_sort_by_name_with_colons() -> None:
    rows = _rows(queue=False)
    for state in [rows[0], rows[1], *(r for e in rows[1]["experiments"] for r in e["revs"])]:
        state["data"]["metrics"]["a:b.json"] = {"data": {"x:y": 1}}
    table = render_exp_show(rows, sort_by="a:b.json:x:y")
    assert "x:y" in _header(table.to_markdown())


def test_keep_drop_only_changed() -> None:
    rows = _rows()
    header = _header(render_exp_show(rows, drop="params.yaml:.*|lay", today=TODAY).to_markdown())
    assert "params.yaml:name" not in header and "layers" not in header and "lr" in header
    header = _header(render_exp_show(rows, drop="aye", today=TODAY).to_markdown())
    assert "layers" in header  # regexes match at the start of the header
    header = _header(render_exp_show(rows, drop=".*", keep="^acc$|Exp", today=TODAY).to_markdown())
    assert header == ["Experiment", "acc"]
    header = _header(render_exp_show(rows, only_changed=True, today=TODAY).to_markdown())
    # a missing value (the queued run) differs from any value, as in DVC
    assert header == [
        "Experiment", "Created", "State", "Executor", "acc", "loss", "metrics.json:name", "lr",
    ]  # fmt: skip
    header = _header(render_exp_show(rows, only_changed=True, keep="epochs").to_markdown())
    assert "epochs" in header
    csv_header = render_exp_show(rows, only_changed=True).to_csv().split("\r\n")[0]
    assert csv_header == "Experiment,rev,typ,Created,State,Executor,acc,loss,metrics.json:name,lr"
    with pytest.raises(XptError, match="--drop"):
        render_exp_show(rows, drop="(")


def test_precision() -> None:
    rows = _rows(queue=False)
    rows[0]["data"]["metrics"]["metrics.json"]["data"]["acc"] = 0.123456789
    table = render_exp_show(rows, precision=3, keep="acc", drop=".*")
    assert table.to_markdown().splitlines()[2] == "| 0.123 |"
    assert table.to_csv().split("\r\n")[1] == "0.123"
    default = render_exp_show(rows, keep="acc", drop=".*")
    assert default.to_markdown().splitlines()[2] == "| 0.12346 |"
    assert default.to_csv().split("\r\n")[1] == "0.123456789"


def test_rich_table() -> None:
    console_file = io.StringIO()
    from rich.console import Console

    console = Console(file=console_file, width=250, color_system=None)
    render_exp_show(_rows(), today=TODAY).to_rich(console)
    text = console_file.getvalue()
    for marker in ("│ ╓ c300000 [ck]", "│ ╟ c200000", "├─╨ c100000", "└── f200000 [bad]"):
        assert marker in text
    header = next(line for line in text.splitlines() if "Experiment" in line)
    assert header.split() == [
        "Experiment", "Created", "State", "Executor", "acc", "loss", "metrics.json:name",
        "lr", "epochs", "params.yaml:name", "layers", "data/raw", "src/train.py",
    ]  # fmt: skip
    assert "Queued" in text and "Failed" in text


def test_broken_row_renders_dashes() -> None:
    rows = _rows(queue=False)
    rows[0] = {
        "rev": "workspace",
        "name": None,
        "data": None,
        "error": {"msg": "bad dvc.yaml", "type": "YAMLSyntaxError"},
        "experiments": None,
    }
    md = render_exp_show(rows, today=TODAY).to_markdown()
    cells = [c.strip() for c in md.splitlines()[2].split("|")[1:-1]]
    assert cells[0] == "workspace"
    assert set(cells[1:]) == {"-"}


# -- byte for byte against DVC ---------------------------------------------------------

VARIANTS = [
    ("exp-show", {}),
    ("exp-show-sort-acc", {"sort_by": "acc"}),
    ("exp-show-sort-acc-desc", {"sort_by": "metrics.json:acc", "sort_order": "desc"}),
    ("exp-show-only-changed", {"only_changed": True}),
    ("exp-show-drop-keep", {"drop": "train.*", "keep": "train.opt"}),
]


@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_exp_show_matches_dvc(name: str, options: dict[str, Any]) -> None:
    table = render_exp_show(_load("exp-show.json"), today=ORACLE_DAY, **options)
    assert table.to_csv() == _read(f"{name}.csv")
    assert table.to_markdown() + "\n" == _read(f"{name}.md")


def test_exp_show_csv_precision_matches_dvc() -> None:
    table = render_exp_show(_load("exp-show.json"), precision=2)
    assert table.to_csv() == _read("exp-show-precision-2.csv")


def test_checkpoints_match_dvc_2() -> None:
    table = render_exp_show(_load("exp-show-checkpoints.json"), today=ORACLE_DAY)
    assert table.to_csv() == _read("exp-show-checkpoints.csv")
    assert table.to_markdown() + "\n" == _read("exp-show-checkpoints.md")


@pytest.mark.parametrize(
    ("fixture", "kind", "options", "expected"),
    [
        ("metrics-diff.json", "metrics", {}, "metrics-diff.txt"),
        ("metrics-diff.json", "metrics", {"md": True}, "metrics-diff.md"),
        ("metrics-diff.json", "metrics", {"no_path": True}, "metrics-diff-no-path.txt"),
        ("params-diff.json", "params", {}, "params-diff.txt"),
        ("params-diff.json", "params", {"md": True}, "params-diff.md"),
        ("params-diff-all.json", "params", {}, "params-diff-all.txt"),
    ],
)
def test_diff_tables_match_dvc(
    fixture: str, kind: str, options: dict[str, Any], expected: str
) -> None:
    out = io.StringIO()
    render_diff_table(_load(fixture), kind=kind, file=out, **options)
    assert out.getvalue() == _read(expected)


def test_exp_diff_matches_dvc() -> None:
    data = _load("exp-diff.json")
    assert format_exp_diff(data) + "\n" == _read("exp-diff.txt")
    assert format_exp_diff(data, md=True) + "\n" == _read("exp-diff.md")


def test_diff_table_labels_precision_and_empty() -> None:
    diff = {
        "m.json": {
            "acc": {"old": 0.123456, "new": 0.2, "diff": 0.076544},
            "s": {"old": "a", "new": "b"},
        }
    }
    text = format_diff_table(diff, kind="metrics", precision=2, a_label="main", b_label="exp-a")
    assert text.splitlines() == [
        "Path    Metric    main    exp-a    Change",
        "m.json  acc       0.12    0.2      0.08",
        "m.json  s         a       b        -",
    ]
    exp_text = format_diff_table(diff, kind="metrics", precision=2, exp=True)
    assert exp_text.splitlines()[2].split() == ["m.json", "s", "a", "b", "diff", "not", "supported"]
    assert format_diff_table({}, kind="params") == ""
    assert format_exp_diff({"metrics": {}, "params": {}}) == ""
    out = io.StringIO()
    render_diff_table({}, kind="metrics", file=out)
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    ("fixture", "options", "expected"),
    [
        ("metrics-show.json", {}, "metrics-show.txt"),
        ("metrics-show.json", {"md": True}, "metrics-show.md"),
        ("metrics-show.json", {"precision": 2}, "metrics-show-precision-2.txt"),
        ("metrics-show-all.json", {}, "metrics-show-all.txt"),
        ("metrics-show-errors.json", {}, "metrics-show-errors.txt"),
    ],
)
def test_metrics_show_matches_dvc(fixture: str, options: dict[str, Any], expected: str) -> None:
    assert format_metrics_show(_load(fixture), **options) + "\n" == _read(expected)


def test_metrics_show_warns_about_failed_revisions() -> None:
    out, err = io.StringIO(), io.StringIO()
    render_metrics_show(_load("metrics-show-errors.json"), file=out, err=err)
    assert err.getvalue() == "WARNING: failed to load some metrics for following revisions: ''.\n"
    out, err = io.StringIO(), io.StringIO()
    render_metrics_show(_load("metrics-show.json"), file=out, err=err)
    assert err.getvalue() == ""
    assert format_metrics_show({"": {"data": {}}}) == ""


# -- queue status ----------------------------------------------------------------------


def _entry(task: str, name: str | None, created: str, status: str) -> dict[str, Any]:
    return {"id": task, "name": name, "created": created, "status": status, "error": None}


def test_queue_status_like_dvc() -> None:
    entries = [
        _entry("4826720", "qfail", "12:56 PM", "Failed"),
        _entry("25d354d", "qd", "12:55 PM", "Success"),
        _entry("5860bb1", "qwait", "12:56 PM", "Success"),
    ]
    assert format_queue_status(entries) == (
        "Task     Name    Created    Status\n"
        "4826720  qfail   12:56 PM   Failed\n"
        "25d354d  qd      12:55 PM   Success\n"
        "5860bb1  qwait   12:56 PM   Success\n"
        "\n"
        "Worker status: 0 active, 0 idle"
    )


def test_queue_status_workers_and_empty() -> None:
    running = [_entry("1234567", None, "Jan 02, 2030 10:00", "Running")]
    assert format_queue_status(running, workers=2).splitlines()[1:] == [
        "1234567  -       Jan 02, 2030 10:00  Running",
        "",
        "Worker status: 1 active, 1 idle",
    ]
    out = io.StringIO()
    render_queue_status([], workers=0, file=out)
    assert (
        out.getvalue() == "No experiment tasks in the queue.\n\nWorker status: 0 active, 0 idle\n"
    )


# -- JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture", ["exp-show.json", "metrics-diff.json", "metrics-show-errors.json"]
)
def test_dumps_json_matches_dvc_bytes(fixture: str) -> None:
    text = _read(fixture)
    assert dumps_json(json.loads(text)) + "\n" == text


def test_dumps_json_ascii_and_extras() -> None:
    assert dumps_json({"név": "é", "t": dt.date(2030, 1, 2), "s": {2, 1}}) == (
        '{"n\\u00e9v": "\\u00e9", "t": "2030-01-02", "s": [1, 2]}'
    )
    with pytest.raises(TypeError):
        dumps_json({"x": object()})


def test_report_modules_do_not_import_rich() -> None:
    code = (
        "import sys, xpt.report.exp_table, xpt.report.tables, xpt.report.json, xpt.pipeline.metrics;"
        "print('rich' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def _rich_text(table: Any) -> str:
    """What `exp show` printed through rich (width unbounded, no colour, lines stripped)."""
    from rich.console import Console

    buf = io.StringIO()
    table.to_rich(Console(file=buf, width=100_000, color_system=None))
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


@pytest.mark.parametrize(
    "table",
    [
        lambda: render_exp_show(_rows(), today=TODAY),
        lambda: render_exp_show(_rows(queue=False), today=TODAY, drop="params.yaml:.*"),
        lambda: render_exp_show(_load("exp-show.json"), today=ORACLE_DAY, sort_by="acc"),
        lambda: render_exp_show(_load("exp-show-checkpoints.json"), today=ORACLE_DAY),
    ],
)
def test_fast_table_text_is_rich_s(table: Any) -> None:
    """`to_text` (no rich, 30× faster at 3,000 rows) prints what rich prints, byte for byte."""
    built = table()
    assert built.to_text() == _rich_text(built)
    colored = built.to_text(color=True)
    assert "\x1b[1;33m" in colored or "\x1b[1m" in colored


def test_fast_table_text_wide_names_and_fallback() -> None:
    rows = _rows(queue=False)
    rows[1]["experiments"][0]["revs"][0]["name"] = "実験-1"  # double-width characters
    table = render_exp_show(rows, today=TODAY)
    assert table.to_text() == _rich_text(table)
    rows[1]["experiments"][0]["revs"][0]["name"] = "tab\there"
    assert render_exp_show(rows, today=TODAY).to_text() is None  # rich lays that out


def test_failed_metrics_file_shows_bang_like_dvc() -> None:
    rows = _rows(queue=False)
    error = {"type": "FileNotFoundError", "msg": "[Errno 2] No storage files available: 'm'"}
    rows[1]["data"]["metrics"] = {"metrics.json": {"error": error}}
    table = render_exp_show(rows, today=TODAY)
    md_main = next(line for line in table.to_markdown().splitlines() if "| main" in line)
    cells = [c.strip() for c in md_main.split("|")[1:-1]]
    assert cells[2:5] == ["!", "!", "!"]  # acc, loss, metrics.json:name
    csv_main = next(line for line in table.to_csv().splitlines() if ",main," in line)
    assert csv_main.split(",")[5:8] == ["!", "!", "!"]


def test_table_fits_the_width_without_pager() -> None:
    from rich.console import Console

    table = render_exp_show(_rows(), today=TODAY)
    full = [f.header for f in table.table_fields()]
    for width in (40, 80, 120):
        fields = [f.header for f in table.fitted_fields(width)]
        assert fields[-1] == "…" and fields[:-1] == full[: len(fields) - 1]
        buf = io.StringIO()
        table.to_rich(Console(file=buf, width=1000, color_system=None), width=width)
        assert max(len(line.rstrip()) for line in buf.getvalue().splitlines()) <= width
    assert [f.header for f in table.fitted_fields(1000)] == full


def test_parallel_coordinates_page_is_offline_svg() -> None:
    import re

    from xpt.report.pcp import render_pcp

    table = render_exp_show(_rows(queue=False), today=TODAY, drop="data/raw|src/train.py")
    page = render_pcp(table)
    assert "<script" not in page and "cdn" not in page.lower()
    assert re.findall(r"https?://[^\"]+", page) == ["http://www.w3.org/2000/svg"]
    headers = re.findall(r'font-weight="bold">([^<]+)</text>', page)
    assert headers == [
        "acc",
        "loss",
        "metrics.json:name",
        "lr",
        "epochs",
        "params.yaml:name",
        "layers",
    ]
    lines = re.findall(r"<polyline [^>]*><title>([^<]+)</title>", page)
    assert len(lines) == len(table.rows) and "main" in lines
