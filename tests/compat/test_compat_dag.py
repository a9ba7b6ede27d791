"""`dag --dot`, `--mermaid` and `--md` print what DVC prints. DVC orders dot lines and
separate pipelines by its directory walk, so dot is compared as a set of lines."""

from __future__ import annotations

import pytest

from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

pytestmark = pytest.mark.compat


def test_dag_renderings_match_dvc(
    tmp_repo: TmpRepo, dvc_oracle: DvcOracle, xpt, monkeypatch: pytest.MonkeyPatch
) -> None:
    dvc_oracle("init", "-q")
    tmp_repo.gen({"raw.txt": "raw\n"})
    dvc_oracle("add", "-q", "raw.txt")
    for name, deps, out in (
        ("prepare", ["raw.txt"], "clean.txt"),
        ("train", ["clean.txt"], "model.bin"),
        ("evaluate", ["model.bin", "clean.txt"], "scores.json"),
        ("features", ["raw.txt"], "features.txt"),
    ):
        flags = [f for dep in deps for f in ("-d", dep)]
        dvc_oracle("stage", "add", "-q", "-n", name, *flags, "-o", out, f"echo > {out}")
    for args in (["--mermaid"], ["--md"], ["--mermaid", "train"], ["--md", "--full", "train"]):
        assert xpt("dag", *args).out == dvc_oracle("dag", *args).stdout, args
    for args in (["--dot"], ["--dot", "evaluate"]):
        ours, theirs = xpt("dag", *args).out, dvc_oracle("dag", *args).stdout
        assert ours.splitlines()[0] == theirs.splitlines()[0] == "strict digraph {"
        assert sorted(ours.splitlines()) == sorted(theirs.splitlines()), args
