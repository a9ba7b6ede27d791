"""Remote backends (listing, removal, hashing downloads) and target selection, without a CLI."""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import pytest

from xpt.cache import remote_backends as remote_mod
from xpt.cache.odb import object_relpath, relpath_oid
from xpt.cache.remote_backends import (
    FsspecRemote,
    LocalRemote,
    copy_hashing,
)
from xpt.errors import CacheError, PipelineError
from xpt.repro.transfer import sync as transfer
from xpt.repro.transfer.sync import RevisionOutputs, UsedOutput, present_on, select_outputs

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
_memory = itertools.count()


def test_relpath_oid_round_trips_and_rejects_other_files() -> None:
    for md5 in (MD5, MD5 + ".dir"):
        for legacy in (False, True):
            assert relpath_oid(object_relpath(md5, legacy)) == (md5, legacy)
    for other in (
        "runs/ab/cd/ef",
        "files/md5/d4/.1d8cd98f00b204e9800998ecf8427e.xpt-tmp-1",
        "files/md5/d4/1d8cd98f00b204e9800998ecf8427",  # too short
        "files/md5/D4/1d8cd98f00b204e9800998ecf8427e",  # not lower-case hex
        "files/sha/d4/1d8cd98f00b204e9800998ecf8427e",
        "config",
    ):
        assert relpath_oid(other) is None, other


class ReadOnly:
    """A stream with only read() (like some fsspec files)."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self.inner.read(n)


@pytest.mark.parametrize("wrap", [io.BytesIO, ReadOnly])
def test_copy_hashing_in_small_chunks(wrap) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 3 + b"tail"
    dst = io.BytesIO()
    assert copy_hashing(wrap(data), dst, chunk=7) == hashlib.md5(data).hexdigest()
    assert dst.getvalue() == data


def test_local_remote_lists_downloads_and_removes(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path / "remote")
    assert remote.list_files() == []  # the folder does not exist yet
    src = tmp_path / "src"
    src.write_bytes(b"hello")
    md5 = hashlib.md5(b"hello").hexdigest()
    remote.upload(src, object_relpath(md5))
    assert remote.list_files() == [object_relpath(md5)]
    assert remote.list_files("files/md5/" + md5[:2]) == [object_relpath(md5)]
    dest = tmp_path / "dest"
    assert remote.download(object_relpath(md5), dest) == md5
    assert dest.read_bytes() == b"hello"
    remote.remove([object_relpath(md5), object_relpath(MD5)])  # a missing one is fine
    assert remote.list_files() == []
    with pytest.raises(CacheError, match="missing on remote"):
        remote.download(object_relpath(md5), dest)


def test_fsspec_remote_streams_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_mod, "REMOTE_CHUNK", 5)  # many reads for one object
    remote = FsspecRemote(f"memory://xpt-unit-{next(_memory)}/store", {})
    data = b"0123456789" * 7 + b"!"
    md5 = hashlib.md5(data).hexdigest()
    src = tmp_path / "src"
    src.write_bytes(data)
    remote.upload(src, object_relpath(md5))
    assert remote.exists(object_relpath(md5))
    assert remote.list_files() == [object_relpath(md5)]
    assert remote.list_files("files/md5/00") == []
    dest = tmp_path / "dest"
    assert remote.download(object_relpath(md5), dest) == md5
    assert dest.read_bytes() == data
    remote.remove([object_relpath(md5)])
    assert not remote.exists(object_relpath(md5))
    with pytest.raises(CacheError, match="missing on remote"):
        remote.download(object_relpath(md5), dest)


def test_present_on_by_query_and_by_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = LocalRemote(tmp_path / "remote")
    oids = []
    for i in range(10):
        data = str(i).encode()
        md5 = hashlib.md5(data).hexdigest()
        (tmp_path / "f").write_bytes(data)
        remote.upload(tmp_path / "f", object_relpath(md5, legacy=i % 2 == 0))
        oids.append((md5, i % 2 == 0))
    absent = [(MD5, False), (MD5, True), (oids[0][0], False)]  # right md5, wrong layout
    for above in (64, 2):  # one query each, then prefix listings
        monkeypatch.setattr(transfer, "LIST_ABOVE", above)
        assert present_on(remote, oids + absent, jobs=3) == set(oids)


def out(path: str, oid: str, stage: str = "gen", dvcfile: str = "dvc.yaml") -> UsedOutput:
    return UsedOutput(dvcfile, stage, path, (oid, False))


def test_select_outputs_by_stage_path_and_inside_a_folder() -> None:
    from xpt.pipeline.model import OutSpec, Stage

    gen = Stage("gen", "dvc.yaml", "", "x", outs=(OutSpec("data"), OutSpec("model.bin")))
    sub = Stage("t", "sub/dvc.yaml", "sub", "x", outs=(OutSpec("out.txt"),))
    outs = [
        out("data", "a.dir"),
        out("model.bin", "b"),
        out("sub/out.txt", "c", "t", "sub/dvc.yaml"),
    ]
    revs = [RevisionOutputs([gen, sub], outs)]
    assert select_outputs(revs, []) == dict.fromkeys(outs)
    assert select_outputs(revs, ["gen"]) == {outs[0]: None, outs[1]: None}
    assert select_outputs(revs, ["sub/dvc.yaml:t"]) == {outs[2]: None}
    assert select_outputs(revs, ["sub/dvc.yaml"]) == {outs[2]: None}
    assert select_outputs(revs, ["out.txt"], base="sub") == {outs[2]: None}
    assert select_outputs(revs, ["dvc.yaml:t"], base="sub") == {outs[2]: None}
    assert select_outputs(revs, ["data/x/y", "data/z"]) == {outs[0]: ("x/y", "z")}
    assert select_outputs(revs, ["data/x", "data"]) == {outs[0]: None}
    assert select_outputs(revs, ["./model.bin"]) == {outs[1]: None}
    with pytest.raises(PipelineError, match="'nope' does not exist as an output or a stage"):
        select_outputs(revs, ["nope"])
    # a declared output never recorded is a valid target that selects nothing
    gen2 = Stage("gen2", "dvc.yaml", "", "x", outs=(OutSpec("later.bin"),))
    assert select_outputs([RevisionOutputs([gen2], [])], ["later.bin"]) == {}


@pytest.mark.parametrize("kernel_above", [1 << 30, 1])
def test_local_download_hashes_what_it_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_above: int
) -> None:
    """Both paths: one buffered pass (small), kernel copy with a parallel hash (big)."""
    monkeypatch.setattr(remote_mod, "KERNEL_COPY_ABOVE", kernel_above)
    monkeypatch.setattr(remote_mod, "CHUNK", 4096)  # several hashing reads
    data = bytes(range(256)) * 1000 + b"end"
    remote = LocalRemote(tmp_path / "remote")
    (tmp_path / "src").write_bytes(data)
    remote.upload(tmp_path / "src", object_relpath(MD5))  # stored under a wrong name
    dest = tmp_path / "dest"
    assert remote.download(object_relpath(MD5), dest) == hashlib.md5(data).hexdigest()
    assert dest.read_bytes() == data
