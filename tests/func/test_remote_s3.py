"""S3 data remotes through fsspec/s3fs, against moto's standalone server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.func.gen_pipeline import DVC_YAML
from tests.helpers import TmpRepo
from tests.s3_server import S3Bucket, s3_bucket, s3_server  # noqa: F401 - fixtures
from xpt.cache import remote_backends as remote_mod
from xpt.cache.remote_backends import FsspecRemote, s3_options
from xpt.errors import CacheError, CorruptObject

GEN_PY = """\
import os
n = open("params.yaml").read().split(":")[1].strip()
os.makedirs("data/sub", exist_ok=True)
for i in range(3):
    open(f"data/f{i}.bin", "wb").write(bytes(range(256)) * (i + 1) + n.encode())
open("data/sub/deep.txt", "w").write("deep " + n)
open("model.bin", "wb").write(b"\\x00\\xff\\r\\n model " + n.encode())
"""


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def obj_key(content: bytes) -> str:
    digest = md5(content)
    return f"store/files/md5/{digest[:2]}/{digest[2:]}"


def snapshot(root: Path, paths: tuple[str, ...] = ("data", "model.bin")) -> dict[str, bytes]:
    """Every file under `paths`, by relative path, with its bytes."""
    found: dict[str, bytes] = {}
    for name in paths:
        path = root / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            found[f.relative_to(root).as_posix()] = f.read_bytes()
    return found


@pytest.fixture
def s3_project(project: TmpRepo, s3_bucket: S3Bucket, tmp_path: Path, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]  # noqa: F811
    """A reproduced pipeline (a folder and a file output), an S3 default remote, a bare origin."""
    project.gen({"params.yaml": "foo: 1\n", "dvc.yaml": DVC_YAML, "gen.py": GEN_PY})
    xpt("remote", "add", "-d", "s3r", f"s3://{s3_bucket.name}/store")
    xpt("remote", "modify", "s3r", "endpointurl", s3_bucket.endpoint)
    xpt("repro")
    project.commit("pipeline")
    upstream = tmp_path / "upstream.git"
    subprocess.run(["git", "init", "-q", "--bare", str(upstream)], check=True)
    project.git("remote", "add", "origin", str(upstream))
    project.git("push", "-q", "origin", "main")
    return project


def clone(project: TmpRepo, dest: Path) -> TmpRepo:
    upstream = project.git("remote", "get-url", "origin")
    subprocess.run(["git", "clone", "-q", upstream, str(dest)], check=True)
    return TmpRepo(dest)


def test_push_pull_round_trip_byte_for_byte(
    s3_project: TmpRepo,
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path: Path,
    xpt,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "['remote \"s3r\"']" in (s3_project / ".dvc" / "config").read_text()
    res = xpt("push")
    assert "6 files pushed" in res.out  # 4 files + the .dir object + model.bin
    keys = s3_bucket.object_keys()
    assert obj_key((s3_project / "model.bin").read_bytes()) in keys
    assert all(k.startswith("store/files/md5/") for k in keys)
    assert any(k.endswith(".dir") for k in keys)
    assert "up to date" in xpt("push").out  # exists() sees what was just uploaded
    before = snapshot(s3_project)
    other = clone(s3_project, tmp_path / "other")
    monkeypatch.chdir(other)
    xpt("pull")
    assert snapshot(other) == before
    assert "Cache and remote 's3r' are in sync." in xpt("status", "-c").out


def test_corrupted_object_on_s3_refused(
    s3_project: TmpRepo,
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path: Path,
    xpt,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    xpt("push")
    model = (s3_project / "model.bin").read_bytes()
    s3_bucket.write(obj_key(model), b"evil bytes")
    other = clone(s3_project, tmp_path / "other")
    monkeypatch.chdir(other)
    res = xpt("pull", ok=False)
    assert "corrupted" in res.err
    digest = md5(model)
    assert not (other / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]).exists()
    assert not list((other / ".dvc" / "cache").rglob(".xpt-dl-*"))  # no temp file left
    sound = md5((s3_project / "data" / "f0.bin").read_bytes())
    assert (other / ".dvc" / "cache" / "files" / "md5" / sound[:2] / sound[2:]).exists()


def test_status_cloud_and_gc_cloud_on_s3(
    s3_project: TmpRepo,
    s3_bucket: S3Bucket,  # noqa: F811
    xpt,  # type: ignore[no-untyped-def]
) -> None:
    assert xpt("status", "-c", "--json").out.strip() == (
        '{"data": "new", "data/f0.bin": "new", "data/f1.bin": "new", "data/f2.bin": "new",'
        ' "data/sub/deep.txt": "new", "model.bin": "new"}'
    )
    xpt("push")
    assert xpt("status", "-c", "--json").out.strip() == "{}"
    old_model = obj_key((s3_project / "model.bin").read_bytes())
    s3_project.gen({"params.yaml": "foo: 2\n"})
    xpt("repro")
    res = xpt("status", "-c")
    assert "\tnew:                model.bin\n" in res.out
    xpt("push")
    assert old_model in s3_bucket.object_keys()
    res = xpt("gc", "-w", "-c", "-f")
    assert res.out.splitlines() == [
        "Removed 6 objects from repo cache.",
        "No unused 'legacy' cache to remove.",
        "Removed 6 objects from remote.",
        "No unused cache to remove from remote.",
    ]
    keys = s3_bucket.object_keys()
    new_model = obj_key((s3_project / "model.bin").read_bytes())
    assert old_model not in keys
    assert new_model in keys
    assert len(keys) == 6
    assert xpt("status", "-c", "--json").out.strip() == "{}"
    # after a listing (gc), an object deleted by someone else must be seen as gone:
    # presence must not come from a listing cached in this process
    s3_bucket.server.filesystem().rm_file(f"{s3_bucket.name}/{new_model}")
    assert xpt("status", "-c", "model.bin").out == "\tnew:                model.bin\n"
    xpt("push")
    cache = s3_project / ".dvc" / "cache"
    digest = md5((s3_project / "model.bin").read_bytes())
    (cache / "files" / "md5" / digest[:2] / digest[2:]).unlink()
    assert xpt("status", "-c", "model.bin").out == "\tdeleted:            model.bin\n"


def test_credentials_and_region_from_remote_options(
    s3_project: TmpRepo,
    s3_bucket: S3Bucket,  # noqa: F811
    xpt,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    res = xpt("push", ok=False)
    assert "no credentials for remote" in res.err
    xpt("remote", "modify", "--local", "s3r", "access_key_id", "testing")
    xpt("remote", "modify", "--local", "s3r", "secret_access_key", "testing")
    xpt("remote", "modify", "s3r", "region", "us-east-1")
    assert "secret_access_key" not in (s3_project / ".dvc" / "config").read_text()
    assert "6 files pushed" in xpt("push").out


def test_unreachable_endpoint_and_missing_bucket(
    s3_project: TmpRepo,
    s3_bucket: S3Bucket,  # noqa: F811
    xpt,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no backoff: the test stays fast
    xpt("remote", "modify", "s3r", "endpointurl", "http://127.0.0.1:1")
    s3_project.gen({"params.yaml": "foo: 2\n"})
    xpt("repro")  # the foo=1 objects are now unused
    cache = s3_project / ".dvc" / "cache"
    before = sorted(cache.rglob("*"))
    for command in (["push"], ["status", "-c"], ["gc", "-w", "-c", "-f"]):
        res = xpt(*command, ok=False)
        assert "remote 's3://" in res.err and "is unreachable" in res.err, command
    assert sorted(cache.rglob("*")) == before  # gc -c lists the remote before deleting anything
    xpt("remote", "modify", "s3r", "endpointurl", s3_bucket.endpoint)
    xpt("remote", "modify", "s3r", "url", "s3://no-such-bucket-xpt/store")
    res = xpt("push", ok=False)
    assert (
        "bucket 'no-such-bucket-xpt' of remote 's3://no-such-bucket-xpt/store' does not exist"
        in (res.err)
    )


def test_download_is_one_get_streamed_in_chunks(
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No HEAD before the GET (half the requests of a pull of small files); an object
    bigger than a chunk still arrives whole, hashed on the way; a missing one is named."""
    monkeypatch.setattr(remote_mod, "REMOTE_CHUNK", 64 << 10)
    data = bytes(range(256)) * 1000 + b"tail"  # ~4 chunks
    s3_bucket.write("store/files/md5/ab/cdef", data)
    remote = FsspecRemote(f"s3://{s3_bucket.name}/store", {"endpointurl": s3_bucket.endpoint})
    calls: list[str] = []
    real = remote.fs._call_s3

    async def recording(method, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(method)
        return await real(method, *args, **kwargs)

    monkeypatch.setattr(remote.fs, "_call_s3", recording)
    dest = tmp_path / "obj.tmp"
    assert remote.download("files/md5/ab/cdef", dest) == md5(data)
    assert dest.read_bytes() == data
    assert calls == ["get_object"]
    with pytest.raises(CacheError, match="object 'files/md5/ab/0000' is missing on remote"):
        remote.download("files/md5/ab/0000", tmp_path / "missing.tmp")


def test_s3_options_map_dvc_names() -> None:
    kwargs = s3_options(
        {
            "url": "s3://b/p",
            "endpointurl": "http://h:1",
            "region": "eu-west-1",
            "profile": "p",
            "access_key_id": "k",
            "secret_access_key": "s",
            "session_token": "t",
            "use_ssl": "false",
            "ssl_verify": "False",
            "connect_timeout": "3",
        }
    )
    assert kwargs == {
        "client_kwargs": {
            "endpoint_url": "http://h:1",
            "region_name": "eu-west-1",
            "verify": False,
        },
        "profile": "p",
        "key": "k",
        "secret": "s",
        "token": "t",
        "use_ssl": False,
        "config_kwargs": {"connect_timeout": 3.0},
    }
    assert s3_options({"ssl_verify": "/etc/ca.pem"})["client_kwargs"] == {"verify": "/etc/ca.pem"}


def test_batched_transfers_verify_each_object_and_hand_back_big_ones(
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small objects move on fsspec's event loop, one request each (no HEAD); a cache file
    changed in place is never sent, a bad or missing download fails alone, and objects
    above a chunk come back for the streaming path."""
    monkeypatch.setattr(remote_mod, "REMOTE_CHUNK", 1024)
    remote = FsspecRemote(f"s3://{s3_bucket.name}/store", {"endpointurl": s3_bucket.endpoint})
    calls: list[str] = []
    real = remote.fs._call_s3

    async def recording(method, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(method)
        return await real(method, *args, **kwargs)

    monkeypatch.setattr(remote.fs, "_call_s3", recording)
    files = {"small": b"small object", "bad": b"changed in place", "big": b"x" * 5000}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    items: list[tuple[Path, str, str | None]] = [
        (tmp_path / "small", "files/md5/aa/01", md5(files["small"])),
        (tmp_path / "bad", "files/md5/aa/02", md5(b"what was cached")),
        (tmp_path / "big", "files/md5/aa/03", md5(files["big"])),
        (tmp_path / "gone", "files/md5/aa/04", None),
    ]
    big, failed = remote.upload_many(items, jobs=3)
    assert big == [2]
    assert sorted(failed) == [1, 3]
    assert isinstance(failed[1], CorruptObject)
    assert "cannot read cache object" in failed[3].message
    assert s3_bucket.object_keys() == ["store/files/md5/aa/01"]
    assert calls == ["put_object"]

    s3_bucket.write("store/files/md5/aa/03", files["big"])
    s3_bucket.write("store/files/md5/aa/05", b"evil bytes")
    calls.clear()
    got: dict[int, bytes] = {}

    def store(i: int, body: bytes) -> None:
        if body == b"evil bytes":
            raise CacheError("corrupted")
        got[i] = body

    relpaths = ["files/md5/aa/01", "files/md5/aa/03", "files/md5/aa/05", "files/md5/aa/06"]
    big, failed = remote.download_many(relpaths, store, jobs=2)
    assert big == [1]
    assert got == {0: files["small"]}
    assert sorted(failed) == [2, 3]
    assert failed[2].message == "corrupted"
    assert failed[3].message == f"object 'files/md5/aa/06' is missing on remote '{remote.url}'"
    assert calls == ["get_object"] * 4


def test_pull_streams_big_objects_and_batches_small_ones(
    s3_project: TmpRepo,
    s3_bucket: S3Bucket,  # noqa: F811
    tmp_path: Path,
    xpt,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a tiny chunk, some objects take the batched path and some stream: a corrupted
    one of each kind is refused and stays out of the cache, the others arrive whole."""
    monkeypatch.setattr(remote_mod, "REMOTE_CHUNK", 600)  # f0 (~256 B) batched, f2 streamed
    assert "6 files pushed" in xpt("push").out
    small, big = (
        (s3_project / "data" / "f0.bin").read_bytes(),
        (s3_project / "data" / "f2.bin").read_bytes(),
    )
    assert len(small) < 600 < len(big)
    for data in (small, big):
        s3_bucket.write(obj_key(data), b"evil " + data[5:])
    other = clone(s3_project, tmp_path / "other")
    monkeypatch.chdir(other)
    res = xpt("pull", ok=False)
    assert res.err.count("corrupted") >= 2
    cache = other / ".dvc" / "cache" / "files" / "md5"
    for data in (small, big):
        assert not (cache / md5(data)[:2] / md5(data)[2:]).exists()
    for name in ("f1.bin", "sub/deep.txt"):
        digest = md5((s3_project / "data" / name).read_bytes())
        assert (cache / digest[:2] / digest[2:]).exists()
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
