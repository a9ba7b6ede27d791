"""`.dvc/config` parsing and writing in DVC's configobj dialect."""

from __future__ import annotations

from pathlib import Path

import pytest

from xpt.config import (
    Config,
    add_remote,
    dump_config_text,
    parse_config_text,
    read_config_file,
    remove_remote,
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


def test_bad_line_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match="config:2"):
        parse_config_text("[core]\nthis is not a key value\n", "config")


def test_add_and_remove_remote(tmp_path: Path) -> None:
    dvc = tmp_path / ".dvc"
    dvc.mkdir()
    add_remote(dvc, "r", "/x", default=True)
    assert read_config_file(dvc / "config") == {
        "core": {"remote": "r"},
        'remote "r"': {"url": "/x"},
    }
    with pytest.raises(ConfigError):
        add_remote(dvc, "r", "/y")
    remove_remote(dvc, "r")
    assert (dvc / "config").read_text() == ""
