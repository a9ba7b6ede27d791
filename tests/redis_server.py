"""A real Redis broker and real `xpt queue worker` processes for the distributed-queue tests.

`RedisServer` runs `redis-server` on a free 127.0.0.1 port in its own directory,
append-only (fsync on every write), so a restart keeps what was queued. `Cluster`
starts workers as separate "machines": each has its own HOME, working directory,
`--workdir` (clones and logs) and session, so that stopping one kills everything it
started, the experiments' own process groups included. `wait_for` polls a condition
and fails with a message saying what did not happen. Used by
tests/func/test_distributed.py; bench/fig_distributed.py needs the same names.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
)
XPT = [sys.executable, "-P", "-m", "xpt"]


def wait_for(
    what: str,
    condition: Callable[[], object],
    timeout: float = 60.0,
    interval: float = 0.1,
    details: Callable[[], str] | None = None,
) -> object:
    """Poll `condition` until it is truthy (its value); fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{details()}" if details else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _info(port: int, section: str) -> str:
    """`INFO section` of the Redis server on `port` ("" if none answers; raw RESP)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"INFO {section}\r\n".encode())
            head, _, reply = s.recv(65536).partition(b"\r\n")
            if not head.startswith(b"$"):
                return ""
            while len(reply) < int(head[1:]) + 2:
                chunk = s.recv(65536)
                if not chunk:
                    return ""
                reply += chunk
    except (OSError, ValueError):
        return ""
    return reply.decode(errors="replace")


def _ready(port: int, pid: int) -> bool:
    """True when the Redis server of process `pid` (not another one that took a port
    guessed at the same time) answers on `port` with its data loaded."""
    if f"process_id:{pid}\r\n" not in _info(port, "server"):
        return False
    return "loading:0\r\n" in _info(port, "persistence")


def session_pids(sid: int) -> list[int]:
    """Every live process of session `sid` (a worker and all its descendants)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != b"Z":
            found.append(int(entry))
    return found


def kill_session(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGKILL every process of the session `proc` leads; return once all are gone."""
    deadline = time.monotonic() + timeout
    while True:
        pids = session_pids(proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        if not pids or time.monotonic() > deadline:
            return
        time.sleep(0.02)


class RedisServer:
    """One `redis-server` in `directory`; `url` is its database 0."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.dir = directory
        self.port = port or 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart on the same port and data), waiting until it answers."""
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed")
        self.dir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):
            port = self.port or free_port()
            (self.dir / "redis.conf").write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\n"
                f'dir "{self.dir}"\nlogfile "{self.dir / "redis.log"}"\n'
                'save ""\nappendonly yes\nappendfsync always\n'
            )
            self.proc = subprocess.Popen(
                [REDIS_SERVER, str(self.dir / "redis.conf")],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                if _ready(port, self.proc.pid):
                    self.port = port
                    return
                time.sleep(0.02)
            self.stop()
            if self.port:  # a restart must keep its port: no second guess
                break
        raise RuntimeError(f"redis-server did not start; its log:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop it (SIGTERM: a clean shutdown; SIGKILL: a crash) and wait for it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def call(self, *args: str) -> str:
        """One Redis command; the first line of the reply (e.g. `:2` for `LLEN xpt`)."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(request.encode())
            return s.recv(4096).split(b"\r\n", 1)[0].decode()

    def log(self) -> str:
        try:
            return (self.dir / "redis.log").read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"


def machine_env(home: Path) -> dict[str, str]:
    """The environment of a separate machine: its own HOME, no DVC_/GIT_ settings."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "GIT_", "XPT_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        GIT_CONFIG_NOSYSTEM="1",
        PYTHONDONTWRITEBYTECODE="1",
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    )
    return env


class Worker:
    """One `xpt queue worker` process (and its session) on its own "machine"."""

    def __init__(
        self, root: Path, broker: str, jobs: int, env: dict[str, str], args: tuple[str, ...] = ()
    ) -> None:
        self.root = root
        self.workdir = root / "workdir"
        self.log_file = root / "worker.log"
        root.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [*XPT, "queue", "worker", "--broker", broker, "-j", str(jobs)]
                + ["--workdir", str(self.workdir), *args],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log()}")
        return " ready." in self.log()

    def task_logs(self) -> dict[str, str]:
        """The experiment logs this worker wrote, by task id."""
        logs = self.workdir / "logs"
        if not logs.is_dir():
            return {}
        return {p.stem: p.read_text(errors="replace") for p in sorted(logs.glob("*.log"))}

    def kill(self) -> None:
        """SIGKILL the worker and everything it started (a machine that dies)."""
        kill_session(self.proc)


class Cluster:
    """Workers on one broker, each a separate machine under `base`."""

    def __init__(self, base: Path, broker: str, env: dict[str, str] | None = None) -> None:
        self.base = base
        self.broker = broker
        self.extra_env = dict(env or {})
        self.workers: list[Worker] = []

    def start_worker(self, jobs: int = 1, args: tuple[str, ...] = ()) -> Worker:
        root = self.base / f"machine-{len(self.workers) + 1}"
        env = {**machine_env(root / "home"), **self.extra_env}
        worker = Worker(root, self.broker, jobs, env, args)
        self.workers.append(worker)
        return worker

    def wait_ready(self, timeout: float = 60.0) -> None:
        for worker in self.workers:
            wait_for(f"worker {worker.root.name} to be ready", worker.ready, timeout, 0.05)

    def logs(self) -> str:
        """Every worker's log and experiment logs (for failure messages)."""
        parts = []
        for w in self.workers:
            parts.append(f"--- {w.root.name} (pid {w.proc.pid}) ---\n{w.log()[-3000:]}")
            for task, text in w.task_logs().items():
                parts.append(f"--- {w.root.name} task {task} ---\n{text[-2000:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Kill every worker's session (also after a failed test: nothing is left behind)."""
        for worker in self.workers:
            worker.kill()
