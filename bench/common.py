"""The benchmark harness: tools, isolated environment, alternating timed runs, result rows.

A figure module builds `Case`s and hands them to `Harness.compare`, which prepares a
repository per tool (untimed), then times the action for xpt and DVC alternately for
`BENCH_REPEAT` rounds (default 5) and keeps medians. A case stops repeating once it used
its time budget (`BENCH_BUDGET` seconds, default 90) so that `make bench` stays short.
An xpt command that says "not built yet" makes its row "n/a (not built)" instead of
failing the run; any other failure makes the row an error and the run exit non-zero.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
BUDGET = float(os.environ.get("BENCH_BUDGET", "90"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "600"))
# BENCH_XPT_ONLY=1 times xpt alone (DVC's side of each row is not run): for re-measuring
# xpt after a change when DVC's figures, which do not move, were taken already.
XPT_ONLY = os.environ.get("BENCH_XPT_ONLY", "") not in ("", "0")
NOT_BUILT = "not built yet"


def scaled(full: int, quick: int) -> int:
    """`full` normally, `quick` under BENCH_QUICK=1."""
    return quick if QUICK else full


class NotBuilt(Exception):
    """The xpt command exists in the CLI tree but says it is not built yet."""


class CommandFailed(Exception):
    """A command exited non-zero (its first error line is the message)."""


def _first_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("ERROR"):
            return ln[:200]
    return (lines[-1] if lines else "no output")[:200]


@dataclass(frozen=True)
class Tool:
    """One executable under test (xpt or dvc) and the bin dir its stages' `python` comes from."""

    name: str
    exe: Path
    env: dict[str, str]

    def run(self, args: Sequence[str], cwd: Path, timeout: float = TIMEOUT) -> str:
        """Run `<tool> args` in `cwd`; raise NotBuilt/CommandFailed; return stdout."""
        res = subprocess.run(
            [str(self.exe), *args],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if res.returncode != 0:
            out = res.stderr + res.stdout
            cmd = f"{self.name} {' '.join(args)}"
            if NOT_BUILT in out:
                raise NotBuilt(f"{cmd}: not built yet")
            raise CommandFailed(f"{cmd} (exit {res.returncode}): {_first_error_line(out)}")
        return res.stdout


def git(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str]) -> str:
    """Run git; a failure is a bug of the benchmark itself."""
    res = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, env=env, check=False
    )
    if res.returncode != 0:
        raise CommandFailed(f"git {' '.join(args)}: {res.stderr.decode(errors='replace')}")
    return res.stdout.decode().strip()


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


@dataclass(frozen=True)
class Goal:
    """A target from the issues, e.g. "≤ 0.15 s" or "≥ 10× DVC"."""

    text: str
    check: Callable[[float, float | None], bool]


def at_most(seconds: float) -> Goal:
    return Goal(f"≤ {seconds:g} s", lambda x, d: x <= seconds)


def faster(times: float) -> Goal:
    return Goal(f"≥ {times:g}× DVC", lambda x, d: d is not None and d / x >= times)


def all_of(*goals: Goal) -> Goal:
    return Goal(" and ".join(g.text for g in goals), lambda x, d: all(g.check(x, d) for g in goals))


@dataclass(frozen=True)
class Case:
    """One row: how to prepare a repository for a tool, and the action to time in it.

    `action(tool, repo, i)` gets the round number so that repeated actions can differ
    (e.g. `exp run -S p=i`; the warm-up round is -1). With `fresh`, `prepare` runs again
    before every round; `verify(tool, repo)` checks the result after each round, untimed.
    `max_rounds` caps the rounds of a case whose single round is already long and rich.
    """

    figure: str
    label: str
    prepare: Callable[[Tool, Path], Path]
    action: Callable[[Tool, Path, int], None]
    goal: Goal
    fresh: bool = False
    warmup: bool = False
    verify: Callable[[Tool, Path], None] | None = None
    max_rounds: int | None = None


@dataclass
class Row:
    figure: str
    label: str
    goal: str
    xpt: float | None = None
    dvc: float | None = None
    rounds: int = 0
    xpt_note: str = ""
    dvc_note: str = ""
    verdict: str = ""
    error: bool = False

    @property
    def ratio(self) -> float | None:
        if self.xpt and self.dvc:
            return self.dvc / self.xpt
        return None


@dataclass
class _Side:
    """Per-tool state while a case runs."""

    tool: Tool
    repo: Path | None = None
    times: list[float] = field(default_factory=list)
    note: str = ""
    error: bool = False


class Harness:
    """Owns the temp workspace and environment, runs cases, collects rows."""

    def __init__(self, xpt: Path, dvc: Path, dvc_version: str) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="xpt-bench-"))
        self.home = self.work / "home"
        self.home.mkdir()
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = xpt bench\n\temail = bench@example.com\n"
            "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        )
        base = _clean_environ()
        base.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"))
        base.update(GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1")
        base["DVC_SITE_CACHE_DIR"] = str(self.home / "dvc-site-cache")
        self.git_env = base
        self.xpt = Tool("xpt", xpt, _with_path(base, xpt.parent))
        self.dvc = Tool("dvc", dvc, _with_path(base, dvc.parent))
        self.dvc_version = dvc_version
        self.rows: list[Row] = []
        self._counter = 0

    # -- helpers for figure modules ------------------------------------------------

    def new_dir(self, tag: str) -> Path:
        self._counter += 1
        path = self.work / f"{self._counter:03d}-{tag}"
        path.mkdir()
        return path

    def git(self, cwd: Path, *args: str, input: bytes | None = None) -> str:
        return git(cwd, *args, input=input, env=self.git_env)

    def new_repo(self, tool: Tool, tag: str, files: dict[str, str], init: bool = True) -> Path:
        """A git repo with `files` committed, then `<tool> init` committed."""
        repo = self.new_dir(f"{tag}-{tool.name}")
        self.git(repo, "init", "-q", "-b", "main")
        write_files(repo, files or {"README.md": "bench\n"})
        self.commit(repo, "files")
        if init:
            tool.run(["init", "-q"], repo)
            self.commit(repo, "init")
        return repo

    def commit(self, repo: Path, msg: str) -> str:
        self.git(repo, "add", "-A")
        self.git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", msg)
        return self.git(repo, "rev-parse", "HEAD")

    # -- measuring -------------------------------------------------------------------

    def compare(self, case: Case) -> Row:
        """Time `case` for xpt and DVC alternately; record and return its row."""
        row = Row(case.figure, case.label, case.goal.text)
        sides = [_Side(self.xpt), _Side(self.dvc)]
        if XPT_ONLY:
            sides[1].note = "not run (BENCH_XPT_ONLY)"
        start = time.monotonic()
        print(f"  fig {case.figure}: {case.label} ...", end="", flush=True)
        for rnd in range(-1 if case.warmup else 0, REPEAT):
            order = sides if rnd % 2 == 0 else sides[::-1]
            for side in order:
                self._one_round(case, side, rnd)
            row.rounds = max(0, rnd + 1)
            if all(s.note for s in sides):
                break
            if rnd >= 0 and time.monotonic() - start > BUDGET:
                break
            if case.max_rounds is not None and rnd + 1 >= case.max_rounds:
                break
        self._finish(row, case, sides)
        self.rows.append(row)
        print(f" {time.monotonic() - start:.0f} s")
        return row

    def _one_round(self, case: Case, side: _Side, rnd: int) -> None:
        if side.note:
            return
        try:
            if side.repo is None or case.fresh:
                side.repo = case.prepare(side.tool, self.new_dir(f"case-{side.tool.name}"))
            t0 = time.perf_counter()
            case.action(side.tool, side.repo, rnd)
            elapsed = time.perf_counter() - t0
            if case.verify is not None:
                case.verify(side.tool, side.repo)
        except NotBuilt:
            side.note = "n/a (not built)"
            return
        except (CommandFailed, subprocess.TimeoutExpired, OSError) as exc:
            side.note, side.error = f"error: {exc}", True
            return
        finally:
            reap_strays(self.work)
        if rnd >= 0:
            side.times.append(elapsed)

    def _finish(self, row: Row, case: Case, sides: list[_Side]) -> None:
        xs, ds = sides
        row.xpt = statistics.median(xs.times) if xs.times and not xs.note else None
        row.dvc = statistics.median(ds.times) if ds.times and not ds.note else None
        row.xpt_note, row.dvc_note = xs.note, ds.note
        row.error = xs.error or ds.error
        if xs.note:
            row.verdict = xs.note
        elif row.xpt is None:
            row.verdict = "n/a"
        elif XPT_ONLY and "DVC" in case.goal.text:
            row.verdict = "n/a (DVC not run)"
        else:
            row.verdict = "pass" if case.goal.check(row.xpt, row.dvc) else "FAIL"

    def floor(self, figure: str, label: str, shell: str, cwd: Path, runs: int = 7) -> Row:
        """A "floor" line: median time of `shell` (run with xpt's PATH), the part of a
        figure no implementation under the design rules can avoid (interpreter start,
        imports of pygit2 and the YAML parsers, the stage's own command)."""
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(shell, shell=True, cwd=cwd, env=self.xpt.env, check=True)
            times.append(time.perf_counter() - start)
        row = Row(figure, label, "", xpt=statistics.median(times), rounds=runs, verdict="floor")
        self.rows.append(row)
        return row

    def record_error(self, figure: str, label: str, exc: BaseException) -> None:
        """A figure's own code broke: keep going, show it as an error row."""
        self.rows.append(
            Row(figure, label, "", verdict=f"error: {type(exc).__name__}: {exc}", error=True)
        )

    def close(self) -> None:
        reap_strays(self.work)
        shutil.rmtree(self.work, ignore_errors=True)


def _clean_environ() -> dict[str, str]:
    """The caller's environment minus what would change either tool's behaviour."""
    drop = ("DVC_", "XPT_", "GIT_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def isolated_env(home: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    """Env of a figure's own subprocesses: a fresh HOME with a git identity, no DVC_/GIT_
    variables of the caller, and `bin_dir` (xpt's venv) first on PATH."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "GIT_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", **extra)
    return _with_path(env, bin_dir)


def _with_path(env: dict[str, str], bin_dir: Path) -> dict[str, str]:
    """Stage commands say `python`: each tool gets the interpreter of its own venv."""
    return {**env, "PATH": str(bin_dir) + os.pathsep + env.get("PATH", "")}


def reap_strays(workdir: Path) -> None:
    """Stop background processes left running inside `workdir` (e.g. DVC queue workers).

    Only processes whose current directory lies in the benchmark's own temp folder are
    signalled, one by one by pid.
    """
    me = os.getpid()
    prefix = str(workdir) + os.sep
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if (cwd + os.sep).startswith(prefix):
            try:
                os.kill(int(entry), signal.SIGTERM)
            except OSError:
                pass


def machine_summary() -> dict[str, str]:
    """nproc, memory, CPU model, Python: the header of results.md."""
    mem = cpu = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count() or "?"),
        "memory": mem,
        "cpu": cpu,
        "python": sys.version.split()[0],
    }
