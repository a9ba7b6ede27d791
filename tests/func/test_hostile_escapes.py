"""Hostile input (issue 17, items 1-4): nothing outside the repository or the remote's root
is written or deleted, and corrupted cache objects do not spread.

Crafted objects are built with git plumbing (`hash-object --literally`, `commit-tree`,
a scratch index) the way an attacker would; every test keeps a victim file outside the
repository and asserts it survived byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import TmpRepo

MAKE_PY = """\
import os
os.makedirs("sub", exist_ok=True)
open("sub/model.bin", "w").write("model")
os.makedirs("results", exist_ok=True)
open("results/a.txt", "w").write("aaa")
open("results/b.txt", "w").write("bbb")
"""

DVC_YAML = """\
stages:
  make:
    cmd: python make.py
    deps: [make.py]
    outs: [sub/model.bin, results]
"""

PRECIOUS = b"the user's own data\n"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def pipe(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    """A reproduced, committed pipeline with a file output under a folder and a dir output."""
    project.gen({"make.py": MAKE_PY, "dvc.yaml": DVC_YAML})
    xpt("repro")
    project.commit("pipeline")
    return project


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file beside the repository (the repo is tmp_path/repo) that must survive."""
    path = tmp_path / "victim.txt"
    path.write_bytes(PRECIOUS)
    return path


def outside_snapshot(tmp_path: Path) -> dict[str, bytes | None]:
    """Every file under tmp_path except the repository's and the remote's own trees."""
    snap: dict[str, bytes | None] = {}
    for folder, dirs, files in os.walk(tmp_path):
        rel = os.path.relpath(folder, tmp_path)
        if rel.split(os.sep)[0] in ("repo", "storage"):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(folder, name)
            snap[os.path.relpath(path, tmp_path)] = (
                None if os.path.islink(path) else Path(path).read_bytes()
            )
    return snap


def git_out(repo: Path, *args: str, stdin: bytes | None = None, env: dict | None = None) -> str:  # type: ignore[type-arg]
    res = subprocess.run(
        ["git", *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return res.stdout.decode().strip()


def write_blob(repo: Path, data: bytes) -> str:
    return git_out(repo, "hash-object", "-w", "--stdin", stdin=data)


def raw_tree(repo: Path, entries: list[tuple[str, bytes, str]]) -> str:
    """A tree object written byte by byte: git's own checks never see the names."""
    body = b""
    for mode, name, sha in entries:
        body += mode.encode() + b" " + name + b"\0" + bytes.fromhex(sha)
    return git_out(repo, "hash-object", "-t", "tree", "--literally", "-w", "--stdin", stdin=body)


def head_entries(repo: Path) -> list[tuple[str, bytes, str]]:
    out = git_out(repo, "ls-tree", "HEAD")
    entries = []
    for line in out.splitlines():
        meta, name = line.split("\t", 1)
        mode, _kind, sha = meta.split()
        entries.append((mode, name.encode(), sha))
    return entries


def exp_commit(repo: TmpRepo, tree: str, name: str = "evil") -> str:
    """A commit on top of HEAD with `tree`, filed as experiment `name` of HEAD."""
    head = repo.git("rev-parse", "HEAD")
    sha = git_out(repo, "commit-tree", tree, "-p", head, "-m", "crafted")
    repo.git("update-ref", f"refs/exps/{head[:2]}/{head[2:]}/{name}", sha)
    return sha


def exp_with_files(
    repo: TmpRepo, files: dict[str, tuple[str, bytes] | None], name: str = "evil"
) -> str:
    """An experiment commit: HEAD's tree with `files` ({path: (mode, content)}) replaced
    (None: removed)."""
    index = str(repo / ".git" / "scratch-index")
    env = {"GIT_INDEX_FILE": index}
    git_out(repo, "read-tree", "HEAD", env=env)
    for path, spec in files.items():
        if spec is None:
            git_out(repo, "update-index", "--force-remove", path, env=env)
            continue
        mode, data = spec
        sha = write_blob(repo, data)
        git_out(repo, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
    tree = git_out(repo, "write-tree", env=env)
    os.unlink(index)
    return exp_commit(repo, tree, name)


def lock_with(repo: Path, old: str, new: str) -> bytes:
    text = (repo / "dvc.lock").read_text()
    assert old in text
    return text.replace(old, new).encode()


ESCAPE_MD5 = "../../../../../victim.txt"
"""Joined as `.dvc/cache/files/md5/../../../../../victim.txt`: tmp_path/victim.txt."""


# -- item 1: `..` and other crafted tree entry names ---------------------------------------------


@pytest.mark.parametrize("name", [b"..", b".git", b".GIT", b"a/b", b"/abs", b"."])
def test_item1_crafted_tree_entry_refused_by_exp_apply(
    pipe: TmpRepo, victim: Path, tmp_path: Path, xpt, name: bytes
) -> None:  # type: ignore[no-untyped-def]
    evil = raw_tree(pipe, [("100644", b"victim.txt", write_blob(pipe, b"pwned\n"))])
    entries = head_entries(pipe) + [("40000", name, evil)]
    exp_commit(pipe, raw_tree(pipe, entries))
    before = outside_snapshot(tmp_path)
    config = (pipe / ".git" / "config").read_bytes()
    res = xpt("exp", "apply", "evil", ok=False)
    assert "refusing to write it" in res.err and repr(name.decode()) in res.err
    assert "Traceback" not in res.err
    assert victim.read_bytes() == PRECIOUS
    assert outside_snapshot(tmp_path) == before
    assert (pipe / ".git" / "config").read_bytes() == config
    assert (pipe / "dvc.yaml").read_text() == DVC_YAML


def test_item1_crafted_tree_refused_for_executor_workspace(pipe: TmpRepo, tmp_path: Path) -> None:
    """Queued runs check the snapshot out into `.dvc/tmp/xpt/ws/<id>`: same refusal."""
    from xpt.errors import UnsafePath
    from xpt.scm.git import Git

    evil = raw_tree(pipe, [("100644", b"victim.txt", write_blob(pipe, b"pwned\n"))])
    sha = exp_commit(pipe, raw_tree(pipe, head_entries(pipe) + [("40000", b"..", evil)]))
    ws = pipe / ".dvc" / "tmp" / "xpt" / "ws" / "x1"
    before = outside_snapshot(tmp_path)
    with pytest.raises(UnsafePath):
        Git(pipe).make_executor_repo(ws, sha)
    assert outside_snapshot(tmp_path) == before
    assert not (ws / "victim.txt").exists() and not (ws.parent / "victim.txt").exists()


# -- item 2a: md5 values used as paths must not delete anything ---------------------------------


def test_item2a_lock_md5_traversal_checkout_deletes_nothing(
    pipe: TmpRepo, victim: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    (pipe / "dvc.lock").write_bytes(lock_with(pipe, md5(b"model"), ESCAPE_MD5))
    (pipe / "sub" / "model.bin").unlink()
    res = xpt("checkout", ok=False)
    assert "dvc.lock" in res.err and "stages.make.outs[1] ('sub/model.bin')" in res.err
    assert "not a valid hash" in res.err and "Traceback" not in res.err
    assert victim.read_bytes() == PRECIOUS
    res = xpt("status", ok=False)
    assert "not a valid hash" in res.err
    assert victim.read_bytes() == PRECIOUS


def test_item2a_lock_md5_traversal_exp_apply_deletes_nothing(
    pipe: TmpRepo, victim: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    exp_with_files(pipe, {"dvc.lock": ("100644", lock_with(pipe, md5(b"model"), ESCAPE_MD5))})
    (pipe / "sub" / "model.bin").unlink()
    res = xpt("exp", "apply", "evil", ok=False)
    assert "not a valid hash" in res.err and "Traceback" not in res.err
    assert victim.read_bytes() == PRECIOUS


def test_item2a_manifest_entries_traversal_refused(
    pipe: TmpRepo, victim: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    """A `.dir` object (validly named) listing `..` paths and traversal md5s."""
    cache = pipe / ".dvc" / "cache" / "files" / "md5"
    for entries in (
        [{"md5": ESCAPE_MD5, "relpath": "a.txt"}],
        [{"md5": md5(b"aaa"), "relpath": "../../victim.txt"}],
        [{"md5": md5(b"aaa"), "relpath": "x//y"}],
        [{"md5": md5(b"aaa") + ".dir", "relpath": "a.txt"}],
    ):
        data = json.dumps(entries, sort_keys=True).encode()
        oid = md5(data) + ".dir"
        (cache / oid[:2]).mkdir(exist_ok=True)
        obj = cache / oid[:2] / oid[2:]
        obj.write_bytes(data)
        obj.chmod(0o444)
        old = [ln for ln in (pipe / "dvc.lock").read_text().splitlines() if ".dir" in ln][0]
        (pipe / "dvc.lock").write_bytes(lock_with(pipe, old.split()[-1], oid))
        before = outside_snapshot(tmp_path)
        res = xpt("checkout", ok=False)
        assert "corrupt tree object" in res.err or "missing cache objects" in res.err, res
        assert "Traceback" not in res.err
        assert victim.read_bytes() == PRECIOUS
        assert outside_snapshot(tmp_path) == before


def test_item2a_run_cache_entry_with_bad_md5_is_ignored(pipe: TmpRepo, victim: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    runs = pipe / ".dvc" / "cache" / "runs"
    entries = [p for p in runs.rglob("*") if p.is_file()]
    assert entries
    for entry in entries:
        entry.chmod(0o644)
        entry.write_text(entry.read_text().replace(md5(b"model"), ESCAPE_MD5))
    (pipe / "make.py").write_text(MAKE_PY + "\n")
    xpt("repro")
    (pipe / "make.py").write_text(MAKE_PY)
    res = xpt("repro")  # the stage's earlier run is in the run-cache, but crafted
    assert "ignoring run-cache entry" in res.err
    assert (pipe / "sub" / "model.bin").read_text() == "model"
    assert victim.read_bytes() == PRECIOUS


# -- item 2b: a read-only outside file is not trusted as an object --------------------------------


def test_item2b_readonly_outside_file_not_checked_out_nor_pushed(
    pipe: TmpRepo, victim: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    victim.chmod(0o444)
    storage = tmp_path / "storage"
    xpt("remote", "add", "-d", "store", str(storage))
    (pipe / "dvc.lock").write_bytes(lock_with(pipe, md5(b"model"), ESCAPE_MD5))
    (pipe / "sub" / "model.bin").unlink()
    before = outside_snapshot(tmp_path)
    res = xpt("checkout", ok=False)
    assert "not a valid hash" in res.err
    assert not (pipe / "sub" / "model.bin").exists()
    res = xpt("push")  # the broken lock is skipped, with a warning naming it
    assert "not a valid hash" in res.err and "outputs are skipped" in res.err
    assert outside_snapshot(tmp_path) == before
    assert victim.read_bytes() == PRECIOUS
    assert not storage.exists() or not any(p.name == "victim.txt" for p in storage.rglob("*"))


def test_item2b_remote_listing_names_are_validated(tmp_path: Path) -> None:
    from xpt.cache.odb import object_relpath, relpath_oid
    from xpt.errors import CacheError

    good = md5(b"x")
    assert relpath_oid(f"files/md5/{good[:2]}/{good[2:]}") == (good, False)
    for bad in (
        f"files/md5/{good[:2]}/{good[2:].upper()}",
        "files/md5/../" + good[2:],
        f"files/md5/{good[:2]}/{good[2:]}.dir.dir",
        f"{good[:3]}/{good[3:]}",
    ):
        assert relpath_oid(bad) is None, bad
    with pytest.raises(CacheError, match="not a valid hash"):
        object_relpath(ESCAPE_MD5)


# -- item 3: symlinks leading out of the repository ----------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the repository with the user's files."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "model.bin").write_bytes(PRECIOUS)
    (folder / "keep.txt").write_bytes(PRECIOUS)
    return folder


def test_item3_parent_folder_symlink_refused_by_checkout(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.rmtree(pipe / "sub")
    (pipe / "sub").symlink_to(outside)
    before = outside_snapshot(tmp_path)
    res = xpt("checkout", ok=False)
    assert "symlink leading outside the repository" in res.err and "sub" in res.err
    assert "Traceback" not in res.err
    assert outside_snapshot(tmp_path) == before
    assert (outside / "model.bin").read_bytes() == PRECIOUS


def test_item3_dir_output_symlink_refused_nothing_deleted(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.rmtree(pipe / "results")
    (pipe / "results").symlink_to(outside)
    before = outside_snapshot(tmp_path)
    res = xpt("checkout", ok=False)
    assert "'results' is a symlink leading outside the repository" in res.err
    assert outside_snapshot(tmp_path) == before
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt", "model.bin"]


def test_item3_symlink_inside_dir_output_refused(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    (pipe / "results" / "inner").symlink_to(outside)
    before = outside_snapshot(tmp_path)
    xpt("checkout", ok=None)
    assert outside_snapshot(tmp_path) == before
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt", "model.bin"]


def test_item3_git_symlink_in_experiment_refused_by_exp_apply(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    """The experiment commit makes `sub` a git symlink to ../outside: apply must not write
    `sub/model.bin` through it."""
    exp_with_files(pipe, {"sub/.gitignore": None, "sub": ("120000", b"../outside")})
    before = outside_snapshot(tmp_path)
    backups = pipe.git("for-each-ref", "refs/xpt/backup")
    res = xpt("exp", "apply", "evil", ok=False)
    assert "'sub' is a git symlink leading outside the repository" in res.err
    assert "holds the output 'sub/model.bin'" in res.err and "Traceback" not in res.err
    assert outside_snapshot(tmp_path) == before
    assert (outside / "model.bin").read_bytes() == PRECIOUS
    # refused before anything changed: the workspace and its backups are as they were
    assert (pipe / "sub").is_dir() and not (pipe / "sub").is_symlink()
    assert (pipe / "sub" / "model.bin").read_text() == "model"
    assert pipe.git("for-each-ref", "refs/xpt/backup") == backups


def test_item3_git_symlink_chain_caught_at_checkout(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    """`sub -> hop`, `hop -> ../outside`: the pre-check sees no escaping link holding an
    output, the checkout's own check refuses the write."""
    exp_with_files(
        pipe,
        {"sub/.gitignore": None, "sub": ("120000", b"hop"), "hop": ("120000", b"../outside")},
    )
    before = outside_snapshot(tmp_path)
    res = xpt("exp", "apply", "evil", ok=False)
    assert "symlink leading outside the repository" in res.err and "Traceback" not in res.err
    assert outside_snapshot(tmp_path) == before


def test_item3_pull_through_parent_symlink_refused(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    xpt("remote", "add", "-d", "store", str(tmp_path / "storage"))
    xpt("push")
    shutil.rmtree(pipe / ".dvc" / "cache")
    shutil.rmtree(pipe / "sub")
    (pipe / "sub").symlink_to(outside)
    before = outside_snapshot(tmp_path)
    res = xpt("pull", ok=False)
    assert "symlink leading outside the repository" in res.err
    assert outside_snapshot(tmp_path) == before


def test_item3_symlink_inside_repo_still_works(pipe: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    """A parent symlink that stays inside the repository is fine."""
    import shutil

    shutil.rmtree(pipe / "sub")
    (pipe / "real").mkdir()
    (pipe / "sub").symlink_to("real")
    xpt("checkout")
    assert (pipe / "real" / "model.bin").read_text() == "model"


# -- item 4: corrupted read-only objects ------------------------------------------------------


def corrupt(pipe: Path, data: bytes, new: bytes) -> Path:
    oid = md5(data)
    obj = pipe / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]
    obj.chmod(0o644)
    obj.write_bytes(new)
    obj.chmod(0o444)
    return obj


def test_item4_corrupted_object_not_pushed(pipe: TmpRepo, tmp_path: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    storage = tmp_path / "storage"
    xpt("remote", "add", "-d", "store", str(storage))
    corrupt(pipe, b"model", b"evil!")
    res = xpt("push", ok=False)
    assert "corrupted" in res.err and md5(b"model") in res.err
    oid = md5(b"model")
    assert not (storage / "files" / "md5" / oid[:2] / oid[2:]).exists()
    assert not [p for p in storage.rglob("*") if "xpt-tmp" in p.name]
    oid = md5(b"aaa")
    assert (storage / "files" / "md5" / oid[:2] / oid[2:]).read_bytes() == b"aaa"


def test_item4_corrupted_object_refused_by_copy_checkout_and_exp_apply(pipe: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("config", "cache.type", "copy")
    pipe.commit("copy")
    corrupt(pipe, b"aaa", b"AAA")
    (pipe / "results" / "a.txt").unlink()
    res = xpt("checkout", ok=False)
    assert "corrupted" in res.err and "cache verify" in res.err
    assert not (pipe / "results" / "a.txt").exists()
    exp_with_files(pipe, {"params.yaml": ("100644", b"x: 1\n")})
    res = xpt("exp", "apply", "evil", ok=False)
    assert "corrupted" in res.err and "Traceback" not in res.err
    assert not (pipe / "results" / "a.txt").exists()


def test_item4_cache_verify_quarantines_and_pull_restores(
    pipe: TmpRepo, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    xpt("remote", "add", "-d", "store", str(tmp_path / "storage"))
    xpt("push")
    res = xpt("cache", "verify", "--json")
    assert json.loads(res.out)["corrupted"] == []
    checked = json.loads(res.out)["checked"]
    assert checked == 4  # model, a, b and the .dir
    obj = corrupt(pipe, b"model", b"evil!")
    res = xpt("cache", "verify", "--json", ok=False)
    assert res.rc == 1
    report = json.loads(res.out)
    (bad,) = report["corrupted"]
    assert bad["md5"] == md5(b"model") and bad["actual"] == md5(b"evil!")
    moved = Path(bad["moved_to"])
    assert moved.read_bytes() == b"evil!"
    assert moved.is_relative_to(pipe / ".dvc" / "tmp" / "xpt" / "quarantine")
    assert not obj.exists()
    assert "all intact" in xpt("cache", "verify").out
    (pipe / "sub" / "model.bin").unlink()
    xpt("pull")
    assert obj.read_bytes() == b"model"
    assert (pipe / "sub" / "model.bin").read_text() == "model"


def test_item4_cache_verify_text_output(pipe: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    corrupt(pipe, b"bbb", b"BBB")
    res = xpt("cache", "verify", ok=False)
    assert f"corrupted: files/md5/{md5(b'bbb')[:2]}/{md5(b'bbb')[2:]}" in res.err
    assert "1 of 4 cache objects were corrupted and moved to" in res.out
    assert ".dvc/tmp/xpt/quarantine" in res.out


# -- property: hostile values anywhere in a lock or manifest touch nothing outside ------------

hostile_md5 = st.one_of(
    st.text(st.sampled_from([*"0123456789abcdef", ".", "/", "d", "i", "r", "v"]), max_size=40),
    st.sampled_from([ESCAPE_MD5, ESCAPE_MD5 + ".dir", "../" * 8 + "victim.txt", "/tmp", ".."]),
)
hostile_rel = st.one_of(
    st.lists(st.sampled_from(["a", ".", "..", "", "\\", "victim.txt"]), max_size=5).map("/".join),
    st.sampled_from(["../../victim.txt", "../../../victim.txt", "/abs", ".git/config"]),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    md5_value=hostile_md5,
    rel=hostile_rel,
    tree_md5=hostile_md5,
    command=st.sampled_from(["checkout", "status", "push"]),
)
def test_property_hostile_lock_and_manifest_touch_nothing_outside(
    pipe: TmpRepo, tmp_path: Path, xpt, md5_value: str, rel: str, tree_md5: str, command: str
) -> None:  # type: ignore[no-untyped-def]
    victim = tmp_path / "victim.txt"
    if not victim.exists():
        victim.write_bytes(PRECIOUS)
        xpt("remote", "add", "-d", "store", str(tmp_path / "storage"))
        (pipe / "dvc.lock.orig").write_bytes((pipe / "dvc.lock").read_bytes())
    lock = (pipe / "dvc.lock.orig").read_text()
    data = json.dumps([{"md5": tree_md5, "relpath": rel}], sort_keys=True).encode()
    oid = md5(data) + ".dir"
    obj = pipe / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]
    obj.parent.mkdir(parents=True, exist_ok=True)
    if not obj.exists():
        obj.write_bytes(data)
        obj.chmod(0o444)
    old_tree = [ln for ln in lock.splitlines() if ".dir" in ln][0].split()[-1]
    text = lock.replace(md5(b"model"), md5_value.replace("\n", "")).replace(old_tree, oid)
    (pipe / "dvc.lock").write_text(text)
    before = outside_snapshot(tmp_path)
    res = xpt(command, ok=None)
    assert res.rc in (0, 1), res
    assert "Traceback" not in res.err
    assert victim.read_bytes() == PRECIOUS
    assert outside_snapshot(tmp_path) == before
    storage = tmp_path / "storage"
    if storage.exists():
        assert all(os.path.realpath(p).startswith(str(storage) + "/") for p in storage.rglob("*"))


def test_item2a_dvc_file_md5_traversal_refused(pipe: TmpRepo, victim: Path, xpt) -> None:  # type: ignore[no-untyped-def]
    """Hashes of `.dvc` files go through the same validation as dvc.lock's."""
    victim.chmod(0o644)
    pipe.gen(
        {
            "data.txt.dvc": "outs:\n- md5: ../../../../../victim.txt\n  size: 20\n"
            "  hash: md5\n  path: data.txt\n"
        }
    )
    res = xpt("checkout", ok=False)
    assert "data.txt.dvc" in res.err and "must be 32 lowercase hex digits" in res.err
    assert "Traceback" not in res.err
    assert victim.read_bytes() == PRECIOUS
    assert not (pipe / "data.txt").exists()


def test_item4_big_object_changed_in_place_caught_despite_verified_memo(
    project: TmpRepo, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    """Big objects remember the stat they were hashed with (no second md5 on push); a change
    in place, same size and mtime put back, still moves the ctime and is caught."""
    big = bytes(range(256)) * (9 << 12)  # 9 MiB, above the memo's threshold
    project.gen({"make_big.py": f"open('big.bin', 'wb').write(bytes(range(256)) * {9 << 12})\n"})
    project.gen({"dvc.yaml": "stages:\n  big:\n    cmd: python make_big.py\n    outs: [big.bin]\n"})
    xpt("repro")
    project.commit("big")
    xpt("remote", "add", "-d", "store", str(tmp_path / "storage"))
    oid = md5(big)
    obj = project / ".dvc" / "cache" / "files" / "md5" / oid[:2] / oid[2:]
    st = obj.stat()
    obj.chmod(0o644)
    with open(obj, "r+b") as f:
        f.seek(1 << 20)
        f.write(b"X")
    os.utime(obj, ns=(st.st_atime_ns, st.st_mtime_ns))
    obj.chmod(0o444)
    res = xpt("push", ok=False)
    assert "corrupted" in res.err
    assert not (tmp_path / "storage" / "files" / "md5" / oid[:2] / oid[2:]).exists()
    xpt("config", "cache.type", "copy")
    (project / "big.bin").unlink()
    res = xpt("checkout", ok=False)
    assert "corrupted" in res.err and not (project / "big.bin").exists()


def test_item3_repro_does_not_delete_through_parent_symlink(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    """repro (and `exp run` in the workspace) deletes outputs before running a stage."""
    import shutil

    shutil.rmtree(pipe / "sub")
    (pipe / "sub").symlink_to(outside)
    (pipe / "make.py").write_text(MAKE_PY + "# changed\n")
    before = outside_snapshot(tmp_path)
    res = xpt("repro", ok=False)
    assert "symlink leading outside the repository" in res.err
    assert outside_snapshot(tmp_path) == before


def test_item1_duplicate_entry_symlink_and_folder_refused(
    pipe: TmpRepo, outside: Path, tmp_path: Path, xpt
) -> None:  # type: ignore[no-untyped-def]
    """A tree naming `sub` twice: a symlink out, and a folder whose file would go through it."""
    from xpt.errors import UnsafePath
    from xpt.scm.git import Git

    inner = raw_tree(pipe, [("100644", b"model.bin", write_blob(pipe, b"pwned\n"))])
    entries = [e for e in head_entries(pipe) if e[1] != b"sub"]
    entries += [
        ("120000", b"sub", write_blob(pipe, str(outside).encode())),
        ("40000", b"sub", inner),
    ]
    sha = exp_commit(pipe, raw_tree(pipe, entries))
    before = outside_snapshot(tmp_path)
    res = xpt("exp", "apply", "evil", ok=False)
    assert "refusing to write it" in res.err
    with pytest.raises(UnsafePath):
        Git(pipe).make_executor_repo(pipe / ".dvc" / "tmp" / "xpt" / "ws" / "x2", sha)
    assert outside_snapshot(tmp_path) == before
    assert (outside / "model.bin").read_bytes() == PRECIOUS
