"""`-d/--with-deps` of `status`, `checkout` and `commit`: targets alone, or with their
upstream stages, as DVC 3.67 does (checked against the oracle on the same project)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TmpRepo

TWO_STAGES = """\
stages:
  a:
    cmd: python -c "import shutil; shutil.copyfile('x', 'y')"
    deps: [x]
    outs: [y]
  b:
    cmd: python -c "import shutil; shutil.copyfile('y', 'z')"
    deps: [y]
    outs: [z]
"""


@pytest.fixture
def chain(project: TmpRepo, xpt) -> TmpRepo:  # type: ignore[no-untyped-def]
    project.gen({"x": "1\n", "dvc.yaml": TWO_STAGES})
    xpt("repro")
    project.commit("a -> b")
    return project


def test_status_of_a_target_leaves_out_its_upstream_stages_without_d(chain: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (chain / "x").write_text("2\n")
    assert json.loads(xpt("status", "b", "--json").out) == {}
    with_deps = json.loads(xpt("status", "-d", "b", "--json").out)
    assert with_deps == {"a": [{"changed deps": {"x": "modified"}}]}


def test_checkout_of_a_target_restores_upstream_outputs_only_with_d(chain: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (chain / "y").unlink()
    (chain / "z").unlink()
    xpt("checkout", "b")
    assert (chain / "z").read_text() == "1\n"
    assert not (chain / "y").exists()
    xpt("checkout", "--with-deps", "b")
    assert (chain / "y").read_text() == "1\n"


def test_commit_of_a_target_records_upstream_stages_only_with_d(chain: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    (chain / "x").write_text("2\n")
    (chain / "y").unlink()
    (chain / "y").write_text("2\n")
    (chain / "z").unlink()
    (chain / "z").write_text("2\n")
    assert xpt("commit", "b").out == "Committed stage 'b'\n"
    assert xpt("status", "--json").out.strip() != "{}"  # a still records x = 1
    assert xpt("commit", "-d", "b").out == "Committed stage 'a'\n"
    assert json.loads(xpt("status", "--json").out) == {}


def test_transfer_commands_refuse_the_flags_they_do_not_implement(chain: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    for argv in (
        ("push", "--run-cache"),
        ("pull", "-d", "b"),
        ("exp", "push", "origin", "--run-cache"),
    ):
        with pytest.raises(SystemExit) as exc:
            xpt(*argv)
        assert exc.value.code == 2
