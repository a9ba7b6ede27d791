"""import / get / import-url / get-url / update against real local repositories and S3 (moto)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import TmpRepo
from tests.s3_server import S3Bucket, s3_bucket, s3_server  # noqa: F401 - fixtures


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def source(tmp_path: Path, project: TmpRepo, xpt, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """Another project: `data/data.xml` and `data/dir/` added, pushed to a local remote;
    `plain.txt` tracked by git. The consuming project is the cwd again afterwards."""
    src = tmp_path / "src"
    src.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True)
    monkeypatch.chdir(src)
    TmpRepo(src).gen(
        {
            "data": {"data.xml": "hello\n", "dir": {"a": "1\n", "sub": {"b": "2\n"}}},
            "plain.txt": "plain\n",
        }
    )
    xpt("init")
    xpt("add", "data/data.xml", "data/dir")
    xpt("remote", "add", "-d", "store", str(tmp_path / "store"))
    xpt("push")
    TmpRepo(src).commit("source data")
    TmpRepo(src).git("tag", "v1")
    monkeypatch.chdir(project)
    return src


def dvc_doc(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_import_file_from_local_repo(source: Path, project: TmpRepo, xpt) -> None:
    res = xpt("import", str(source), "data/data.xml")
    assert res.out.startswith(f"Importing 'data/data.xml ({source})' -> 'data.xml'")
    assert "git add data.xml.dvc .gitignore" in res.out
    assert (project / "data.xml").read_text() == "hello\n"
    assert (project / ".gitignore").read_text() == "/data.xml\n"
    doc = dvc_doc(project / "data.xml.dvc")
    sha = TmpRepo(source).git("rev-parse", "HEAD")
    assert list(doc) == ["md5", "frozen", "deps", "outs"]
    assert doc["deps"] == [{"path": "data/data.xml", "repo": {"url": str(source), "rev_lock": sha}}]
    assert doc["outs"] == [{"md5": md5(b"hello\n"), "size": 6, "hash": "md5", "path": "data.xml"}]
    assert xpt("status").out.strip().endswith("up to date.")


def test_import_dir_with_rev_and_out_then_file_inside(source: Path, project: TmpRepo, xpt) -> None:
    xpt("import", str(source), "data/dir", "-o", "mydir", "--rev", "v1")
    assert (project / "mydir/sub/b").read_text() == "2\n"
    doc = dvc_doc(project / "mydir.dvc")
    assert doc["deps"][0]["repo"]["rev"] == "v1"
    assert doc["outs"][0]["nfiles"] == 2 and doc["outs"][0]["md5"].endswith(".dir")
    xpt("import", str(source), "data/dir/sub/b", "-o", "b_only")
    assert (project / "b_only").read_text() == "2\n"
    xpt("import", str(source), "data/dir/sub", "-o", "subdir")
    assert (project / "subdir/b").read_text() == "2\n"
    assert dvc_doc(project / "subdir.dvc")["outs"][0]["nfiles"] == 1


def test_import_git_tracked_file(source: Path, project: TmpRepo, xpt) -> None:
    xpt("import", str(source), "plain.txt")
    assert (project / "plain.txt").read_text() == "plain\n"
    assert dvc_doc(project / "plain.txt.dvc")["outs"][0]["md5"] == md5(b"plain\n")


def test_import_from_url_uses_the_source_remote(
    source: Path, project: TmpRepo, xpt, tmp_path: Path
) -> None:
    bare = tmp_path / "src.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
    url = f"file://{bare}"
    xpt("import", url, "data/dir")
    assert (project / "dir/a").read_text() == "1\n"
    assert dvc_doc(project / "dir.dvc")["deps"][0]["repo"]["url"] == url


def test_import_refusals(source: Path, project: TmpRepo, xpt, tmp_path: Path) -> None:
    xpt("import", str(source), "data/data.xml")
    before = (project / "data.xml.dvc").read_bytes()
    res = xpt("import", str(source), "data/data.xml", ok=False)
    assert "already exists locally" in res.err and "--force" in res.err
    assert (project / "data.xml.dvc").read_bytes() == before
    assert "does not exist" in xpt("import", str(source), "nope", ok=False).err
    assert not (project / "nope.dvc").exists()
    assert (
        "unknown Git revision"
        in xpt("import", str(source), "plain.txt", "--rev", "zz", ok=False).err
    )
    assert "not a git repository" in xpt("import", str(tmp_path / "none"), "x", ok=False).err
    assert (
        "outside the project" in xpt("import", str(source), "plain.txt", "-o", "../x", ok=False).err
    )
    project.gen({"mine.txt": "mine"})
    project.commit("mine")
    res = xpt("import", str(source), "plain.txt", "-o", "mine.txt", "--force", ok=False)
    assert "already tracked by SCM" in res.err
    assert not (project / "mine.txt.dvc").exists() and (project / "mine.txt").read_text() == "mine"
    xpt("import", str(source), "plain.txt", "-o", "data.xml", "--force")
    assert (project / "data.xml").read_text() == "plain\n"


def test_update_follows_the_source(source: Path, project: TmpRepo, xpt, monkeypatch) -> None:
    xpt("import", str(source), "data/data.xml")
    project.commit("import")
    assert xpt("update", "data.xml.dvc").out == ""  # nothing new
    monkeypatch.chdir(source)
    (source / "data/data.xml").write_text("hello2\n")
    xpt("add", "data/data.xml")
    xpt("push")
    TmpRepo(source).commit("v2")
    monkeypatch.chdir(project)
    res = xpt("update", "data.xml")
    assert "Importing 'data/data.xml" in res.out
    assert (project / "data.xml").read_text() == "hello2\n"
    doc = dvc_doc(project / "data.xml.dvc")
    assert doc["deps"][0]["repo"]["rev_lock"] == TmpRepo(source).git("rev-parse", "HEAD")
    xpt("update", "data.xml.dvc", "--rev", "v1")
    assert (project / "data.xml").read_text() == "hello\n"
    assert dvc_doc(project / "data.xml.dvc")["deps"][0]["repo"]["rev"] == "v1"
    project.gen({"added.txt": "x"})
    xpt("add", "added.txt")
    assert "is not an import" in xpt("update", "added.txt.dvc", ok=False).err


def test_get_and_show_url(source: Path, project: TmpRepo, xpt, tmp_path: Path) -> None:
    xpt("get", str(source), "data/dir", "-o", "copy")
    assert (project / "copy/sub/b").read_text() == "2\n"
    assert not (project / "copy.dvc").exists()
    assert os.stat(project / "copy/a").st_nlink == 1  # a plain copy, not a cache link
    url = xpt("get", str(source), "data/data.xml", "--show-url").out.strip()
    assert url == f"{tmp_path / 'store'}/files/md5/b1/946ac92492d2347c6235b4d2611184"
    assert (
        "already exists" in xpt("get", str(source), "data/data.xml", "-o", "copy/a", ok=False).err
    )


def test_import_url_local_file_and_dir_then_update(project: TmpRepo, xpt, tmp_path: Path) -> None:
    ext = tmp_path / "ext.txt"
    ext.write_text("ext\n")
    folder = tmp_path / "extdir"
    (folder / "in").mkdir(parents=True)
    (folder / "in/e1").write_text("e1\n")
    res = xpt("import-url", str(ext))
    assert res.out.startswith(f"Importing '{ext}' -> 'ext.txt'")
    doc = dvc_doc(project / "ext.txt.dvc")
    assert doc["deps"] == [{"md5": md5(b"ext\n"), "size": 4, "hash": "md5", "path": str(ext)}]
    xpt("import-url", f"file://{folder}", "edir")
    assert (project / "edir/in/e1").read_text() == "e1\n"
    assert dvc_doc(project / "edir.dvc")["deps"][0]["path"] == str(folder)
    ext.write_text("changed\n")
    assert "Importing" in xpt("update", "ext.txt.dvc").out
    assert (project / "ext.txt").read_text() == "changed\n"
    assert dvc_doc(project / "ext.txt.dvc")["deps"][0]["md5"] == md5(b"changed\n")
    res = xpt("import-url", str(tmp_path / "missing"), ok=False)
    assert "does not exist" in res.err and not (project / "missing.dvc").exists()


def test_get_url(project: TmpRepo, xpt, tmp_path: Path) -> None:
    ext = tmp_path / "ext.txt"
    ext.write_text("ext\n")
    xpt("get-url", str(ext), "got.txt")
    assert (project / "got.txt").read_text() == "ext\n"
    assert not (project / "got.txt.dvc").exists()
    assert "already exists" in xpt("get-url", str(ext), "got.txt", ok=False).err


def test_import_url_and_get_url_from_s3(project: TmpRepo, xpt, s3_bucket: S3Bucket) -> None:  # noqa: F811
    fs = s3_bucket.server.filesystem()
    fs.pipe(f"{s3_bucket.name}/in/file.bin", b"s3 data")
    fs.pipe(f"{s3_bucket.name}/in/folder/x.txt", b"x")
    fs.pipe(f"{s3_bucket.name}/in/folder/y/z.txt", b"z")
    conf = ["--fs-config", f"endpointurl={s3_bucket.endpoint}"]
    xpt("import-url", f"s3://{s3_bucket.name}/in/file.bin", *conf)
    assert (project / "file.bin").read_bytes() == b"s3 data"
    assert dvc_doc(project / "file.bin.dvc")["outs"][0]["md5"] == md5(b"s3 data")
    xpt("import-url", f"s3://{s3_bucket.name}/in/folder", "fold", *conf)
    assert (project / "fold/y/z.txt").read_bytes() == b"z"
    xpt("get-url", f"s3://{s3_bucket.name}/in/folder/x.txt", "x.txt", *conf)
    assert (project / "x.txt").read_bytes() == b"x"
    res = xpt("import-url", f"s3://{s3_bucket.name}/in/nothing", *conf, ok=False)
    assert "does not exist" in res.err


def test_import_no_exec_no_download_then_update_recursive(
    source: Path, project: TmpRepo, xpt
) -> None:
    xpt("import", str(source), "data/data.xml", "--no-exec")
    doc = dvc_doc(project / "data.xml.dvc")
    assert "md5" not in doc and "rev_lock" not in doc["deps"][0]["repo"]
    assert doc["outs"] == [{"hash": "md5", "path": "data.xml"}]
    assert not (project / "data.xml").exists()
    (project / "sub").mkdir()
    xpt("import", str(source), "data/dir", "-o", "sub/dir", "--no-download")
    doc = dvc_doc(project / "sub/dir.dvc")
    assert "md5" in doc and doc["deps"][0]["repo"]["rev_lock"]
    assert doc["outs"] == [{"hash": "md5", "path": "dir"}]
    assert not (project / "sub/dir").exists()
    res = xpt("update", "-R", ".")
    assert "Importing 'data/data.xml" in res.out and "Importing 'data/dir" in res.out
    assert (project / "data.xml").read_text() == "hello\n"
    assert (project / "sub/dir/a").read_text() == "1\n"
    assert dvc_doc(project / "data.xml.dvc")["outs"][0]["md5"] == md5(b"hello\n")
    xpt("remove", "sub/dir.dvc", "--outs")
    assert not (project / "sub/dir").exists()
