"""No scaffolding that looks real (issue 18): no `ImportError` guard around xpt's own
modules (a broken module must fail loudly, not behave as if an extra were missing), and
every "§N" a comment cites is a section of docs/dvc-formats.md, named on the same line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import xpt

SRC = Path(xpt.__file__).parent
FORMATS = SRC.parents[1] / "docs" / "dvc-formats.md"
_GUARDS = {"ImportError", "ModuleNotFoundError"}


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    return any(isinstance(n, ast.Name) and n.id in _GUARDS for n in names)


def _own_imports(body: list[ast.stmt]) -> list[str]:
    found = []
    for node in (n for stmt in body for n in ast.walk(stmt)):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").startswith("xpt")
        ):
            found.append(node.module or ".")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "xpt"]
    return found


def test_no_import_error_guard_around_xpt_modules() -> None:
    guarded = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
                guarded += [
                    f"{path.relative_to(SRC)}:{node.lineno}: {m}" for m in _own_imports(node.body)
                ]
    assert not guarded, "xpt modules imported under an ImportError guard:\n" + "\n".join(guarded)


def test_section_citations_name_docs_dvc_formats() -> None:
    sections = set(re.findall(r"^#+ (\d+(?:\.\d+)*)\b", FORMATS.read_text(), re.MULTILINE))
    assert {"4", "4.2", "9.5"} <= sections  # the headings were read
    bad = []
    for path in _modules():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for cited in re.findall(r"§\s*(\d+(?:\.\d+)*)", line):
                if "docs/dvc-formats.md" not in line or cited not in sections:
                    bad.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not bad, "citations that are not a section of docs/dvc-formats.md:\n" + "\n".join(bad)
