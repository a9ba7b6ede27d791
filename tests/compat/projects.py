"""The projects the compatibility suite builds with xpt and with DVC, and small comparisons.

Stage commands run under both tools, so they use the standard library only (`python` is
xpt's interpreter under xpt and the oracle's under DVC) and compute their outputs from
parameter *values*, never from the layout of params.yaml: DVC rewrites params.yaml in block
style on `-S`, xpt keeps the user's style.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.compat.goldens import Builder, Goldens
from tests.helpers import TmpRepo
from tests.oracle_fixtures import DvcOracle

Xpt = Callable[..., Any]  # the in-process `xpt` fixture of tests/conftest.py

# --- F1: one stage copying params.yaml into a cache:false metric ---------------------------

F1: dict[str, Any] = {
    "copy.py": "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n",
    "params.yaml": "foo: 1\n",
    "dvc.yaml": (
        "stages:\n"
        "  copy-file:\n"
        "    cmd: python copy.py params.yaml metrics.yaml\n"
        "    deps: [copy.py]\n"
        "    params: [foo]\n"
        "    metrics:\n"
        "    - metrics.yaml:\n"
        "        cache: false\n"
    ),
}

# --- DAG: directory outs/deps, foreach, matrix, vars, list cmd, wdir, persist, --------------
# --- params of every type from yaml/json/toml/py files, top-level params ----------------------

PREPARE_PY = """\
import os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(dst, "sub"), exist_ok=True)
names = sorted(os.listdir(src))
for name in names:
    with open(os.path.join(src, name)) as f:
        text = f.read()
    with open(os.path.join(dst, name), "w") as f:
        f.write(text.upper())
with open(os.path.join(dst, "sub", "count.txt"), "w") as f:
    f.write(f"{len(names)}\\n")
"""

FEAT_PY = """\
import os, sys
item, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(os.path.dirname(dst), exist_ok=True)
total = sum(len(open(os.path.join(src, n)).read()) for n in sorted(os.listdir(src)) if n.endswith(".txt"))
with open(dst, "w") as f:
    f.write(f"{item}:{total}\\n")
"""

TRAIN_PY = """\
import json, os
feats = "".join(open(os.path.join("feats", n)).read() for n in sorted(os.listdir("feats")))
with open("model.bin", "w") as f:
    f.write("model\\n" + open("params.yaml").read() + open("conf/train.yaml").read() + feats)
os.makedirs("results", exist_ok=True)
with open("results/history.csv", "a") as f:
    f.write("run\\n")
"""

EVALUATE_PY = """\
import json
size = len(open("model.bin").read())
json.dump({"size": size, "nested": {"score": size / 4, "ok": True}}, open("metrics.json", "w"))
"""

SUMMARY_PY = """\
import json
m = json.load(open("../metrics.json"))
open("summary.txt", "w").write(f"size={m['size']}\\n")
"""

DAG_PARAMS = """\
seed: 7
lr: 0.01
epochs: 3
name: alpha
flag: true
nothing: null
model:
  layers: [16, 32]
  act: relu
  opt:
    beta: 0.9
    eps: 1.0e-08
"""

DAG_YAML = """\
vars:
  - items: [a, b]
  - outdir: results
params:
  - hp.json
stages:
  prepare:
    cmd: python src/prepare.py data/raw data/prepared
    deps:
    - src/prepare.py
    - data/raw
    params:
    - seed
    outs:
    - data/prepared
  featurize:
    foreach: ${items}
    do:
      cmd: python src/feat.py ${item} data/prepared feats/${item}.txt
      deps:
      - src/feat.py
      - data/prepared
      outs:
      - feats/${item}.txt
  grid:
    matrix:
      k: [1, 2]
      m: [x, y]
    cmd: echo ${item.k}-${item.m} > ${outdir}/grid-${item.k}-${item.m}.txt
    deps:
    - feats/a.txt
    outs:
    - ${outdir}/grid-${item.k}-${item.m}.txt:
        cache: false
  train:
    cmd:
    - python src/train.py
    - python src/evaluate.py
    deps:
    - src/train.py
    - src/evaluate.py
    - feats
    params:
    - lr
    - epochs
    - name
    - flag
    - nothing
    - model
    - conf/train.yaml:
      - optimizer
      - batch
    - hp.json:
      - nested.beta
      - zeta
    - cfg.toml:
    - hp.py:
      - THRESHOLD
      - Cfg.depth
    outs:
    - model.bin
    - results/history.csv:
        persist: true
    metrics:
    - metrics.json:
        cache: false
  summary:
    wdir: reports
    cmd: python ../src/summary.py
    deps:
    - ../src/summary.py
    - ../metrics.json
    outs:
    - summary.txt
"""

DAG: dict[str, Any] = {
    "params.yaml": DAG_PARAMS,
    "conf": {"train.yaml": "optimizer:\n  name: adam\n  momentum: 0.5\nbatch: 32\nunused: 1\n"},
    "hp.json": '{"alpha": 0.7, "nested": {"beta": [1, 2, 3], "gamma": {"k": "v"}}, "zeta": null}\n',
    "cfg.toml": 'gamma = 7\n\n[section]\ndelta = "x"\nratio = 0.5\n',
    "hp.py": "THRESHOLD = 0.25\nNAMES = ['a', 'b']\n\n\nclass Cfg:\n    depth = 3\n",
    "data": {"raw": {"one.txt": "a 1\nb 2\n", "two.txt": "c 3\n"}},
    "reports": {".gitkeep": ""},
    "results": {".gitkeep": ""},
    "src": {
        "prepare.py": PREPARE_PY,
        "feat.py": FEAT_PY,
        "train.py": TRAIN_PY,
        "evaluate.py": EVALUATE_PY,
        "summary.py": SUMMARY_PY,
    },
    "dvc.yaml": DAG_YAML,
}


def dag_round_two(repo: TmpRepo) -> None:
    """An edit touching part of the DAG: a new foreach item, one params file, the raw data."""
    text = (repo / "dvc.yaml").read_text()
    (repo / "dvc.yaml").write_text(text.replace("items: [a, b]", "items: [a, b, c]"))
    conf = repo / "conf" / "train.yaml"
    conf.write_text(conf.read_text().replace("name: adam", "name: sgd"))
    (repo / "data" / "raw" / "three.txt").write_text("d 4\n")


PIPELINES: dict[str, dict[str, Any]] = {"f1": F1, "dag": DAG}

# --- MODEL: one stage, a cached output and a cache:false metric, nested params ----------------

MODEL_TRAIN_PY = """\
import json, re
text = open("params.yaml").read()
nums = [float(n) for n in re.findall(r"-?[0-9]+(?:[.][0-9]+)?", text)]
with open("calls.log", "a") as f:
    f.write(" ".join(f"{n:g}" for n in nums) + "\\n")
with open("model.bin", "w") as f:
    f.write("model " + " ".join(f"{n:g}" for n in nums) + "\\n")
json.dump({"foo": nums[0], "score": round(sum(nums), 6), "nested": {"n": len(nums)}},
          open("metrics.json", "w"))
"""

MODEL: dict[str, Any] = {
    "train.py": MODEL_TRAIN_PY,
    "params.yaml": "foo: 1\nopt:\n  lr: 0.1\n  layers: [1, 2]\n",
    ".gitignore": "/calls.log\n",
    "dvc.yaml": (
        "stages:\n"
        "  train:\n"
        "    cmd: python train.py\n"
        "    deps: [train.py]\n"
        "    params: [foo, opt]\n"
        "    outs: [model.bin]\n"
        "    metrics:\n"
        "    - metrics.json:\n"
        "        cache: false\n"
    ),
}


# --- building twins: the same project reproduced by xpt and by DVC -------------------------


def built_by_xpt(pipeline: str, xpt: Xpt) -> Builder:
    def build(repo: TmpRepo) -> None:
        repo.gen(PIPELINES[pipeline])
        xpt("init")
        repo.commit("pipeline")
        xpt("repro")
        repo.commit("reproduced by xpt")

    return build


def built_by_dvc(pipeline: str, dvc: DvcOracle) -> Builder:
    def build(repo: TmpRepo) -> None:
        repo.gen(PIPELINES[pipeline])
        dvc("init", "-q")
        repo.commit("pipeline")
        dvc("repro", "-q")
        repo.commit("reproduced by dvc")

    return build


def xpt_twin(goldens: Goldens, pipeline: str, xpt: Xpt) -> TmpRepo:
    return goldens.copy(f"{pipeline}-xpt", built_by_xpt(pipeline, xpt))


def dvc_twin(goldens: Goldens, pipeline: str, dvc: DvcOracle) -> TmpRepo:
    return goldens.copy(f"{pipeline}-dvc", built_by_dvc(pipeline, dvc))


# --- reading repos ------------------------------------------------------------------------


def files_under(root: Path, skip: tuple[str, ...] = (".git", ".dvc")) -> dict[str, bytes]:
    """{relative path: bytes} of every file below root, top-level `skip` folders left out."""
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in skip]
        for name in filenames:
            out[(rel_dir / name).as_posix()] = (Path(dirpath) / name).read_bytes()
    return out


def cache_objects(repo: Path) -> set[str]:
    """Names of the objects in the DVC 3 cache (`XX/YYYY...[.dir]`)."""
    root = repo / ".dvc" / "cache" / "files" / "md5"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def run_cache(repo: Path) -> dict[str, bytes]:
    """{`runs/...` path: content} of the run-cache."""
    root = repo / ".dvc" / "cache" / "runs"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def load_yaml(text: str | bytes) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def exp_ref(repo: TmpRepo, name: str) -> str:
    """The full `refs/exps/...` ref of experiment `name` (exactly one must exist)."""
    out = repo.git("for-each-ref", "--format=%(refname)", "refs/exps")
    refs = [r for r in out.splitlines() if r.rsplit("/", 1)[1] == name and "/exec/" not in r]
    assert len(refs) == 1, f"experiment {name!r}: refs {refs}"
    return refs[0]


def tree_files(repo: Path, rev: str) -> dict[str, bytes]:
    """{path: blob bytes} of every file in the commit `rev`."""

    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout

    names = git("ls-tree", "-r", "-z", "--name-only", rev).decode().split("\0")
    return {name: git("cat-file", "blob", f"{rev}:{name}") for name in names if name}


def show_json(text: str) -> list[dict[str, Any]]:
    """`exp show --json` with each baseline's experiments keyed by name (order is not compared)."""
    rows = json.loads(text)
    for row in rows:
        if row.get("experiments"):
            row["experiments"] = {e["name"]: e for e in row["experiments"]}
    return rows
