"""Figure 10 (`bench/run.py --large`): the figures at 10× today's scale (issue 19).

* `exp show --json` over 10,000 experiments, cold (goal ≤ 1 s);
* the `exp show` table over 3,000 experiments (goal ≤ 0.7 s);
* a queue of 1,000 trivial experiments run with `--run-all -j 2` (goal ≤ 40 ms per
  experiment beyond the stage's own run time; the row after it gives that figure);
* `push` / `pull` of 10,000 small files to an S3 remote, moto's server on loopback
  (goal ≥ 3× DVC; needs DVC's S3 plugin, see `dvc_s3`);
* `status` over 200,000 tracked files, warm (goal ≤ 1 s).

Where DVC cannot finish within the budget it runs a tenth of the size: the row says so,
and its ratio compares the time per experiment (DVC's time × 10).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import (
    Case,
    CommandFailed,
    Harness,
    Row,
    Tool,
    at_most,
    faster,
    scaled,
)
from bench.fig_data import Scratch, write_small_files
from bench.scenarios import EXP_DVC_YAML, TRAIN_PY, exp_files, fast_import_stream

SHOW_JSON = scaled(10_000, 500)
SHOW_TABLE = scaled(3_000, 300)
QUEUE = scaled(1_000, 40)
S3_FILES = scaled(10_000, 500)
STATUS_FILES = scaled(200_000, 5_000)
TENTH = 10

QUEUE_STAGE = {
    "params.yaml": "p: 0\n",
    "dvc.yaml": (
        "stages:\n  s:\n    cmd: cp params.yaml m.yaml\n    params: [p]\n"
        "    outs:\n    - m.yaml:\n        cache: false\n"
    ),
}


def figure(h: Harness) -> None:
    """All rows; `BENCH_SCALE_ROWS=show_json,queue` runs only those parts."""
    parts = [show_json, show_table, queue, s3_transfer, status]
    only = [p for p in os.environ.get("BENCH_SCALE_ROWS", "").split(",") if p]
    for part in parts:
        if only and part.__name__ not in only:
            continue
        try:
            part(h)
        except Exception as exc:  # one broken row must not hide the others
            h.record_error("10", part.__name__, exc)


def _sizes(full: int) -> Callable[[Tool], int]:
    """xpt runs `full`; DVC a tenth (it needs minutes per thousand)."""
    return lambda tool: full if tool.name == "xpt" else max(1, full // TENTH)


def _tenth(row: Row) -> None:
    """DVC ran a tenth of the size: compare per item (DVC's time × 10), say so."""
    if row.dvc is not None:
        row.dvc *= TENTH
        row.label += f" (DVC ran {TENTH}× fewer; its time × {TENTH})"


def _exp_repo(h: Harness, tool: Tool, count: int) -> Path:
    files = {"train.py": TRAIN_PY, "dvc.yaml": EXP_DVC_YAML, **exp_files(0)}
    repo = h.new_repo(tool, f"exps-{count}", files)
    baseline = h.git(repo, "rev-parse", "HEAD")
    stamp = int(h.git(repo, "log", "-1", "--format=%ct"))
    h.git(repo, "fast-import", "--quiet", input=fast_import_stream(baseline, count, stamp))
    return repo


def show_json(h: Harness) -> None:
    size = _sizes(SHOW_JSON)

    def prepare(tool: Tool, path: Path) -> Path:
        return _exp_repo(h, tool, size(tool))

    def show(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "show", "--json"], repo)

    label = f"exp show --json, {SHOW_JSON:,} experiments, cold"
    goal = at_most(1.0)
    _tenth(h.compare(Case("10", label, prepare, show, goal, fresh=True, max_rounds=3)))


def show_table(h: Harness) -> None:
    size = _sizes(SHOW_TABLE)

    def prepare(tool: Tool, path: Path) -> Path:
        return _exp_repo(h, tool, size(tool))

    def show(tool: Tool, repo: Path, i: int) -> None:
        out = tool.run(["exp", "show", "--no-pager"], repo)
        if out.count("bench-") < size(tool):
            raise CommandFailed(f"{tool.name}: the table lacks experiments")

    label = f"exp show table, {SHOW_TABLE:,} experiments"
    _tenth(h.compare(Case("10", label, prepare, show, at_most(0.7), warmup=True)))


def queue(h: Harness) -> None:
    size = _sizes(QUEUE)

    def prepare(tool: Tool, path: Path) -> Path:
        repo = h.new_repo(tool, "queue", QUEUE_STAGE)
        tool.run(["repro"], repo)
        h.commit(repo, "baseline")
        tool.run(["exp", "run", "--queue", "-S", f"p=range(1,{size(tool) + 1})"], repo)
        return repo

    def run_all(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["exp", "run", "--run-all", "-j", "2"], repo, timeout=3600)

    def all_done(tool: Tool, repo: Path) -> None:
        names = tool.run(["exp", "list", "--name-only"], repo).split()
        if len(names) != size(tool):
            raise CommandFailed(f"{tool.name}: {len(names)} of {size(tool)} experiments finished")

    label = f"queue of {QUEUE:,} trivial experiments, --run-all -j 2"
    goal = at_most(QUEUE * 0.04)
    row = h.compare(
        Case("10", label, prepare, run_all, goal, fresh=True, verify=all_done, max_rounds=1)
    )
    stage = h.floor("10", "floor: the stage's own command (sh -c 'cp ...')", _STAGE, h.work)
    # per experiment, beyond the stage: wall time at -j 2 over N, minus half a stage run
    per = [
        (t / n - stage.xpt / 2) if t is not None and stage.xpt is not None else None
        for t, n in ((row.xpt, QUEUE), (row.dvc, max(1, QUEUE // TENTH)))
    ]
    derived = Row("10", "queue: time per experiment beyond the stage's own run", "≤ 0.04 s")
    derived.xpt, derived.dvc, derived.rounds = per[0], per[1], row.rounds
    if row.dvc is not None:
        derived.label += f" (DVC over {QUEUE // TENTH:,})"
    derived.verdict = "pass" if per[0] is not None and per[0] <= 0.04 else "FAIL"
    if row.xpt_note:
        derived.verdict = row.xpt_note
    h.rows.append(derived)
    _tenth(row)


_STAGE = "sh -c 'cp /etc/hostname /dev/null'"


def s3_transfer(h: Harness) -> None:
    """push into an empty bucket, then pull into a fresh clone, of S3_FILES small files."""
    server = _moto_server(h)
    dvc_s3 = _dvc_with_s3(h)
    scratch = Scratch(h.new_dir("trash-s3"))
    buckets = iter(range(1_000_000))
    tools = {"xpt": h.xpt, "dvc": dvc_s3}
    try:

        def source(tool: Tool) -> Path:
            key = f"{tool.name}-source"
            if not scratch.get(key):
                repo = h.new_repo(tool, "s3", {"README.md": "s3 bench\n"})
                write_small_files(repo / "data", S3_FILES, 100)
                tool.run(["add", "data"], repo)
                h.commit(repo, "data")
                scratch.replace(key, repo)
            return scratch.get(key)[0]

        def set_bucket(tool: Tool, repo: Path) -> str:
            name = f"bench-{tool.name}-{next(buckets)}"
            _s3(server, "mkdir", name)
            url = f"s3://{name}/store"
            tool.run(["remote", "add", "-d", "-f", "store", url], repo)
            tool.run(["remote", "modify", "store", "endpointurl", server.url], repo)
            return name

        def fresh_bucket(tool: Tool, path: Path) -> Path:
            tool = tools[tool.name]
            repo = source(tool)
            set_bucket(tool, repo)
            return repo

        def push(tool: Tool, repo: Path, i: int) -> None:
            tools[tool.name].run(["push"], repo, timeout=3600)

        h.compare(
            Case(
                "10",
                f"push {S3_FILES:,} small files to S3 (moto on loopback)",
                fresh_bucket,
                push,
                faster(3),
                fresh=True,
                max_rounds=2,
            )
        )

        def fresh_clone(tool: Tool, path: Path) -> Path:
            tool = tools[tool.name]
            repo = source(tool)
            set_bucket(tool, repo)
            tool.run(["push"], repo, timeout=3600)
            h.commit(repo, "remote")
            clone = path / "clone"
            h.git(path, "clone", "-q", str(repo), str(clone))
            scratch.replace(f"{tool.name}-clone", path)
            return clone

        def pull(tool: Tool, repo: Path, i: int) -> None:
            tools[tool.name].run(["pull"], repo, timeout=3600)
            if sum(len(f) for _, _, f in os.walk(repo / "data")) != S3_FILES:
                raise CommandFailed(f"{tool.name} pull: files missing")

        h.compare(
            Case(
                "10",
                f"pull {S3_FILES:,} small files from S3 into a fresh clone",
                fresh_clone,
                pull,
                faster(3),
                fresh=True,
                max_rounds=2,
            )
        )
    finally:
        scratch.close()
        server.stop()


class _Moto:
    """moto's S3 server as a child process on 127.0.0.1 (fake credentials)."""

    def __init__(self, work: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        log = open(work / "moto.log", "ab")  # noqa: SIM115 - the child's output
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        import time
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise CommandFailed("moto server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _moto_server(h: Harness) -> _Moto:
    creds = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for tool in (h.xpt, h.dvc):
        tool.env.update(creds)
    os.environ.update(creds)
    return _Moto(h.work)


def _s3(server: _Moto, op: str, bucket: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": server.url}
    )
    getattr(fs, op)(bucket)


DVC_S3_PINS = ["dvc==3.67.1", "dvc-s3==3.3.0"]


def _dvc_with_s3(h: Harness) -> Tool:
    """DVC with its S3 plugin, in a venv of its own beside the oracle (built once)."""
    from tests.oracle import oracle_root

    venv = oracle_root() / "dvc-3.67.1-s3"
    dvc = venv / "bin" / "dvc"
    if not dvc.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *DVC_S3_PINS],
            check=True,
        )
    return Tool("dvc", dvc, {**h.dvc.env})


def status(h: Harness) -> None:
    """`status` with a pipeline whose dependency is a folder of STATUS_FILES, warm."""

    def prepare(tool: Tool, path: Path) -> Path:
        repo = h.new_repo(tool, "status", {"README.md": "status bench\n"})
        write_small_files(repo / "data", STATUS_FILES, 1000)
        tool.run(["add", "data"], repo, timeout=3600)
        h.commit(repo, "data")
        return repo

    def run_status(tool: Tool, repo: Path, i: int) -> None:
        tool.run(["status"], repo)

    label = f"status over {STATUS_FILES:,} tracked files, warm"
    h.compare(Case("10", label, prepare, run_status, at_most(1.0), warmup=True))
