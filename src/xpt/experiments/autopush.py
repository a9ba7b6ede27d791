"""`exp.auto_push`: push each experiment to the git remote as soon as it is recorded.

DVC reads `exp.auto_push` and `exp.git_remote` (default `origin`); the environment
variables `DVC_EXP_AUTO_PUSH` and `DVC_EXP_GIT_REMOTE` win over the config. After
`exp run`, `exp save` and each queued run, the new experiment goes out exactly as
`xpt exp push <remote> <name>` sends it: the ref to git, the data it references to
the default data remote when one is configured. A failed push never fails the run:
the experiment stays in the local repo and one warning line names the command that
finishes the job.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xpt.config import Config
from xpt.errors import XptError
from xpt.project import Project
from xpt.scm.exprefs import ExpRef

if TYPE_CHECKING:  # the transfer machinery loads only when a push really happens
    from xpt.experiments.share import ExpTransfer

AUTO_PUSH_ENV = "DVC_EXP_AUTO_PUSH"
GIT_REMOTE_ENV = "DVC_EXP_GIT_REMOTE"
DEFAULT_GIT_REMOTE = "origin"
_PUSHED = ("new", "updated", "forced")


@dataclass(frozen=True)
class AutoPushSettings:
    """Whether to push, where, and why not when the config value is unusable."""

    enabled: bool
    git_remote: str
    problem: str | None = None


@dataclass(frozen=True)
class AutoPushResult:
    """Lines for the user: progress (`messages`, stdout) and `warnings` (stderr)."""

    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _env_bool(value: str) -> bool:
    """DVC's reading of a boolean environment variable (`1`, `y`, `yes`, `true`)."""
    return re.search("1|y|yes|true", value, flags=re.IGNORECASE) is not None


def read_settings(config: Config, environ: Mapping[str, str] | None = None) -> AutoPushSettings:
    """`exp.auto_push` / `exp.git_remote`, overridden by DVC's environment variables."""
    env = os.environ if environ is None else environ
    remote = env.get(GIT_REMOTE_ENV) or config.get("exp", "git_remote") or DEFAULT_GIT_REMOTE
    if AUTO_PUSH_ENV in env:
        return AutoPushSettings(_env_bool(env[AUTO_PUSH_ENV]), remote)
    raw = config.get("exp", "auto_push")
    value = (raw or "false").strip().lower()
    if value in ("true", "false"):
        return AutoPushSettings(value == "true", remote)
    return AutoPushSettings(
        False,
        remote,
        problem=f"exp.auto_push is '{raw}', not true or false: the experiment was not pushed "
        "(fix it with `xpt config exp.auto_push true`)",
    )


@contextmanager
def _no_prompts() -> Iterator[None]:
    """Make git and ssh fail instead of asking for credentials (no terminal to answer)."""
    saved = {k: os.environ.get(k) for k in ("GIT_TERMINAL_PROMPT", "GIT_SSH_COMMAND")}
    os.environ["GIT_TERMINAL_PROMPT"] = "0"
    if not (saved["GIT_SSH_COMMAND"] or os.environ.get("GIT_SSH")):
        os.environ["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _retry(remote: str, refs: Sequence[ExpRef], force: bool = False) -> str:
    names = " ".join(ref.name for ref in refs)
    return f"`xpt exp push {'-f ' if force else ''}{remote} {names}`"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, XptError):
        return exc.message
    return f"unexpected error: {type(exc).__name__}: {exc}"


def _summarise(
    transfer: ExpTransfer, remote: str, refs: Sequence[ExpRef], data_remote: str | None
) -> AutoPushResult:
    messages: list[str] = []
    warnings: list[str] = []
    for ref in refs:
        state = transfer.refs.get(ref.ref)
        if state in _PUSHED:
            messages.append(f"Pushed experiment '{ref.name}' to git remote '{remote}'.")
        elif state == "up-to-date":
            messages.append(f"Experiment '{ref.name}' is already on git remote '{remote}'.")
        elif state == "rejected":
            warnings.append(
                f"experiment '{ref.name}' was not auto-pushed: git remote '{remote}' has a "
                f"different experiment of that name (overwrite it with {_retry(remote, [ref], True)})"
            )
        else:
            warnings.append(
                f"git did not confirm the auto push of experiment '{ref.name}' to '{remote}'; "
                f"check with `xpt exp list {remote}` or push it with {_retry(remote, [ref])}"
            )
    data = transfer.data
    if data_remote is None:
        messages.append("No data remote is configured: only the git refs were pushed.")
    elif data is not None and data.failed:
        reason = next(iter(data.failed.values()))
        warnings.append(
            f"auto push: {len(data.failed)} data object(s) did not reach data remote "
            f"'{data_remote}' ({reason}); finish with {_retry(remote, refs)}"
        )
    elif data is not None:
        messages.append(
            f"Data: {len(data.transferred)} object(s) pushed to '{data_remote}', "
            f"{data.present} already there."
        )
    return AutoPushResult(tuple(messages), tuple(warnings))


def auto_push(
    project: Project, refs: Sequence[ExpRef], *, interactive: bool = True
) -> AutoPushResult:
    """Push `refs` (and their data) if `exp.auto_push` is on; never raises for a failure.

    `interactive=False` (queue workers) makes git fail rather than prompt for credentials.
    """
    settings = read_settings(project.config)
    if settings.problem:
        return AutoPushResult(warnings=(settings.problem,))
    if not settings.enabled or not refs:
        return AutoPushResult()
    from xpt.experiments.share import Selection, exp_push

    remote = settings.git_remote
    data_remote = project.config.get("core", "remote") or None
    try:
        with nullcontext() if interactive else _no_prompts():
            transfer = exp_push(
                project,
                remote,
                Selection(names=tuple(ref.ref for ref in refs)),
                no_cache=data_remote is None,
            )
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the run must not fail
        names = ", ".join(f"'{ref.name}'" for ref in refs)
        return AutoPushResult(
            warnings=(
                f"experiment {names} was not auto-pushed ({_describe(exc)}). It is kept "
                f"locally; push it later with {_retry(remote, refs)}",
            )
        )
    return _summarise(transfer, remote, refs, data_remote)


def push_queued(project: Project, ref: ExpRef, terminal_fd: int | None = None) -> None:
    """Auto push from a queue child: lines go to its log, warnings also to the worker's stderr.

    Called after the entry is recorded as a success; nothing here may raise.
    """
    result = auto_push(project, [ref], interactive=False)
    try:
        for line in result.messages:
            print(line, flush=True)
        for line in result.warnings:
            print(f"WARNING: {line}", file=sys.stderr, flush=True)
            if terminal_fd is not None:
                os.write(terminal_fd, f"WARNING: {line}\n".encode())
    except OSError:
        pass
