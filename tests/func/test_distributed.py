"""End-to-end tests of the distributed queue: Celery on a real Redis, real workers.

Each worker is a separate "machine" (tests/redis_server.py): its own HOME, working
directory and clone, started as `xpt queue worker --broker URL`. The submitting repo
has a bare git repo as `origin` and a local folder as its default data remote. The
pipeline's `prepare` stage writes random data, so an experiment whose dvc.lock keeps
the baseline's data hash proves the worker pulled the data instead of re-running it.
Stages can be held at a gate file (env TEST_GATE of the workers) to act mid-task.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.func.test_exp_run import exp_refs
from tests.helpers import TmpRepo
from tests.redis_server import (
    REDIS_SERVER,
    XPT,
    Cluster,
    RedisServer,
    free_port,
    machine_env,
    session_pids,
    wait_for,
)

pytestmark = [
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="redis-server is not installed (`apt-get install redis-server`; `make test` does it)",
    ),
    pytest.mark.slow,
]
pytest.importorskip("celery", reason="the distributed queue needs `pip install -e '.[celery]'`")

TIMEOUT = 120.0  # generous: a loaded 2-core machine runs two suites at once

PREPARE_PY = """\
import os
open("data.txt", "w").write("data " + os.urandom(8).hex() + "\\n")
"""

TRAIN_PY = """\
import json, os, time
params = dict(line.split(": ", 1) for line in open("params.yaml").read().splitlines())
foo = int(params["foo"])
print(f"training foo={foo}", flush=True)
gate = os.environ.get("TEST_GATE")
if gate:
    print("waiting at the gate", flush=True)
    while not os.path.exists(gate):
        time.sleep(0.05)
data = open("data.txt").read()
open("model.txt", "w").write(data + f"model {foo}\\n")
json.dump({"score": foo * 10}, open("metrics.json", "w"))
"""

DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py]
    outs: [data.txt]
  train:
    cmd: python train.py
    deps: [train.py, data.txt]
    params: [foo]
    outs: [model.txt]
    metrics:
    - metrics.json:
        cache: false
"""


class Dist:
    """The submitting repo, its remotes, the broker and the worker machines."""

    def __init__(self, repo: TmpRepo, upstream: Path, storage: Path, redis: RedisServer) -> None:
        self.repo = repo
        self.upstream = upstream
        self.storage = storage
        self.redis = redis
        self.clusters: list[Cluster] = []
        self.gate = repo.parent / "gate"

    def cluster(self, name: str = "machines", **env: str) -> Cluster:
        """Worker machines (started by the test); killed in the fixture's teardown."""
        cluster = Cluster(self.repo.parent / name, self.redis.url, env)
        self.clusters.append(cluster)
        return cluster

    def gated_cluster(self) -> Cluster:
        """Workers whose `train` stage waits until `open_gate()`."""
        return self.cluster(TEST_GATE=str(self.gate))

    def open_gate(self) -> None:
        self.gate.write_text("open\n")

    def remote_exps(self) -> dict[str, str]:
        """{name: sha} of the experiment refs on the git remote."""
        out = _git(self.upstream, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps/")
        return {line.split()[0].rsplit("/", 1)[1]: line.split()[1] for line in out.splitlines()}

    def remote_snapshots(self) -> list[str]:
        return _git(self.upstream, "for-each-ref", "--format=%(refname)", "refs/xpt/").split()

    def stored(self, content: str) -> bool:
        """Whether the data remote holds the object of a file with this content."""
        md5 = hashlib.md5(content.encode()).hexdigest()
        return (self.storage / "files" / "md5" / md5[:2] / md5[2:]).is_file()

    def broker_idle(self) -> bool:
        """No task waits in the queue and none is delivered but unacknowledged."""
        return self.redis.call("LLEN", "xpt") == ":0" and self.redis.call("HLEN", "unacked") == ":0"

    def logs(self) -> str:
        return "\n".join(c.logs() for c in self.clusters)


def _git(cwd: Path, *args: str) -> str:
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return res.stdout.strip()


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`xpt ARGS` as a real process in `repo` (the environment of the test's machine)."""
    return subprocess.run([*XPT, *args], cwd=repo, capture_output=True, text=True, check=False)


def assert_one_error_line(res: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A non-zero exit with one ERROR line (and at most a hint) and no traceback."""
    assert res.returncode != 0, res
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    assert len(errors) == 1 and len(lines) <= 2, res.stderr
    for needle in needles:
        assert needle in errors[0], res.stderr
    return errors[0]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dist(project: TmpRepo, tmp_path: Path, redis: RedisServer, xpt) -> Iterator[Dist]:  # type: ignore[no-untyped-def]
    """A two-stage pipeline reproduced and pushed; `origin`, `store` and the celery backend set."""
    upstream = tmp_path / "upstream.git"
    _git(tmp_path, "init", "-q", "--bare", str(upstream))
    storage = tmp_path / "storage"
    project.gen(
        {
            "params.yaml": "foo: 1\n",
            "prepare.py": PREPARE_PY,
            "train.py": TRAIN_PY,
            "dvc.yaml": DVC_YAML,
        }
    )
    xpt("remote", "add", "-d", "store", str(storage))
    xpt("config", "queue.backend", "celery")
    xpt("config", "queue.broker", redis.url)
    xpt("repro")
    xpt("push")
    project.commit("pipeline")
    project.git("remote", "add", "origin", str(upstream))
    project.git("push", "-q", "origin", "main")
    state = Dist(project, upstream, storage, redis)
    try:
        yield state
    finally:
        for cluster in state.clusters:
            cluster.stop()


def status(xpt) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """`queue status --json` rows by name (each call refreshes from the broker)."""
    return {r["name"]: r for r in json.loads(xpt("queue", "status", "--json").out)}


def wait_states(xpt, dist: Dist, want: dict[str, str], timeout: float = TIMEOUT) -> None:  # type: ignore[no-untyped-def]
    """Poll `queue status` until the named entries have these states."""
    seen: dict[str, dict[str, str]] = {}

    def reached() -> bool:
        seen.update(status(xpt))
        return all(seen.get(n, {}).get("status") == s for n, s in want.items())

    def details() -> str:
        return f"queue status: {json.dumps(seen, indent=1)}\n{dist.logs()}"

    wait_for(f"queue entries {want}", reached, timeout, 0.3, details)


def lock_hash(repo: TmpRepo, rev: str, path: str) -> str:
    """The md5 that dvc.lock at `rev` records for output `path`."""
    import yaml

    lock = yaml.safe_load(repo.git("show", f"{rev}:dvc.lock"))
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return str(out["md5"])
    raise AssertionError(f"{path} not in dvc.lock at {rev}")


def local_exps(repo: TmpRepo) -> dict[str, str]:
    return {ref.rsplit("/", 1)[1]: sha for ref, sha in exp_refs(repo).items()}


def task_runs(cluster: Cluster, text: str) -> list[str]:
    """The workers (machine names) whose experiment logs contain `text`."""
    return [w.root.name for w in cluster.workers for log in w.task_logs().values() if text in log]


def test_sweep_runs_on_two_workers_and_comes_back(dist: Dist, xpt) -> None:  # type: ignore[no-untyped-def]
    machines = dist.cluster()
    machines.start_worker()
    machines.start_worker()
    base = dist.repo.git("rev-parse", "HEAD")
    data = (dist.repo / "data.txt").read_text()
    machines.wait_ready()

    # foo=2..7: each differs from the baseline's foo: 1, so each one runs `train`
    res = xpt("exp", "run", "--queue", "-S", "foo=range(2,8)", "-n", "sw")
    assert res.out.count("on the distributed queue") == 6, res
    foo = {f"sw-{i - 1}": i for i in range(2, 8)}
    assert set(status(xpt)) == set(foo)
    wait_states(xpt, dist, dict.fromkeys(foo, "Success"))

    # recorded exactly once: on the git remote, and here (fetched by `queue status`)
    local = local_exps(dist.repo)
    assert local == dist.remote_exps()
    assert sorted(local) == sorted(foo)
    for name, value in foo.items():
        sha = local[name]
        assert dist.repo.git("rev-parse", f"{sha}^") == base
        assert dist.repo.git("show", f"{sha}:params.yaml") == f"foo: {value}"
        assert json.loads(dist.repo.git("show", f"{sha}:metrics.json")) == {"score": value * 10}
        # the data came from the data remote (not made again); the output went back there
        assert lock_hash(dist.repo, sha, "data.txt") == lock_hash(dist.repo, base, "data.txt")
        assert dist.stored(data + f"model {value}\n"), name
        # the commit carries the submitter's identity, not the worker machine's
        assert dist.repo.git("log", "-1", "--format=%an <%ae>", sha) == (
            "Xpt Tester <tester@example.com>"
        )
    # each experiment ran once; both machines took work
    for value in foo.values():
        assert len(task_runs(machines, f"training foo={value}\n")) == 1, dist.logs()
    assert sorted(set(task_runs(machines, "training foo="))) == ["machine-1", "machine-2"]

    shown = json.loads(xpt("exp", "show", "--json").out)
    assert shown[1]["rev"] == base
    exps = {e["name"]: e["revs"][0]["data"] for e in shown[1]["experiments"]}
    assert set(exps) == set(foo)
    for name, value in foo.items():
        assert exps[name]["params"]["params.yaml"]["data"] == {"foo": value}
        assert exps[name]["metrics"]["metrics.json"]["data"] == {"score": value * 10}
    log = xpt("queue", "logs", "sw-3").out
    assert "training foo=4" in log and "Ran experiment(s): sw-3" in log, log
    wait_for("every task to be acknowledged", dist.broker_idle, TIMEOUT, 0.1, dist.logs)
    # a later refresh changes nothing
    assert {r["status"] for r in status(xpt).values()} == {"Success"}
    assert local_exps(dist.repo) == local


def test_killed_worker_task_redelivered_recorded_once(dist: Dist, xpt) -> None:  # type: ignore[no-untyped-def]
    """A machine dies mid-task: another one gets the task; two deliveries finishing
    together (the visibility timeout also expires under a slow run) record it once."""
    # a short visibility timeout: an unacknowledged task goes to another worker after 2 s
    machines = dist.cluster(TEST_GATE=str(dist.gate), XPT_CELERY_VISIBILITY_TIMEOUT="2")
    for _ in range(3):
        machines.start_worker()
    machines.wait_ready()
    xpt("exp", "run", "--queue", "-S", "foo=5", "-n", "victim")

    def at_gate() -> list[str]:
        return task_runs(machines, "waiting at the gate")

    first = wait_for("the experiment to start on a worker", at_gate, TIMEOUT, 0.05, dist.logs)
    dead = next(w for w in machines.workers if w.root.name == first[0])  # type: ignore[index]
    dead.kill()  # the whole machine: worker, pool process and the experiment's group
    assert session_pids(dead.proc.pid) == []
    assert dist.remote_exps() == {}
    assert not any("Ran experiment" in log for log in dead.task_logs().values())
    # held at the gate, the task goes to the second survivor too: two runs at once
    alive = [w for w in machines.workers if w is not dead]
    names = sorted(w.root.name for w in alive)
    wait_for(
        f"both {names} to run the experiment",
        lambda: sorted(set(at_gate()) - {dead.root.name}) == names,
        TIMEOUT,
        0.05,
        dist.logs,
    )
    dist.open_gate()

    wait_states(xpt, dist, {"victim": "Success"})
    wait_for(
        "both runs to finish",
        lambda: (
            sum("Ran experiment(s)" in log for w in alive for log in w.task_logs().values()) == 2
        ),
        TIMEOUT,
        0.05,
        dist.logs,
    )
    runs = [log for w in alive for log in w.task_logs().values()]
    assert sum("Ran experiment(s): victim\n" in log for log in runs) == 1, dist.logs()
    assert sum("already recorded by an earlier delivery" in log for log in runs) == 1
    assert list(dist.remote_exps()) == ["victim"]
    local = local_exps(dist.repo)
    assert local == dist.remote_exps()
    assert dist.repo.git("show", f"{local['victim']}:params.yaml") == "foo: 5"
    assert dist.stored((dist.repo / "data.txt").read_text() + "model 5\n")
    assert not any("Ran experiment" in log for log in dead.task_logs().values())


def test_broker_restart_keeps_queued_tasks(dist: Dist, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "--queue", "-S", "foo=7,8", "-n", "kept")
    queued = {"kept-1": "Queued", "kept-2": "Queued"}
    assert {n: r["status"] for n, r in status(xpt).items()} == queued
    assert dist.redis.call("LLEN", "xpt") == ":2"
    shown = json.loads(xpt("exp", "show", "--json").out)
    assert {
        e["name"]: (e["executor"]["state"], e["revs"][0]["data"]["params"]["params.yaml"]["data"])
        for e in shown[1]["experiments"]
    } == {"kept-1": ("queued", {"foo": 7}), "kept-2": ("queued", {"foo": 8})}
    dist.redis.stop(signal.SIGKILL)  # a crash, not a clean shutdown

    # while the broker is down, `queue status` still answers, with one warning line
    down = cli(dist.repo, "queue", "status", "--json")
    assert down.returncode == 0, down
    warnings = [line for line in down.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, down.stderr
    assert warnings[0].startswith("WARNING: cannot reach the distributed queue's broker at")
    assert {r["name"]: r["status"] for r in json.loads(down.stdout)} == queued

    dist.redis.start()  # the same port and append-only file
    assert dist.redis.call("LLEN", "xpt") == ":2"
    dist.cluster().start_worker()
    wait_states(xpt, dist, {"kept-1": "Success", "kept-2": "Success"})
    assert sorted(dist.remote_exps()) == ["kept-1", "kept-2"]


def test_errors_are_one_line(dist: Dist, xpt) -> None:  # type: ignore[no-untyped-def]
    # the snapshot is gone from the git remote: the task fails with one clear message
    xpt("exp", "run", "--queue", "-S", "foo=3", "-n", "orphan")
    [snapshot] = dist.remote_snapshots()
    _git(dist.upstream, "update-ref", "-d", snapshot)
    worker = dist.cluster().start_worker()
    wait_states(xpt, dist, {"orphan": "Failed"})
    error = status(xpt)["orphan"]["error"]
    assert error == f"the queued snapshot '{snapshot}' is missing on git remote '{dist.upstream}'"
    log = xpt("queue", "logs", "orphan").out
    assert f"ERROR: {error}" in log and "Traceback" not in log, log
    assert dist.remote_exps() == {}
    assert worker.proc.poll() is None, "a failed task must not stop the worker"

    # an unreachable broker: one error line, nothing queued, nothing pushed
    xpt("config", "queue.broker", f"redis://127.0.0.1:{free_port()}/0")
    res = cli(dist.repo, "exp", "run", "--queue", "-S", "foo=4", "-n", "lost")
    assert_one_error_line(res, "cannot reach the distributed queue's broker at redis://127.0.0.1:")
    assert list(status(xpt)) == ["orphan"]
    assert dist.remote_snapshots() == []

    # a worker with no broker, or with one that is not Redis (outside any project)
    env = machine_env(dist.repo.parent / "elsewhere")

    def worker_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*XPT, "queue", "worker", *args],
            cwd=env["HOME"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    assert_one_error_line(worker_cli(), "no broker is configured")
    assert_one_error_line(worker_cli("--broker", "http://127.0.0.1:1/"), "is not a Redis URL")


def test_status_kill_remove_like_local(dist: Dist, xpt) -> None:  # type: ignore[no-untyped-def]
    machines = dist.gated_cluster()
    machines.start_worker()  # one job: q-1 runs (held at the gate), q-2 and q-3 wait
    machines.wait_ready()
    xpt("exp", "run", "--queue", "-S", "foo=2,3,4", "-n", "q")
    wait_for(
        "q-1 to wait at the gate",
        lambda: task_runs(machines, "waiting at the gate"),
        TIMEOUT,
        0.05,
        dist.logs,
    )
    wait_states(xpt, dist, {"q-1": "Running", "q-2": "Queued", "q-3": "Queued"})
    # the log of a running experiment comes through (the worker sends it about once a second)
    wait_for(
        "`queue logs q-1` to show the running stage's output",
        lambda: "waiting at the gate" in xpt("queue", "logs", "q-1").out,
        TIMEOUT,
        0.3,
        dist.logs,
    )
    assert len(dist.remote_snapshots()) == 3

    # removing a queued entry drops its task and its snapshot on the git remote
    assert xpt("queue", "remove", "q-3").out.strip() == "Removed: q-3"
    assert set(status(xpt)) == {"q-1", "q-2"}
    assert len(dist.remote_snapshots()) == 2
    assert xpt("queue", "remove", "q-9", ok=False).rc != 0

    xpt("queue", "kill", "q-1")
    wait_states(xpt, dist, {"q-1": "Failed"})
    assert "killed by `xpt queue kill`" in status(xpt)["q-1"]["error"]
    dist.open_gate()
    wait_states(xpt, dist, {"q-2": "Success"})
    assert list(dist.remote_exps()) == ["q-2"]
    assert list(local_exps(dist.repo)) == ["q-2"]
    # the removed entry's task was dropped by the worker, never started
    wait_for("the broker to hold no task", dist.broker_idle, TIMEOUT, 0.1, dist.logs)
    assert len(machines.workers[0].task_logs()) == 2, dist.logs()
    assert "training foo=4" not in machines.logs()

    xpt("queue", "remove", "--failed", "--success")
    assert status(xpt) == {}
    assert dist.remote_snapshots() == []
    assert list(local_exps(dist.repo)) == ["q-2"]  # removing the entry keeps the experiment


GPU_TRAIN_PY = """\
import json, os, time
start = time.time()
gate = os.environ.get("TEST_GATE")
print("waiting at the gate", flush=True)
while gate and not os.path.exists(gate):
    time.sleep(0.05)
time.sleep(0.3)
json.dump(
    {"devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time()},
    open("metrics.json", "w"),
)
open("model.txt", "w").write(open("params.yaml").read())
"""


def test_worker_gpus_one_device_each(dist: Dist, xpt) -> None:  # type: ignore[no-untyped-def]
    """`queue worker -j 4 --gpus 0,1` runs two at a time, each with a device of its own."""
    dist.repo.gen({"train.py": GPU_TRAIN_PY})
    dist.repo.commit("gpu training")
    dist.repo.git("push", "-q", "origin", "main")
    machines = dist.gated_cluster()
    machines.start_worker(jobs=4, args=("--gpus", "0,1"))
    machines.wait_ready()
    assert "GPUs 0,1 (1 each)" in machines.workers[0].log()
    xpt("exp", "run", "--queue", "-S", "foo=range(2,6)", "-n", "g")
    names = [f"g-{i}" for i in range(1, 5)]

    def two_running() -> bool:
        rows = status(xpt)
        return sum(r["status"] == "Running" and bool(r["devices"]) for r in rows.values()) == 2

    wait_for("two experiments to run", two_running, TIMEOUT, 0.3, dist.logs)
    rows = status(xpt)
    running = [r for r in rows.values() if r["status"] == "Running"]
    assert sorted(d for r in running for d in r["devices"]) == ["0", "1"]
    assert sum(r["status"] == "Queued" for r in rows.values()) == 2  # slots, not -j 4, limit
    dist.open_gate()
    wait_states(xpt, dist, dict.fromkeys(names, "Success"))
    runs = [
        json.loads(dist.repo.git("show", f"{sha}:metrics.json"))
        for sha in local_exps(dist.repo).values()
    ]
    assert len(runs) == 4 and all(r["devices"] in ("0", "1") for r in runs), runs
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            if a["start"] < b["end"] and b["start"] < a["end"]:
                assert a["devices"] != b["devices"], runs
