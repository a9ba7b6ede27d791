"""Figures 7 and 8: checkpoint latency, and `exp show` over a 200-checkpoint experiment.

DVC 3 has no checkpoints, so these rows compare with DVC 2.58.2 (the last release with
them, the `tests/oracle.py` build) in the DVC column; without that build DVC is "n/a".

7. A stage calls `make_checkpoint()` 50 times (xpt.api under xpt, dvc.api under DVC 2)
   and measures itself how long each call blocks, from creating the signal file to the
   tool releasing it after recording the checkpoint commit. The row shows the median of
   the 50 waits (goal ≤ 50 ms); a second row gives the whole `exp run` for context.
8. One experiment whose ref holds a chain of 200 checkpoint commits, written with
   `git fast-import` in DVC 2.x's layout: the first commit's parent is the baseline, each
   later one's the previous checkpoint. Timed: `exp show --json`, the first listing after
   the chain appeared (goal ≤ 0.5 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.oracle import CHECKPOINT_VERSION, OracleError, ensure_dvc

from bench.common import TIMEOUT, Case, CommandFailed, Harness, NotBuilt, Row, Tool, at_most, scaled
from bench.scenarios import TRAIN_PY, exp_files, exp_ref

CHECKPOINTS = scaled(50, 10)
CHAIN = scaled(200, 20)

CKPT_PY = """\
# Calls make_checkpoint() N times and writes the median time it blocked to OUT (JSON).
import json, os, statistics, sys, time

try:
    from xpt.api import make_checkpoint
except ImportError:  # run by DVC 2 in its own virtualenv
    from dvc.api import make_checkpoint

count, out = int(sys.argv[1]), sys.argv[2]
value = int(open("state").read()) if os.path.exists("state") else 0
waits = []
for _ in range(count):
    value += 1
    with open("state", "w") as f:
        f.write(str(value))
    start = time.perf_counter()
    make_checkpoint()
    waits.append(time.perf_counter() - start)
with open(out, "w") as f:
    json.dump({"median": statistics.median(waits), "max": max(waits), "count": count}, f)
"""


def checkpoint_pipeline(count: int, out: Path) -> dict[str, str]:
    dvc_yaml = (
        "stages:\n"
        "  train:\n"
        f"    cmd: python ckpt.py {count} {out}\n"
        "    deps: [ckpt.py]\n"
        "    outs:\n"
        "    - state:\n"
        "        checkpoint: true\n"
    )
    return {"ckpt.py": CKPT_PY, "dvc.yaml": dvc_yaml}


class Unavailable(Tool):
    """Stands in for DVC 2.58.2 when its oracle cannot be built: its rows say n/a."""

    def run(self, args: Sequence[str], cwd: Path, timeout: float = TIMEOUT) -> str:
        raise NotBuilt(f"DVC {CHECKPOINT_VERSION} oracle not available")


def dvc2_tool(h: Harness) -> Tool:
    """DVC 2.58.2 in the harness's environment, its venv's `python` first on PATH."""
    try:
        exe = ensure_dvc(CHECKPOINT_VERSION)
    except (OracleError, OSError) as exc:
        print(f"  DVC {CHECKPOINT_VERSION} not available ({exc}): its column is n/a")
        return Unavailable("dvc", Path("dvc"), h.git_env)
    path = str(exe.parent) + os.pathsep + h.git_env.get("PATH", "")
    return Tool("dvc", exe, {**h.git_env, "PATH": path})


@contextlib.contextmanager
def against(h: Harness, dvc: Tool) -> Iterator[None]:
    """Run the harness's cases with another DVC (the table's DVC column)."""
    saved = h.dvc
    h.dvc = dvc
    try:
        yield
    finally:
        h.dvc = saved


def figure_latency(h: Harness) -> None:
    """Figure 7."""
    with against(h, dvc2_tool(h)):
        checkpoint_latency(h)


def figure_show(h: Harness) -> None:
    """Figure 8."""
    with against(h, dvc2_tool(h)):
        checkpoint_show(h)


def checkpoint_latency(h: Harness) -> None:
    latencies: dict[str, list[float]] = {"xpt": [], "dvc": []}
    reports: dict[Path, Path] = {}  # repository -> where its stage writes the latencies

    def prepare(tool: Tool, path: Path) -> Path:
        files = checkpoint_pipeline(CHECKPOINTS, path / "latency.json")
        repo = h.new_repo(tool, "ckpt", files)
        reports[repo] = path / "latency.json"
        return repo

    def exp_run(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "run"], repo)

    def measured(tool: Tool, repo: Path) -> None:
        data = json.loads(reports[repo].read_text())
        if data["count"] != CHECKPOINTS:
            raise CommandFailed(f"{tool.name}: {data['count']} of {CHECKPOINTS} checkpoints")
        latencies[tool.name].append(data["median"])

    goal = at_most(0.05)
    label = f"checkpoint latency, median of {CHECKPOINTS} (vs DVC {CHECKPOINT_VERSION})"
    # one round: a DVC 2 round takes ~55 s (it looks for the signal file once a second)
    # and already yields 50 samples per tool
    case = Case("7", label, prepare, exp_run, goal, fresh=True, verify=measured, max_rounds=1)
    row = h.compare(case)
    if not row.error:
        h.rows.append(end_to_end(row, f"exp run with {CHECKPOINTS} checkpoints, end to end"))
    row.xpt = statistics.median(latencies["xpt"]) if row.xpt is not None else None
    row.dvc = statistics.median(latencies["dvc"]) if row.dvc is not None else None
    if row.xpt is not None and not row.xpt_note:
        row.verdict = "pass" if goal.check(row.xpt, row.dvc) else "FAIL"


def end_to_end(row: Row, label: str) -> Row:
    """The same runs' total `exp run` time: context for the latency row, no goal."""
    verdict = row.verdict if row.xpt_note else "info"
    return Row(
        row.figure,
        label,
        "",
        xpt=row.xpt,
        dvc=row.dvc,
        rounds=row.rounds,
        xpt_note=row.xpt_note,
        dvc_note=row.dvc_note,
        verdict=verdict,
    )


def chain_lock(text: str) -> str:
    """DVC 2.x lock entries carry no `hash: md5` line (DVC 2 rejects that key)."""
    return text.replace("      hash: md5\n", "")


def chain_stream(baseline: str, count: int, start_time: int) -> bytes:
    """`git fast-import` input: one experiment ref holding `count` chained checkpoints."""
    ref = exp_ref(baseline, "chain")
    out: list[bytes] = []
    for i in range(1, count + 1):
        ident = f"xpt bench <bench@example.com> {start_time + i} +0000"
        out.append(f"commit {ref}\nmark :{i}\n".encode())
        out.append(f"author {ident}\ncommitter {ident}\n".encode())
        out.append(_data(f"dvc: commit experiment checkpoint {i}\n"))
        out.append((f"from {baseline}\n" if i == 1 else f"from :{i - 1}\n").encode())
        for path, content in exp_files(i).items():
            if path == "dvc.lock":
                content = chain_lock(content)
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data(content))
        out.append(b"\n")
    return b"".join(out)


def _data(text: str) -> bytes:
    raw = text.encode()
    return f"data {len(raw)}\n".encode() + raw + b"\n"


CHAIN_DVC_YAML = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps: [train.py]\n"
    "    params: [lr, epochs]\n"
    "    outs:\n"
    "    - model.pt:\n"
    "        checkpoint: true\n"
    "    metrics:\n"
    "    - metrics.json:\n"
    "        cache: false\n"
)


def checkpoint_show(h: Harness) -> None:
    def prepare(tool: Tool, path: Path) -> Path:
        base = exp_files(0)
        files = {"train.py": TRAIN_PY, "dvc.yaml": CHAIN_DVC_YAML, **base}
        files["dvc.lock"] = chain_lock(base["dvc.lock"])
        repo = h.new_repo(tool, "chain", files)
        baseline = h.git(repo, "rev-parse", "HEAD")
        stamp = int(h.git(repo, "log", "-1", "--format=%ct"))
        h.git(repo, "fast-import", "--quiet", input=chain_stream(baseline, CHAIN, stamp))
        return repo

    def show(tool: Tool, repo: Path, i: int) -> None:
        rows = json.loads(tool.run(["exp", "show", "--json"], repo))
        chains = [len(exp["revs"]) for row in rows for exp in row.get("experiments") or []]
        if chains != [CHAIN]:
            raise CommandFailed(f"{tool.name} exp show: chains of {chains} commits")

    label = f"exp show --json, 1 experiment of {CHAIN} checkpoints (vs DVC {CHECKPOINT_VERSION})"
    h.compare(Case("8", label, prepare, show, at_most(0.5), fresh=True))
