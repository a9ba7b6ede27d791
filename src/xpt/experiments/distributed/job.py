"""The job of a distributed worker for one experiment: fetch, run, push.

It runs in the experiment's own process (see celery_worker.py), in the worker's clone of
the git remote (`<workdir>/repos/<key>`, created on first use): it fetches the
snapshot and the experiments already recorded for its baseline, pulls the data the
snapshot needs, runs it with the local queue's executor (an isolated workspace that
shares the clone's objects and cache), pushes the outputs to the data remote and
then the experiment ref to the git remote.

Exactly once: the ref is pushed without force. If the remote already has it with the
same tree (a second delivery of the task), nothing new is recorded and the job
reports the remote's commit; another tree under the same name is an error.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xpt.cache.odb import object_relpath
from xpt.cache.remote_backends import Remote, open_remote
from xpt.errors import ExperimentError, ExperimentExists, RemoteError, ScmError
from xpt.experiments.distributed.payload import TaskPayload
from xpt.experiments.executor import run_isolated
from xpt.experiments.queue_db import Entry, State
from xpt.experiments.queue_files import ensure_dirs
from xpt.experiments.show import checkpoint_chain
from xpt.project import Project
from xpt.repro.transfer.sync import Oid, fetch, outputs_at, push
from xpt.scm.exprefs import ExpRef, baseline_prefix
from xpt.scm.git import Git
from xpt.utils.dvcnames import is_dvcyaml
from xpt.utils.lock import file_lock


def execute(payload: TaskPayload, workdir: Path) -> dict[str, Any]:
    """Fetch, run, push one experiment in the worker's clone of the git remote."""
    clone = ensure_clone(workdir, payload.git_remote)
    git = Git(clone.root)
    with _clone_lock(clone):
        fetch_snapshot(git, payload)
    _use_submitter_identity(git, payload.snapshot)
    remote = _data_remote(payload, clone)
    label = payload.name or payload.snapshot[:7]
    print(
        f"Running experiment '{label}' from snapshot {payload.snapshot[:7]} on {socket.gethostname()}",
        flush=True,
    )
    _pull_data(clone, git, payload.snapshot, remote)
    entry = Entry(
        id=os.getpid(),
        name=payload.name,
        baseline=payload.baseline,
        snapshot=payload.snapshot,
        state=State.RUNNING,
        created=time.time(),
        options={**payload.options, "copy_paths": []},
    )
    result = run_isolated(clone, entry)
    _push_data(clone, git, result.sha, payload.baseline, remote)
    force = bool((payload.options.get("repro") or {}).get("force"))
    with _clone_lock(clone):
        sha, recorded = push_result(git, payload.git_remote, result.ref, result.sha, force=force)
    note = "" if recorded else " (already recorded by an earlier delivery; nothing new)"
    print(f"\nRan experiment(s): {result.ref.name}{note}", flush=True)
    return {
        "ref": result.ref.ref,
        "name": result.ref.name,
        "sha": sha,
        "recorded": recorded,
        "worker": socket.gethostname(),
    }


def ensure_clone(workdir: Path, url: str) -> Project:
    """The worker's repository for git remote `url` (made on first use), as a Project."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    root = workdir / "repos" / key
    with file_lock(str(workdir / "repos" / f"{key}.lock"), f"the clone of {url}", timeout=600):
        if not (root / ".git").is_dir():
            _init_repo(root)
            (root / ".git" / "xpt-remote-url").write_text(url + "\n", encoding="utf-8")
        ensure_dirs(Project(root).xpt_dir)
    return Project(root)


def _init_repo(root: Path) -> None:
    """An empty repository with a work tree (the clone is filled by fetches only).

    TODO(lead): move into scm/git.py as `Git.init(path)`; kept here so that this
    package needs no change in another module.
    """
    import pygit2

    try:
        root.mkdir(parents=True, exist_ok=True)
        repo = pygit2.init_repository(str(root), bare=False, initial_head="main")
        repo.config["gc.auto"] = "0"
    except (pygit2.GitError, OSError) as exc:
        raise ScmError(f"cannot create the worker's repository '{root}': {exc}") from exc


@contextmanager
def _clone_lock(clone: Project) -> Iterator[None]:
    """Serialise ref fetches and pushes of the experiments sharing one clone."""
    with file_lock(str(clone.root / ".git" / "xpt-network.lock"), "the worker clone", 600):
        yield


def fetch_snapshot(git: Git, payload: TaskPayload) -> None:
    """Fetch the snapshot and the experiments already recorded for its baseline."""
    ref = payload.snapshot_ref
    prefix = baseline_prefix(payload.baseline)
    try:
        git.fetch(payload.git_remote, [f"+{ref}:{ref}", f"+{prefix}*:{prefix}*"])
    except ScmError as exc:
        if ref not in git.ls_remote(payload.git_remote, ref):
            raise ExperimentError(
                f"the queued snapshot '{ref}' is missing on git remote '{payload.git_remote}'",
                hint="it was removed (`xpt queue remove`) or never pushed: queue the experiment again",
            ) from exc
        raise
    got = git.get_ref(ref)
    if got != payload.snapshot:
        raise ExperimentError(
            f"'{ref}' on git remote '{payload.git_remote}' points at {str(got)[:7]},"
            f" not at the queued snapshot {payload.snapshot[:7]}",
            hint="queue the experiment again",
        )


def _use_submitter_identity(git: Git, snapshot: str) -> None:
    """Experiment commits carry the identity of whoever queued them (no worker setup)."""
    info = git.commit_info(snapshot)
    for kind in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{kind}_NAME", info.author)
        os.environ.setdefault(f"GIT_{kind}_EMAIL", info.author_email)


def _data_remote(payload: TaskPayload, clone: Project) -> Remote | None:
    spec = payload.data_remote
    if spec is None:
        return None
    options = {**clone.config.remotes().get(spec.name, {}), **spec.options}
    return open_remote(spec.url, options, clone.dvc_dir)


def _objects_at(git: Git, sha: str) -> set[Oid]:
    dvcfiles = [p for p in git.list_tree(sha) if is_dvcyaml(p)]
    return outputs_at(git.reader(sha), dvcfiles)


def _pull_data(clone: Project, git: Git, snapshot: str, remote: Remote | None) -> None:
    """Bring the cached data the snapshot's lock files name (missing ones are warned)."""
    oids = _objects_at(git, snapshot)
    if not oids:
        return
    if remote is None:
        print("WARNING: no data remote was given; cached data of the snapshot is not pulled")
        return
    res = fetch(clone, remote, oids)
    for md5, why in sorted(res.failed.items()):
        print(f"WARNING: could not pull {md5}: {why}", flush=True)


def _push_data(clone: Project, git: Git, sha: str, baseline: str, remote: Remote | None) -> None:
    """Push the outputs of every commit of the experiment; refuse to go on if any fails."""
    oids: set[Oid] = set()
    for commit in checkpoint_chain(git, sha, baseline):
        oids |= _objects_at(git, commit)
    if not oids:
        return
    if remote is None:
        print("WARNING: no data remote was given; the outputs stay on this worker", flush=True)
        return
    res = push(clone, remote, oids)
    failed = {
        md5: why
        for md5, why in res.failed.items()
        if not (remote.exists(object_relpath(md5)) or remote.exists(object_relpath(md5, True)))
    }
    if failed:
        md5, why = sorted(failed.items())[0]
        raise RemoteError(
            f"could not push {len(failed)} output object(s) to data remote '{remote.url}'"
            f" (first: {md5}: {why})",
            hint="check the data remote from the worker machine; the task can be queued again",
        )


def push_result(git: Git, url: str, ref: ExpRef, sha: str, *, force: bool) -> tuple[str, bool]:
    """Push the experiment ref; (the remote's commit, whether this run recorded it).

    A rejected push means another delivery recorded the experiment first: the same
    tree is the same result (nothing new is recorded), another tree is an error.
    """
    status = git.push(url, [f"{sha}:{ref.ref}"], force=force).get(ref.ref)
    if status in ("new", "updated", "forced"):
        return sha, True
    if status == "up-to-date":
        return sha, False
    if status != "rejected":
        raise ScmError(f"git push of '{ref.ref}' to '{url}' gave no status", hint="retry")
    git.fetch(url, [f"+{ref.ref}:{ref.ref}"])
    theirs = git.get_ref(ref.ref)
    if theirs is not None and git.commit_info(theirs).tree == git.commit_info(sha).tree:
        return theirs, False
    raise ExperimentExists(
        f"experiment '{ref.name}' is already on git remote '{url}' with different results",
        hint="queue it again under another name (`-n`), or with `-f` to overwrite it",
    )
