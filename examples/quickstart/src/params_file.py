"""Read params.yaml with the standard library only (the subset this project uses).

Supports nested mappings by indentation, `# comments`, and int/float/bool/str scalars.
A real project would use `yaml.safe_load`; this example ships with no dependencies.
"""

from __future__ import annotations

from typing import Any


def _scalar(text: str) -> Any:
    text = text.strip().strip("'\"")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def load(path: str = "params.yaml") -> dict[str, Any]:
    """Parse `path` into nested dicts."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split(" #")[0].rstrip()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            indent = len(line) - len(line.lstrip())
            key, _, value = line.strip().partition(":")
            while indent <= stack[-1][0]:
                stack.pop()
            parent = stack[-1][1]
            if value.strip():
                parent[key] = _scalar(value)
            else:
                parent[key] = {}
                stack.append((indent, parent[key]))
    return root
