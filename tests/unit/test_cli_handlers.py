"""Every command in the CLI tree dispatches to a function that exists.

`cli/main.py` imports a handler only when its command runs, so a misspelt module or
function would surface only in the hands of a user; this walks the whole tree instead.
"""

from __future__ import annotations

import argparse
import importlib

from xpt.cli.parser import build_parser


def _handlers(parser: argparse.ArgumentParser, path: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    handler = parser.get_default("handler")
    if handler:
        found[path] = handler
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_handlers(sub, f"{path} {name}".strip()))
    return found


def test_every_command_has_an_importable_handler() -> None:
    handlers = _handlers(build_parser())
    assert len(handlers) > 40  # the whole tree was built, not one branch
    broken = []
    for command, handler in sorted(handlers.items()):
        module_name, _, func_name = handler.partition(":")
        func = getattr(importlib.import_module(module_name), func_name, None)
        if not callable(func):
            broken.append(f"xpt {command}: {handler}")
    assert not broken, "commands whose handler does not exist:\n" + "\n".join(broken)
