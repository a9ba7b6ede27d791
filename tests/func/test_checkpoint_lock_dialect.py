"""A project with a checkpoint output writes every dvc.lock in DVC 2's dialect.

Checkpoints exist only in DVC 2, whose lock schema rejects the whole file once one
entry has a `hash:` key. So such a project records md5-dos2unix hashes without `hash:`
and stores objects in the legacy cache layout; other projects keep DVC 3 entries.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.func.test_checkpoints import TRAIN_PY, dvc_yaml
from tests.func.test_exp_run import exp_refs
from tests.helpers import TmpRepo

CRLF_TEXT = b"hello\r\nworld\r\n"
CRLF_DOS2UNIX_MD5 = "0f723ae7f9bf07744445e93ac5595156"  # spec §4.1, DVC 2.58 run

PREP_STAGE = (
    "  prep:\n"
    "    cmd: python -c \"import shutil; shutil.copytree('raw', 'prepared')\"\n"
    "    deps: [raw]\n"
    "    outs: [prepared]\n"
)


def with_prep(dvc_yaml_text: str) -> str:
    return dvc_yaml_text.replace("stages:\n", "stages:\n" + PREP_STAGE, 1)


@pytest.fixture
def ckpt(project: TmpRepo) -> TmpRepo:
    """F5 plus a non-checkpoint stage copying a folder that holds a CRLF text file."""
    project.gen(
        {
            "train.py": TRAIN_PY,
            "params.yaml": "foo: 1\n",
            "dvc.yaml": with_prep(dvc_yaml("python train.py foo 2 params.yaml metrics.yaml")),
        }
    )
    (project / "raw").mkdir()
    (project / "raw" / "crlf.txt").write_bytes(CRLF_TEXT)
    project.commit("checkpoint project with a prep stage")
    return project


def legacy_object(repo: TmpRepo, md5: str) -> bool:
    return (repo / ".dvc" / "cache" / md5[:2] / md5[2:]).is_file()


def new_object(repo: TmpRepo, md5: str) -> bool:
    return (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).is_file()


def test_every_stage_and_commit_uses_the_2x_dialect(ckpt: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run")
    ((_ref, tip),) = exp_refs(ckpt).items()
    head = ckpt.git("rev-parse", "HEAD")
    for sha in ckpt.git("rev-list", tip, f"^{head}").split():
        assert "hash:" not in ckpt.git("show", f"{sha}:dvc.lock")
    lock = (ckpt / "dvc.lock").read_text()
    assert lock.startswith("schema: '2.0'\nstages:\n  prep:\n")
    assert "hash:" not in lock
    # the CRLF file is hashed the 2.x way, inside the folder's .dir object too
    tree = next(p for p in (ckpt / ".dvc" / "cache").glob("??/*.dir"))
    assert f'{{"md5": "{CRLF_DOS2UNIX_MD5}", "relpath": "crlf.txt"}}' in tree.read_text()
    assert legacy_object(ckpt, CRLF_DOS2UNIX_MD5)
    foo_md5 = hashlib.md5(b"2").hexdigest()
    assert f"- path: foo\n      md5: {foo_md5}\n      size: 1\n" in lock
    assert legacy_object(ckpt, foo_md5) and not new_object(ckpt, foo_md5)
    assert not (ckpt / ".dvc" / "cache" / "files").exists()


def test_dvc3_entries_of_unchanged_stages_are_rewritten(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    """A lock written before the checkpoint stage existed would make DVC 2 reject the file."""
    project.gen({"dvc.yaml": "stages:\n" + PREP_STAGE})
    (project / "raw").mkdir()
    (project / "raw" / "a.txt").write_text("a\n")
    xpt("repro")
    assert "hash: md5" in (project / "dvc.lock").read_text()
    project.gen(
        {
            "train.py": TRAIN_PY,
            "params.yaml": "foo: 1\n",
            "dvc.yaml": with_prep(dvc_yaml("python train.py foo 2 params.yaml metrics.yaml")),
        }
    )
    project.commit("add a checkpoint stage")
    res = xpt("exp", "run")
    assert "Stage 'prep' didn't change" in res.out
    lock = (project / "dvc.lock").read_text()
    assert "hash:" not in lock and "  prep:\n" in lock
    md5 = hashlib.md5(b"a\n").hexdigest()
    assert legacy_object(project, md5)


def test_projects_without_checkpoints_keep_dvc3_entries(project: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    project.gen({"dvc.yaml": "stages:\n" + PREP_STAGE})
    (project / "raw").mkdir()
    (project / "raw" / "crlf.txt").write_bytes(CRLF_TEXT)
    xpt("exp", "run")
    lock = (project / "dvc.lock").read_text()
    assert lock.count("hash: md5") == 2
    raw_md5 = hashlib.md5(CRLF_TEXT).hexdigest()
    assert new_object(project, raw_md5) and not legacy_object(project, raw_md5)


def test_resume_reads_its_own_legacy_entries(ckpt: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run")
    res = xpt("exp", "run")
    assert "Existing checkpoint experiment" in res.out
    assert (ckpt / "foo").read_text() == "4"
    assert "hash:" not in (ckpt / "dvc.lock").read_text()
    assert "Stage 'prep'" in res.out and "Running stage 'prep'" not in res.out


def test_status_is_clean_after_a_checkpoint_run(ckpt: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run")
    assert xpt("status").out.strip() == "Data and pipelines are up to date."


def test_commit_keeps_the_2x_dialect(ckpt: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run")
    before = (ckpt / "dvc.lock").read_text()
    (ckpt / "raw" / "more.txt").write_bytes(b"one\r\ntwo\r\n")
    assert xpt("commit", "prep").out.strip() == "Committed stage 'prep'"
    after = (ckpt / "dvc.lock").read_text()
    assert after != before
    assert "hash:" not in after
    assert xpt("status", "prep").out.strip() == "Data and pipelines are up to date."
