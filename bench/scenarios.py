"""Scenario generators shared by the figures: small pipelines and bulk experiments."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

COPY_PY = "import shutil, sys\n\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"

# One stage: copies params.yaml to metrics.yaml (a `cache: false` metric).
ONE_STAGE = {
    "copy.py": COPY_PY,
    "params.yaml": "p: 0\n",
    "dvc.yaml": (
        "stages:\n"
        "  train:\n"
        "    cmd: python copy.py params.yaml metrics.yaml\n"
        "    deps: [copy.py]\n"
        "    params: [p]\n"
        "    metrics:\n"
        "    - metrics.yaml:\n"
        "        cache: false\n"
    ),
}

# Three chained stages with cached outputs: data.txt -> s1.txt -> s2.txt -> s3.txt.
THREE_STAGES = {
    "copy.py": COPY_PY,
    "params.yaml": "p: 0\n",
    "data.txt": "some input data\n" * 100,
    "dvc.yaml": (
        "stages:\n"
        "  s1:\n"
        "    cmd: python copy.py data.txt s1.txt\n"
        "    deps: [copy.py, data.txt]\n"
        "    params: [p]\n"
        "    outs: [s1.txt]\n"
        "  s2:\n"
        "    cmd: python copy.py s1.txt s2.txt\n"
        "    deps: [copy.py, s1.txt]\n"
        "    outs: [s2.txt]\n"
        "  s3:\n"
        "    cmd: python copy.py s2.txt s3.txt\n"
        "    deps: [copy.py, s2.txt]\n"
        "    outs: [s3.txt]\n"
    ),
}

# (label, shell command): what any `exp show` pays before its own work, as it reads git
# objects (pygit2) and params files (yaml).
SHOW_FLOOR = (
    "floor: interpreter start + import pygit2, yaml",
    "python -P -c 'import pygit2, yaml'",
)

TRAIN_PY = "# a training script; experiments only change params and metrics\n"

# The baseline for bulk experiments: params, a metric, a stage using both, and its lock.
EXP_DVC_YAML = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps: [train.py]\n"
    "    params: [lr, epochs]\n"
    "    metrics:\n"
    "    - metrics.json:\n"
    "        cache: false\n"
)


def _train_lock(
    lr: float, epochs: int, out: str, md5: str, size: int, nfiles: int | None = None
) -> str:
    """dvc.lock of the bench's `train` stage with its one output `out`."""
    return (
        "schema: '2.0'\n"
        "stages:\n"
        "  train:\n"
        "    cmd: python train.py\n"
        "    deps:\n"
        f"    - path: train.py\n      hash: md5\n      md5: {_md5(TRAIN_PY)}\n"
        f"      size: {len(TRAIN_PY)}\n"
        "    params:\n"
        "      params.yaml:\n"
        f"        epochs: {epochs}\n"
        f"        lr: {lr}\n"
        "    outs:\n"
        f"    - path: {out}\n      hash: md5\n      md5: {md5}\n      size: {size}\n"
        + (f"      nfiles: {nfiles}\n" if nfiles is not None else "")
    )


def exp_files(i: int) -> dict[str, str]:
    """params.yaml, metrics.json and dvc.lock of experiment number `i` (0 = baseline)."""
    lr = round(0.001 * (i + 1), 6)
    epochs = 10 + i % 7
    params = f"lr: {lr}\nepochs: {epochs}\n"
    metrics = json.dumps({"loss": round(1.0 / (i + 2), 6), "acc": round(i / (i + 3), 6)}) + "\n"
    lock = _train_lock(lr, epochs, "metrics.json", _md5(metrics), len(metrics))
    return {"params.yaml": params, "metrics.json": metrics, "dvc.lock": lock}


# The dvclive layout: metrics and plots inside the cached directory output `eval/`,
# declared in the top-level `metrics:` section, so `exp show` reads them from the cache.
CACHED_EXP_DVC_YAML = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps: [train.py]\n"
    "    params: [lr, epochs]\n"
    "    outs: [eval]\n"
    "metrics:\n"
    "- eval/metrics.json\n"
    "plots:\n"
    "- eval/plots/loss.tsv\n"
)


def cached_exp_files(i: int) -> tuple[dict[str, str], dict[str, bytes]]:
    """Git files of experiment `i` (params.yaml, dvc.lock) and its cache objects by md5."""
    lr = round(0.001 * (i + 1), 6)
    epochs = 10 + i % 7
    params = f"lr: {lr}\nepochs: {epochs}\n"
    metrics = json.dumps({"loss": round(1.0 / (i + 2), 6), "acc": round(i / (i + 3), 6)})
    plot = "step\tloss\n" + "".join(f"{s}\t{1.0 / (s + i + 1):.6f}\n" for s in range(epochs))
    members = {"metrics.json": metrics.encode(), "plots/loss.tsv": plot.encode()}
    objects = {hashlib.md5(b).hexdigest(): b for b in members.values()}
    listing = sorted((rel, hashlib.md5(b).hexdigest()) for rel, b in members.items())
    tree = json.dumps(
        [{"md5": md5, "relpath": rel} for rel, md5 in listing], sort_keys=True
    ).encode()
    tree_md5 = hashlib.md5(tree).hexdigest() + ".dir"
    objects[tree_md5] = tree
    size = sum(map(len, members.values()))
    lock = _train_lock(lr, epochs, "eval", tree_md5, size, nfiles=len(members))
    return {"params.yaml": params, "dvc.lock": lock}, objects


def write_objects(repo: Path, objects: dict[str, bytes]) -> None:
    """Put objects into the repository's DVC 3 cache, read-only as DVC leaves them."""
    for md5, data in objects.items():
        path = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(data)
            path.chmod(0o444)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def exp_ref(baseline: str, name: str) -> str:
    """DVC's ref layout: refs/exps/<sha[:2]>/<sha[2:]>/<name>."""
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"


def fast_import_stream(
    baseline: str,
    count: int,
    start_time: int,
    files: Callable[[int], dict[str, str]] = exp_files,
) -> bytes:
    """A `git fast-import` stream of `count` experiment commits on top of `baseline`.

    Each commit has the baseline as its only parent and changes `files(i)` (default:
    params.yaml, metrics.json and dvc.lock), like a real `exp run`.
    """
    out: list[bytes] = []
    for i in range(1, count + 1):
        ident = f"xpt bench <bench@example.com> {start_time + i} +0000"
        msg = f"dvc: commit experiment {hashlib.sha256(str(i).encode()).hexdigest()}\n"
        out.append(f"commit {exp_ref(baseline, f'bench-{i:05d}')}\n".encode())
        out.append(f"author {ident}\ncommitter {ident}\n".encode())
        out.append(_data(msg))
        out.append(f"from {baseline}\n".encode())
        for path, content in files(i).items():
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data(content))
        out.append(b"\n")
    return b"".join(out)


def _data(text: str) -> bytes:
    raw = text.encode()
    return f"data {len(raw)}\n".encode() + raw + b"\n"
