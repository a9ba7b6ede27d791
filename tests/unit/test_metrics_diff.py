"""Metrics files and params/metrics diffs (spec §9.1-9.4), checked against DVC's own output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xpt.errors import XptError
from xpt.pipeline.metrics import (
    JSONFileCorruptedError,
    TOMLFileCorruptedError,
    YAMLFileCorruptedError,
    clean_metrics,
    diff_values,
    flatten,
    load_metrics,
)

SHOW = Path(__file__).parents[1] / "resources" / "show"


def _json(name: str) -> Any:
    return json.loads((SHOW / name).read_text())


# -- spec §9.2 -------------------------------------------------------------------------


def test_metrics_diff_changed_value() -> None:
    old = {"metrics.json": {"acc": 0.91, "loss": {"train": 0.1}}}
    new = {"metrics.json": {"acc": 0.92, "loss": {"train": 0.1}}}
    assert diff_values(old, new) == {
        "metrics.json": {"acc": {"old": 0.91, "new": 0.92, "diff": 0.010000000000000009}}
    }


def test_metrics_diff_added_and_removed_keys() -> None:
    old = {"metrics.json": {"acc": 0.92, "loss": {"val": 0.2}}}
    new = {"metrics.json": {"acc": 0.93, "f1": 0.5}}
    result = diff_values(old, new)
    assert result == {
        "metrics.json": {
            "loss.val": {"old": 0.2, "new": None},
            "f1": {"old": None, "new": 0.5},
            "acc": {"old": 0.92, "new": 0.93, "diff": 0.010000000000000009},
        }
    }
    assert json.dumps(result["metrics.json"]["f1"]) == '{"old": null, "new": 0.5}'


# -- spec §9.3 -------------------------------------------------------------------------


def test_params_diff_two_files() -> None:
    old = {"params.yaml": {"lr": 0.01, "epochs": 5}, "params2.json": {"alpha": 0.5}}
    new = {"params.yaml": {"lr": 0.02, "epochs": 5}, "params2.json": {"alpha": 0.6}}
    assert diff_values(old, new, as_params=True) == {
        "params.yaml": {"lr": {"old": 0.01, "new": 0.02, "diff": 0.01}},
        "params2.json": {"alpha": {"old": 0.5, "new": 0.6, "diff": 0.09999999999999998}},
    }


def test_params_diff_all_keeps_unchanged_lists_as_text() -> None:
    values = {"flag": True, "train": {"layers": [64, 32]}, "name": "model-a"}
    result = diff_values(
        {"params.yaml": values}, {"params.yaml": dict(values)}, all=True, as_params=True
    )
    assert result == {
        "params.yaml": {
            "flag": {"old": True, "new": True, "diff": 0},
            "train.layers": {"old": "[64, 32]", "new": "[64, 32]"},
            "name": {"old": "model-a", "new": "model-a"},
        }
    }
    assert type(result["params.yaml"]["flag"]["diff"]) is int


def test_params_diff_added_and_removed() -> None:
    old = {"params.yaml": {"flag": True, "lr": 1}}
    new = {"params.yaml": {"newp": 1, "lr": 1}}
    assert diff_values(old, new, as_params=True) == {
        "params.yaml": {"flag": {"old": True, "new": None}, "newp": {"old": None, "new": 1}}
    }


def test_params_diff_nothing_changed_is_empty() -> None:
    values = {"params.yaml": {"lr": 0.1, "l": [1, 2]}}
    assert diff_values(values, values, as_params=True) == {}


def test_params_lists_of_strings_use_python_str() -> None:
    result = diff_values({"p.yaml": {"l": ["a"]}}, {"p.yaml": {"l": ["a", "b"]}}, as_params=True)
    assert result == {"p.yaml": {"l": {"old": "['a']", "new": "['a', 'b']"}}}


# -- spec §9.4 -------------------------------------------------------------------------


def test_exp_diff_sample() -> None:
    old_m = {"metrics.json": {"acc": 0.92, "loss": {"train": 0.1}}}
    new_m = {"metrics.json": {"acc": 0.9500000000000001, "loss": {"train": 0.1}}}
    old_p = {
        "params.yaml": {"lr": 0.02, "train": {"layers": [64, 32], "batch": 32}},
        "params2.json": {"alpha": 0.6},
    }
    new_p = {
        "params.yaml": {"lr": 0.05, "train": {"layers": [128, 64], "batch": 32}},
        "params2.json": {"alpha": 0.7},
    }
    assert {
        "metrics": diff_values(old_m, new_m),
        "params": diff_values(old_p, new_p, as_params=True),
    } == {
        "metrics": {
            "metrics.json": {
                "acc": {"old": 0.92, "new": 0.9500000000000001, "diff": 0.030000000000000027}
            }
        },
        "params": {
            "params.yaml": {
                "lr": {"old": 0.02, "new": 0.05, "diff": 0.030000000000000002},
                "train.layers": {"old": "[64, 32]", "new": "[128, 64]"},
            },
            "params2.json": {"alpha": {"old": 0.6, "new": 0.7, "diff": 0.09999999999999998}},
        },
    }


# -- the oracle's own output -----------------------------------------------------------

OLD_METRICS = {
    "big": 123456.789, "small": 0.000012345678, "tiny": 1e-10, "three": 3.0, "int": 1234567,
    "b": True, "s": "x", "neg": -0.123456789, "mid": 12.3456789, "lst": [1, 2],
}  # fmt: skip
NEW_METRICS = {
    "big": 123457.789, "small": 0.000022345678, "tiny": 2e-10, "three": 3.5, "int": 1234568,
    "b": False, "s": "y", "neg": 0.5, "mid": 12.3456789, "new": 1,
}  # fmt: skip
OLD_PARAMS = {
    "lr": 0.001234567,
    "big": 123456.789,
    "l": [1, 2],
    "n": None,
    "d": {},
    "s": "str",
    "flag": False,
}
NEW_PARAMS = {
    "lr": 0.002234567, "big": 123456.789, "l": [1, 3], "n": 1, "d": {}, "s": "str2",
    "flag": True, "new": 3,
}  # fmt: skip


def test_matches_dvc_metrics_diff_json() -> None:
    old = {"metrics.json": clean_metrics(OLD_METRICS)}
    new = {"metrics.json": clean_metrics(NEW_METRICS), "m2.json": {"acc": 0.5, "big": 2}}
    assert diff_values(old, new) == _json("metrics-diff.json")


@pytest.mark.parametrize(
    ("all_", "fixture"), [(False, "params-diff.json"), (True, "params-diff-all.json")]
)
def test_matches_dvc_params_diff_json(all_: bool, fixture: str) -> None:
    result = diff_values(
        {"params.yaml": OLD_PARAMS}, {"params.yaml": NEW_PARAMS}, all=all_, as_params=True
    )
    assert result == _json(fixture)


def test_bools_and_ints_are_different_values() -> None:
    assert diff_values({"m": {"x": True}}, {"m": {"x": 1}}) == {
        "m": {"x": {"old": True, "new": 1, "diff": 0}}
    }
    assert diff_values({"m": {"x": 1}}, {"m": {"x": 1.0}}) == {}


def test_strings_get_no_diff_and_metric_lists_are_ignored() -> None:
    result = diff_values({"m.json": {"s": "a", "l": [1]}}, {"m.json": {"s": "b", "l": [2]}})
    assert result == {"m.json": {"s": {"old": "a", "new": "b"}}}


def test_missing_file_side() -> None:
    assert diff_values({}, {"m.json": {"a": 1}}) == {"m.json": {"a": {"old": None, "new": 1}}}
    assert diff_values({"m.json": {"a": 1}}, {"m.json": None}) == {
        "m.json": {"a": {"old": 1, "new": None}}
    }


def test_all_reports_float_zero_diff() -> None:
    result = diff_values({"m": {"a": 0.1}}, {"m": {"a": 0.1}}, all=True)
    assert result == {"m": {"a": {"old": 0.1, "new": 0.1, "diff": 0.0}}}
    assert json.dumps(result) == '{"m": {"a": {"old": 0.1, "new": 0.1, "diff": 0.0}}}'


# -- loading and cleaning --------------------------------------------------------------

ERROR_FILES = {
    "bad.json": b'{"a": 1\n',
    "bad.yaml": b"a: [1\n",
    "list.json": b"[1, 2]\n",
    "scalar.yaml": b"3\n",
    "t.toml": b"a = 1\n",
    "bad.toml": b"x\n",
    "m.csv": b"a,b\n1,2\n3,4\n",
    "m.txt": b"acc: 1\n",
    "nested.json": b'{"a": {"b": [1, {"c": 2}], "n": null, "e": {}, "s": "x", "t": true}}',
}


def test_load_and_clean_like_dvc_metrics_show() -> None:
    expected = _json("metrics-show-errors.json")[""]["data"]
    for path, content in ERROR_FILES.items():
        try:
            got: dict[str, Any] = {"data": clean_metrics(load_metrics(content, path))}
        except XptError as exc:
            got = {"error": {"type": type(exc).__name__}}
            assert f"'{path}'" in str(exc)
            assert "file structure is corrupted" in str(exc)
            expected[path]["error"].pop("msg")
        assert got == expected[path], path


@pytest.mark.parametrize(
    ("path", "data", "error"),
    [
        ("m.json", b"{", JSONFileCorruptedError),
        ("m.yaml", b"a: [", YAMLFileCorruptedError),
        ("m.yml", b"\xff\xfe", YAMLFileCorruptedError),
        ("m.toml", b"= 1", TOMLFileCorruptedError),
    ],
)
def test_load_metrics_errors(path: str, data: bytes, error: type[XptError]) -> None:
    with pytest.raises(error, match=path):
        load_metrics(data, path)


def test_load_metrics_formats() -> None:
    assert load_metrics(b'{"acc": 0.5}', "m.JSON") == {"acc": 0.5}
    assert load_metrics(b"acc: 0.5\nloss: 1e-3\n", "m.yaml") == {"acc": 0.5, "loss": 0.001}
    assert load_metrics(b"[s]\nacc = 0.5\n", "m.toml") == {"s": {"acc": 0.5}}
    assert load_metrics(b"", "m.yaml") == {}


def test_clean_metrics_drops_lists_nulls_and_empty_maps() -> None:
    assert clean_metrics({"a": {"b": [1], "c": None}, "d": 1, "e": "s", "f": False}) == {
        "d": 1,
        "e": "s",
        "f": False,
    }
    assert clean_metrics([1, 2]) == {}
    assert clean_metrics(None) == {}
    assert clean_metrics(0.5) == 0.5


def test_flatten() -> None:
    assert flatten({"a": {"b": {"c": 1}, "l": [1]}, "e": {}, 3: "x"}) == {
        "a.b.c": 1,
        "a.l": [1],
        "3": "x",
    }
