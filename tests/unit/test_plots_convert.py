"""Plot data parsing and conversion (the pure parts of `plots show/diff`)."""

from __future__ import annotations

import csv
import io

import pytest

from xpt.experiments.plots import _load_sv, data_sources, parse_plot_file
from xpt.report.plots import ConversionError, datapoints_of, vega_datapoints

SV_CASES = [
    "a,b\n1,2\n\n3\n4,5,6\n",
    "\na,b\n1,2\n",
    "a\tb\n1\t2\n",
    "",
    "a,b\n",
    '"x,y",b\n"1,2",3\r\n',
]


@pytest.mark.parametrize("text", SV_CASES)
@pytest.mark.parametrize("delimiter", [",", "\t"])
@pytest.mark.parametrize("header", [True, False])
def test_sv_rows_are_dictreaders(text: str, delimiter: str, header: bool) -> None:
    if header:
        expected = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    else:
        first = next(csv.reader(io.StringIO(text)), [])
        names = [str(i) for i in range(len(first))]
        expected = list(csv.DictReader(io.StringIO(text), delimiter=delimiter, fieldnames=names))
    assert _load_sv(text, delimiter, header) == expected


def test_parse_by_extension() -> None:
    assert parse_plot_file(b"x\ty\n1\t2\n", "a.tsv", {}) == [{"x": "1", "y": "2"}]
    assert parse_plot_file(b"1,2\n", "a.csv", {"header": False}) == [{"0": "1", "1": "2"}]
    assert parse_plot_file(b'{"l": [{"x": 1}]}', "a.json", {}) == {"l": [{"x": 1}]}
    assert parse_plot_file(b"l:\n- x: 1\n", "a.yaml", {}) == {"l": [{"x": 1}]}
    assert parse_plot_file(b"\x89PNG", "a.png", {}) == b"\x89PNG"
    with pytest.raises(Exception, match="file type error"):
        parse_plot_file(b"hi", "a.txt", {})


def test_datapoints_merge_lists_row_by_row() -> None:
    content = {"a": [{"x": 1}, {"x": 2}], "nested": {"b": [{"y": 3}, {"y": 4}]}, "odd": [1, 2]}
    assert datapoints_of(content) == [{"x": 1, "y": 3}, {"x": 2, "y": 4}]
    assert datapoints_of([{"x": 1}, {"y": 2}]) == []  # records of different shapes


def test_x_and_y_across_files() -> None:
    data = {
        "d/loss.tsv": [{"step": "0", "loss": "1"}, {"step": "1", "loss": "2"}],
        "d/acc.tsv": [{"step": "0", "acc": "5"}, {"step": "1", "acc": "6"}],
    }
    props = {"x": "step", "y": {"d/loss.tsv": "loss", "d/acc.tsv": "acc"}}
    assert data_sources("both", props) == ["d/loss.tsv", "d/acc.tsv"]
    points, final = vega_datapoints("both", props, data, "r1")
    assert final["x"] == "step" and final["y"] == "dvc_inferred_y_value"
    assert final["y_label"] == "y" and final["x_label"] == "step"
    assert points[0] == {
        "step": "0",
        "loss": "1",
        "dvc_inferred_y_value": "1",
        "rev": "r1",
        "filename": "loss.tsv",
        "field": "loss",
    }
    assert [p["filename"] for p in points] == ["loss.tsv"] * 2 + ["acc.tsv"] * 2
    # the parsed file is shared between plots: it is never changed
    assert data["d/loss.tsv"][0] == {"step": "0", "loss": "1"}


def test_conversion_errors() -> None:
    data = {"f.json": [{"a": 1}]}
    with pytest.raises(ConversionError, match="Could not find provided field \\('b'\\)"):
        vega_datapoints("f.json", {"y": "b"}, data, "r")
    two = {"f.json": [{"a": 1}], "g.json": [{"a": 1}, {"a": 2}]}
    props = {"x": {"f.json": "a"}, "y": {"g.json": "a"}}
    with pytest.raises(ConversionError, match="They have to have same length"):
        vega_datapoints("p", props, two, "r")
    # no y given: the last field of the first record, x is the row index
    points, final = vega_datapoints("f.json", {}, {"f.json": [{"a": 1, "b": 2}]}, "r")
    assert final["y"] == "b" and points == [
        {"a": 1, "b": 2, "step": 0, "rev": "r"}
        | {
            "filename": "f.json",
            "field": "b",
        }
    ]
