"""Distributed queue vs local queue: 30 trivial experiments, 3 at a time.

    .venv/bin/python bench/fig_distributed.py          # BENCH_REPEAT=N rounds (default 3)

Local: `exp run --queue -S p=range(1,31)` then `exp run --run-all -j 3`.
Distributed: the same submit with `xpt config queue.backend celery`, run by three
`xpt queue worker` processes (own HOME, workdir and clone each; started and ready
before the clock starts), until all 30 experiment refs are on the git remote, then
until `queue status` on the submitting machine shows them all as successes (the
results fetched back). Both sides start from a fresh copy of the same project.
Needs redis-server and Celery (`pip install 'xpt[celery]'`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(ROOT))

from tests.redis_server import REDIS_SERVER, Cluster, RedisServer, wait_for  # noqa: E402

from bench.common import isolated_env  # noqa: E402
from bench.scenarios import ONE_STAGE  # noqa: E402

COUNT = 30
JOBS = 3
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
XPT = Path(sys.executable).parent / "xpt"


def _env(home: Path) -> dict[str, str]:
    extra = {"XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache")}
    return isolated_env(home, XPT.parent, **extra)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{res.stderr}{res.stdout}")
    return res.stdout


def _project(root: Path, env: dict[str, str], broker: str | None) -> tuple[Path, Path]:
    """A committed one-stage project with a bare `origin`; (repo, remote)."""
    repo, upstream = root / "repo", root / "upstream.git"
    _run(["git", "init", "-q", "--bare", str(upstream)], root, env)
    _run(["git", "init", "-q", str(repo)], root, env)
    for name, text in ONE_STAGE.items():
        (repo / name).write_text(text)
    _run([str(XPT), "init", "-q"], repo, env)
    _run([str(XPT), "repro", "-q"], repo, env)
    if broker:
        _run([str(XPT), "config", "queue.backend", "celery"], repo, env)
        _run([str(XPT), "config", "queue.broker", broker], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "base"], repo, env)
    _run(["git", "remote", "add", "origin", str(upstream)], repo, env)
    _run(["git", "push", "-q", "origin", "main"], repo, env)
    return repo, upstream


def _exps_on(upstream: Path, env: dict[str, str]) -> int:
    out = _run(["git", "for-each-ref", "refs/exps/"], upstream, env)
    return len(out.splitlines())


def local_round(root: Path) -> float:
    env = _env(root / "home")
    repo, _ = _project(root, env, None)
    start = time.perf_counter()
    _run([str(XPT), "exp", "run", "--queue", "-S", f"p=range(1,{COUNT + 1})"], repo, env)
    _run([str(XPT), "exp", "run", "--run-all", "-j", str(JOBS)], repo, env)
    elapsed = time.perf_counter() - start
    assert len(_run(["git", "for-each-ref", "refs/exps/"], repo, env).splitlines()) == COUNT
    return elapsed


def distributed_round(root: Path, cluster: Cluster) -> tuple[float, float, float]:
    """(submit, submit -> all refs on the git remote, one status refresh bringing them in)."""
    env = _env(root / "home")
    repo, upstream = _project(root, env, cluster.broker)
    start = time.perf_counter()
    _run([str(XPT), "exp", "run", "--queue", "-S", f"p=range(1,{COUNT + 1})"], repo, env)
    submitted = time.perf_counter() - start
    wait_for("results on the remote", lambda: _exps_on(upstream, env) >= COUNT, 300, 0.02)
    on_remote = time.perf_counter() - start
    out = _run([sys.executable, "-P", "-c", _REFRESH, str(repo)], repo, env)
    refreshed = float(out)
    assert len(_run(["git", "for-each-ref", "refs/exps/"], repo, env).splitlines()) == COUNT
    return submitted, on_remote, refreshed


# what `queue status` does first: mirror task states, fetch the finished experiments
_REFRESH = """\
import sys, time
from pathlib import Path
from xpt.project import Project
from xpt.experiments.distributed.task_status import refresh
t = time.perf_counter()
refresh(Project(Path(sys.argv[1])))
print(time.perf_counter() - t)
"""


def main() -> int:
    if REDIS_SERVER is None:
        print("fig_distributed: redis-server is not installed; skipped")
        return 0
    base = Path(tempfile.mkdtemp(prefix="xpt-bench-dist-"))
    redis = RedisServer(base / "redis")
    redis.start()
    cluster = Cluster(base / "machines", redis.url)
    try:
        for _ in range(JOBS):
            cluster.start_worker()
        cluster.wait_ready()
        local, submit, remote, fetch = [], [], [], []
        for rnd in range(REPEAT):
            local.append(local_round(base / f"local-{rnd}"))
            s, r, q = distributed_round(base / f"dist-{rnd}", cluster)
            submit.append(s)
            remote.append(r)
            fetch.append(q)
    finally:
        cluster.stop()
        redis.stop()
        shutil.rmtree(base, ignore_errors=True)
    med = statistics.median
    print(f"## {COUNT} trivial experiments, {JOBS} at a time (medians of {REPEAT} rounds)\n")
    print("| path | wall time | per experiment |")
    print("|---|---|---|")
    print(
        f"| local queue: queue + `--run-all -j {JOBS}` | {med(local):.2f} s | "
        f"{med(local) / COUNT * 1000:.0f} ms |"
    )
    print(
        f"| celery: submit only (snapshots, git push, {COUNT} tasks) | {med(submit):.2f} s | "
        f"{med(submit) / COUNT * 1000:.0f} ms |"
    )
    print(
        f"| celery, {JOBS} workers: submit → all refs on the git remote | {med(remote):.2f} s | "
        f"{med(remote) / COUNT * 1000:.0f} ms |"
    )
    print(
        f"| celery: one status refresh fetching the {COUNT} results | {med(fetch):.2f} s | "
        f"{med(fetch) / COUNT * 1000:.0f} ms |"
    )
    overhead = (med(remote) - med(local)) / COUNT
    print(
        f"\ndistributed overhead per experiment (to the remote): {overhead * 1000:+.0f} ms "
        f"wall, {overhead * JOBS * 1000:+.0f} ms of worker time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
