"""Where the distributed queue's parts are: broker, git remote, data remote.

Read from the project's config on the submitting machine (`queue.backend/broker/
visibility_timeout` from xpt's files `.dvc/xpt.config` / `.dvc/tmp/xpt/config`,
`exp.git_remote` or `$DVC_EXP_GIT_REMOTE`, `core.remote` from `.dvc/config`), and
resolved to absolute URLs, because a worker on another machine has only what the task
tells it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xpt.config import Config
from xpt.errors import ConfigError, QueueError, ScmError
from xpt.experiments.autopush import read_settings
from xpt.experiments.distributed.payload import BACKEND, DataRemote
from xpt.project import Project
from xpt.scm.git import Git

DEFAULT_VISIBILITY_TIMEOUT = 3600.0
VISIBILITY_ENV = "XPT_CELERY_VISIBILITY_TIMEOUT"
_SECRET_WORDS = ("secret", "password", "token", "key_id", "credential")


_CELERY_PACKAGES = ("celery", "kombu", "redis", "billiard", "vine", "amqp")


@contextmanager
def celery_required() -> Iterator[None]:
    """Import Celery inside this block: a missing package says which extra to install."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in _CELERY_PACKAGES:
            raise QueueError(
                f"the distributed queue needs Celery with Redis ({exc.name} is not installed)",
                hint="install the extra: `pip install 'xpt[celery]'`",
            ) from None
        raise


def is_distributed(config: Config) -> bool:
    """True when `[queue] backend = celery`."""
    return (config.get("queue", "backend") or "").strip().lower() == BACKEND


def broker_url(config: Config | None, override: str | None = None) -> str:
    """The broker URL: `--broker`, else `queue.broker`; Redis only."""
    url = override or (config.get("queue", "broker") if config else None)
    if not url:
        raise ConfigError(
            "no broker is configured for the distributed queue",
            hint="pass `--broker redis://HOST:6379/0` or run `xpt config queue.broker redis://HOST:6379/0`",
        )
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"queue.broker '{url}' is not a Redis URL",
            hint="use redis://HOST:PORT/DB (Celery with a Redis broker and result backend)",
        )
    return url


def visibility_timeout(config: Config | None = None) -> float:
    """Seconds before an unacknowledged task goes to another worker.

    It must exceed the longest experiment: a task still running after it is delivered
    a second time (the result is then recorded once all the same, see celery_worker.py).
    """
    raw = os.environ.get(VISIBILITY_ENV) or (
        config.get("queue", "visibility_timeout") if config else None
    )
    if not raw:
        return DEFAULT_VISIBILITY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"queue.visibility_timeout '{raw}' is not a number of seconds",
            hint="set it to e.g. 3600",
        ) from None
    if value <= 0:
        raise ConfigError(f"queue.visibility_timeout must be positive, got '{raw}'")
    return value


def git_remote(project: Project, git: Git) -> tuple[str, str]:
    """(name or URL as configured, URL a worker can use).

    `$DVC_EXP_GIT_REMOTE`, else `exp.git_remote`, else origin: the same remote auto push uses.
    """
    name = read_settings(project.config).git_remote
    url = git.remote_url(name)
    if url is None:
        if "://" in name or os.sep in name or name.endswith(".git") or os.path.isdir(name):
            url = name
        else:
            raise ScmError(
                f"the git remote '{name}' that the distributed queue pushes to does not exist",
                hint="add it with `git remote add origin URL`, or `xpt config exp.git_remote NAME`",
            )
    return name, absolute_url(url, git.root)


def absolute_url(url: str, base: Path) -> str:
    """A local path made absolute (workers run elsewhere); other URLs unchanged."""
    if "://" in url or _is_scp_like(url):
        return url
    path = Path(os.path.expanduser(url))
    return str(path if path.is_absolute() else (base / path).resolve())


def _is_scp_like(url: str) -> bool:
    """`user@host:path` / `host:path` (git's scp syntax), not a local path."""
    head, sep, _tail = url.partition(":")
    return bool(sep) and "/" not in head and len(head) > 1


def data_remote(project: Project, name: str | None = None) -> DataRemote | None:
    """The data remote (`-r`/`core.remote`) with an absolute URL; None if none is set.

    Credentials are left out: a worker brings its own (its global DVC config or
    environment), they are not sent through the broker.
    """
    chosen = name or project.config.get("core", "remote")
    if not chosen:
        return None
    remotes = project.config.remotes()
    if chosen not in remotes or "url" not in remotes[chosen]:
        raise ConfigError(f"data remote '{chosen}' does not exist", hint="see `xpt remote list`")
    options = dict(remotes[chosen])
    url = options.pop("url")
    if "://" not in url or url.startswith("file://"):
        url = absolute_url(url.removeprefix("file://"), project.dvc_dir)
    safe = {k: v for k, v in options.items() if not any(w in k.lower() for w in _SECRET_WORDS)}
    return DataRemote(chosen, url, safe)
