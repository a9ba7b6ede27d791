"""Params files: formats by extension, key selection, flattening, errors."""

from __future__ import annotations

import datetime

import pytest

from xpt.errors import ParamsError
from xpt.pipeline.params import flatten, has_key, load_params, read_params, select


def test_yaml_is_yaml_1_2_safe() -> None:
    data = load_params(
        b"a: 01\nb: yes\nc: 1e-3\nd: 0o17\ne: 2024-01-01\nf: ~\ng: [1, 2]\n", "params.yaml"
    )
    assert data == {
        "a": 1,
        "b": "yes",
        "c": 0.001,
        "d": 15,
        "e": datetime.date(2024, 1, 1),
        "f": None,
        "g": [1, 2],
    }
    assert type(data) is dict


@pytest.mark.parametrize("text", [b"", b"# only a comment\n", b"\n\n"])
def test_empty_yaml_is_empty_dict(text: bytes) -> None:
    assert load_params(text, "params.yaml") == {}


def test_unknown_extension_and_yml_are_yaml() -> None:
    assert load_params(b"x: 1", "conf.yml") == {"x": 1}
    assert load_params(b"x: 1", "conf.cfg") == {"x": 1}
    assert load_params(b"x: 1", "CONF.YAML") == {"x": 1}


def test_json_and_toml() -> None:
    assert load_params(b'{"a": {"b": [1, 2.5]}}', "p.json") == {"a": {"b": [1, 2.5]}}
    toml = b'gamma = 0.5\n[section]\nname = "x"\n[section.sub]\nn = 3\n'
    assert load_params(toml, "cfg.TOML") == {
        "gamma": 0.5,
        "section": {"name": "x", "sub": {"n": 3}},
    }


def test_python_params_statically() -> None:
    source = b"""
import os
THRESHOLD = 0.25
N: int = 3
T = (1, 2)
S = {3, 1}
NEG = -1
A = B = 5
X, Y = 1, 2
P = os.getcwd()
D = {"a": [1, (2, 3)]}
def helper():
    INSIDE = 1
class Cfg:
    depth = 3
    name: str = "n"
    class Inner:
        z = 1
    def __init__(self):
        self.lr = 0.1
        self.depth = 4
        self.bad = compute()
        local = 5
    def other(self):
        self.nope = 1
"""
    assert load_params(source, "hp.py") == {
        "THRESHOLD": 0.25,
        "N": 3,
        "T": [1, 2],
        "S": [1, 3],
        "NEG": -1,
        "D": {"a": [1, [2, 3]]},
        "Cfg": {"depth": 4, "name": "n", "Inner": {"z": 1}, "lr": 0.1},
    }


@pytest.mark.parametrize(
    ("path", "data", "fragment"),
    [
        ("params.yaml", b"a: [1\n", "params file 'params.yaml': 2:1:"),
        ("params.yaml", b"a: 1\na: 2\n", "duplicate key"),
        ("params.yaml", b"- 1\n- 2\n", "top level must be a mapping, not list"),
        ("p.json", b'{"a": }', "params file 'p.json': 1:7:"),
        ("p.toml", b"a = \n", "params file 'p.toml':"),
        ("hp.py", b"x = (\n", "params file 'hp.py': 1:"),
        ("params.yaml", b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_parse_errors_name_the_file(path: str, data: bytes, fragment: str) -> None:
    with pytest.raises(ParamsError) as info:
        load_params(data, path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_select_dotted_paths_and_list_indexes() -> None:
    data = {"train": {"opt": {"name": "adam"}}, "opts": {"layers": [8, 16]}, "m": {1: "one"}}
    assert select(data, "train.opt.name") == "adam"
    assert select(data, "train.opt") == {"name": "adam"}
    assert select(data, "opts.layers.1") == 16
    assert select(data, "m.1") == "one"
    assert has_key(data, "opts.layers")
    assert not has_key(data, "opts.layers.2")


@pytest.mark.parametrize("key", ["nope", "train.nope", "opts.layers.5", "opts.layers.x"])
def test_select_missing_key_names_key_and_file(key: str) -> None:
    data = {"train": {"opt": 1}, "opts": {"layers": [8]}}
    with pytest.raises(ParamsError) as info:
        select(data, key, "conf/params.yaml")
    assert f"key '{key}'" in str(info.value)
    assert "'conf/params.yaml'" in str(info.value)


def test_flatten_keeps_lists_and_drops_empty_maps() -> None:
    data = {"a": {"b": {"c": 1}, "l": [1, {"x": 2}]}, "top": "v", "empty": {}}
    assert flatten(data) == {"a.b.c": 1, "a.l": [1, {"x": 2}], "top": "v"}
    assert flatten({"x": 1}, "p") == {"p.x": 1}


def test_read_params_missing_file() -> None:
    files = {"params.yaml": b"foo: 1\n"}
    assert read_params(files.get, "params.yaml") == {"foo": 1}
    with pytest.raises(ParamsError, match="params file 'other.yaml' does not exist"):
        read_params(files.get, "other.yaml")


def test_memoised_yaml_returns_independent_copies() -> None:
    first = load_params(b"a: {b: [1]}\n", "params.yaml")
    first["a"]["b"].append(2)
    assert load_params(b"a: {b: [1]}\n", "params.yaml") == {"a": {"b": [1]}}
