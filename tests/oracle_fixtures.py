"""Pytest plugin: the real-DVC oracle and the installed `xpt` executable as subprocesses.

Registered from tests/conftest.py with `pytest_plugins = ["tests.oracle_fixtures"]`.

- `dvc_oracle` (session): `run(*args, cwd=None, check=True)` runs DVC 3.67.1.
- `dvc2_oracle` (session): the same for DVC 2.58.2 (checkpoints); built on first use.
- `xpt_cmd`: `run(*args, cwd=None, check=True)` runs `.venv/bin/xpt` (the console script
  next to this interpreter), for tests of start-up, the entry point and signals.

Each call reads the environment at call time, so it gets the HOME that the autouse
isolation fixture set for the current test; DVC's site cache goes under that HOME too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.oracle import CHECKPOINT_VERSION, DEFAULT_VERSION, ensure_dvc, oracle_env

Completed = subprocess.CompletedProcess[str]


def _run(
    argv: list[str],
    *,
    cwd: str | os.PathLike[str] | None,
    check: bool,
    env: dict[str, str],
    input: str | None,
    timeout: float,
    capture: bool = True,
) -> Completed:
    """Run one command; with `check`, a non-zero exit fails the test showing its output."""
    res = subprocess.run(
        argv,
        cwd=cwd if cwd is not None else Path.cwd(),
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and res.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {res.returncode}\n"
            f"--- stdout ---\n{res.stdout}\n--- stderr ---\n{res.stderr}"
        )
    return res


class DvcOracle:
    """Callable running one real DVC version in an isolated environment."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.exe = ensure_dvc(version)
        self.bin_dir = self.exe.parent

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = oracle_env(self.version)
        home = Path(env.get("HOME", str(Path.home())))
        env["DVC_SITE_CACHE_DIR"] = str(home / ".dvc-site-cache")
        env.update(extra or {})
        return env

    def __call__(
        self,
        *args: str,
        cwd: str | os.PathLike[str] | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 300,
    ) -> Completed:
        return _run(
            [str(self.exe), *args],
            cwd=cwd,
            check=check,
            env=self.env(env),
            input=input,
            timeout=timeout,
        )


class XptCmd:
    """Callable running the installed `xpt` console script as a subprocess."""

    def __init__(self) -> None:
        self.exe = Path(sys.executable).parent / "xpt"

    def __call__(
        self,
        *args: str,
        cwd: str | os.PathLike[str] | None = None,
        check: bool = True,
        capture: bool = True,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 300,
    ) -> Completed:
        return _run(
            [str(self.exe), *args],
            cwd=cwd,
            check=check,
            env={**os.environ, **(env or {})},
            input=input,
            timeout=timeout,
            capture=capture,
        )


@pytest.fixture(scope="session")
def dvc_oracle() -> DvcOracle:
    """Real DVC 3.67.1 (built once per machine, cached outside the repo)."""
    return DvcOracle(DEFAULT_VERSION)


@pytest.fixture(scope="session")
def dvc2_oracle() -> DvcOracle:
    """Real DVC 2.58.2, the last release with checkpoints."""
    return DvcOracle(CHECKPOINT_VERSION)


@pytest.fixture
def xpt_cmd() -> XptCmd:
    """The installed `xpt` executable (`.venv/bin/xpt`)."""
    cmd = XptCmd()
    if not cmd.exe.exists():
        raise AssertionError(f"{cmd.exe} is missing: run `make venv` (pip install -e '.[test]')")
    return cmd
