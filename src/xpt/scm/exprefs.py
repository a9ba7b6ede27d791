"""Experiment ref names, exactly as DVC lays them out (`refs/exps/<b[:2]>/<b[2:]>/<name>`).

Only the strings live here; reading and writing refs goes through `scm.git.Git`.
Internal refs (DVC's stash/exec/apply/celery/temp ones and xpt's own queue and
backup namespaces) are never experiments.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names only: the queue database asks for them without loading pygit2
    from xpt.scm.git import Git

EXPS_PREFIX = "refs/exps"
EXPS_NAMESPACE = EXPS_PREFIX + "/"

EXEC_NAMESPACE = f"{EXPS_PREFIX}/exec"
EXEC_APPLY = f"{EXEC_NAMESPACE}/EXEC_APPLY"
EXEC_CHECKPOINT = f"{EXEC_NAMESPACE}/EXEC_CHECKPOINT"
EXEC_BRANCH = f"{EXEC_NAMESPACE}/EXEC_BRANCH"
EXEC_BASELINE = f"{EXEC_NAMESPACE}/EXEC_BASELINE"
EXEC_HEAD = f"{EXEC_NAMESPACE}/EXEC_HEAD"
EXEC_MERGE = f"{EXEC_NAMESPACE}/EXEC_MERGE"
APPLY_STASH = f"{EXPS_PREFIX}/apply/stash"
APPLY_ORIG_HEAD = f"{EXPS_PREFIX}/apply/ORIG_HEAD"
WORKSPACE_STASH = f"{EXPS_PREFIX}/stash"
CELERY_STASH = f"{EXPS_PREFIX}/celery/stash"
CELERY_FAILED = f"{EXPS_PREFIX}/celery/failed"

XPT_QUEUE_PREFIX = "refs/xpt/queue/"
XPT_BACKUP_PREFIX = "refs/xpt/backup/"

# second path component of refs/exps/... refs that are not experiments
INTERNAL_NAMESPACES = frozenset({"apply", "celery", "exec", "temp", "stash"})

_HEX = frozenset(string.hexdigits.lower())


@dataclass(frozen=True)
class ExpRef:
    """One experiment: the full sha of its baseline commit and its name."""

    baseline: str
    name: str

    @property
    def ref(self) -> str:
        return f"{EXPS_PREFIX}/{self.baseline[:2]}/{self.baseline[2:]}/{self.name}"

    @property
    def baseline_prefix(self) -> str:
        return baseline_prefix(self.baseline)

    def __str__(self) -> str:
        return self.ref

    @staticmethod
    def parse(ref: str) -> ExpRef | None:
        """The experiment a ref names; None for internal or malformed refs."""
        parts = ref.split("/")
        if len(parts) != 5 or parts[0] != "refs" or parts[1] != "exps":
            return None
        if parts[2] in INTERNAL_NAMESPACES or len(parts[2]) != 2 or not parts[4]:
            return None
        baseline = parts[2] + parts[3]
        if len(baseline) not in (40, 64) or not set(baseline) <= _HEX:
            return None
        return ExpRef(baseline, parts[4])


def baseline_prefix(baseline: str) -> str:
    """`refs/exps/<b[:2]>/<b[2:]>/`: the prefix of every experiment of `baseline`."""
    return f"{EXPS_PREFIX}/{baseline[:2]}/{baseline[2:]}/"


def exps_namespace_tips(git: Git) -> set[str]:
    """Tips of every ref under `refs/exps/` except DVC's `exec/` ones (`--all-experiments`)."""
    return {sha for name, sha in git.list_refs(EXPS_NAMESPACE).items() if "/exec/" not in name}


def list_experiments(git: Git, baseline: str | None = None) -> list[tuple[ExpRef, str]]:
    """(experiment, tip sha) of every experiment, or of one baseline, sorted by ref."""
    prefix = baseline_prefix(baseline) if baseline else EXPS_NAMESPACE
    out: list[tuple[ExpRef, str]] = []
    for name, sha in sorted(git.list_refs(prefix).items()):
        exp = ExpRef.parse(name)
        if exp is not None:
            out.append((exp, sha))
    return out
