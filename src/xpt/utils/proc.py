"""The one place where xpt starts user commands.

Stage commands run through the user's shell with rc files disabled, like DVC does, so
`cmd:` lines behave the same under both tools.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from typing import IO


def shell_argv(command: str) -> list[str]:
    """argv running `command` through $SHELL (default /bin/sh) without rc files."""
    shell = os.environ.get("SHELL") or "/bin/sh"
    name = os.path.basename(shell)
    flags: list[str] = []
    if name == "bash":
        flags = ["--noprofile", "--norc"]
    elif name == "zsh":
        flags = ["--no-rcs"]
    elif name == "fish":
        flags = ["--no-config"]
    return [shell, *flags, "-c", command]


def run_shell(
    command: str,
    cwd: str,
    env: Mapping[str, str],
    stdout: IO[bytes] | int | None = None,
) -> int:
    """Run one command line; returns its exit code. Ctrl-C is forwarded, then re-raised."""
    proc = subprocess.Popen(
        shell_argv(command),
        cwd=cwd,
        env=dict(env),
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not None else None,
        close_fds=True,
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            proc.kill()
            proc.wait()
        raise


def pid_alive(pid: int | None) -> bool:
    """True if a process with this pid exists (zombies count as dead)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            fields = f.read().rsplit(")", 1)[-1].split()
        return not (fields and fields[0] == "Z")
    except OSError:
        return True
