"""Config files: DVC's configobj dialect, and xpt's own files merged beside DVC's."""

from __future__ import annotations

from pathlib import Path

import pytest

from xpt.config import (
    Config,
    add_remote,
    dump_config_text,
    global_config_path,
    load_config,
    modify_remote,
    parse_config_text,
    project_level,
    read_config_file,
    read_xpt_sections,
    remove_remote,
    rename_remote,
    write_dvc_sections,
    write_xpt_sections,
)
from xpt.errors import ConfigError

SAMPLE = """[core]
    remote = myremote
    autostage = true
[cache]
    type = "hardlink,symlink"
['remote "myremote"']
    url = /abs/or/relative/path
"""


def test_parse_and_dump_round_trip() -> None:
    sections = parse_config_text(SAMPLE, "config")
    assert sections["cache"]["type"] == "hardlink,symlink"
    assert sections['remote "myremote"']["url"] == "/abs/or/relative/path"
    assert dump_config_text(sections) == SAMPLE
    cfg = Config(sections)
    assert cfg.get_bool("core", "autostage") is True
    assert cfg.remotes() == {"myremote": {"url": "/abs/or/relative/path"}}


@pytest.mark.parametrize(
    ("value", "written"),
    [  # what `dvc remote modify r user VALUE` writes (checked with DVC 3.67.1)
        ("", '""'),
        ("plain", "plain"),
        ('a"b', 'a"b'),
        ('"ab', "'\"ab'"),
        ("'ab", '"\'ab"'),
        ("a#b", '"a#b"'),
        (" ab", '" ab"'),
        ("ab\t", '"ab\t"'),
        ('a,b"', "'a,b\"'"),
        ("a'b,", '"a\'b,"'),
        ("\"a'", "'''\"a''''"),
    ],
)
def test_values_quoted_like_configobj_and_read_back(value: str, written: str) -> None:
    text = dump_config_text({"s": {"k": value}})
    assert text == f"[s]\n    k = {written}\n"
    assert parse_config_text(text, "config") == {"s": {"k": value}}


def test_inline_comments_are_not_values() -> None:
    text = '[s]\n    a = x # note\n    b = "y#z"  # note\n    c =\n'
    assert parse_config_text(text, "c") == {"s": {"a": "x", "b": "y#z", "c": ""}}


def test_bad_line_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match="config:2"):
        parse_config_text("[core]\nthis is not a key value\n", "config")
    with pytest.raises(ConfigError, match="config:2"):
        parse_config_text("[core]\n    remote = 'unclosed\n", "config")


@pytest.fixture
def dvc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty `.dvc/` of a project at tmp_path/repo, the cwd."""
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config").write_text("")
    monkeypatch.chdir(root)
    return root / ".dvc"


def test_add_and_remove_remote(dvc_dir: Path) -> None:
    add_remote(dvc_dir, "r", "/x", default=True)
    assert read_config_file(dvc_dir / "config") == {
        "core": {"remote": "r"},
        'remote "r"': {"url": "/x"},
    }
    with pytest.raises(ConfigError):
        add_remote(dvc_dir, "r", "/y")
    remove_remote(dvc_dir, "r")
    assert (dvc_dir / "config").read_text() == "\n"  # configobj's empty file
    assert (dvc_dir / "config.local").read_text() == "\n"  # DVC writes the level above too


def test_relative_remote_paths_are_stored_from_dvc_dir(
    dvc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_remote(dvc_dir, "r", "../x")  # from the root: ../x is beside the repo
    assert read_config_file(dvc_dir / "config")['remote "r"'] == {"url": "../../x"}
    (dvc_dir.parent / "sub").mkdir()
    monkeypatch.chdir(dvc_dir.parent / "sub")
    add_remote(dvc_dir, "r", "../x", force=True)  # from sub: ../x is inside the repo
    modify_remote(dvc_dir, "r", "keyfile", "k.pem")
    modify_remote(dvc_dir, "r", "jobs", "4")
    add_remote(dvc_dir, "s", "s3://bucket/x")
    add_remote(dvc_dir, "t", "~/x", local=True)
    assert read_config_file(dvc_dir / "config") == {
        'remote "r"': {"url": "../x", "keyfile": "../sub/k.pem", "jobs": "4"},
        'remote "s"': {"url": "s3://bucket/x"},
    }
    assert read_config_file(dvc_dir / "config.local") == {'remote "t"': {"url": "~/x"}}


def test_rename_moves_the_remote_last_and_the_default_everywhere(dvc_dir: Path) -> None:
    add_remote(dvc_dir, "a", "/a", default=True)
    add_remote(dvc_dir, "b", "/b")
    (dvc_dir / "config.local").write_text("[core]\n    remote = a\n")
    rename_remote(dvc_dir, "a", "z")
    assert list(read_config_file(dvc_dir / "config")) == ["core", 'remote "b"', 'remote "z"']
    assert load_config(dvc_dir).get("core", "remote") == "z"
    assert read_config_file(dvc_dir / "config.local") == {"core": {"remote": "z"}}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_xpt_files_merge_per_level(dvc_dir: Path) -> None:
    glob = global_config_path().parent
    _write(glob / "xpt.config", "[queue]\n    broker = redis://g/0\n    backend = celery\n")
    _write(dvc_dir / "xpt.config", "[queue]\n    broker = redis://repo/0\n")
    _write(dvc_dir / "config.local", "[queue]\n    visibility_timeout = 5\n")  # old xpt
    _write(dvc_dir / "tmp" / "xpt" / "config", "[queue]\n    visibility_timeout = 9\n")
    _write(dvc_dir / "config", "[exp]\n    git_remote = up\n")
    config = load_config(dvc_dir)
    assert config.sections["queue"] == {
        "broker": "redis://repo/0",
        "backend": "celery",
        "visibility_timeout": "9",  # xpt's file wins over its own level's DVC file
    }
    assert config.get("exp", "git_remote") == "up"


def test_dvc_sections_in_xpt_file_are_refused(dvc_dir: Path) -> None:
    _write(dvc_dir / "xpt.config", "[core]\n    remote = x\n")
    with pytest.raises(ConfigError, match=r"xpt.config: section \[core\] is DVC's"):
        load_config(dvc_dir)


def test_old_queue_section_is_read_with_one_warning(
    dvc_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(dvc_dir / "config", "[queue]\n    backend = celery\n")
    assert load_config(dvc_dir).get("queue", "backend") == "celery"
    assert load_config(dvc_dir).get("queue", "backend") == "celery"
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1
    assert ".dvc/config has xpt's [queue] section" in err
    assert "`xpt config queue.backend celery`" in err


def test_any_write_of_a_level_moves_its_old_queue_section(dvc_dir: Path) -> None:
    _write(dvc_dir / "config", "[queue]\n    backend = celery\n    broker = redis://old/0\n")
    _write(dvc_dir / "xpt.config", "[queue]\n    broker = redis://new/0\n")
    add_remote(dvc_dir, "r", "/r")  # a DVC write
    assert read_config_file(dvc_dir / "config") == {'remote "r"': {"url": "/r"}}
    assert read_config_file(dvc_dir / "xpt.config") == {
        "queue": {"backend": "celery", "broker": "redis://new/0"}
    }
    level = project_level(dvc_dir, local=True)
    _write(dvc_dir / "config.local", "[core]\n    remote = r\n[queue]\n    backend = none\n")
    sections = read_xpt_sections(level)
    assert sections == {"queue": {"backend": "none"}}
    sections["queue"]["broker"] = "redis://mine/0"
    write_xpt_sections(level, sections)  # an xpt write
    assert read_config_file(dvc_dir / "config.local") == {"core": {"remote": "r"}}
    assert (dvc_dir / "tmp" / "xpt" / "config").read_text() == (
        "[queue]\n    backend = none\n    broker = redis://mine/0\n"
    )
    before = (dvc_dir / "config").read_text()
    write_xpt_sections(project_level(dvc_dir), {"queue": {"backend": "celery"}})
    assert (dvc_dir / "config").read_text() == before  # nothing to move: DVC's file untouched
    with pytest.raises(ConfigError):
        write_xpt_sections(level, {"core": {}})
    write_dvc_sections(level, {"core": {}, "queue": {"backend": "celery"}})
    assert read_config_file(dvc_dir / "tmp" / "xpt" / "config")["queue"]["backend"] == "none"
