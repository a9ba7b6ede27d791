"""Real DVC as a test oracle: one cached virtualenv per version, built once, outside the repo.

xpt never imports DVC. Compatibility tests and benchmarks run the real `dvc` executable
from `${XPT_ORACLE_DIR:-~/.cache/xpt-oracle}/dvc-<version>/`. The first caller builds the
virtualenv under an fcntl lock (parallel pytest workers wait instead of racing); a marker
file written last says the build finished and was verified, so later calls cost a stat.

    python -m tests.oracle --ensure [--version 3.67.1]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

DEFAULT_VERSION = "3.67.1"
CHECKPOINT_VERSION = "2.58.2"

# Pins needed beside an old DVC so that today's PyPI resolves to a working set.
# 2.58.2 (the last release with checkpoints): scmrepo 1.x breaks on pygit2 >= 1.15 and
# on dulwich > 0.21, and pathspec 0.12 changed the API that DVC's ignore code uses.
EXTRA_PINS: dict[str, tuple[str, ...]] = {
    CHECKPOINT_VERSION: ("pathspec<0.12", "pygit2<1.15", "dulwich==0.21.7"),
}

# Libraries of the field installed beside DVC (a training script under `dvc exp run` uses
# them with the oracle's python). Kept apart from `requirements` so adding one completes an
# existing venv (own marker) instead of rebuilding DVC.
EXTRA_PACKAGES: dict[str, tuple[str, ...]] = {
    DEFAULT_VERSION: ("dvclive==3.49.1",),
}

MARKER = ".xpt-oracle-complete"
EXTRAS_MARKER = ".xpt-oracle-extras"

# Resolved at import time: tests replace HOME per test, the oracle must not follow it.
_HOME_AT_IMPORT = Path.home()


class OracleError(RuntimeError):
    """The DVC oracle could not be built or does not work."""


def oracle_root() -> Path:
    """Folder holding one `dvc-<version>` virtualenv per version."""
    env = os.environ.get("XPT_ORACLE_DIR")
    return Path(env).expanduser() if env else _HOME_AT_IMPORT / ".cache" / "xpt-oracle"


def requirements(version: str) -> list[str]:
    """What `pip install` gets for this DVC version."""
    return [f"dvc=={version}", *EXTRA_PINS.get(version, ())]


def venv_dir(version: str = DEFAULT_VERSION) -> Path:
    return oracle_root() / f"dvc-{version}"


def dvc_exe(version: str = DEFAULT_VERSION) -> Path:
    return venv_dir(version) / "bin" / "dvc"


def oracle_env(version: str = DEFAULT_VERSION) -> dict[str, str]:
    """Environment to run the oracle in: no analytics, its venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["DVC_NO_ANALYTICS"] = "1"
    env["PATH"] = str(venv_dir(version) / "bin") + os.pathsep + env.get("PATH", "")
    return env


def _marker_text(version: str) -> str:
    return json.dumps({"version": version, "requirements": requirements(version)}) + "\n"


def is_ready(version: str = DEFAULT_VERSION) -> bool:
    """True when a verified build of exactly this spec exists (no subprocess: fast path).

    `bin/python` is a symlink chain to the base interpreter: if that went away (Python
    upgraded or removed), the venv is dead and gets rebuilt.
    """
    venv = venv_dir(version)
    try:
        marker_ok = (venv / MARKER).read_text() == _marker_text(version)
    except OSError:
        return False
    return marker_ok and dvc_exe(version).exists() and (venv / "bin" / "python").exists()


def _say(msg: str) -> None:
    print(f"[dvc-oracle] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _build_lock(version: str) -> Iterator[None]:
    """Exclusive lock per version; tells the user when it has to wait for another builder."""
    root = oracle_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".dvc-{version}.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"waiting for another process building DVC {version} ...")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _python_works(venv: Path) -> bool:
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    res = subprocess.run([str(python), "-c", "import pip"], capture_output=True, check=False)
    return res.returncode == 0


def installed_version(version: str = DEFAULT_VERSION) -> str | None:
    """What `dvc --version` of this venv prints (None if it does not run)."""
    exe = dvc_exe(version)
    if not exe.exists():
        return None
    res = subprocess.run(
        [str(exe), "--version"],
        capture_output=True,
        text=True,
        env=oracle_env(version),
        check=False,
        timeout=120,
    )
    return res.stdout.strip() if res.returncode == 0 else None


def _extras_text(version: str) -> str:
    return json.dumps({"extras": EXTRA_PACKAGES.get(version, ())}) + "\n"


def extras_ready(version: str = DEFAULT_VERSION) -> bool:
    """Are this version's extra packages (dvclive) installed in its venv?"""
    if not EXTRA_PACKAGES.get(version):
        return True
    try:
        return (venv_dir(version) / EXTRAS_MARKER).read_text() == _extras_text(version)
    except OSError:
        return False


def _install_extras(version: str) -> None:
    """pip install the extras with DVC pinned (never moves the oracle's DVC), marker last."""
    venv = venv_dir(version)
    _pip_install(version, [*EXTRA_PACKAGES[version], *requirements(version)], "extras-")
    tmp = venv / f"{EXTRAS_MARKER}.tmp"
    tmp.write_text(_extras_text(version))
    os.replace(tmp, venv / EXTRAS_MARKER)


def oracle_python(version: str = DEFAULT_VERSION) -> Path:
    """The oracle venv's interpreter (with dvclive): run training scripts with it."""
    ensure_dvc(version)
    return venv_dir(version) / "bin" / "python"


def _pip_install(version: str, packages: list[str] | None = None, log_prefix: str = "") -> None:
    venv = venv_dir(version)
    log = oracle_root() / f"install-{log_prefix}{version}.log"
    packages = packages or requirements(version)
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore"}
    with open(log, "w") as f:
        res = subprocess.run(
            cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, check=False
        )
    if res.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
        raise OracleError(f"pip install {' '.join(packages)} failed (log {log}):\n{tail}")


def _build(version: str) -> None:
    """Create or complete the venv, install, verify, then write the marker last."""
    venv = venv_dir(version)
    (venv / MARKER).unlink(missing_ok=True)
    for attempt in (1, 2):
        if not _python_works(venv):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        _pip_install(version)
        got = installed_version(version)
        if got == version:
            tmp = venv / f"{MARKER}.tmp"
            tmp.write_text(_marker_text(version))
            os.replace(tmp, venv / MARKER)
            return
        _say(f"dvc in {venv} reports {got!r}, expected {version!r}; rebuilding")
        if attempt == 1:
            shutil.rmtree(venv, ignore_errors=True)
    raise OracleError(f"DVC {version} in {venv} does not run after a clean rebuild")


def ensure_dvc(version: str = DEFAULT_VERSION) -> Path:
    """Path of a working `dvc` executable of `version`, building its venv the first time."""
    if is_ready(version) and extras_ready(version):
        return dvc_exe(version)
    with _build_lock(version):
        if not is_ready(version):  # another process may have finished while we waited
            start = time.monotonic()
            _say(f"building DVC {version} in {venv_dir(version)} (once per machine) ...")
            _build(version)
            _say(f"DVC {version} ready in {time.monotonic() - start:.0f} s")
        if not extras_ready(version):
            _say(f"installing {' '.join(EXTRA_PACKAGES[version])} beside DVC {version} ...")
            _install_extras(version)
    return dvc_exe(version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.oracle", description=__doc__)
    parser.add_argument("--ensure", action="store_true", help="build the oracle if missing")
    parser.add_argument(
        "--version",
        action="append",
        dest="versions",
        metavar="V",
        help=f"DVC version (repeatable; default {DEFAULT_VERSION})",
    )
    args = parser.parse_args(argv)
    versions = args.versions or [DEFAULT_VERSION]
    for version in versions:
        start = time.monotonic()
        try:
            exe = ensure_dvc(version) if args.ensure else dvc_exe(version)
        except (OracleError, subprocess.CalledProcessError) as exc:
            print(f"ERROR: DVC oracle {version}: {exc}", file=sys.stderr)
            return 1
        if not args.ensure and not is_ready(version):
            print(f"DVC oracle {version}: not built (run with --ensure)")
            return 1
        print(f"DVC oracle {version}: {exe} ({time.monotonic() - start:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
