"""Typed lock entries (`LockEntry`, `LockItem`): read from real DVC files and written back
byte for byte, for dvc.lock (DVC 3 and DVC 2's dialect) and `.dvc` data sources."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from xpt.errors import PipelineError
from xpt.pipeline.lockfile import (
    dump_entry,
    dump_lock,
    dump_stage,
    experiment_hash,
    new_entry,
    parse_lock,
    read_lock,
    read_lock_hashes,
    run_cache_key_value,
)
from xpt.pipeline.lockformat import LockEntry, LockItem

RES = Path(__file__).resolve().parents[1] / "resources" / "lock"
DVC_LOCKS = [
    "rich.lock",
    "empty-params.lock",
    "scalars.lock",
    "generated.lock",
    "updated.lock",
    "isexec.lock",
    "dvc2.lock",
]


def _read(name: str) -> bytes:
    data = (RES / name).read_bytes()
    if data.startswith(b"#"):  # a leading comment is not data
        data = data.split(b"\n", 1)[1]
    return data


def _dump(entries: dict[str, LockEntry]) -> bytes:
    return dump_lock(None, {name: entry.to_dict() for name, entry in entries.items()})


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_typed_roundtrip_is_byte_identical_to_dvc(name: str) -> None:
    data = _read(name)
    assert _dump(read_lock(data, name)) == data


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_entries_rebuilt_from_items_in_any_order_give_dvcs_bytes(name: str) -> None:
    rng = random.Random(name)
    rebuilt = {}
    for stage, entry in read_lock(_read(name), name).items():
        assert entry.cmd is not None
        deps, outs = list(entry.deps), list(entry.outs)
        rng.shuffle(deps)
        rng.shuffle(outs)
        params = dict(reversed(list(entry.params.items())))
        rebuilt[stage] = new_entry(entry.cmd, deps, params, outs)
    assert _dump(rebuilt) == _read(name)


def test_dvc3_entry_fields() -> None:
    entry = read_lock(_read("isexec.lock"))["prep"]
    assert entry.cmd == "sh make.sh" and not entry.legacy
    assert entry.deps[0] == LockItem("data", "6b7aa251a18f829294ae7a9f5d03595a.dir", 7, 2)
    assert dict(entry.params) == {"params.yaml": {"lr": 0.1, "nested.b": [1, 2]}}
    run = entry.outs_by_path()["run.sh"]
    assert run.isexec and run.hash == "md5" and run.nfiles is None and not run.legacy
    assert list(entry.outs_by_path()) == ["metrics.json", "out", "run.sh"]


def test_dvc2_entry_is_legacy() -> None:
    entry = read_lock(_read("dvc2.lock"))["prep"]
    assert entry.legacy
    assert entry.deps_by_path()["data"] == LockItem(
        "data", "d08dda8353fb4fc998512142605b1caa.dir", 7, 2, hash=None
    )
    assert all(item.hash is None for item in (*entry.deps, *entry.outs))
    assert list(entry.to_dict()["deps"][1]) == ["path", "md5", "size"]


@pytest.mark.parametrize("name", DVC_LOCKS)
def test_fast_reader_gives_the_same_items(name: str) -> None:
    data = _read(name)
    full = read_lock(data, name)
    fast = read_lock_hashes(data, name)
    assert set(fast) == set(full)
    for stage, entry in full.items():
        assert (fast[stage].deps, fast[stage].outs) == (entry.deps, entry.outs)


def test_plain_data_is_the_typed_entry_as_dvc_writes_it() -> None:
    data = _read("rich.lock")
    assert parse_lock(data) == {n: e.to_dict() for n, e in read_lock(data).items()}


def test_dvc_data_source_reads_as_a_lock_entry() -> None:
    data = (RES / "images.dvc").read_bytes()
    entries = read_lock(data, "images.dvc")
    assert entries == {
        "images.dvc": LockEntry(
            "", outs=(LockItem("images", "8eddaa3f2b0e2de136defef5ceeb9582.dir", 4, 2),)
        )
    }
    assert read_lock_hashes(data, "images.dvc") == entries
    legacy = read_lock((RES / "dvc2-raw.txt.dvc").read_bytes(), "raw.txt.dvc")["raw.txt.dvc"]
    assert legacy.outs == (LockItem("raw.txt", "2306b4377429730ee03a806cff76e92b", 4, hash=None),)
    assert legacy.legacy and not legacy.checksum_changed


def test_dump_stage_updates_a_dvc_file_like_dvc_add() -> None:
    old = (RES / "images.dvc").read_bytes()
    item = LockItem("images", "1ccc6ae1539ef1904514fe96faeba602.dir", 7, 3)
    new = dump_stage("images.dvc", old, "images.dvc", LockEntry(outs=(item,)))
    assert new == (RES / "images-updated.dvc").read_bytes()


def test_dump_stage_of_a_lock_replaces_only_that_stage() -> None:
    old = _read("rich.lock")
    entries = read_lock(old)
    entry = dataclasses.replace(entries["long"], cmd="echo short")
    new = dump_stage("dvc.lock", old, "long", entry)
    assert read_lock(new)["long"].cmd == "echo short"
    assert {n: e for n, e in read_lock(new).items() if n != "long"} == {
        n: e for n, e in entries.items() if n != "long"
    }


def test_unknown_keys_round_trip_after_the_known_ones() -> None:
    data = (
        b"schema: '2.0'\nstages:\n  s:\n    cmd: c\n    outs:\n    - path: o\n      hash: md5\n"
        b"      md5: 0123456789abcdef0123456789abcdef\n      size: 3\n      cloud:\n"
        b"        myremote:\n          version_id: v1\n    frozen: true\n"
    )
    entry = read_lock(data)["s"]
    assert entry.outs[0].extra == {"cloud": {"myremote": {"version_id": "v1"}}}
    assert entry.extra == {"frozen": True}
    assert _dump({"s": entry}) == data
    assert read_lock_hashes(data)["s"].outs == entry.outs  # the scanner gave up


def test_entries_are_frozen_and_slotted() -> None:
    entry = read_lock(_read("isexec.lock"))["prep"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.cmd = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.outs[0].md5 = "x"  # type: ignore[misc]
    assert not hasattr(entry, "__dict__") and not hasattr(entry.outs[0], "__dict__")
    assert read_lock(_read("isexec.lock"))["prep"] is entry  # parses are shared


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("size: big", "`size` must be an integer"),
        ("size: true", "`size` must be an integer"),
        ("nfiles: 1.5", "`nfiles` must be an integer"),
        ("isexec: 'yes'", "`isexec` must be true or false"),
        ("hash: 5", "`hash` must be a string"),
    ],
)
def test_item_fields_of_the_wrong_type_name_the_entry(item: str, message: str) -> None:
    data = f"schema: '2.0'\nstages:\n  s:\n    outs:\n    - path: o\n      {item}\n".encode()
    with pytest.raises(
        PipelineError, match=rf"dvc\.lock'?: stages\.s\.outs\[0\] \('o'\): {message}"
    ):
        read_lock(data, "dvc.lock")


def test_cmd_of_the_wrong_type_names_the_entry() -> None:
    with pytest.raises(PipelineError, match=r"stages\.s\.cmd must be a string"):
        read_lock(b"schema: '2.0'\nstages:\n  s:\n    cmd: {a: 1}\n", "dvc.lock")


def _runs() -> list[Path]:
    return sorted((RES / "runs").glob("*.yaml"))


@pytest.mark.parametrize("path", _runs(), ids=lambda p: p.name[:8])
def test_run_cache_names_and_bytes_from_typed_entries(path: Path) -> None:
    key, value = path.stem.split("-")
    text = b"schema: '2.0'\nstages:\n  s:\n" + b"".join(
        b"    " + line + b"\n" for line in path.read_bytes().splitlines()
    )
    entry = read_lock(text)["s"]
    assert run_cache_key_value(entry) == (key, value)
    assert dump_entry(entry) == path.read_bytes()


def test_experiment_hash_of_typed_entries_matches_dvc() -> None:
    lock = read_lock(_read("experiment.lock"))
    expected = "cebc7f56f2712e93d1c16bf000a007b905875400d69da9de77e45c2641d792c5"
    assert experiment_hash({"inwdir": lock["inwdir"]}) == expected
