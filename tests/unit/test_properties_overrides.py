"""Properties of the `-S` override grammar (issue 17): any arguments parse, expand and
render, or give one `XptError`; never a traceback, never a params file outside the
project, and values written by `-S` read back as the values given."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xpt.errors import XptError
from xpt.experiments.run import write_files
from xpt.pipeline.override_values import MAX_SWEEP, format_value
from xpt.pipeline.overrides import expand_sweeps, has_sweeps, parse_set_params, render_overrides
from xpt.pipeline.params import load_params

SETTINGS = settings(max_examples=100, deadline=None)

GRAMMAR = [*"abc.~+=,:()[]{}'\" \\/-_019", "choice(", "range(", "int(", "..", "1e9", "null", "*"]
args = st.lists(
    st.one_of(
        st.text(max_size=30),
        st.lists(st.sampled_from(GRAMMAR), max_size=14).map("".join),
    ),
    min_size=1,
    max_size=3,
)
files = st.one_of(
    st.lists(
        st.sampled_from(["..", ".", "sub", "/", ".git", ".dvc", "p.yaml", "x.json"]), max_size=5
    )
    .map("/".join)
    .filter(bool),
    st.text(st.characters(blacklist_characters=":="), min_size=1, max_size=12),
)
PARAMS = b"foo: 1\ntrain:\n  lr: 0.1  # comment\n  layers: [1, 2]\nname: x\n"


def _inside(file: str) -> bool:
    parts = file.split("/")
    return not file.startswith("/") and parts[0] != ".." and not {".git", ".dvc"} & set(parts)


def _render(overrides: list[Any]) -> list[dict[str, bytes]]:
    sets = expand_sweeps(overrides) if has_sweeps(overrides) else [overrides]
    assert len(sets) <= MAX_SWEEP
    read = {"params.yaml": PARAMS}.get
    return [render_overrides(read, s) for s in sets[:3]]


@SETTINGS
@given(args)
def test_any_set_params_render_or_give_one_clear_error(argv: list[str]) -> None:
    try:
        overrides = parse_set_params(argv)
        rendered = _render(overrides)
    except XptError as exc:
        assert exc.message and "\n" not in exc.message
        return
    for o in overrides:
        assert _inside(o.file), o
    for out in rendered:
        assert all(_inside(path) for path in out)


@settings(max_examples=60, deadline=None)
@given(files, st.sampled_from(["+a=1", "a=2", "~a", "++b.c=[1,2]"]))
def test_params_files_stay_inside_the_project(tmp_path_factory, file: str, override: str) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("prop")
    root = base / "repo"
    root.mkdir()
    before = sorted(base.rglob("*"))
    try:
        overrides = parse_set_params([f"{file}:{override}"])
        out = render_overrides(lambda p: None, overrides)
        write_files(str(root), out)
    except XptError:
        assert sorted(base.rglob("*")) == before  # refused: nothing written
        return
    written = [p for p in base.rglob("*") if p not in before and p.is_file()]
    assert all(root in p.parents for p in written), written
    assert all(_inside(o.file) for o in overrides)


values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(st.sampled_from("abcxyz_-"), min_size=1, max_size=8).filter(
            lambda s: s.lower() not in ("null", "true", "false", "nan", "inf")
        ),
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(values, st.sampled_from(["params.yaml", "p.json", "p.toml"]))
def test_values_set_with_s_read_back_equal(value: Any, file: str) -> None:
    assume(not (file == "p.toml" and _has_none(value)))  # TOML has no null
    arg = f"{file}:++k={format_value(value)}"
    try:
        overrides = parse_set_params([arg])
    except XptError:
        raise AssertionError(f"{arg!r} should parse") from None
    assume(not has_sweeps(overrides))
    out = render_overrides(lambda p: None, overrides)
    data = load_params(out[file], file)
    assert data["k"] == value, (arg, out[file])


def _has_none(value: Any) -> bool:
    return value is None or (isinstance(value, list) and any(_has_none(v) for v in value))


def test_huge_sweeps_are_refused_before_they_are_built() -> None:
    for arg in ("foo=range(0,1000000000000)", "foo=range(0,1,1e-12)", "foo=range(0,inf)"):
        try:
            parse_set_params([arg])
        except XptError as exc:
            assert "range" in exc.message
        else:
            raise AssertionError(arg)
    overrides = parse_set_params(["a=range(0,200)", "b=range(0,200)"])
    try:
        expand_sweeps(overrides)
    except XptError as exc:
        assert "40000 experiments" in exc.message
    else:
        raise AssertionError("40,000 experiments expanded")


def test_write_files_refuses_a_symlinked_folder_leading_out(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "conf")
    out = render_overrides(lambda p: None, parse_set_params(["conf/p.json:+a=1"]))
    try:
        write_files(str(root), out)
    except XptError:
        pass
    else:
        raise AssertionError("wrote through a symlink leading out")
    assert list(outside.iterdir()) == []
    assert json.loads(out["conf/p.json"]) == {"a": 1}
