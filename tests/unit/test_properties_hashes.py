"""Properties of hash and path validation (issue 17): whatever text a repository, lock file,
manifest or remote listing holds, it either is refused or becomes a path inside the cache,
the remote or the output folder. Never a traceback of another kind."""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xpt.cache.odb import ODB, object_relpath, relpath_oid
from xpt.errors import CacheError, UnsafePath
from xpt.utils.fsutil import resolve_inside
from xpt.utils.oids import is_oid, is_safe_relpath, is_safe_tree_name

HEX = "0123456789abcdef"
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

hostile_alphabet = st.sampled_from([*HEX, *"ABCDEF", ".", "/", "\\", "\x00", "d", "i", "r", " "])
hostile_text = st.one_of(
    st.text(),
    st.text(hostile_alphabet, max_size=48),
    st.builds(
        lambda a, b: a + b,
        st.text(st.sampled_from(HEX), min_size=30, max_size=34),
        st.sampled_from(["", ".dir", ".dir.dir", "/..", "\n"]),
    ),
    st.sampled_from(["../../../../../victim.txt", "/etc/passwd", "..", ".", "", "a" * 32]),
)
hex32 = st.text(st.sampled_from(HEX), min_size=32, max_size=32)


def inside(path: str, root: str) -> bool:
    norm = os.path.normpath(path)
    return norm.startswith(root.rstrip("/") + "/")


@SETTINGS
@given(value=hostile_text)
def test_object_path_is_inside_the_cache_or_refused(tmp_path: Path, value: str) -> None:
    odb = ODB(tmp_path / "cache")
    for legacy in (False, True):
        try:
            path = odb.object_path(value, legacy)
        except CacheError as exc:
            assert not is_oid(value)
            assert "not a valid hash" in exc.message
            continue
        assert is_oid(value)
        assert inside(path, str(tmp_path / "cache"))
        assert os.path.basename(path) == value[2:]


@SETTINGS
@given(value=hostile_text, legacy=st.booleans())
def test_remote_relpath_is_inside_the_remote_or_refused(value: str, legacy: bool) -> None:
    try:
        rel = object_relpath(value, legacy)
    except CacheError:
        assert not is_oid(value)
        return
    assert is_safe_relpath(rel)
    assert relpath_oid(rel) == (value, legacy)


@SETTINGS
@given(rel=st.one_of(st.text(), st.text(hostile_alphabet, max_size=60)))
def test_remote_listing_names_parse_only_to_valid_ids(rel: str) -> None:
    oid = relpath_oid(rel)
    if oid is not None:
        assert is_oid(oid[0])


@given(md5=hex32, tree=st.booleans())
def test_valid_ids_are_accepted(md5: str, tree: bool) -> None:
    oid = md5 + (".dir" if tree else "")
    assert is_oid(oid)
    assert is_oid(oid, allow_dir=False) is not tree
    if any(c in "abcdef" for c in md5):
        assert not is_oid(md5.upper())


@SETTINGS
@given(rel=st.one_of(st.text(), st.text(hostile_alphabet, max_size=40)))
def test_safe_relpaths_stay_in_their_folder(rel: str) -> None:
    if is_safe_relpath(rel):
        joined = posixpath.normpath(posixpath.join("/top/out", rel))
        assert joined.startswith("/top/out/")
        assert ".." not in rel.split("/")
    if is_safe_tree_name(rel):
        assert "/" not in rel and rel not in (".", "..") and rel.lower() != ".git"


manifest_entry = st.fixed_dictionaries(
    {
        "md5": st.one_of(hostile_text, hex32),
        "relpath": st.one_of(hostile_text, st.text(hostile_alphabet, max_size=30)),
    }
)


@SETTINGS
@given(entries=st.lists(manifest_entry, max_size=5))
def test_manifest_entries_are_valid_or_the_tree_is_refused(
    tmp_path: Path, entries: list[dict[str, str]]
) -> None:
    odb = ODB(tmp_path / "cache")
    data = json.dumps(entries, sort_keys=True).encode()
    tree_id = "0" * 32 + ".dir"  # a crafted object under a well-formed name
    path = odb.object_path(tree_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data)
    odb._trees.clear()
    try:
        tree = odb.load_tree(tree_id)
    except CacheError as exc:
        assert "corrupt tree object" in exc.message
        return
    for rel, md5 in tree:
        assert is_safe_relpath(rel)
        assert is_oid(md5, allow_dir=False)
        assert inside(odb.object_path(md5), str(tmp_path / "cache"))


@SETTINGS
@given(
    rel=st.one_of(
        st.text(hostile_alphabet, min_size=1, max_size=30),
        st.sampled_from(["../x", "/etc", "a/../../b", "link/x", "link"]),
    )
)
def test_resolve_inside_never_leaves_the_root(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    link = root / "link"
    if not link.is_symlink():
        link.symlink_to(tmp_path)
    try:
        full = resolve_inside(root, rel.replace("\x00", ""))
    except UnsafePath:
        return
    except ValueError:
        pytest.fail("resolve_inside raised ValueError")
    real = os.path.realpath(os.path.dirname(full))
    assert real == os.path.realpath(root) or real.startswith(os.path.realpath(root) + "/")
