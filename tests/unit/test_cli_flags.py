"""No flag is parsed and then ignored (issue 18).

Every argument `cli/parser.py` defines for a command is either read by that command's
handler (`args.<dest>` or `getattr(args, "<dest>")` in the handler or in the `cli/`
functions it calls, found by walking their source) or refused with one clear `ERROR:`
line through `cli/ui.py:refuse`. The refused flags are listed here on purpose, and each
one is run to check the refusal.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import xpt.cli
from xpt.cli.parser import build_parser

CLI = Path(xpt.cli.__file__).parent

# dests every command has (argparse and cli/main.py's own), not the handler's business
_COMMON = {"help", "handler", "command", "quiet", "verbose", "cd", "group_parser", "version"}

# A flag whose whole effect lies outside its handler; keep this list short and say why.
HONOURED_ELSEWHERE = {
    ("exp show", "force"): "DVC's -f skips its experiment cache; fastpath.memo_key never "
    "memoises a command line with -f, so every `exp show -f` collects afresh",
    ("metrics show", "recursive"): "DVC 3 reads a folder target whole with or without -R; "
    "so does experiments/collect.target_metrics",
    ("metrics diff", "recursive"): "as for metrics show",
}

# command -> the flags its handler refuses (cli/ui.py:refuse), with a command line each
REFUSED: dict[str, dict[str, list[str]]] = {
    "dag": {"--outs": ["dag", "--outs"]},
    "exp save": {
        "targets": ["exp", "save", "dvc.yaml"],
        "--recursive": ["exp", "save", "-R"],
    },
    "exp rename": {"--git-remote": ["exp", "rename", "-g", "origin", "a", "b"]},
    "data status": {
        "--not-in-remote": ["data", "status", "--not-in-remote"],
        "--remote": ["data", "status", "-r", "store"],
        "--no-remote-refresh": ["data", "status", "--no-remote-refresh"],
    },
    "import": {
        "--config": ["import", "src", "data", "--config", "c"],
        "--remote": ["import", "src", "data", "--remote", "r"],
        "--remote-config": ["import", "src", "data", "--remote-config"],
        "--jobs": ["import", "src", "data", "-j", "2"],
    },
    "get": {
        "--config": ["get", "src", "data", "--config", "c"],
        "--remote": ["get", "src", "data", "--remote", "r"],
        "--remote-config": ["get", "src", "data", "--remote-config", "a=b"],
        "--jobs": ["get", "src", "data", "-j", "2"],
    },
    "import-url": {
        "--to-remote": ["import-url", "src", "--to-remote"],
        "--remote": ["import-url", "src", "-r", "store"],
        "--version-aware": ["import-url", "src", "--version-aware"],
        "--jobs": ["import-url", "src", "-j", "2"],
    },
    "get-url": {"--jobs": ["get-url", "src", "-j", "2"]},
    "update": {
        "--to-remote": ["update", "x.dvc", "--to-remote"],
        "--remote": ["update", "x.dvc", "-r", "store"],
        "--jobs": ["update", "x.dvc", "-j", "2"],
    },
}


def _leaves(
    parser: argparse.ArgumentParser, path: str = ""
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    handler = parser.get_default("handler")
    if handler and not subs:
        yield path, handler, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, f"{path} {name}".strip())


class _Module:
    """One `cli/cmd_*.py` module's functions, the `xpt.cli` names it imports, and its
    module-level tuples of strings (names a handler may loop over with getattr)."""

    def __init__(self, name: str) -> None:
        tree = ast.parse((CLI / f"{name}.py").read_text(encoding="utf-8"))
        self.functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        self.imported: dict[str, tuple[str, str]] = {}
        self.modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "xpt.cli":
                self.modules |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xpt.cli."):
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = (node.module[8:], alias.name)
        self.constants: dict[str, list[str]] = {}
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Tuple | ast.List)
                and all(isinstance(e, ast.Constant) for e in node.value.elts)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.constants[target.id] = [e.value for e in node.value.elts]  # type: ignore[attr-defined]


_MODULES: dict[str, _Module] = {}


def _module(name: str) -> _Module:
    if name not in _MODULES:
        _MODULES[name] = _Module(name)
    return _MODULES[name]


def _is_args(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "args"


def _uses(module: str, function: str, seen: set[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """(dests read, flags refused) by `module.function` and the cli functions it calls."""
    read: set[str] = set()
    refused: set[str] = set()
    if (module, function) in seen:
        return read, refused
    seen.add((module, function))
    mod = _module(module)
    fn = mod.functions.get(function)
    if fn is None:
        return read, refused
    loops = {
        c.target.id: c.iter.id
        for c in ast.walk(fn)
        if isinstance(c, ast.comprehension | ast.For)
        and isinstance(c.target, ast.Name)
        and isinstance(c.iter, ast.Name)
    }
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and _is_args(node.value):
            read.add(node.attr)
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        if isinstance(callee, ast.Name) and callee.id == "getattr" and _is_args(node.args[0]):
            name = node.args[1]
            if isinstance(name, ast.Constant):
                read.add(name.value)
            elif isinstance(name, ast.Name) and loops.get(name.id) in mod.constants:
                read |= set(mod.constants[loops[name.id]])
        if isinstance(callee, ast.Name) and callee.id == "refuse" and _is_args(node.args[0]):
            refused |= {a.value for a in node.args[1:] if isinstance(a, ast.Constant)}
        target: tuple[str, str] | None = None
        if isinstance(callee, ast.Name) and callee.id in mod.functions:
            target = (module, callee.id)
        elif isinstance(callee, ast.Name) and callee.id in mod.imported:
            target = mod.imported[callee.id]
        elif (
            isinstance(callee, ast.Attribute)
            and isinstance(callee.value, ast.Name)
            and callee.value.id in mod.modules
        ):
            target = (callee.value.id, callee.attr)
        if target is not None:
            more_read, more_refused = _uses(*target, seen)
            read |= more_read
            refused |= more_refused
    return read, refused


def _flag(action: argparse.Action) -> str:
    longs = [o for o in action.option_strings if o.startswith("--")]
    return longs[0] if longs else (action.option_strings or [action.dest])[0]


def _audit() -> tuple[list[str], dict[str, set[str]]]:
    """(flags neither read nor refused, {command: flags refused})."""
    ignored: list[str] = []
    refused_by: dict[str, set[str]] = {}
    leaves = list(_leaves(build_parser()))
    assert len(leaves) > 40  # the whole tree was built
    for command, handler, parser in leaves:
        module, _, function = handler.partition(":")
        read, refused = _uses(module.rpartition(".")[2], function, set())
        if refused:
            refused_by[command] = refused
        for action in parser._actions:
            dest = action.dest
            if dest in _COMMON or dest == argparse.SUPPRESS or dest in read:
                continue
            flag = _flag(action)
            if flag in refused or (command, dest) in HONOURED_ELSEWHERE:
                continue
            ignored.append(f"xpt {command} {flag} (args.{dest}, handler {handler})")
    return ignored, refused_by


def test_every_parsed_flag_is_read_or_refused() -> None:
    ignored, refused_by = _audit()
    assert not ignored, "flags parsed but never read nor refused:\n" + "\n".join(ignored)
    listed = {command: set(flags) for command, flags in REFUSED.items()}
    assert refused_by == listed, "refused flags changed: update REFUSED (and the docs)"


def test_the_audit_sees_an_ignored_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag added to the parser and read nowhere fails the audit."""
    from xpt.cli import parser as parser_module

    original = parser_module._data_status_command

    def with_an_ignored_flag(b):  # type: ignore[no-untyped-def]
        original(b)
        st = b.subparsers.choices["status"]
        st.add_argument("--ignored-on-purpose", action="store_true")

    monkeypatch.setattr(parser_module, "_data_status_command", with_an_ignored_flag)
    ignored, _ = _audit()
    assert [i for i in ignored if "--ignored-on-purpose" in i] == [
        "xpt data status --ignored-on-purpose (args.ignored_on_purpose, "
        "handler xpt.cli.cmd_tracked:data_status)"
    ]


CASES = [
    pytest.param(command, flag, argv, id=f"{command} {flag}")
    for command, flags in REFUSED.items()
    for flag, argv in flags.items()
]


@pytest.mark.parametrize(("command", "flag", "argv"), CASES)
def test_a_refused_flag_says_so_in_one_line(project, xpt, command, flag, argv) -> None:  # type: ignore[no-untyped-def]
    res = xpt(*argv, ok=False)
    assert res.rc == 1
    shown = flag if flag.startswith("-") else f"with {flag.upper()}"
    lines = res.err.splitlines()
    assert lines[0] == f"ERROR: xpt {command} {shown} is not supported", res.err
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert not res.out
