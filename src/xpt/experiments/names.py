"""Experiment names: validity, the default `exp-XXXXX` name, and name -> ref resolution.

A name becomes the last component of `refs/exps/<b[:2]>/<b[2:]>/<name>`, so it must be
a valid git ref component; names equal to a branch, a tag or `HEAD` are refused too,
because `exp apply master` would otherwise be ambiguous (DVC lets the git rev win).
"""

from __future__ import annotations

import difflib
import secrets
import string
from collections.abc import Collection

from xpt.errors import AmbiguousName, InvalidName, UnknownExperiment, XptError
from xpt.scm.exprefs import EXPS_NAMESPACE, ExpRef, list_experiments
from xpt.scm.git import Git

FORBIDDEN_CHARS = "~^:?*[\\"
DEFAULT_PREFIX = "exp-"
_HEX = frozenset(string.hexdigits.lower())
_MAX_CHAIN = 10_000
MAX_NAME_BYTES = 250
"""A name is a file name in `.git/refs/`, and git writes `<name>.lock` first: file systems
stop at 255 bytes, so 250 is the longest name git can store as a loose ref."""


def default_name(exp_hash: str) -> str:
    """`exp-` + the first 5 hex digits of the experiment hash (the DVC 2.x style)."""
    return DEFAULT_PREFIX + exp_hash[:5]


def auto_name(git: Git, baseline: str, taken: Collection[str] = ()) -> str:
    """A fresh `exp-XXXXX` name, chosen before the run: no experiment of `baseline`, and
    none of `taken` (names queued or being given in the same call), has it."""
    from xpt.scm.exprefs import baseline_prefix

    used = set(taken)
    used.update(ref.rsplit("/", 1)[-1] for ref in git.list_refs(baseline_prefix(baseline)))
    while True:
        name = DEFAULT_PREFIX + secrets.token_hex(3)[:5]
        if name not in used:
            return name


def _problem(name: str) -> str | None:
    """What makes `name` unusable as a ref component, or None."""
    if not name:
        return "it is empty"
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_NAME_BYTES:
        return f"it is {size} bytes long (at most {MAX_NAME_BYTES})"
    if "/" in name:
        return "it contains '/'"
    if any(c.isspace() for c in name):
        return "it contains whitespace"
    bad = sorted({c for c in name if c in FORBIDDEN_CHARS})
    if bad:
        return "it contains " + ", ".join(f"'{c}'" for c in bad)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "it contains control characters"
    if ".." in name:
        return "it contains '..'"
    if "@{" in name:
        return "it contains '@{'"
    if name == "@":
        return "it is '@'"
    if name.startswith("."):
        return "it starts with '.'"
    if name.endswith("."):
        return "it ends with '.'"
    if name.endswith(".lock"):
        return "it ends with '.lock'"
    if not Git.check_ref_format(f"{EXPS_NAMESPACE}00/{'0' * 38}/{name}"):
        return "git rejects it"
    return None


def validate_name(git: Git, name: str) -> None:
    """Raise InvalidName unless `name` can be an experiment name in this repository."""
    problem = _problem(name)
    if problem is not None:
        raise InvalidName(
            f"invalid experiment name '{name}': {problem}; names must be valid git ref components",
            hint="use letters, digits, '-', '_' and '.' (see `git check-ref-format`)",
        )
    if name == "HEAD":
        raise InvalidName(
            "invalid experiment name 'HEAD': it shadows git's HEAD",
            hint="choose another name with `-n`",
        )
    for kind, names in (("branch", git.branches()), ("tag", git.tags())):
        if name in names:
            raise InvalidName(
                f"invalid experiment name '{name}': a git {kind} has that name",
                hint="choose another name with `-n` (git revisions win over experiment names)",
            )


def resolve(git: Git, name_or_rev: str, *, baseline: str | None) -> ExpRef:
    """The experiment named by a full ref, a name, or a (short) sha of one of its commits.

    A name present under several baselines resolves to the one of `baseline` (usually
    HEAD); otherwise it is ambiguous and the full refs are listed.
    """
    target = name_or_rev.strip()
    exps = list_experiments(git)
    if target.startswith("refs/"):
        return _by_full_ref(target, exps)
    named = [ref for ref, _sha in exps if ref.name == target]
    if named:
        return _pick(target, named, baseline)
    if 4 <= len(target) <= 64 and set(target.lower()) <= _HEX:
        found = _by_sha(git, target.lower(), exps)
        if found:
            return _pick(target, found, baseline)
    raise _unknown(target, exps)


def resolve_rev(git: Git, rev: str) -> str:
    """The commit sha of an experiment (name, ref or sha) or, failing that, a git revision."""
    try:
        ref = resolve(git, rev, baseline=git.head_sha())
        sha = git.get_ref(ref.ref)
        if sha:
            return sha
    except UnknownExperiment:
        pass
    sha = git.resolve(rev)
    if sha is None:
        raise XptError(
            f"unknown revision or experiment '{rev}'", hint="see `xpt exp list` or `git log`"
        )
    return sha


def _by_full_ref(target: str, exps: list[tuple[ExpRef, str]]) -> ExpRef:
    for ref, _sha in exps:
        if ref.ref == target:
            return ref
    raise _unknown(target, exps)


def _pick(target: str, candidates: list[ExpRef], baseline: str | None) -> ExpRef:
    unique = sorted(set(candidates), key=lambda r: r.ref)
    if len(unique) == 1:
        return unique[0]
    mine = [r for r in unique if baseline and r.baseline == baseline]
    if len(mine) == 1:
        return mine[0]
    listing = ", ".join(r.ref for r in unique)
    raise AmbiguousName(
        f"experiment '{target}' is ambiguous: {listing}",
        hint="pass the full ref (e.g. `" + unique[0].ref + "`)",
    )


def _by_sha(git: Git, prefix: str, exps: list[tuple[ExpRef, str]]) -> list[ExpRef]:
    """Experiments whose tip, or else any commit of their chain, starts with `prefix`."""
    tips = [ref for ref, sha in exps if sha.startswith(prefix)]
    if tips:
        return tips
    found: list[ExpRef] = []
    for ref, sha in exps:
        commit: str | None = sha
        for _ in range(_MAX_CHAIN):
            if commit is None or commit == ref.baseline:
                break
            if commit.startswith(prefix):
                found.append(ref)
                break
            parents = git.commit_info(commit).parents
            commit = parents[0] if parents else None
    return found


def _unknown(target: str, exps: list[tuple[ExpRef, str]]) -> UnknownExperiment:
    names = sorted({ref.name for ref, _sha in exps})
    close = difflib.get_close_matches(target, names, n=3, cutoff=0.6)
    hint = "see `xpt exp list --all-commits`"
    if close:
        hint = "did you mean " + ", ".join(f"'{n}'" for n in close) + "? " + hint
    return UnknownExperiment(f"experiment '{target}' does not exist", hint=hint)
