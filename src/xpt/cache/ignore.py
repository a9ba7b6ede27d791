"""`.dvcignore`: gitignore ("wildmatch") patterns that hide paths from xpt (docs/dvc-formats.md §10.3).

Patterns in a `.dvcignore` are relative to the folder holding it and merge with those of
its parents; the last matching pattern wins and a path inside an ignored folder is
ignored. `.git`, `.hg/`, `.dvc/` are always ignored, and so are folders holding a
`.dvc/` folder (nested projects). Without any real pattern only those names are checked.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from xpt.errors import CacheError
from xpt.utils import readlog
from xpt.utils.dvcnames import DVC_DIR

IGNORE_FILE = ".dvcignore"


@dataclass(frozen=True)
class Rule:
    """One compiled pattern line."""

    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    source: str
    line: int = 0
    pattern: str = ""

    def matches(self, relpath: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return self.regex.match(relpath) is not None


def _strip_trailing_spaces(line: str) -> str:
    """Trailing spaces go unless escaped with a backslash (gitignore rule)."""
    end = len(line)
    while end > 0 and line[end - 1] == " ":
        backslashes = 0
        i = end - 2
        while i >= 0 and line[i] == "\\":
            backslashes += 1
            i -= 1
        if backslashes % 2:
            break
        end -= 1
    return line[:end]


def _translate_class(pattern: str, i: int) -> tuple[str, int] | None:
    """Regex for a `[...]` class starting at pattern[i] == '['; None if unclosed."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    parts: list[str] = []
    start = j
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and j > start:
            body = "".join(parts)
            return ("[^/" + body + "]" if negate else "[" + body + "]"), j + 1
        is_range = c == "-" and j > start and j + 1 < len(pattern) and pattern[j + 1] != "]"
        if c == "\\" and j + 1 < len(pattern):
            j += 1
            c = pattern[j]
        parts.append("-" if is_range else re.escape(c))
        j += 1
    return None


def _translate_segment_glob(pattern: str) -> str:
    """Regex for a glob without `**` path semantics: `*`, `?`, `[...]`, backslash escapes."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            while i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            translated = _translate_class(pattern, i)
            if translated is None:
                out.append(re.escape(c))
            else:
                out.append(translated[0])
                i = translated[1]
                continue
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _translate(pattern: str) -> str:
    """Regex (anchored at the pattern's base folder) for a slash-normalised pattern."""
    segments = pattern.split("/")
    out: list[str] = []
    last = len(segments) - 1
    for idx, seg in enumerate(segments):
        if seg == "**":
            if idx == last:
                out.append(".*")  # `a/**`: everything inside
            elif idx == 0:
                out.append("(?:.*/)?")  # `**/a`: at any depth
            else:
                out.append("(?:.*/)?")  # `a/**/b`: zero or more folders
            continue
        out.append(_translate_segment_glob(seg))
        if idx != last:
            out.append("/")
    return "".join(out)


def parse_line(line: str, source: str = "", lineno: int = 0) -> Rule | None:
    """Compile one `.dvcignore` line; None for blanks and comments."""
    line = line.rstrip("\r\n")
    pattern = line
    if not line.strip() or line.startswith("#"):
        return None
    line = _strip_trailing_spaces(line)
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    if not line:
        return None
    body = _translate(line)
    if not anchored and not line.startswith("**"):
        body = "(?:.*/)?" + body
    return Rule(re.compile(body + r"\Z", re.DOTALL), negate, dir_only, source, lineno, pattern)


def parse_ignore_text(text: str, source: str = "") -> list[Rule]:
    """All rules of one `.dvcignore` file, in file order."""
    rules = []
    for lineno, line in enumerate(text.splitlines(), 1):
        rule = parse_line(line, source, lineno)
        if rule is not None:
            rules.append(rule)
    return rules


_ALWAYS_ANY = frozenset({".git"})
_ALWAYS_DIRS = frozenset({".git", ".hg", DVC_DIR})


_SPECIAL_NAMES = frozenset({IGNORE_FILE, ".git", ".hg", DVC_DIR})


def _always_ignored(name: str, is_dir: bool) -> bool:
    return name in _ALWAYS_ANY or (is_dir and name in _ALWAYS_DIRS)


class DvcIgnore:
    """The `.dvcignore` rules of a project rooted at `root` (files are read lazily)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(root)
        self._rules: dict[str, list[Rule]] = {}
        self._subrepo: dict[str, bool] = {}

    def rules_in(self, reldir: str) -> list[Rule]:
        """Rules of `<reldir>/.dvcignore` ('' for the root), cached."""
        rules = self._rules.get(reldir)
        if rules is None:
            path = os.path.join(self.root, reldir, IGNORE_FILE)
            readlog.note(path)
            try:
                with open(path, encoding="utf-8", errors="surrogateescape") as f:
                    rules = parse_ignore_text(f.read(), posixpath.join(reldir, IGNORE_FILE))
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                rules = []
            except OSError as exc:
                raise CacheError(f"cannot read '{path}': {exc.strerror}") from exc
            self._rules[reldir] = rules
        return rules

    @property
    def trivial(self) -> bool:
        """True when the root `.dvcignore` is absent or holds only comments."""
        return not self.rules_in("")

    def _is_subrepo(self, reldir: str) -> bool:
        found = self._subrepo.get(reldir)
        if found is None:
            marker = os.path.join(self.root, reldir, DVC_DIR)
            readlog.note(marker)
            found = os.path.isdir(marker)
            self._subrepo[reldir] = found
        return found

    def _match(self, relpath: str, is_dir: bool, scopes: list[tuple[str, list[Rule]]]) -> bool:
        """Last matching rule over all scopes (parents first) decides."""
        verdict = False
        for base, rules in scopes:
            if not rules:
                continue
            sub = relpath[len(base) + 1 :] if base else relpath
            for rule in reversed(rules):
                if rule.matches(sub, is_dir):
                    verdict = not rule.negate
                    break
        return verdict

    def is_ignored(self, relpath: str, is_dir: bool) -> bool:
        """Is this repo-relative posix path hidden by `.dvcignore` or the built-in rules?"""
        relpath = posixpath.normpath(relpath)
        if relpath in ("", ".") or relpath.startswith("../"):
            return False
        parts = relpath.split("/")
        scopes: list[tuple[str, list[Rule]]] = [("", self.rules_in(""))]
        for i, name in enumerate(parts):
            current = "/".join(parts[: i + 1])
            current_is_dir = is_dir if i == len(parts) - 1 else True
            if _always_ignored(name, current_is_dir):
                return True
            if self._match(current, current_is_dir, scopes):
                return True
            if current_is_dir:
                if self._is_subrepo(current):
                    return True
                scopes.append((current, self.rules_in(current)))
        return False

    def deciding_rule(self, relpath: str, is_dir: bool) -> Rule | None:
        """The pattern that decides `relpath` (`check-ignore -d`): the last one matching
        it, or the one hiding a folder above it; None when no pattern matches."""
        parts = posixpath.normpath(relpath).split("/")
        scopes: list[tuple[str, list[Rule]]] = [("", self.rules_in(""))]
        found: Rule | None = None
        for i in range(len(parts)):
            current = "/".join(parts[: i + 1])
            current_is_dir = is_dir if i == len(parts) - 1 else True
            found = None
            for base, rules in scopes:
                sub = current[len(base) + 1 :] if base else current
                for rule in reversed(rules):
                    if rule.matches(sub, current_is_dir):
                        found = rule
                        break
            if found is not None and not found.negate and i < len(parts) - 1:
                return found
            if current_is_dir:
                scopes.append((current, self.rules_in(current)))
        return found

    def _scopes_for(self, reldir: str) -> list[tuple[str, list[Rule]]]:
        """Rules that apply inside `reldir` from `.dvcignore` files strictly above it."""
        scopes = [("", self.rules_in(""))]
        if reldir:
            parts = reldir.split("/")
            for i in range(1, len(parts)):
                base = "/".join(parts[:i])
                scopes.append((base, self.rules_in(base)))
        return scopes

    def walk_files(self, top: str) -> list[tuple[str, os.DirEntry[str]]]:
        """(relpath inside `top`, entry) of every non-ignored file under folder `top`.

        Symlinked files are listed (their targets get hashed); symlinked folders are not
        entered, as DVC does. A `.dvcignore` inside `top` is an error, as in DVC. This is
        the hot loop of a no-op run (every file of every output), hence one flat loop.
        """
        top = os.path.abspath(top)
        rel_top = Path(os.path.relpath(top, self.root)).as_posix()
        inside = not (rel_top == ".." or rel_top.startswith("../"))
        if rel_top == ".":
            rel_top = ""
        scopes = self._scopes_for(rel_top) if inside else []
        match = self._match if inside and any(rules for _base, rules in scopes) else None
        found: list[tuple[str, os.DirEntry[str]]] = []
        stack = [(top, "")]
        while stack:
            folder, prefix = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError as exc:
                raise CacheError(f"cannot list '{folder}': {exc.strerror}") from exc
            files: list[tuple[str, os.DirEntry[str]]] = []
            subdirs: list[tuple[str, str]] = []
            for entry in entries:
                name = entry.name
                is_dir = entry.is_dir(follow_symlinks=False)
                if name in _SPECIAL_NAMES:
                    if name == IGNORE_FILE:
                        raise CacheError(
                            f".dvcignore file should not be in collected dir path: '{folder}'",
                            hint="move its patterns to a .dvcignore above the output",
                        )
                    if name == DVC_DIR and is_dir and prefix:
                        break  # a nested DVC project: invisible
                    if _always_ignored(name, is_dir):
                        continue
                if not is_dir and entry.is_symlink() and entry.is_dir():
                    continue  # DVC does not enter symlinked folders
                if match is not None:
                    rel = f"{rel_top}/{prefix}{name}" if rel_top else f"{prefix}{name}"
                    if match(rel, is_dir, scopes):
                        continue
                if is_dir:
                    subdirs.append((entry.path, f"{prefix}{name}/"))
                else:
                    files.append((prefix + name, entry))
            else:
                found.extend(files)
                stack.extend(subdirs)
        return found
