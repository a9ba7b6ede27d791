"""The small pipeline of the data-remote tests: a folder and a file output, one param."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.helpers import TmpRepo

GEN_PY = """\
import os
n = open("params.yaml").read().split(":")[1].strip()
os.makedirs("data", exist_ok=True)
open("data/a.txt", "w").write("a " + n)
open("data/b.txt", "w").write("b")
open("model.bin", "w").write("model " + n)
"""

DVC_YAML = """\
stages:
  gen:
    cmd: python gen.py
    deps: [gen.py]
    params: [foo]
    outs: [data, model.bin]
"""


def gen_pipeline(project: TmpRepo, storage: Path, xpt, message: str) -> TmpRepo:  # type: ignore[no-untyped-def]
    """foo=1 reproduced and committed, with `storage` as the default local remote."""
    project.gen({"params.yaml": "foo: 1\n", "dvc.yaml": DVC_YAML, "gen.py": GEN_PY})
    xpt("remote", "add", "-d", "store", str(storage))
    xpt("repro")
    project.commit(message)
    return project


def object_path(root: Path, content: str) -> Path:
    """Where the object of a file holding `content` lives in a cache or remote `root`."""
    md5 = hashlib.md5(content.encode()).hexdigest()
    return root / "files" / "md5" / md5[:2] / md5[2:]
