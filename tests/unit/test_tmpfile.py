"""Unnamed files linked into place: whole or absent, existing names untouched."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from xpt.cache import tmpfile


def test_write_new_creates_whole_files_only(tmp_path: Path) -> None:
    path = tmp_path / "obj"
    created = tmpfile.write_new(str(path), b"data" * 1000, 0o444)
    if created is None:
        pytest.skip("no O_TMPFILE on this filesystem")
    assert created is True
    assert path.read_bytes() == b"data" * 1000
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert tmpfile.write_new(str(path), b"other", 0o444) is False  # EEXIST: left as it was
    assert path.read_bytes() == b"data" * 1000
    assert os.listdir(tmp_path) == ["obj"]  # no temp names, ever


def test_write_new_in_a_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        tmpfile.write_new(str(tmp_path / "nope" / "obj"), b"x", 0o444)


def test_an_unnamed_file_vanishes_when_closed(tmp_path: Path) -> None:
    fd = tmpfile.unnamed_file(str(tmp_path))
    if fd is None:
        pytest.skip("no O_TMPFILE on this filesystem")
    os.write(fd, b"never named")
    os.close(fd)
    assert os.listdir(tmp_path) == []
    fd = tmpfile.unnamed_file(str(tmp_path), os.O_RDWR)
    assert fd is not None
    try:
        os.write(fd, b"named")
        tmpfile.name_fd(fd, str(tmp_path / "f"))
        with pytest.raises(FileExistsError):
            tmpfile.name_fd(fd, str(tmp_path / "f"))
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"named"
