"""Saving outputs into the cache and checking them out, for every link type."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from xpt.cache.digest import HashInfo
from xpt.cache.hasher import Hasher
from xpt.cache.odb import ODB
from xpt.cache.outputs import (
    checkout_output,
    remove_output,
    save_output,
    save_outputs,
    unprotect,
)
from xpt.cache.state import StateDB
from xpt.errors import CacheError

LINKS = ["copy", "reflink", "hardlink", "symlink"]
MIB = 1 << 20


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def link_types(kind: str) -> tuple[str, ...]:
    return ("reflink", "copy") if kind == "reflink" else (kind,)


class Env:
    """A project root with a cache, a memo and a hasher."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = StateDB(root / ".dvc/tmp/xpt/state.db")
        self.odb = ODB(root / ".dvc/cache", self.state)
        self.hasher = Hasher(root, self.state, jobs=2)

    def write(self, rel: str, data: bytes, exe: bool = False) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if exe:
            path.chmod(0o755)
        return path

    def objects(self) -> set[str]:
        base = self.root / ".dvc/cache/files/md5"
        return {f"{p.parent.name}{p.name}" for p in base.glob("*/*")}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = Env(tmp_path)
    yield e  # type: ignore[misc]
    e.state.close()


def assert_linked(path: Path, obj: Path, kind: str) -> None:
    """The workspace file relates to its cache object as the link type says."""
    if kind == "symlink":
        assert path.is_symlink() and os.readlink(path) == str(obj)
        assert os.path.isabs(os.readlink(path))
    elif kind == "hardlink":
        assert not path.is_symlink() and path.stat().st_ino == obj.stat().st_ino
        assert not mode(path) & 0o222  # read-only
    else:
        assert not path.is_symlink() and path.stat().st_ino != obj.stat().st_ino
        assert mode(path) & stat.S_IWUSR  # an independent, writable file
    assert mode(obj) & 0o777 in (0o444, 0o544)


@pytest.mark.parametrize("kind", LINKS)
def test_save_file(env: Env, kind: str) -> None:
    out = env.write("model.bin", b"weights", exe=True)
    info, tree = save_output(env.odb, env.hasher, out, link_types(kind))
    assert tree is None
    assert info == HashInfo(md5(b"weights"), 7, None, isexec=True)
    obj = env.odb.oid_path(info.md5)
    assert obj.read_bytes() == b"weights" and out.read_bytes() == b"weights"
    assert_linked(out, obj, kind)
    assert os.access(out, os.X_OK)


@pytest.mark.parametrize("kind", LINKS)
def test_save_dir_and_check_it_out_again(env: Env, kind: str) -> None:
    files = {
        "data/a.txt": b"a",
        "data/sub/b.txt": b"bb",
        "data/sub/deeper/c": b"ccc",
        "data/dup": b"a",
    }
    for rel, data in files.items():
        env.write(rel, data)
    out = env.root / "data"
    info, tree = save_output(env.odb, env.hasher, out, link_types(kind))
    assert tree is not None and info.nfiles == 4 and info.size == 7
    assert env.objects() == {md5(b"a"), md5(b"bb"), md5(b"ccc"), info.md5}
    for rel, data in files.items():
        assert_linked(env.root / rel, env.odb.oid_path(md5(data)), kind)
    remove_output(out)
    assert not out.exists()
    assert (
        checkout_output(env.odb, out, info, link_types(kind), hasher=env.hasher, root=env.root)
        is True
    )
    for rel, data in files.items():
        assert (env.root / rel).read_bytes() == data
        assert_linked(env.root / rel, env.odb.oid_path(md5(data)), kind)
    assert (
        checkout_output(env.odb, out, info, link_types(kind), hasher=env.hasher, root=env.root)
        is False
    )


@pytest.mark.parametrize("kind", LINKS)
def test_checkout_file_restores_content_and_exec_bit(env: Env, kind: str) -> None:
    out = env.write("run.sh", b"#!/bin/sh\necho hi\n", exe=True)
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    out.unlink()
    assert checkout_output(
        env.odb, out, info, link_types(kind), isexec=True, hasher=env.hasher, root=env.root
    )
    assert out.read_bytes() == b"#!/bin/sh\necho hi\n" and os.access(out, os.X_OK)
    assert_linked(out, env.odb.oid_path(info.md5), kind)


def test_hardlinks_like_dvc_empty_files_and_exec_bits_in_folders(env: Env) -> None:
    env.write("d/empty", b"")
    env.write("d/run.sh", b"echo\n", exe=True)
    lone = env.write("tool.sh", b"tool\n", exe=True)
    info, _ = save_output(env.odb, env.hasher, env.root / "d", ("hardlink",))
    save_output(env.odb, env.hasher, lone, ("hardlink",))
    empty = env.root / "d/empty"
    assert empty.stat().st_nlink == 1 and mode(empty) == 0o644  # copied, never hardlinked
    assert mode(env.odb.oid_path(md5(b""))) == 0o444
    assert mode(env.root / "d/run.sh") == 0o444  # trees carry no exec bit (as DVC leaves it)
    assert mode(lone) == 0o544  # a file output keeps owner +x on the shared inode
    remove_output(env.root / "d")
    assert checkout_output(
        env.odb, env.root / "d", info, ("hardlink",), hasher=env.hasher, root=env.root
    )
    assert (env.root / "d/empty").stat().st_nlink == 1
    assert (env.root / "d/run.sh").stat().st_nlink == 2


def test_checkout_replaces_a_modified_file_and_is_a_noop_when_equal(env: Env) -> None:
    out = env.write("o.txt", b"good")
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    inode = out.stat().st_ino
    assert checkout_output(env.odb, out, info, ("copy",), hasher=env.hasher, root=env.root) is False
    assert out.stat().st_ino == inode
    out.write_bytes(b"tampered")
    assert checkout_output(env.odb, out, info, ("copy",), hasher=env.hasher, root=env.root) is True
    assert out.read_bytes() == b"good"


def test_exec_bit_alone_is_restored(env: Env) -> None:
    out = env.write("x.sh", b"echo\n", exe=True)
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    out.chmod(0o644)
    assert checkout_output(
        env.odb, out, info, ("copy",), isexec=True, hasher=env.hasher, root=env.root
    )
    assert mode(out) & stat.S_IXUSR


def test_tree_checkout_removes_extra_files_and_fixes_changed_ones(env: Env) -> None:
    for rel, data in {"d/a": b"1", "d/sub/b": b"2", "d/keep/c": b"3"}.items():
        env.write(rel, data)
    out = env.root / "d"
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    env.write("d/sub/extra", b"extra")
    env.write("d/newdir/deeper/e", b"e")
    env.write("d/keep/c", b"modified")
    (env.root / "d/a").unlink()
    assert checkout_output(env.odb, out, info, ("copy",), hasher=env.hasher, root=env.root) is True
    found = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert found == ["a", "keep", "keep/c", "sub", "sub/b"]  # emptied folders go too, as in DVC
    assert (out / "keep/c").read_bytes() == b"3" and (out / "a").read_bytes() == b"1"


def test_tree_replaces_a_file_standing_where_the_folder_goes(env: Env) -> None:
    env.write("d/x/y", b"y")
    out = env.root / "d"
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    remove_output(out)
    env.write("d", b"a file, not a folder")
    assert checkout_output(env.odb, out, info, ("copy",), hasher=env.hasher, root=env.root)
    assert (out / "x/y").read_bytes() == b"y"


def test_missing_objects_are_reported(env: Env) -> None:
    for i in range(3):
        env.write(f"d/f{i}", f"{i}".encode())
    out = env.root / "d"
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    remove_output(out)
    env.odb.oid_path(md5(b"1")).unlink()
    with pytest.raises(CacheError, match=md5(b"1")):
        checkout_output(env.odb, out, info, ("copy",), hasher=env.hasher, root=env.root)
    with pytest.raises(CacheError, match="f" * 32):
        checkout_output(env.odb, env.root / "g", HashInfo("f" * 32, 1), ("copy",), root=env.root)
    with pytest.raises(CacheError, match="e" * 32 + ".dir"):
        checkout_output(
            env.odb, env.root / "h", HashInfo("e" * 32 + ".dir", 1, 1), ("copy",), root=env.root
        )


def test_saving_again_does_not_rewrite_objects(env: Env) -> None:
    out = env.write("d/a", b"a")
    env.write("d/big", os.urandom(2 * MIB))
    info, _ = save_output(env.odb, env.hasher, out.parent, ("copy",))
    inodes = {o: env.odb.oid_path(o).stat().st_ino for o in env.objects()}
    fresh = Hasher(env.root, None)  # no memo: everything is hashed again
    assert save_output(env.odb, fresh, out.parent, ("copy",))[0] == info
    assert {o: env.odb.oid_path(o).stat().st_ino for o in env.objects()} == inodes
    staging = list((env.root / ".dvc/cache/files/md5").glob(".staging*"))
    assert staging == []  # the speculative copy of the big file was discarded


def test_save_outputs_of_a_stage_together(env: Env) -> None:
    big = [env.write(f"big{i}.bin", os.urandom(2 * MIB + i)) for i in range(3)]
    env.write("d/a", b"a")
    env.write("d/b", b"b")
    results = save_outputs(env.odb, env.hasher, [*big, env.root / "d"], ("copy",))
    assert [info.md5 for info, _tree in results[:3]] == [md5(p.read_bytes()) for p in big]
    info, tree = results[3]
    assert tree is not None and info == Hasher(env.root, None).hash_dir(env.root / "d")[0]
    assert env.objects() == {md5(p.read_bytes()) for p in big} | {md5(b"a"), md5(b"b"), info.md5}


def test_many_small_files_are_split_with_a_forked_helper(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With _FORK_MIN_FILES small new files per process, a child process stores a share."""
    from xpt.cache import hasher

    monkeypatch.setattr(hasher, "_FORK_MIN_FILES", 500)
    count = 1207
    big = env.write("big.bin", os.urandom(3 * MIB))
    files = {f"many/s{i % 9}/f{i}": f"{i}\n".encode() * (i % 5) for i in range(count)}
    for rel, data in files.items():
        env.write(rel, data)
    before = os.times()
    (big_info, _), (info, tree) = save_outputs(
        env.odb, env.hasher, [big, env.root / "many"], ("reflink", "copy")
    )
    after = os.times()
    helper_cpu = after.children_user + after.children_system
    assert helper_cpu > before.children_user + before.children_system  # a child did work
    assert big_info.md5 == md5(big.read_bytes())
    assert info == Hasher(env.root, None, jobs=1).hash_dir(env.root / "many")[0]
    assert tree is not None and {e.relpath: e.md5 for e in tree} == {
        rel[len("many/") :]: md5(data) for rel, data in files.items()
    }
    expected = {md5(d) for d in files.values()} | {big_info.md5, info.md5}
    assert env.objects() == expected
    base = env.root / ".dvc/cache/files/md5"
    assert {mode(p) for p in base.glob("*/*")} == {0o444}
    assert not list(base.rglob("*.tmp")) and not list(base.glob(".staging*"))
    assert all(mode(env.root / rel) & stat.S_IWUSR for rel in files)  # still private copies
    memo = env.hasher.lookup(env.hasher.scan_dir(env.root / "many"))
    assert len(memo) == count  # the helper's files are memoised by the parent


def test_big_files_are_stored_exactly(env: Env) -> None:
    data = os.urandom(3 * MIB + 5)
    out = env.write("big.bin", data)
    info, _ = save_output(env.odb, env.hasher, out, ("reflink", "copy"))
    assert info.md5 == md5(data) and env.odb.oid_path(info.md5).read_bytes() == data
    assert mode(env.odb.oid_path(info.md5)) == 0o444


def test_relink_false_leaves_the_workspace_alone(env: Env) -> None:
    out = env.write("m.json", b"{}")
    before = os.lstat(out)
    info, _ = save_output(env.odb, env.hasher, out, ("symlink",), relink=False)
    after = os.lstat(out)
    assert not out.is_symlink() and (before.st_ino, before.st_mode) == (after.st_ino, after.st_mode)
    assert env.odb.exists(info.md5)


def test_copy_replaces_a_link_into_the_cache(env: Env) -> None:
    out = env.write("o.bin", b"payload")
    save_output(env.odb, env.hasher, out, ("hardlink",))
    assert mode(out) == 0o444
    info, _ = save_output(env.odb, env.hasher, out, ("copy",))
    assert_linked(out, env.odb.oid_path(info.md5), "copy")


def test_save_respects_dvcignore(env: Env) -> None:
    env.write("d/keep", b"k")
    env.write("d/skip.tmp", b"s")
    (env.root / ".dvcignore").write_text("*.tmp\n")
    info, tree = save_output(env.odb, Hasher(env.root, env.state), env.root / "d", ("copy",))
    assert tree is not None and [e.relpath for e in tree] == ["keep"]
    assert md5(b"s") not in env.objects()


def test_save_memoises_and_the_memo_is_trusted(env: Env) -> None:
    out = env.write("f", b"one")
    save_output(env.odb, env.hasher, out, ("copy",))
    st = out.stat()
    out.write_bytes(b"two")  # same size and mtime: only a memo hit explains the old hash
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert Hasher(env.root, env.state).hash_file(out).md5 == md5(b"one")


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_unprotect_makes_a_private_writable_copy(env: Env, kind: str) -> None:
    out = env.write("p.txt", b"persist")
    info, _ = save_output(env.odb, env.hasher, out, (kind,))
    obj = env.odb.oid_path(info.md5)
    unprotect(out)
    assert not out.is_symlink() and out.stat().st_ino != obj.stat().st_ino
    assert mode(out) & stat.S_IWUSR
    out.write_bytes(b"changed")
    assert obj.read_bytes() == b"persist" and mode(obj) == 0o444


def test_unprotect_a_folder(env: Env) -> None:
    env.write("d/a", b"a")
    env.write("d/s/b", b"b")
    save_output(env.odb, env.hasher, env.root / "d", ("hardlink",))
    unprotect(env.root / "d")
    for rel in ("d/a", "d/s/b"):
        path = env.root / rel
        assert path.stat().st_nlink == 1 and mode(path) & stat.S_IWUSR


def test_remove_output(env: Env) -> None:
    env.write("d/a", b"a")
    save_output(env.odb, env.hasher, env.root / "d", ("hardlink",))
    remove_output(env.root / "d")
    remove_output(env.root / "does-not-exist")
    assert not (env.root / "d").exists()


def test_unknown_link_type(env: Env) -> None:
    out = env.write("a", b"a")
    with pytest.raises(CacheError, match="cache.type 'teleport'"):
        save_output(env.odb, env.hasher, out, ("teleport",))


def test_reflink_alone_fails_cleanly_where_unsupported(env: Env) -> None:
    out = env.write("big", os.urandom(2 * MIB))
    try:
        save_output(env.odb, env.hasher, out, ("reflink",))
    except CacheError as exc:
        assert "reflink" in str(exc)
    else:  # a filesystem with reflinks (btrfs, xfs): the clone is an independent file
        assert_linked(out, env.odb.oid_path(md5(out.read_bytes())), "reflink")
