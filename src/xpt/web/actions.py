"""The page's actions, each one call of the core function the CLI uses for the same verb.

Every function takes the JSON body the page posted, checks its shape (`BadRequest`
names the field) and returns a JSON-ready result. Errors of the core functions
(`XptError`) go through unchanged; the server turns them into 4xx answers.
"""

from __future__ import annotations

from typing import Any

from xpt.errors import XptError
from xpt.project import Project


class BadRequest(XptError):
    """A malformed request body or query (HTTP 400)."""


def _str(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{key}' must be a non-empty string")
    return value.strip()


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadRequest(f"'{key}' must be a list of non-empty strings")
    return list(value)


def queue_experiment(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    """`exp run --queue -S …… [-n NAME]`."""
    from xpt.experiments.queue import enqueue
    from xpt.experiments.run import ExpRunRequest

    params = _strings(body, "params")
    request = ExpRunRequest(set_params=tuple(params), name=_str(body, "name", required=False))
    result = enqueue(project, request)
    return {"queued": [e.label for e in result.entries], "left_out": list(result.left_out)}


def start_queue(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    """`queue start -j N`."""
    from xpt.experiments.local_worker import spawn_workers

    jobs = body.get("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 64:
        raise BadRequest("'jobs' must be an integer from 1 to 64")
    return {"pid": spawn_workers(project, jobs), "jobs": jobs}


def stop_queue(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    """`queue stop [--kill]`."""
    from xpt.experiments.local_worker import stop_queue as do_stop

    kill = body.get("kill", False)
    if not isinstance(kill, bool):
        raise BadRequest("'kill' must be true or false")
    return {"workers": do_stop(project, kill=kill), "killed": kill}


def apply(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    """`exp apply NAME`."""
    from xpt.experiments.apply import apply_experiment

    result = apply_experiment(project, _str(body, "experiment") or "")
    return {
        "applied": result.name,
        "backup_ref": result.backup_ref,
        "missing_outputs": list(result.missing_outputs),
    }


def branch(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    """`exp branch NAME [BRANCH]`."""
    from xpt.experiments.manage import branch as do_branch

    name, sha = do_branch(
        project, _str(body, "experiment") or "", _str(body, "branch", required=False)
    )
    return {"branch": name, "sha": sha}


def remove(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    """`exp remove NAME…` (queued entries included)."""
    from xpt.experiments.manage import RemoveRequest
    from xpt.experiments.queue import remove_experiments

    names = _strings(body, "experiments")
    if not names:
        raise BadRequest("'experiments' must name at least one experiment")
    return {"removed": remove_experiments(project, RemoveRequest(names=tuple(names)))}


ACTIONS = {
    "queue": queue_experiment,
    "queue-start": start_queue,
    "queue-stop": stop_queue,
    "apply": apply,
    "branch": branch,
    "remove": remove,
}
