"""`.dvc` files: parsing, DVC's exact bytes on write, stage md5, errors with file:line."""

from __future__ import annotations

import pytest

from xpt.errors import PipelineError
from xpt.pipeline import dvcfile as df

# Written by `dvc add data` / `dvc add run.sh` / `dvc import-url` (DVC 3.67.1).
DIR_DVC = b"""outs:
- md5: 8a83caa1a4f59e21bf55f1c38ed68be2.dir
  size: 8
  nfiles: 2
  hash: md5
  path: data
"""
EXEC_DVC = b"""outs:
- md5: 401b30e3b8b5d629635a5c613cdb7919
  size: 2
  isexec: true
  hash: md5
  path: run.sh
"""
IMPORT_URL_DVC = b"""md5: 430b35da9b3940243324ac4968caf0de
frozen: true
deps:
- md5: 0bee89b07a248e27c83fc3d5951213c1
  size: 4
  hash: md5
  path: /tmp/ext.txt
outs:
- md5: 0bee89b07a248e27c83fc3d5951213c1
  size: 4
  hash: md5
  path: ext.txt
"""
REPO_IMPORT_DVC = b"""md5: 1f3a3f8a0c1f0f1b3e0f8d5f1a2b3c4d
frozen: true
deps:
- path: data/data.xml
  repo:
    url: https://github.com/iterative/dataset-registry
    rev_lock: f31f5c4cdae787b4bdeb97a717687d44667d9e62
outs:
- md5: 22a1a2931c8370d3aeedd7183606fd7f
  size: 14445097
  hash: md5
  path: data.xml
"""


def test_dir_file_parses_and_rewrites_identically() -> None:
    parsed = df.parse(DIR_DVC, "data.dvc")
    (out,) = parsed.outs
    assert (out.path, out.md5, out.size, out.nfiles, out.hash) == (
        "data",
        "8a83caa1a4f59e21bf55f1c38ed68be2.dir",
        8,
        2,
        "md5",
    )
    assert parsed.is_data_source and not parsed.is_import
    assert df.dumps(parsed) == DIR_DVC
    assert df.dumps(parsed, DIR_DVC) == DIR_DVC


def test_new_file_bytes_match_dvc_add() -> None:
    new = df.DvcFile(
        path="run.sh.dvc",
        outs=(df.DvcItem("run.sh").with_hash("401b30e3b8b5d629635a5c613cdb7919", 2, None, True),),
    )
    assert df.dumps(new) == EXEC_DVC


def test_rewrite_keeps_comments_order_and_annotations() -> None:
    old = (
        b"# top comment\nouts:\n- md5: d3b07384d113edec49eaa6238ad5ff00   # c1\n  size: 4\n"
        b"  hash: md5\n  path: f.txt\n  desc: my file\n  meta: {a: 1}\nmeta:\n  owner: me\n"
        b"desc: hello\n"
    )
    parsed = df.parse(old, "f.txt.dvc")
    assert parsed.desc == "hello" and parsed.meta == {"owner": "me"}
    assert dict(parsed.outs[0].extra) == {"desc": "my file", "meta": {"a": 1}}
    changed = df.DvcFile(
        **{
            **parsed.__dict__,
            "outs": (parsed.outs[0].with_hash("ec1bebaea2c042beb68f7679ddd106a4", 8),),
        }
    )
    # what `dvc add f.txt` wrote after the file changed
    assert df.dumps(changed, old) == old.replace(
        b"d3b07384d113edec49eaa6238ad5ff00", b"ec1bebaea2c042beb68f7679ddd106a4"
    ).replace(b"size: 4", b"size: 8")


def test_legacy_entry_gets_new_keys_appended_like_dvc() -> None:
    old = b"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: f.txt\n"
    parsed = df.parse(old, "f.txt.dvc")
    assert parsed.outs[0].legacy
    assert "hash" not in df.lock_entry(parsed)["outs"][0]
    new = df.DvcFile(
        path=parsed.path,
        outs=(parsed.outs[0].with_hash("ec1bebaea2c042beb68f7679ddd106a4", 8),),
    )
    assert df.dumps(new, old) == (
        b"outs:\n- md5: ec1bebaea2c042beb68f7679ddd106a4\n  path: f.txt\n  size: 8\n  hash: md5\n"
    )


def test_import_url_file_and_its_stage_md5() -> None:
    parsed = df.parse(IMPORT_URL_DVC, "ext.txt.dvc")
    assert parsed.frozen and parsed.is_import and not parsed.is_repo_import
    assert df.stage_md5(parsed) == "430b35da9b3940243324ac4968caf0de"
    assert df.dumps(parsed) == IMPORT_URL_DVC


def test_repo_import_round_trips() -> None:
    parsed = df.parse(REPO_IMPORT_DVC, "data/data.xml.dvc")
    dep = parsed.deps[0]
    assert parsed.is_repo_import and dep.repo is not None
    assert dep.repo.url == "https://github.com/iterative/dataset-registry"
    assert dep.repo.rev_lock == "f31f5c4cdae787b4bdeb97a717687d44667d9e62"
    assert df.dumps(parsed) == REPO_IMPORT_DVC
    stage = df.to_stage(parsed)
    assert stage.deps == () and stage.frozen
    assert stage.addressing == "data/data.xml.dvc" and stage.lockfile == "data/data.xml.dvc"
    assert stage.repo_path("data.xml") == "data/data.xml"


def test_paths_are_relative_to_the_file_and_wdir() -> None:
    parsed = df.parse(b"wdir: ..\nouts:\n- md5: " + b"a" * 32 + b"\n  path: x/y\n", "s/t.dvc")
    assert parsed.base_dir == "" and parsed.repo_path("x/y") == "x/y"
    nested = df.parse(DIR_DVC, "sub/data.dvc")
    assert nested.repo_path("data") == "sub/data"
    assert df.lock_entries(DIR_DVC, "sub/data.dvc")["sub/data.dvc"]["outs"][0]["md5"].endswith(
        ".dir"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"outs:\n- md5: nothex\n  path: f\n", "f.dvc:2:3: outs[0].md5: must be 32 lowercase hex"),
        (b"outs:\n- md5: " + b"a" * 32 + b"\n  size: -1\n  path: f\n", "f.dvc:3:3: outs[0].size"),
        (
            b"outs:\n- path: ../../etc/passwd\n",
            "f.dvc:2:3: outs[0].path: '../../etc/passwd' is outside",
        ),
        (b"outs:\n- path: /etc/passwd\n", "is outside the repository"),
        (b"outz: []\n", "f.dvc:1:1: outz: unknown key"),
        (b"outs: {a: 1}\n", "f.dvc:1:1: outs: must be a list"),
        (b"outs:\n- md5: x\n", "outs[0]: needs a `path` string"),
        (b"outs: [\n", "f.dvc:"),
        (b"- a\n", "f.dvc: a .dvc file must be a mapping"),
        (b"frozen: yes\nouts: []\n", "frozen: must be true or false"),
    ],
)
def test_bad_files_name_the_place(text: bytes, message: str) -> None:
    with pytest.raises(PipelineError) as info:
        df.parse(text, "f.dvc")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_names() -> None:
    assert df.is_dvcfile("data/x.xml.dvc") and not df.is_dvcfile(".dvc")
    assert df.dvcfile_for("data/") == "data.dvc"


def test_write_is_atomic_and_keeps_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data.dvc").write_bytes(b"# keep me\n" + DIR_DVC)
    parsed = df.parse((tmp_path / "data.dvc").read_bytes(), "data.dvc")
    df.write(str(tmp_path), parsed)
    assert (tmp_path / "data.dvc").read_bytes() == b"# keep me\n" + DIR_DVC
    assert [p.name for p in tmp_path.iterdir()] == ["data.dvc"]
