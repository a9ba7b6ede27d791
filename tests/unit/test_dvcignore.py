""".dvcignore: gitignore wildmatch semantics (expectations observed with DVC 3.67.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xpt.cache.hasher import Hasher
from xpt.cache.ignore import DvcIgnore, parse_line
from xpt.errors import CacheError

FILES = [
    "a.log", "b.txt", "sub/a.log", "sub/c.txt", "sub/deep/x.bin", "sub/deep/y.log", "top.txt",
    "sub/top.txt", "keep.log", "d1/keep.log", "foo/bar.txt", "x/foo/bar.txt", "y/foo", "afoo/z",
    "we[ir]d.txt", "sp ace.txt", "#lead.txt", "!bang.txt", "q1.txt", "qq.txt", "ab/cd/ef/g.txt",
    "ab/g.txt", "abc/x.txt", "nest/a/b/c.txt", "trail .txt", "Ünï.txt", "ünï/dir.txt", "x.TXT",
]  # fmt: skip

# (root .dvcignore, files that DVC 3.67.1 left out of `dvc add data`)
CASES: dict[str, tuple[str, set[str]]] = {
    "basic": ('*.log\n!keep.log\n', {'a.log', 'sub/a.log', 'sub/deep/y.log'}),
    "anchored": ('/top.txt\nsub/deep/\n', set()),
    "dir_only": ('foo/\n', {'foo/bar.txt', 'x/foo/bar.txt'}),
    "name": ('foo\n', {'foo/bar.txt', 'x/foo/bar.txt', 'y/foo'}),
    "double_star": ('**/deep\nab/**/g.txt\nnest/**\n', {'sub/deep/x.bin', 'sub/deep/y.log'}),
    "classes": ('q[0-9].txt\n[!a-z]*.txt\nwe\\[ir\\]d.txt\n', {'!bang.txt', '#lead.txt', 'q1.txt', 'we[ir]d.txt', 'Ünï.txt'}),
    "escapes": ('\\#lead.txt\n\\!bang.txt\nsp ace.txt\ntrail\\ .txt\n', {'!bang.txt', '#lead.txt', 'sp ace.txt', 'trail .txt'}),
    "middle_slash": ('sub/*.txt\na*/\n', {'ab/cd/ef/g.txt', 'ab/g.txt', 'abc/x.txt', 'afoo/z', 'nest/a/b/c.txt'}),
    "reinclude": ('sub/\n!sub/c.txt\n*.txt\n!b.txt\n', {'!bang.txt', '#lead.txt', 'ab/cd/ef/g.txt', 'ab/g.txt', 'abc/x.txt', 'foo/bar.txt', 'nest/a/b/c.txt', 'q1.txt', 'qq.txt', 'sp ace.txt', 'sub/a.log', 'sub/c.txt', 'sub/deep/x.bin', 'sub/deep/y.log', 'sub/top.txt', 'top.txt', 'trail .txt', 'we[ir]d.txt', 'x/foo/bar.txt', 'Ünï.txt', 'ünï/dir.txt'}),
    "question": ('?.txt\nq?.txt\n*.TXT\n', {'ab/cd/ef/g.txt', 'ab/g.txt', 'abc/x.txt', 'b.txt', 'nest/a/b/c.txt', 'q1.txt', 'qq.txt', 'sub/c.txt', 'x.TXT'}),
    "root_star": ('/*.txt\n', set()),
    "path_from_root": ('data/sub\n', {'sub/a.log', 'sub/c.txt', 'sub/deep/x.bin', 'sub/deep/y.log', 'sub/top.txt'}),
}  # fmt: skip


def _tree(root: Path, files: list[str]) -> Path:
    for rel in files:
        p = root / "data" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    return root / "data"


@pytest.mark.parametrize("name", sorted(CASES))
def test_patterns_like_dvc(tmp_path: Path, name: str) -> None:
    patterns, ignored = CASES[name]
    data = _tree(tmp_path, FILES)
    (tmp_path / ".dvcignore").write_text(patterns)
    listed = {rel for rel, _entry in DvcIgnore(tmp_path).walk_files(str(data))}
    assert listed == set(FILES) - ignored
    ign = DvcIgnore(tmp_path)
    for rel in FILES:
        assert ign.is_ignored(f"data/{rel}", is_dir=False) is (rel in ignored), rel


def test_nested_dvcignore_above_the_output(tmp_path: Path) -> None:
    files = [
        "sub/a.log",
        "sub/c.txt",
        "sub/d/c.txt",
        "sub/e.txt",
        "sub/k.bin",
        "sub/z/k.bin",
        "sub/m/n.txt",
    ]
    _tree(tmp_path, files)
    (tmp_path / ".dvcignore").write_text("*.bin\ne.txt\n")
    (tmp_path / "data" / ".dvcignore").write_text("*.log\n/sub/c.txt\n!k.bin\nsub/m/\n")
    ign = DvcIgnore(tmp_path)
    listed = {rel for rel, _e in ign.walk_files(str(tmp_path / "data" / "sub"))}
    assert listed == {"d/c.txt", "k.bin", "z/k.bin"}  # as DVC 3.67.1 recorded it
    assert ign.is_ignored("data/sub/m", is_dir=True)
    assert ign.is_ignored("data/sub/m/n.txt", is_dir=False)
    assert not ign.is_ignored("data/sub/k.bin", is_dir=False)


def test_dvcignore_inside_the_collected_dir_is_an_error(tmp_path: Path) -> None:
    data = _tree(tmp_path, ["a.txt"])
    (data / ".dvcignore").write_text("*.log\n")
    with pytest.raises(CacheError, match="should not be in collected dir"):
        list(DvcIgnore(tmp_path).walk_files(str(data)))


def test_builtin_ignores_and_nested_projects(tmp_path: Path) -> None:
    data = _tree(
        tmp_path, ["a", ".hg", "h/.git/x", "hgd/.hg/y", "sub/.git", "repo/q.txt", ".dvcfoo"]
    )
    (data / "repo" / ".dvc").mkdir()
    ign = DvcIgnore(tmp_path)
    assert ign.trivial
    listed = {rel for rel, _e in ign.walk_files(str(data))}
    assert listed == {"a", ".hg", ".dvcfoo"}  # `.hg` only as a folder; `.git` always
    assert ign.is_ignored("data/repo/q.txt", is_dir=False)
    assert ign.is_ignored(".dvc", is_dir=True) and ign.is_ignored("x/.git", is_dir=False)
    assert not ign.is_ignored("x/.hg", is_dir=False)


def test_comment_only_file_is_trivial(tmp_path: Path) -> None:
    (tmp_path / ".dvcignore").write_text(
        "# Add patterns of files dvc should ignore, which could improve\n"
        "# the performance. Learn more at\n# https://dvc.org/doc/user-guide/dvcignore\n\n"
    )
    assert DvcIgnore(tmp_path).trivial
    (tmp_path / ".dvcignore").write_text("# c\n*.tmp\n")
    assert not DvcIgnore(tmp_path).trivial


def test_hasher_honours_dvcignore(tmp_path: Path) -> None:
    data = _tree(tmp_path, ["keep.txt", "drop.tmp", "sub/drop.tmp"])
    full = Hasher(tmp_path, None).hash_dir(data)[0]
    (tmp_path / ".dvcignore").write_text("*.tmp\n")
    info, entries = Hasher(tmp_path, None).hash_dir(data)
    assert [e.relpath for e in entries] == ["keep.txt"] and info.nfiles == 1
    assert info.md5 != full.md5


@pytest.mark.parametrize(
    ("line", "path", "is_dir", "hit"),
    [
        ("*.log", "a/b/c.log", False, True),
        ("/a", "b/a", False, False),
        ("a/", "a", False, False),
        ("a/", "a", True, True),
        ("a/**", "a", True, False),
        ("a/**", "a/x/y", False, True),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("[a-c]x", "bx", False, True),
        ("[!a-c]x", "dx", False, True),
        ("[!a-c]x", "/x", False, False),
        ("a\\*", "a*", False, True),
        ("a\\*", "ab", False, False),
        ("trailing   ", "trailing", False, True),
    ],
)
def test_single_patterns(line: str, path: str, is_dir: bool, hit: bool) -> None:
    rule = parse_line(line)
    assert rule is not None
    assert rule.matches(path, is_dir) is hit


@pytest.mark.parametrize("line", ["", "   ", "# comment", "/", "!"])
def test_lines_without_patterns(line: str) -> None:
    assert parse_line(line) is None
