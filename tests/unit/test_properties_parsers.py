"""Properties of the dvc.yaml / dvc.lock parsers (issue 17): any bytes give a result or one
`XptError` (never a traceback), and every hash a parsed lock hands on is well formed."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from xpt.errors import XptError
from xpt.pipeline.lockfile import dump_lock, parse_lock, scan_hashes
from xpt.pipeline.lockformat import hash_entry
from xpt.pipeline.parse import load_pipeline
from xpt.utils.oids import is_oid

SETTINGS = settings(max_examples=100, deadline=None)
HEX = "0123456789abcdef"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        ["../../../../../victim.txt", "/etc/passwd", "d41d8cd98f00b204e9800998ecf8427e"]
    ),
)
md5_values = st.one_of(
    st.text(st.sampled_from([*HEX, ".", "/", "d", "i", "r", "A"]), max_size=40),
    st.text(st.sampled_from(HEX), min_size=32, max_size=32),
    st.builds(lambda h: h + ".dir", st.text(st.sampled_from(HEX), min_size=32, max_size=32)),
    scalars,
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
items = st.fixed_dictionaries(
    {"path": st.one_of(st.text(max_size=12), scalars)},
    optional={"md5": md5_values, "hash": st.just("md5"), "size": scalars, "nfiles": scalars},
)
stage_entries = st.fixed_dictionaries(
    {"cmd": st.one_of(st.text(max_size=20), st.lists(st.text(max_size=8), max_size=3))},
    optional={
        "deps": st.one_of(st.lists(items, max_size=3), yaml_values),
        "outs": st.one_of(st.lists(items, max_size=3), yaml_values),
        "params": yaml_values,
    },
)
locks = st.fixed_dictionaries(
    {
        "schema": st.one_of(st.just("2.0"), scalars),
        "stages": st.one_of(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_@-]{0,8}", fullmatch=True), stage_entries, max_size=3
            ),
            yaml_values,
        ),
    }
)


def _yaml(doc: Any) -> bytes:
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.dump(doc, buf)
    return buf.getvalue().encode()


def _hashes(parsed: dict[str, dict[str, Any]]) -> list[Any]:
    return [
        item["md5"]
        for entry in parsed.values()
        for section in ("deps", "outs")
        for item in entry.get(section) or []
        if "md5" in item
    ]


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_bytes_parse_or_give_one_clear_error(data: bytes) -> None:
    try:
        parsed = parse_lock(data, "dvc.lock")
    except XptError as exc:
        assert exc.message and "\n" not in exc.message.strip()
        parsed = None
    if parsed is not None:
        assert all(is_oid(h) for h in _hashes(parsed))
    fast = scan_hashes(data)  # the fast scanner never raises; it gives up instead
    if fast is not None:
        assert all(
            is_oid(i["md5"]) for e in fast.values() for s in e.values() for i in s if "md5" in i
        )


@SETTINGS
@given(doc=locks)
def test_structured_locks_only_hand_on_valid_hashes(doc: dict[str, Any]) -> None:
    data = _yaml(doc)
    try:
        parsed = parse_lock(data, "dvc.lock")
    except XptError as exc:
        assert "dvc.lock" in exc.message
        return
    assert all(is_oid(h) for h in _hashes(parsed))
    fast = scan_hashes(data)
    if fast is not None:
        for name, entry in fast.items():
            for section in ("deps", "outs"):
                assert entry[section] == (parsed[name].get(section) or [])


@SETTINGS
@given(
    md5=st.text(st.sampled_from(HEX), min_size=32, max_size=32),
    tree=st.booleans(),
    path=st.from_regex(r"[a-z][a-z0-9_./-]{0,15}", fullmatch=True),
)
def test_locks_xpt_writes_read_back_through_both_parsers(md5: str, tree: bool, path: str) -> None:
    oid = md5 + (".dir" if tree else "")
    entry = {"cmd": "python train.py", "outs": [hash_entry(path, oid, 3, 1 if tree else None)]}
    data = dump_lock(None, {"train": entry})
    assert parse_lock(data)["train"]["outs"][0]["md5"] == oid
    fast = scan_hashes(data)
    assert fast is None or fast["train"]["outs"][0]["md5"] == oid


@SETTINGS
@given(
    doc=st.one_of(
        st.fixed_dictionaries(
            {"stages": st.dictionaries(st.text(max_size=8), yaml_values, max_size=3)},
            optional={"vars": yaml_values, "params": yaml_values, "metrics": yaml_values},
        ),
        yaml_values,
    )
)
def test_any_dvc_yaml_loads_or_gives_one_clear_error(doc: Any) -> None:
    data = _yaml(doc)
    files = {"dvc.yaml": data, "params.yaml": b"foo: 1\n"}
    try:
        load_pipeline(files.get, "dvc.yaml")
    except XptError as exc:
        assert exc.message


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_dvc_yaml_bytes_load_or_give_one_clear_error(data: bytes) -> None:
    try:
        load_pipeline({"dvc.yaml": data}.get, "dvc.yaml")
    except XptError as exc:
        assert exc.message
