"""Each on-disk name is spelled only in the module that owns it (docs/architecture.md,
"Who owns which file on disk"); every other module asks the owner for the path.

The check reads every module under ``src/xpt`` with ``ast`` and looks at its string
literals (f-string parts included; docstrings are prose and skipped). A literal that
spells an artefact's name outside the artefact's owner fails, unless ALLOWED lists it
with a reason (a user-facing message that names the file builds no path).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import xpt

ROOT = Path(xpt.__file__).resolve().parent

# (artefact, pattern searched in each literal, owner modules relative to src/xpt)
OWNERS: list[tuple[str, str, frozenset[str]]] = [
    ("queue database", r"queue\.db", frozenset({"experiments/queue_files.py"})),
    ("queue logs and workspaces", r"^(logs|ws)/?$", frozenset({"experiments/queue_files.py"})),
    ("experiment refs", r"refs/exps|^exps/", frozenset({"scm/exprefs.py"})),
    ("DVC's exec refs", r"\bEXEC_[A-Z]+\b", frozenset({"scm/exprefs.py"})),
    ("xpt's refs (queue, backup)", r"refs/xpt/", frozenset({"scm/exprefs.py"})),
    ("object layout", r"files/md5|^files$", frozenset({"cache/odb.py"})),
    ("run-cache", r"^runs/?$", frozenset({"repro/runcache.py"})),
    ("state memo", r"state\.db", frozenset({"cache/state.py"})),
    # fastpath.py imports only `os` (start-up speed): it spells the memo, the workspace
    # lock and .dvc/tmp/xpt itself, and repro/verdict.py takes the memo's name from it.
    ("verdict memo", r"verdicts\.marshal", frozenset({"fastpath.py"})),
    ("workspace lock", r"workspace\.lock", frozenset({"project.py", "fastpath.py"})),
    # config.py names its local file `.dvc/tmp/xpt/config` from the `.dvc` folder it is
    # given: project.py imports config.py, so it cannot ask Project without a cycle.
    ("xpt's state folder", r"tmp/xpt|^xpt/", frozenset({"project.py", "fastpath.py", "config.py"})),
    # repro/monitor.py places the checkpoint signal as DVC does; xpt.api (imported by the
    # user's training program) asks it and must not load the project and its config.
    (
        "DVC's tmp folder",
        r"^tmp$",
        frozenset({"project.py", "fastpath.py", "config.py", "repro/monitor.py"}),
    ),
    ("checkpoint signal file", r"^DVC_CHECKPOINT$", frozenset({"repro/monitor.py"})),
    # The names of dvc.yaml, dvc.lock, `.dvc` files and the `.dvc/` folder sit in `utils` so
    # that pipeline, cache and scm share them; their formats are pipeline/parse.py's,
    # lockfile.py's and dvcfile.py's.
    (
        "DVC's file names",
        r"(^|/)dvc\.(yaml|lock)$|^\.dvc(/|$)",
        frozenset({"utils/dvcnames.py", "fastpath.py"}),
    ),
    (".dvcignore", r"^\.dvcignore$", frozenset({"cache/ignore.py"})),
    ("default params file", r"(^|/)params\.yaml$", frozenset({"pipeline/params.py"})),
    ("tree object suffix", r"^\.dir$", frozenset({"utils/oids.py"})),
    (".gitignore", r"(^|/)\.gitignore$", frozenset({"scm/gitignore.py"})),
    ("local config file", r"(^|/)config\.local$", frozenset({"config.py"})),
    ("running workspace experiment", r"active\.json", frozenset({"experiments/active.py"})),
    ("exp apply backup manifest", r"xpt-backup-outputs", frozenset({"experiments/apply.py"})),
    ("cache quarantine", r"^quarantine$", frozenset({"cache/verify.py"})),
]

# (module, artefact, literal it may contain, reason)
ALLOWED: list[tuple[str, str, str, str]] = [
    ("cache/verify.py", "xpt's state folder", "check the permissions", "a hint naming a folder"),
    ("cli/cmd_cache.py", "cache quarantine", "quarantine", "a key of `cache verify --json`"),
    ("cli/main.py", "queue logs and workspaces", "logs", "error logs in $XDG_CACHE_HOME/xpt"),
    ("cli/parser.py", "queue logs and workspaces", "logs", "the `queue logs` command"),
    (
        "experiments/distributed/celery_worker.py",
        "queue logs and workspaces",
        "logs",
        "a distributed worker's own workdir, not a project's queue",
    ),
    (
        "experiments/distributed/submit.py",
        "xpt's refs (queue, backup)",
        "check that you may push",
        "a hint naming the refs the user must be allowed to push",
    ),
    ("repro/reproduce.py", "checkpoint signal file", "DVC_CHECKPOINT", "the environment variable"),
    ("api.py", "checkpoint signal file", "DVC_CHECKPOINT", "the environment variable"),
]


def _docstrings(tree: ast.AST) -> set[int]:
    """Strings standing alone as statements: docstrings, of modules, classes, functions
    and attributes alike."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def _literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal of a module but its docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(ROOT).as_posix(), p) for p in sorted(ROOT.rglob("*.py"))]


def spelled_outside(modules: list[tuple[str, Path]]) -> list[str]:
    """One line per literal that names an artefact outside its owner and is not allowed."""
    allowed = {(mod, what, text) for mod, what, text, _reason in ALLOWED}
    found = []
    for mod, path in modules:
        for line, text in _literals(path):
            for what, pattern, owners in OWNERS:
                if mod in owners or not re.search(pattern, text):
                    continue
                if any(m == mod and w == what and t in text for m, w, t in allowed):
                    continue
                found.append(f"{mod}:{line}: {what} {text!r} (owner: {', '.join(sorted(owners))})")
    return found


def test_each_name_is_spelled_only_by_its_owner() -> None:
    assert spelled_outside(_modules()) == []


def test_owners_exist() -> None:
    """A renamed owner must be renamed here too, or the check would pass vacuously."""
    mods = {mod for mod, _path in _modules()}
    for what, _pattern, owners in OWNERS:
        assert owners <= mods, what
    for mod, what, _text, reason in ALLOWED:
        assert mod in mods and reason, (mod, what)


def test_every_allowance_is_used() -> None:
    """An allowance nothing needs any more is removed, so the list stays small."""
    mods = dict(_modules())
    for mod, what, text, _reason in ALLOWED:
        pattern = next(p for w, p, _o in OWNERS if w == what)
        hits = [t for _line, t in _literals(mods[mod]) if text in t and re.search(pattern, t)]
        assert hits, (mod, what, text)


@pytest.mark.parametrize(
    "source",
    [
        'DB = "queue.db"',
        'def f(d):\n    return d / "files" / "md5"\n',
        'def f(sha):\n    return f"refs/xpt/queue/{sha}"\n',
    ],
)
def test_a_stray_spelling_fails(tmp_path: Path, source: str) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text(f'"""queue.db, refs/exps and files/md5 in a docstring are prose."""\n{source}')
    assert len(spelled_outside([("repro/stray.py", stray)])) == 1
