"""`xpt config`'s rules through the Python API (`config_schema.run_config`), no CLI:
DVC's checks, the file each option goes to, and what a get or a list finds."""

from __future__ import annotations

import pytest

from tests.helpers import TmpRepo
from xpt.config_schema import ConfigRequest, Setting, run_config
from xpt.errors import ConfigError, NotAProject
from xpt.project import Project


def _set(project: Project | None, name: str, value: str, level: str | None = None) -> None:
    assert run_config(project, ConfigRequest(name=name, value=value, level=level)).settings == ()


def test_xpt_options_go_to_xpt_file_and_dvc_options_to_dvc_file(project: TmpRepo) -> None:
    proj = Project(project)
    _set(proj, "queue.backend", "celery")
    _set(proj, "core.autostage", "true")
    assert (project / ".dvc" / "xpt.config").read_text() == "[queue]\n    backend = celery\n"
    assert "[queue]" not in (project / ".dvc" / "config").read_text()
    got = run_config(proj, ConfigRequest(name="queue.backend"))
    assert got.settings == (Setting("queue.backend", "celery", ".dvc/xpt.config"),)
    listed = run_config(proj, ConfigRequest(list_all=True, level="repo")).settings
    assert [(s.key, s.value, s.origin) for s in listed] == [
        ("core.autostage", "true", ".dvc/config"),
        ("queue.backend", "celery", ".dvc/xpt.config"),
    ]


def test_what_dvc_would_refuse_is_refused_before_writing(project: TmpRepo) -> None:
    proj = Project(project)
    before = (project / ".dvc" / "config").read_bytes()
    with pytest.raises(ConfigError, match="unknown config section 'nope'"):
        _set(proj, "nope.x", "1")
    with pytest.raises(ConfigError, match="unknown option 'x' in section 'core'"):
        _set(proj, "core.x", "1")
    with pytest.raises(ConfigError, match="core.autostage must be true or false, not 'maybe'"):
        _set(proj, "core.autostage", "maybe")
    with pytest.raises(ConfigError, match="remote 'r' doesn't exist"):
        _set(proj, "remote.r.region", "eu")
    assert (project / ".dvc" / "config").read_bytes() == before


def test_flag_combinations_and_levels(project: TmpRepo) -> None:
    proj = Project(project)
    with pytest.raises(ConfigError, match="--show-origin can't be used together"):
        run_config(proj, ConfigRequest(name="core.remote", value="x", show_origin=True))
    with pytest.raises(ConfigError, match="-l/--list can't be used together"):
        run_config(proj, ConfigRequest(name="core.remote", list_all=True))
    with pytest.raises(ConfigError, match="name argument is required"):
        run_config(proj, ConfigRequest())
    with pytest.raises(ConfigError, match="system config level"):
        run_config(proj, ConfigRequest(name="core.remote", level="system"))
    with pytest.raises(ConfigError, match="option 'remote' doesn't exist in section 'core'"):
        run_config(proj, ConfigRequest(name="core.remote", level="repo"))
    assert run_config(proj, ConfigRequest(name="core.remote")).settings == ()  # any level: none
    with pytest.raises(NotAProject):
        run_config(None, ConfigRequest(name="core.remote", value="x"))


def test_cache_type_change_warns_and_paths_are_stored_relative(project: TmpRepo) -> None:
    proj = Project(project)
    result = run_config(proj, ConfigRequest(name="cache.type", value="symlink"))
    assert len(result.warnings) == 1 and "xpt checkout --relink" in result.warnings[0]
    _set(proj, "cache.dir", "store")  # given from the cwd (the project root)
    assert "dir = ../store" in (project / ".dvc" / "config").read_text()
    (got,) = run_config(proj, ConfigRequest(name="cache.dir")).settings
    assert got.value == str(project / "store")
    assert run_config(proj, ConfigRequest(name="cache.dir", unset=True)).settings == ()
    assert run_config(proj, ConfigRequest(name="cache.dir")).settings == ()  # gone
    assert "store" not in (project / ".dvc" / "config").read_text()
