"""The config schema and the rules of `xpt config`: what DVC would accept, and where each
option is read and written (`config.py` owns the files; this module is not on start-up).

Names are `section.option` or `remote.NAME.option` (lowercased), sections are kept in
file order with the named ones (`remote "x"`, `machine "x"`, `db "x"`) last, empty
sections are dropped, path options given relative to the current directory are stored
relative to the config file and shown absolute. A get without a level answers with the
highest level that has it (nothing when none has); with a level a missing option is an
error. Values are checked where a wrong one would make DVC refuse the file: unknown
sections and options, and booleans that are not true/false.

xpt-only sections (`queue.*`), which DVC refuses, go to xpt's file of the same level
(`.dvc/xpt.config`, `--local`: `.dvc/tmp/xpt/config`, `--global`: `xpt.config` beside
the global config; see `config.py`), and a listing gives each level's xpt file after DVC's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from xpt.config import (
    NAMED_KINDS,
    NAMED_SECTION,
    REMOTE_PATH_OPTIONS,
    ConfigLevel,
    Sections,
    config_levels,
    is_xpt_section,
    read_config_file,
    read_xpt_file,
    read_xpt_sections,
    shown_path,
    stored_path,
    write_dvc_sections,
    write_xpt_sections,
)
from xpt.errors import ConfigError, NotAProject
from xpt.project import Project

_NAME = re.compile(r"^(?:(?P<top>remote|db)\.)?(?P<section>[^.]*)\.(?P<option>[^.]*)$")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OPTIONS: dict[str, frozenset[str] | None] = {
    "core": _words(
        "remote checksum_jobs interactive analytics hardlink_lock no_scm autostage "
        "experiments check_update site_cache_dir machine"
    ),
    "cache": _words(
        "local s3 gs hdfs webhdfs ssh azure dir type protected shared slow_link_warning verify"
    ),
    "state": _words("dir row_limit row_cleanup_quota"),
    "index": _words("dir"),
    "plots": _words("html_template auto_open out_dir"),
    "exp": _words("code data models metrics params plots live auto_push git_remote"),
    "parsing": _words("bool list"),
    "hydra": _words("enabled config_dir config_module config_name plugins_path"),
    "studio": _words("token url repo_url offline"),
    "feature": None,  # any option
    "queue": _words(
        "backend broker visibility_timeout gpus gpus_per_exp"
    ),  # xpt-only: in xpt's files
}
_BOOL = _words(
    "core.interactive core.analytics core.hardlink_lock core.no_scm core.autostage "
    "core.experiments core.check_update cache.protected cache.slow_link_warning cache.verify "
    "plots.auto_open exp.auto_push hydra.enabled studio.offline"
)
_PATHS = _words("cache.dir")


@dataclass(frozen=True)
class Name:
    """A parsed option name: `top` is `remote`/`db` for named sections, else None."""

    top: str | None
    section: str
    option: str

    @property
    def file_section(self) -> str:
        return f'{self.top} "{self.section}"' if self.top else self.section

    @property
    def is_path(self) -> bool:
        if self.top == "remote":
            return self.option in REMOTE_PATH_OPTIONS
        return f"{self.section}.{self.option}" in _PATHS


@dataclass(frozen=True)
class Level:
    """One level's files and how `--show-origin` names them."""

    files: ConfigLevel
    origin: str
    xpt_origin: str

    @property
    def name(self) -> str:
        return self.files.name

    @property
    def path(self) -> Path:
        return self.files.dvc_path


def parse_name(text: str) -> Name:
    """`section.option`, `remote.NAME.option` or `db.NAME.option`, lowercased like DVC."""
    m = _NAME.match(text)
    if not m:
        raise ConfigError(
            f"bad config name '{text}': it should look like remote.name.option or "
            "db.name.option or section.option"
        )
    return Name(m.group("top"), m.group("section").lower(), m.group("option").lower())


def _levels(project: Project | None, chosen: str | None) -> list[Level]:
    """The config levels to read or write, lowest first."""
    if chosen == "system":
        raise ConfigError(
            "xpt does not read the system config level", hint="use --global or --project"
        )

    def origin(path: Path, files: ConfigLevel) -> str:
        if project is None or files.name == "global":
            return str(path)
        return os.path.relpath(path, project.root)

    found = [
        Level(files, origin(files.dvc_path, files), origin(files.xpt_path, files))
        for files in config_levels(project.dvc_dir if project else None)
    ]
    if chosen is None:
        return found
    for level in found:
        if level.name == chosen:
            return [level]
    raise NotAProject(
        f"'{os.getcwd()}' is not inside an xpt/DVC project, so it has no {chosen} config",
        hint="run it inside a project, or use --global",
    )


def _display(name: Name, value: str, level: Level) -> str:
    return shown_path(value, level.path.parent) if name.is_path else value


def _flat(sections: Sections) -> list[tuple[Name, str]]:
    """Every option of a file, named sections first (remote, machine, db), as DVC lists them."""
    named: dict[str, list[tuple[Name, str]]] = {kind: [] for kind in NAMED_KINDS}
    plain: list[tuple[Name, str]] = []
    for section, values in sections.items():
        m = NAMED_SECTION.match(section)
        for option, value in values.items():
            if m:
                named[m.group("kind")].append(
                    (Name(m.group("kind"), m.group("name"), option), value)
                )
            else:
                plain.append((Name(None, section, option), value))
    return [*named["remote"], *named["machine"], *named["db"], *plain]


def _check_value(name: Name, value: str) -> None:
    """Refuse what would make DVC reject the whole config file."""
    if name.top is None:
        if name.section not in _OPTIONS:
            raise ConfigError(
                f"unknown config section '{name.section}'",
                hint="sections: " + ", ".join(sorted(_OPTIONS)) + ", remote.NAME, db.NAME",
            )
        allowed = _OPTIONS[name.section]
        if allowed is not None and name.option not in allowed:
            raise ConfigError(
                f"unknown option '{name.option}' in section '{name.section}'",
                hint="options: " + ", ".join(sorted(allowed)),
            )
    boolean = name.top is None and f"{name.section}.{name.option}" in _BOOL
    if boolean and value.strip().lower() not in ("true", "false"):
        raise ConfigError(f"{name.section}.{name.option} must be true or false, not '{value}'")


def _missing(name: Name, sections: Sections) -> ConfigError | None:
    """DVC's error for an option absent from one file, or None when it is there."""
    kind = name.top or "section"
    known = name.top is None and name.section in _OPTIONS  # DVC: always there, maybe empty
    section = sections.get(name.file_section)
    if section is None and not known:
        return ConfigError(f"{kind} '{name.section}' doesn't exist")
    if name.option not in (section or {}):
        return ConfigError(f"option '{name.option}' doesn't exist in {kind} '{name.section}'")
    return None


def _is_xpt(name: Name) -> bool:
    return name.top is None and is_xpt_section(name.section)


def _read(name: Name, level: Level) -> tuple[Sections, str]:
    """The sections that answer for `name` at this level, and the origin to show.

    xpt-only options come from xpt's file, else from DVC's file (written by an older xpt).
    """
    if not _is_xpt(name):
        return read_config_file(level.path), level.origin
    own = read_xpt_file(level.files.xpt_path)
    if name.option in own.get(name.section, {}):
        return own, level.xpt_origin
    return read_xpt_sections(level.files), level.origin


@dataclass(frozen=True)
class ConfigRequest:
    """`xpt config [--global|--project|--local] [-u] [-l] [--show-origin] [NAME [VALUE]]`."""

    name: str | None = None
    value: str | None = None
    unset: bool = False
    list_all: bool = False
    level: str | None = None
    """"global", "repo", "local" or "system" (refused); None: every level."""
    show_origin: bool = False


@dataclass(frozen=True)
class Setting:
    """One option as shown: `key` as listed, `value` (paths absolute), its file's `origin`."""

    key: str
    value: str
    origin: str


@dataclass(frozen=True)
class ConfigResult:
    """What a get (at most one) or a list found, and the warnings of a set."""

    settings: tuple[Setting, ...] = ()
    warnings: tuple[str, ...] = ()


def _key(name: Name) -> str:
    return (
        f"{name.top}.{name.section}.{name.option}" if name.top else f"{name.section}.{name.option}"
    )


def _get(name: Name, levels: list[Level], level_given: bool) -> ConfigResult:
    for level in reversed(levels):
        sections, origin = _read(name, level)
        error = _missing(name, sections)
        if error is None:
            value = _display(name, sections[name.file_section][name.option], level)
            return ConfigResult((Setting(_key(name), value, origin),))
        if level_given:
            raise error
    return ConfigResult()


def _list(levels: list[Level]) -> ConfigResult:
    """Each level's DVC file, then its xpt file, as `dvc config -l` lists levels."""
    found = []
    for level in levels:
        for sections, origin in (
            (read_config_file(level.path), level.origin),
            (read_xpt_file(level.files.xpt_path), level.xpt_origin),
        ):
            for name, value in _flat(sections):
                found.append(Setting(_key(name), _display(name, value, level), origin))
    return ConfigResult(tuple(found))


def _remote_has_url(name: Name, levels: list[Level], upto: Level, sections: Sections) -> bool:
    for level in levels:
        current = sections if level == upto else read_config_file(level.path)
        if "url" in current.get(name.file_section, {}):
            return True
        if level == upto:
            break
    return False


def _change(
    name: Name, value: str | None, level: Level, all_levels: list[Level], sections: Sections
) -> None:
    """Set or unset (`value` None) one option in `sections`, refusing what DVC would."""
    if value is None:  # --unset
        error = _missing(name, sections)
        if error is not None:
            raise error
        if name.top == "remote" and name.option == "url":
            raise ConfigError(
                f"remote '{name.section}' needs its url",
                hint=f"remove the remote with `xpt remote remove {name.section}`",
            )
        del sections[name.file_section][name.option]
        return
    _check_value(name, value)
    stored = stored_path(value, level.path.parent) if name.is_path else value
    sections.setdefault(name.file_section, {})[name.option] = stored
    if name.top == "remote" and not _remote_has_url(name, all_levels, level, sections):
        raise ConfigError(
            f"remote '{name.section}' doesn't exist",
            hint=f"add it with `xpt remote add {name.section} URL`",
        )


def _set(name: Name, value: str | None, level: Level, all_levels: list[Level]) -> ConfigResult:
    """Write the option to its level's file: xpt-only sections to xpt's own file."""
    if _is_xpt(name):
        sections = read_xpt_sections(level.files)
        _change(name, value, level, all_levels, sections)
        write_xpt_sections(level.files, sections)
        return ConfigResult()
    sections = read_config_file(level.path)
    _change(name, value, level, all_levels, sections)
    write_dvc_sections(level.files, sections)
    if name.section == "cache" and name.option == "type" and name.top is None:
        return ConfigResult(
            warnings=(
                "You have changed the 'cache.type' option. This doesn't update any existing "
                "workspace file links, but it can be done with: xpt checkout --relink",
            )
        )
    return ConfigResult()


def run_config(project: Project | None, request: ConfigRequest) -> ConfigResult:
    """Get, set, unset or list config options as `dvc config` does (None: outside a project)."""
    if request.show_origin and (request.value is not None or request.unset):
        raise ConfigError(
            "--show-origin can't be used together with any of these options: -u/--unset, value"
        )
    levels = _levels(project, request.level)
    if request.list_all:
        if request.name or request.value is not None or request.unset:
            raise ConfigError(
                "-l/--list can't be used together with any of these options: "
                "-u/--unset, name, value"
            )
        return _list(levels)
    if request.name is None:
        raise ConfigError("name argument is required", hint="e.g. `xpt config exp.auto_push`")
    name = parse_name(request.name)
    if request.value is None and not request.unset:
        return _get(name, levels, request.level is not None)
    wanted = request.level or "repo"  # like git and DVC, the project file by default
    target = next((lv for lv in levels if lv.name == wanted), None)
    if target is None:
        raise NotAProject(
            f"'{os.getcwd()}' is not inside an xpt/DVC project",
            hint="run it inside a project, or use --global",
        )
    return _set(name, None if request.unset else request.value, target, _levels(project, None))
