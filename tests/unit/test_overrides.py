"""`-S` overrides: grammar, sweeps and rendering (behaviours 38-56 of behaviors.md)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from xpt.errors import ParamsError
from xpt.pipeline.overrides import (
    Override,
    expand_sweeps,
    has_sweeps,
    parse_set_params,
    render_overrides,
    sweep_error_message,
)
from xpt.pipeline.params import load_params
from xpt.pipeline.parse import workspace_reader

F4 = """\
# top comment
foo:
- bar: 1
- baz: 2
goo:
  bag: 3.0   # inline comment
lorem: false
lst: [1, 2, 3]
"""


def render(args: list[str], files: dict[str, str] | None = None) -> dict[str, str]:
    files = {"params.yaml": F4} if files is None else files

    def read(path: str) -> bytes | None:
        return files[path].encode() if path in files else None

    out = render_overrides(read, parse_set_params(args))
    return {path: data.decode() for path, data in out.items()}


def values(args: list[str], files: dict[str, str] | None = None, path: str = "params.yaml") -> dict:
    return load_params(render(args, files)[path].encode(), path)


# --- behaviours 38-45: applying overrides -------------------------------------------------


def test_38_plain_override_with_and_without_file_prefix() -> None:
    f1 = {"params.yaml": "foo: 1\n"}
    assert render(["foo=2"], f1) == render(["params.yaml:foo=2"], f1) == {"params.yaml": "foo: 2\n"}


def test_39_nested_key_keeps_comments_and_everything_else_byte_for_byte() -> None:
    assert render(["goo.bag=4"])["params.yaml"] == F4.replace("bag: 3.0   #", "bag: 4     #")


def test_40_list_element_inside_list_of_dicts() -> None:
    assert values(["foo.1.baz=3"])["foo"] == [{"bar": 1}, {"baz": 3}]


def test_41_replace_list_element_wholesale() -> None:
    assert values(["foo.0=bar"])["foo"] == ["bar", {"baz": 2}]


def test_42_scalar_list_index_and_whole_list_keep_flow_style() -> None:
    out = render(["lst.1=20"])["params.yaml"]
    assert "lst: [1, 20, 3]\n" in out
    out = render(["lst=[7,8]"])["params.yaml"]
    assert "lst: [7, 8]\n" in out and "# top comment" in out


def test_43_add_nested_path_and_force_merge() -> None:
    data = values(["+new.deep.key=5"])
    assert data["new"] == {"deep": {"key": 5}}
    assert list(data) == ["foo", "goo", "lorem", "lst", "new"]
    assert values(["++goo={a: 1}"])["goo"] == {"bag": 3.0, "a": 1}
    assert values(["+goo={a: 1}"])["goo"] == {"bag": 3.0, "a": 1}  # `+` may merge into a map
    assert values(["++goo.bag=7"])["goo"] == {"bag": 7}
    assert values(["++goo.bag.x=1"])["goo"] == {"bag": {"x": 1}}  # force replaces a scalar


def test_44_delete() -> None:
    out = render(["~lorem"])["params.yaml"]
    assert "lorem" not in out and out.startswith("# top comment\n")
    assert values(["~goo.bag=3.0"])["goo"] == {}
    assert values(["~lst.0"])["lst"] == [2, 3]


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("goo.bag=null", None),
        ("goo.bag=", ""),
        ('goo.bag="3"', "3"),
        ("goo.bag='it s'", "it s"),
        ("goo.bag=1e-3", 0.001),
        ("goo.bag=1992-11-20", "1992-11-20"),
        ("goo.bag=01", "01"),
        ("goo.bag=00", "00"),
        ("goo.bag=foo bar", "foo bar"),
        ("goo.bag= spaced  out ", "spaced  out"),
        ("goo.bag=abc:def", "abc:def"),
        ("goo.bag=TRUE", True),
        ("goo.bag=Null", None),
        ("goo.bag=None", "None"),
        ("goo.bag=yes", "yes"),
        ("goo.bag=1_000", 1000),
        ("goo.bag=+5", 5),
        ("goo.bag=-0", 0),
        ("goo.bag=0x10", "0x10"),
        ("goo.bag=1.", 1.0),
        ("goo.bag=.5", 0.5),
        ("goo.bag=5e3", 5000.0),
        ("goo.bag=-inf", -math.inf),
        ("goo.bag=1.5.5", "1.5.5"),
        ("goo.bag=a\\,b\\ c\\=d", "a,b c=d"),
        ('goo.bag="a\\"b"', 'a"b'),
        ("goo.bag=/path/to-file.txt", "/path/to-file.txt"),
        ("goo.bag=[1, [2, 3], {a: b}]", [1, [2, 3], {"a": "b"}]),
        ('goo.bag=[ 1 , a b , "x,y" ]', [1, "a b", "x,y"]),
        ("goo.bag={a: [1, 2], b: {c: null}}", {"a": [1, 2], "b": {"c": None}}),
        ("goo.bag={a:1}", {"a": 1}),
        ("goo.bag=[]", []),
        ("goo.bag=int(3.5)", 3),
        ("goo.bag=str(3)", "3"),
        ("goo.bag=float(1)", 1.0),
        ('goo.bag=bool("false")', False),
        ('goo.bag=int([1.5,"2"])', [1, 2]),
    ],
)
def test_45_value_typing(arg: str, expected: object) -> None:
    assert values([arg])["goo"]["bag"] == expected
    assert type(values([arg])["goo"]["bag"]) is type(expected)


def test_45_empty_map_merges_nothing() -> None:
    assert values(["goo={}"])["goo"] == {"bag": 3.0}


def test_45_nan() -> None:
    assert math.isnan(values(["goo.bag=nan"])["goo"]["bag"])


# --- behaviours 46-51: errors, and nothing is produced -------------------------------------


def _error(args: list[str], files: dict[str, str] | None = None) -> ParamsError:
    with pytest.raises(ParamsError) as info:
        render(args, files)
    assert "\n" not in info.value.message
    return info.value


def test_46_unknown_key_suggests_plus() -> None:
    err = _error(["bar=2"], {"params.yaml": "foo: 1\n"})
    assert "'bar'" in err.message and "params.yaml" in err.message
    assert err.hint is not None and "+bar=2" in err.hint
    err = _error(["goo={a: 1}"])
    assert "goo.a" in err.message and err.hint is not None and "+goo={a: 1}" in err.hint


def test_47_plus_on_existing_key_suggests_plain_or_double_plus() -> None:
    err = _error(["+lorem=5"])
    assert "already exists" in err.message
    assert err.hint is not None and "lorem=5" in err.hint and "++lorem=5" in err.hint
    _error(["+a=1", "+a=2"], {"params.yaml": "x: 1\n"})


@pytest.mark.parametrize(
    ("arg", "what"),
    [
        ("foo[0]=bar", "bracket"),
        ("lst.5=1", "out of range"),
        ("lst.3=1", "out of range"),
        ("+lst.3=1", "out of range"),
        ("lst.-1=9", "not a valid key"),
        ("goo.bag.x=1", "not a map or list"),
        ("+goo.bag.x=1", "not a map or list"),
        ("lst.a=1", "not a number"),
        ("lst={a: 1}", "cannot merge a map into the list"),
        ("foo", "expected key=value"),
        ("+lorem", "expected key=value"),
        ("=3", "key is empty"),
        ("a b=1", "not a valid key"),
        ("a..b=1", "not a valid key"),
        ("~nope", "does not exist"),
        ("~goo.bag=4", "not 4"),
        ("lorem=[a,]", "empty element"),
        ("lorem=[a", "missing ']'"),
        ("lorem=a=b", "unexpected '='"),
        ('lorem="a"b', "unexpected 'b'"),
        ("lorem=glob(*)", "glob() overrides are not supported"),
        ("lorem=range(1,3,0)", "step must not be zero"),
        ("lorem=choice()", "one or more values"),
        ("lorem=nope(1)", "unknown function"),
        ("lorem=${goo.bag}", "interpolations"),
        ('lorem=int("a")', "int()"),
        ("foo.0.new=5", "does not exist"),
        ("other.yaml:foo=1", "does not exist"),
        ("other.yaml:~foo", "does not exist"),
    ],
)
def test_49_50_51_bad_overrides_are_one_line_errors(arg: str, what: str) -> None:
    assert what in _error([arg]).message


def test_49_error_in_any_override_produces_nothing(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(F4)
    (tmp_path / "p.json").write_text('{"a": {"b": 1}}')
    read = workspace_reader(tmp_path)
    for bad in (["p.json:a.b=2", "goo.bag=5", "lst.5=1"], ["goo.bag=5", "p.json:nope=1"]):
        with pytest.raises(ParamsError):
            render_overrides(read, parse_set_params(bad))
    assert (tmp_path / "params.yaml").read_text() == F4
    assert (tmp_path / "p.json").read_text() == '{"a": {"b": 1}}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "params.yaml"]


def test_51_missing_file_is_created_by_plus_only() -> None:
    assert render(["other.yaml:+foo=1", "other.yaml:++bar.x=[1]"], {}) == {
        "other.yaml": "foo: 1\nbar:\n  x:\n  - 1\n"
    }
    assert render(["n.json:+a=1"], {}) == {"n.json": '{"a": 1}'}
    assert render(["n.toml:+a.b=1"], {}) == {"n.toml": "[a]\nb = 1\n"}
    assert render(["n.py:+A=1", "n.py:+B.c='x y'"], {}) == {"n.py": 'A = 1\nB = {"c": "x y"}\n'}
    _error(["other.yaml:+foo=1", "other.yaml:bar=2"], {})


# --- behaviour 52: several files; formats ---------------------------------------------------


def test_52_multiple_files_json_rewritten_as_json() -> None:
    files = {"params.yaml": F4, "p.json": '{\n  "a": {"b": 1},\n  "u": "\\u00e9"\n}\n'}
    out = render(["p.json:a.b=2", "goo.bag=5", "p.json:+c=é"], files)
    assert out["p.json"] == '{"a": {"b": 2}, "u": "\\u00e9", "c": "\\u00e9"}'
    assert "  bag: 5     # inline comment\n" in out["params.yaml"]
    assert "NaN" in _error(["p.json:a=nan"], files).message


def test_52_toml_keeps_comments() -> None:
    toml = '# c\ngamma = 7  # g\narr = [1, 2, 3]\n\n[section]\n# inside\ndelta = "x"\n'
    args = ["p.toml:gamma=8", "p.toml:section.delta=y", "p.toml:+section.new=1"]
    out = render([*args, "p.toml:arr.1=5", "p.toml:+tbl={a: 1}"], {"p.toml": toml})
    assert out["p.toml"] == (
        '# c\ngamma = 8  # g\narr = [1, 5, 3]\n\n[section]\n# inside\ndelta = "y"\nnew = 1\n'
        "\n[tbl]\na = 1\n"
    )
    assert "no null" in _error(["p.toml:gamma=null"], {"p.toml": toml}).message


def test_toml_table_with_a_numeric_key_segment() -> None:
    # tomlkit tables refuse integer lookups: a digit segment is a string key there
    toml = "[lst]\na = 1\n"
    assert render(["p.toml:+lst.3=1"], {"p.toml": toml})["p.toml"] == "[lst]\na = 1\n3 = 1\n"


PY = """\
import os

INT = 1  # int comment
FLOAT = 0.5
STR = "hello"
TUP = (1, 2)
DCT = {
    "a": 1,
    "b": 2,
}
X: int = 3
NONLIT = os.getcwd()


class Train:
    seed = 2020
    lr = 0.1


class Klass:
    def __init__(self):
        self.a = 111
"""


def test_53_python_params_edited_in_place() -> None:
    args = ["p.py:INT=2", "p.py:Train.seed=2121", "p.py:Klass.a=222", "p.py:FLOAT=1e-3"]
    args += ["p.py:STR='hi there'", "p.py:TUP=[3,4]", "p.py:X=None"]
    out = render(args, {"p.py": PY})["p.py"]
    expected = (
        PY.replace("INT = 1 ", "INT = 2 ")
        .replace("seed = 2020", "seed = 2121")
        .replace("self.a = 111", "self.a = 222")
        .replace("FLOAT = 0.5", "FLOAT = 0.001")
        .replace('STR = "hello"', 'STR = "hi there"')
        .replace("TUP = (1, 2)", "TUP = (3, 4)")
        .replace("X: int = 3", "X: int = None")
    )
    assert out == expected


def test_53_python_nested_add_delete() -> None:
    out = render(["p.py:DCT.a=5", "p.py:~INT", "p.py:~Train.lr", "p.py:+Train.m=0.9"], {"p.py": PY})
    data = load_params(out["p.py"].encode(), "p.py")
    assert data["DCT"] == {"a": 5, "b": 2} and "INT" not in data
    assert data["Train"] == {"seed": 2020, "m": 0.9}
    assert 'DCT = {"a": 5, "b": 2}\n' in out["p.py"] and "import os\n" in out["p.py"]


@pytest.mark.parametrize("arg", ["p.py:INT=2a", "p.py:STR=hello world", "p.py:FLOAT=nan"])
def test_53_python_invalid_literal(arg: str) -> None:
    err = _error([arg], {"p.py": PY})
    assert "p.py" in err.message


def test_54_adding_an_untracked_key() -> None:
    assert render(["+bar=2"], {"params.yaml": "foo: 1\n"}) == {"params.yaml": "foo: 1\nbar: 2\n"}


# --- behaviour 55: formatting ---------------------------------------------------------------


COMMENTED = """\
# top
a: 1  # eol a
# before b
b:
  x: 1   # eol x
  y: [1, 2]  # eol y
# before c
c:
- 1  # one
- 2
# before e

e: x  # e
# final
"""


def test_55_comments_follow_the_keys_they_describe() -> None:
    files = {"params.yaml": COMMENTED}
    assert render(["~a"], files)["params.yaml"] == COMMENTED.replace("a: 1  # eol a\n", "")
    assert render(["~b"], files)["params.yaml"] == (
        COMMENTED.replace("b:\n  x: 1   # eol x\n  y: [1, 2]  # eol y\n", "")
    )
    assert render(["c=7"], files)["params.yaml"] == COMMENTED.replace(
        "c:\n- 1  # one\n- 2\n", "c: 7\n"
    )
    assert render(["++b={q: 1}"], files)["params.yaml"] == COMMENTED.replace(
        "# eol y\n", "# eol y\n  q: 1\n"
    )
    assert render(["~e"], files)["params.yaml"].endswith("# before e\n\n# final\n")


def test_55_indentation_quotes_and_long_lines_are_kept() -> None:
    text = "a:\n    b: 1\n    c:\n      - 1\n      - 2\nd: 'q'\nlong: " + "word " * 30 + "end\n"
    out = render(["a.b=2", "d=z"], {"params.yaml": text})["params.yaml"]
    assert out == text.replace("b: 1", "b: 2").replace("'q'", "'z'")


def test_55_comment_only_file_keeps_its_comment() -> None:
    assert render(["+x=1"], {"params.yaml": "# nothing yet\n"}) == {
        "params.yaml": "# nothing yet\nx: 1\n"
    }


def test_55_yaml_errors_name_file_and_line() -> None:
    assert _error(["x=1"], {"params.yaml": "x: [\n"}).message.startswith(
        "params file 'params.yaml': 2:1"
    )
    assert "mapping" in _error(["x=1"], {"params.yaml": "- 1\n"}).message


# --- parsing and behaviour 56: sweeps -------------------------------------------------------


def test_parse_forms() -> None:
    assert parse_set_params(["p.json:++a.b=2", "t=abc:def", "~x", "~y=3", "+z=1"]) == [
        Override("p.json", "force", "a.b", 2, raw="2"),
        Override("params.yaml", "set", "t", "abc:def", raw="abc:def"),
        Override("params.yaml", "delete", "x"),
        Override("params.yaml", "delete", "y", 3, raw="3"),
        Override("params.yaml", "add", "z", 1, raw="1"),
    ]
    assert [o.to_arg() for o in parse_set_params(["./sub/p.yaml:a=1"])] == ["sub/p.yaml:a=1"]


def test_comma_splits_only_whole_overrides() -> None:
    assert [o.key for o in parse_set_params(["a=1,+b=2,~c"])] == ["a", "b", "c"]
    assert [o.file for o in parse_set_params(["p.json:a=1,b=[1,2]"])] == ["p.json"] * 2
    (sweep,) = parse_set_params(["a=x y,z"])
    assert sweep.sweep == ("x y", "z")
    (one,) = parse_set_params(["a=[1,2]"])
    assert one.value == [1, 2] and one.sweep is None


def test_56_sweeps_expand_first_varies_slowest() -> None:
    overrides = parse_set_params(["foo=1,2", "p.json:bar=range(10,30,10)", "baz=3"])
    assert has_sweeps(overrides)
    combos = expand_sweeps(overrides)
    assert [[o.to_arg() for o in c] for c in combos] == [
        ["foo=1", "p.json:bar=10", "baz=3"],
        ["foo=1", "p.json:bar=20", "baz=3"],
        ["foo=2", "p.json:bar=10", "baz=3"],
        ["foo=2", "p.json:bar=20", "baz=3"],
    ]
    assert not any(has_sweeps(c) for c in combos)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("x=choice(7,8)", [7, 8]),
        ("x=choice([1,2],[3])", [[1, 2], [3]]),
        ("x=[1,2],3", [[1, 2], 3]),
        ("x=range(3)", [0, 1, 2]),
        ("x=range(3,1,-1)", [3, 2]),
        ("x=range(start=1,stop=4,step=2)", [1, 3]),
        ("x=range(1.5,3)", [1.5, 2.5]),
        ("x=range(0,1,0.1)", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7000000000000001, 0.8, 0.9]),
        ("x=sort(3,1,2)", [1, 2, 3]),
        ("x=sort(3,1,reverse=true)", [3, 1]),
        ("x=int(choice(1.5,2.5))", [1, 2]),
        ("x=a\\,b,c", ["a,b", "c"]),
        ("x=1,1", [1, 1]),
    ],
)
def test_56_sweep_values(arg: str, expected: list[object]) -> None:
    assert [c[0].value for c in expand_sweeps(parse_set_params([arg]))] == expected


def test_56_later_override_of_same_key_replaces_sweep() -> None:
    combos = expand_sweeps(parse_set_params(["x=a,b", "x=c"]))
    assert [[o.to_arg() for o in c] for c in combos] == [["x=c"]]


def test_56_sweeps_are_refused_by_render() -> None:
    with pytest.raises(ParamsError, match="--queue"):
        render(["lorem=1,2"])
    assert "can't be used without `--queue`" in sweep_error_message()


def test_56_sweep_candidates_keep_quoting_for_python_files() -> None:
    combos = expand_sweeps(parse_set_params(['p.py:STR=choice("a b",c)']))
    assert [c[0].raw for c in combos] == ['"a b"', "c"]
    read = {"p.py": PY.encode()}.get
    assert 'STR = "a b"' in render_overrides(read, combos[0])["p.py"].decode()
    with pytest.raises(ParamsError, match="not a Python literal"):
        render_overrides(read, combos[1])


def test_json_values_roundtrip() -> None:
    out = render(["p.json:a=[1, {b: null}]"], {"p.json": '{"a": 0}'})
    assert json.loads(out["p.json"]) == {"a": [1, {"b": None}]}


LOADED = """
import json, sys
from xpt.pipeline.overrides import parse_set_params, render_overrides

def loaded():
    return sorted({m.split(".")[0] for m in sys.modules} & {"ruamel", "tomlkit"})

steps = [loaded()]
for name in ("p.toml", "params.yaml"):
    render_overrides({name: b"a = 1" if name == "p.toml" else b"a: 1"}.get,
                     parse_set_params([f"{name}:a=2"]))
    steps.append(loaded())
print(json.dumps(steps))
"""


def test_editor_libraries_are_imported_only_for_their_format(tmp_path: Path) -> None:
    # a fresh interpreter: the start-up of every `exp run` must not pay for them
    proc = subprocess.run(
        [sys.executable, "-P", "-c", LOADED], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [[], ["tomlkit"], ["ruamel", "tomlkit"]]
