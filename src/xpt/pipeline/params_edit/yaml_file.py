"""YAML params files edited round-trip through ruamel.yaml, comments included.

Imported only when a YAML file is edited: ruamel.yaml takes ~12 ms to import.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from xpt.errors import ParamsError
from xpt.pipeline.params_edit.apply import ABSENT, decode, one_line

if TYPE_CHECKING:
    from xpt.pipeline.override_values import Override


class YamlFile:
    """Round-trip YAML: comments, blank lines, key order, quotes, flow style, indentation.

    ruamel keeps the comment lines that follow a value with that value; when a value
    is replaced or deleted those lines are moved along, so that they stay in front of
    the key they describe.
    """

    def __init__(self, path: str, data: bytes | None) -> None:
        text = decode(data, path) if data is not None else ""
        self.yaml = YAML(typ="rt", pure=True)
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-fold long lines the user wrote on one line
        indent, seq_offset, root = 2, 0, None
        if text.strip():
            try:
                _, guessed, offset = load_yaml_guess_indent(text)
                root = self.yaml.load(text)
            except MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                where = f"{mark.line + 1}:{mark.column + 1}: " if mark is not None else ""
                what = exc.problem or exc.context or "invalid YAML"
                raise ParamsError(f"params file '{path}': {where}{what}") from exc
            except YAMLError as exc:
                raise ParamsError(f"params file '{path}': invalid YAML: {one_line(exc)}") from exc
            indent, seq_offset = guessed or 2, offset or 0
        # a file holding only comments loads as nothing: keep its text above the new keys
        self.prefix = text if root is None and text.strip() else ""
        if self.prefix and not self.prefix.endswith("\n"):
            self.prefix += "\n"
        self.yaml.indent(mapping=indent, sequence=seq_offset + 2, offset=seq_offset)
        self.yaml.explicit_start = text.lstrip().startswith("---")
        self.root = CommentedMap() if root is None else root
        if not isinstance(self.root, CommentedMap):
            raise ParamsError(f"params file '{path}': the top level must be a mapping")

    @staticmethod
    def prepare(o: Override) -> Override:
        return o

    @staticmethod
    def assign(parent: Any, key: Any, value: Any, old: Any) -> None:
        fresh = _commented(value)
        if _is_flow(old) and isinstance(fresh, CommentedMap | CommentedSeq):
            fresh.fa.set_flow_style()
        moved: CommentToken | str | None = None
        if old is ABSENT and isinstance(parent, CommentedMap) and len(parent):
            moved = _take_following(parent, list(parent)[-1])  # they stay at the end
        elif old is not ABSENT and _is_block(old):
            moved = _following(_take_tail(parent, key))  # its last EOL comment goes with it
        elif old is not ABSENT and _is_block(fresh):
            moved = _take_tail(parent, key)  # the value's own comment moves below it
        parent[key] = fresh
        if moved:
            _add_tail(parent, key, moved)

    @staticmethod
    def delete(parent: Any, key: Any) -> None:
        keys = list(parent) if isinstance(parent, CommentedMap) else list(range(len(parent)))
        at = keys.index(key)
        moved = _following(_take_tail(parent, key))
        del parent[key]
        if not moved:
            return
        if at > 0:
            _add_tail(parent, keys[at - 1], moved)
        else:
            comment = parent.ca.comment or [None, []]
            comment[1] = [*(comment[1] or []), CommentToken(moved, CommentMark(0), None)]
            parent.ca.comment = comment

    def dump(self) -> bytes:
        buf = io.StringIO()
        self.yaml.dump(self.root, buf)
        return (self.prefix + buf.getvalue()).encode("utf-8")


def _commented(value: Any) -> Any:
    """Plain dicts/lists as ruamel nodes, so that comments can be attached to them."""
    if isinstance(value, dict):
        return CommentedMap((k, _commented(v)) for k, v in value.items())
    if isinstance(value, list):
        return CommentedSeq(_commented(v) for v in value)
    return value


def _is_flow(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and bool(node.fa.flow_style())


def _is_block(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0 and not _is_flow(node)


def _holder(parent: Any, key: Any) -> tuple[Any, Any, int]:
    """(container, key, slot) of the comment that follows the last line of `parent[key]`."""
    while _is_block(parent[key]):
        parent = parent[key]
        key = list(parent)[-1] if isinstance(parent, CommentedMap) else len(parent) - 1
    return parent, key, 2 if isinstance(parent, CommentedMap) else 0


def _take_tail(parent: Any, key: Any) -> CommentToken | None:
    """Detach the comment (end-of-line part and following lines) after `parent[key]`."""
    node, k, slot = _holder(parent, key)
    entry = node.ca.items.get(k)
    token = entry[slot] if entry else None
    if entry:
        entry[slot] = None
    return token


def _take_following(parent: Any, key: Any) -> str:
    """Detach only the full comment lines after `parent[key]`; its EOL comment stays."""
    node, k, slot = _holder(parent, key)
    entry = node.ca.items.get(k)
    if not entry or entry[slot] is None:
        return ""
    eol, _, rest = str(entry[slot].value).partition("\n")
    if eol:
        entry[slot].value = eol + "\n"
    else:
        entry[slot] = None
    return rest


def _following(token: CommentToken | None) -> str:
    """A comment's full lines after its end-of-line part."""
    return str(token.value).partition("\n")[2] if token is not None else ""


def _add_tail(parent: Any, key: Any, moved: CommentToken | str) -> None:
    """Put a detached comment token, or following comment lines, after `parent[key]`."""
    node, k, slot = _holder(parent, key)
    entry = node.ca.items.setdefault(k, [None, None, None, None])
    current = entry[slot]
    if isinstance(moved, CommentToken):
        if current is not None:
            moved.value = str(moved.value) + _following(current)
        entry[slot] = moved
    elif current is None:
        entry[slot] = CommentToken("\n" + moved, CommentMark(0), None)
    else:
        current.value = str(current.value) + moved
