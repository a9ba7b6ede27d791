"""dvc.lock reading/writing against real DVC 3.67.1 output (tests/resources/lock)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from xpt.errors import PipelineError
from xpt.pipeline import lockfile
from xpt.pipeline.lockfile import (
    build_entry,
    canonical_json,
    dump_entry,
    dump_lock,
    experiment_hash,
    parse_lock,
    run_cache_key_value,
)
from xpt.pipeline.lockformat import hash_entry

RES = Path(__file__).resolve().parents[1] / "resources" / "lock"
DVC_LOCKS = ["rich.lock", "empty-params.lock", "scalars.lock", "generated.lock", "updated.lock"]


def _read(name: str) -> bytes:
    return (RES / name).read_bytes()


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_roundtrip_is_byte_identical_to_dvc(name: str) -> None:
    data = _read(name)
    if data.startswith(b"#"):  # the leading comment is not data; compare the rest
        data = data.split(b"\n", 1)[1]
    assert dump_lock(None, parse_lock(data, name)) == data


@pytest.mark.parametrize("name", [*DVC_LOCKS, "commented.lock", "experiment.lock"])
def test_rewriting_same_entries_changes_nothing(name: str) -> None:
    data = _read(name)
    assert dump_lock(data, {}) == data
    if name != "commented.lock":  # a replaced entry loses its comments, as in DVC
        assert dump_lock(data, parse_lock(data)) == data


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_full_rewrite_without_round_trip_is_the_same_bytes(name: str) -> None:
    """Replacing every stage of a comment-free lock skips ruamel's round-trip load (a
    queued experiment's lock write): same bytes as the round trip, order rules too."""
    data = _read(name)
    if data.startswith(b"#"):
        data = data.split(b"\n", 1)[1]
    entries = parse_lock(data)
    names = list(entries)
    extra = {"zz-new": dict(entries[names[0]], cmd="echo new")}
    cases: list[tuple[dict, tuple[str, ...]]] = [
        (entries, ()),
        (dict(reversed(list(entries.items()))), ()),  # old order wins for old stages
        ({**entries, **extra}, ()),  # a new stage is appended
        ({n: entries[n] for n in names[1:]}, (names[0],)),  # removed, others replaced
        (entries, (names[0],)),  # removed then written again: it goes last
    ]
    for new, remove in cases:
        fast = lockfile._fresh_stages(data, new, remove) is not None
        assert fast == (b"#" not in data)  # a '#' anywhere (even quoted): round trip
        assert dump_lock(data, new, remove) == lockfile._dump_roundtrip(data, new, remove)
    if len(names) > 1:  # a stage kept verbatim needs the round trip
        assert lockfile._fresh_stages(data, {names[0]: entries[names[0]]}, ()) is None


def test_update_keeps_comments_positions_and_appends_like_dvc() -> None:
    new = parse_lock(_read("updated.lock"))
    entries = {name: new[name] for name in ("long", "quotes", "listcmd", "newstage")}
    assert dump_lock(_read("commented.lock"), entries) == _read("updated.lock")


def test_update_of_one_stage_keeps_others_verbatim() -> None:
    old = _read("commented.lock")
    entry = dict(parse_lock(old)["long"], cmd="echo short")
    out = dump_lock(old, {"long": entry}).decode()
    assert out.startswith("# top comment\nschema: '2.0'\nstages:\n  long:\n    cmd: echo short\n")
    assert "zeta: 3   # zeta c\n" in out  # untouched stage keeps its comments
    assert out.endswith("# trailing comment\n")
    assert list(parse_lock(out.encode())) == ["long", "quotes", "listcmd"]


def test_new_file_and_remove() -> None:
    e = build_entry("echo a", [], {}, [hash_entry("a.txt", "0" * 32, 2)])
    text = dump_lock(None, {"a": e, "b": dict(e, cmd="echo b")})
    assert text.decode().startswith("schema: '2.0'\nstages:\n  a:\n    cmd: echo a\n    outs:\n")
    assert list(parse_lock(dump_lock(text, {}, remove=["a"]))) == ["b"]
    assert dump_lock(text, {}, remove=["a", "b"]) == b""


def test_schema_is_inserted_first_when_missing_in_old() -> None:
    out = dump_lock(b"stages: {}\n", {"s": {"cmd": "x"}})
    assert out == b"schema: '2.0'\nstages:\n  s:\n    cmd: x\n"


def test_parse_returns_plain_types_and_keeps_sharing() -> None:
    lock = parse_lock(_read("rich.lock"))
    params = lock["quotes"]["params"]["params.yaml"]
    assert type(lock["quotes"]) is dict and type(params["listdicts"]) is list
    assert params["lr"] == 1e-05 and type(params["lr"]) is float
    assert params["nothing"] is None and params["one_str"] == "1.0" and params["empty"] == ""
    assert params["yes_str"] == "yes" and params["big"] == 12345678901234567890
    assert params["nested.b.c"] is params["nested"]["b"]["c"]  # the YAML alias


def test_missing_file_is_empty() -> None:
    assert parse_lock(None) == {}


@pytest.mark.parametrize(
    "data",
    [b"", b"schema: '3.0'\nstages: {}\n", b"stages:\n  a:\n    cmd: x\n", b"- 1\n"],
)
def test_bad_schema(data: bytes) -> None:
    with pytest.raises(PipelineError, match=r"sub/dvc\.lock"):
        parse_lock(data, "sub/dvc.lock")


def test_yaml_error_names_file_and_line() -> None:
    with pytest.raises(PipelineError, match=r"^dvc\.lock:4:1: "):
        parse_lock(b"schema: '2.0'\nstages:\n  a: [\n", "dvc.lock")


@pytest.mark.parametrize(
    "stages",
    [
        "  a: 1\n",
        "  a:\n    outs: x\n",
        "  a:\n    deps:\n    - md5: x\n",
        "  a:\n    params: [1]\n",
    ],
)
def test_malformed_entries(stages: str) -> None:
    with pytest.raises(PipelineError, match="stages.a"):
        parse_lock(f"schema: '2.0'\nstages:\n{stages}".encode())


def test_hash_entry_key_order() -> None:
    e = hash_entry("d", "x.dir", 5, nfiles=2, isexec=True)
    assert list(e.items()) == [
        ("path", "d"),
        ("hash", "md5"),
        ("md5", "x.dir"),
        ("size", 5),
        ("nfiles", 2),
        ("isexec", True),
    ]
    assert list(hash_entry("f", "y", 1, legacy=True)) == ["path", "md5", "size"]


def test_build_entry_orders_like_dvc() -> None:
    deps = [hash_entry("z", "1", 1), hash_entry("a/b", "2", 1)]
    params = {"z.json": {"b": 1, "a": 2}, "params.yaml": {"z": 1, "A": 2, "_b": 3}, "c.toml": {}}
    outs = [hash_entry("o2", "3", 1), hash_entry("o1", "4", 1)]
    e = build_entry(["a", "b"], deps, params, outs)
    assert list(e) == ["cmd", "deps", "params", "outs"]
    assert [d["path"] for d in e["deps"]] == ["a/b", "z"]
    assert list(e["params"]) == ["params.yaml", "c.toml", "z.json"]
    assert list(e["params"]["params.yaml"]) == ["A", "_b", "z"]
    assert [o["path"] for o in e["outs"]] == ["o1", "o2"]
    assert build_entry("x", [], {}, []) == {"cmd": "x"}


def test_build_entry_matches_dvc_file() -> None:
    lock = parse_lock(_read("empty-params.lock"))["a"]
    rebuilt = build_entry(lock["cmd"], [], dict(reversed(lock["params"].items())), lock["outs"])
    assert dump_lock(None, {"a": rebuilt}) == _read("empty-params.lock")


@pytest.mark.parametrize("name", ["rich.lock", "generated.lock"])
def test_build_entry_from_unshared_copies_restores_dvc_aliases(name: str) -> None:
    lock = parse_lock(_read(name))
    rebuilt = {}
    for stage, e in copy.deepcopy(lock).items():
        params = {f: copy.deepcopy(dict(v)) for f, v in e.get("params", {}).items()}
        for values in params.values():  # break every sharing the parser kept
            for k in values:
                values[k] = copy.deepcopy(values[k])
        rebuilt[stage] = build_entry(e["cmd"], e.get("deps", []), params, e.get("outs", []))
    assert dump_lock(None, rebuilt) == _read(name)


def _runs() -> list[Path]:
    return sorted((RES / "runs").glob("*.yaml"))


@pytest.mark.parametrize("path", _runs(), ids=lambda p: p.name[:8])
def test_run_cache_key_value_and_file_match_dvc(path: Path) -> None:
    key, value = path.stem.split("-")
    entry = YAML(typ="safe", pure=True).load(path.read_bytes())
    assert run_cache_key_value(entry) == (key, value)
    assert dump_entry(entry) == path.read_bytes()


def test_run_cache_spec_example() -> None:
    d = hash_entry("data/raw", "0e63383dd5b97e4abd29761447d310a2.dir", 23, nfiles=3)
    o = hash_entry("out/prepared", "0e63383dd5b97e4abd29761447d310a2.dir", 23, nfiles=3)
    entry = build_entry(["mkdir -p out", "cp -r data/raw out/prepared"], [d], {}, [o])
    assert run_cache_key_value(entry) == (
        "0beb2b1dcbe51cb32b21233189dac5e2d7224fc696de867f3c75001b6ee7ef82",
        "ab89d67f8a1233a6a21b3b6e54b3f66c474009f235404447edb6c54621f16160",
    )


def test_experiment_hash_matches_dvc_commit() -> None:
    lock = parse_lock(_read("experiment.lock"))
    expected = "cebc7f56f2712e93d1c16bf000a007b905875400d69da9de77e45c2641d792c5"
    assert experiment_hash({"inwdir": lock["inwdir"]}) == expected
    assert experiment_hash(lock) != expected


def test_canonical_json() -> None:
    assert canonical_json({"b": [1e-05, None, True], "a": "é"}) == (
        b'{"a": "\\u00e9", "b": [1e-05, null, true]}'
    )
