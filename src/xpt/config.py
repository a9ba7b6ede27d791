"""Config files: DVC's (`.dvc/config` levels, configobj dialect) and xpt's own beside them.

Levels merge in DVC's order (global, repo, local; later wins). Each level is two
files: DVC's, which DVC validates and refuses whole when it meets a section it does
not know, and xpt's sibling for the xpt-only sections (`queue`), which DVC never reads:

    global  ~/.config/dvc/config   ~/.config/dvc/xpt.config
    repo    .dvc/config            .dvc/xpt.config       (committed: shared by the team)
    local   .dvc/config.local      .dvc/tmp/xpt/config   (this clone only, git-ignored)

An xpt-only section still found in DVC's file (written by an earlier xpt) is read,
under the sibling's values, with a warning; the next xpt write of that level moves it.
Values stay strings here and are interpreted by the module that uses them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xpt.errors import ConfigError
from xpt.utils import readlog
from xpt.utils.fsutil import atomic_write_text

Sections = dict[str, dict[str, str]]

XPT_SECTIONS = frozenset({"queue"})
XPT_CONFIG_NAME = "xpt.config"
REMOTE_PATH_OPTIONS = frozenset(
    (
        "url",
        "gdrive_user_credentials_file",
        "gdrive_service_account_json_file_path",
        "credentialpath",
        "configpath",
        "keyfile",
        "cert_path",
        "key_path",
    )
)

_SECTION = re.compile(r"^\s*\[\s*(?P<q>['\"]?)(?P<name>.*?)(?P=q)\s*\]\s*$")
_KEYVAL = re.compile(r"^\s*(?P<key>[^=]+?)\s*=\s*(?P<val>.*?)\s*$")
_COMMENT = r"\s*(?:#.*)?"
_VALUE_FORMS = (
    re.compile(rf"'''(?P<v>.*?)'''{_COMMENT}"),
    re.compile(rf'"""(?P<v>.*?)"""{_COMMENT}'),
    re.compile(rf"'(?P<v>[^']*)'{_COMMENT}"),
    re.compile(rf'"(?P<v>[^"]*)"{_COMMENT}'),
    re.compile(rf"(?P<v>(?:[^'\"#][^#]*?)?){_COMMENT}"),
)
_QUOTE_ENDS = " \t\r\n\v'\""
NAMED_SECTION = re.compile(r'^\s*(?P<kind>remote|machine|db)\s*"(?P<name>.*)"\s*$')
NAMED_KINDS = ("remote", "machine", "db")
_URL = re.compile(r"\w+://")
_warned: set[Path] = set()


def _parse_value(raw: str) -> str | None:
    """A value as configobj reads it (quotes removed, `# comment` dropped); None if malformed."""
    for form in _VALUE_FORMS:
        m = form.fullmatch(raw)
        if m:
            return m.group("v")
    return None


def parse_config_text(text: str, where: str) -> Sections:
    """Parse configobj-style INI text into {section: {key: value}}."""
    sections: Sections = {}
    current: dict[str, str] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = _SECTION.match(line)
        if m:
            current = sections.setdefault(m.group("name"), {})
            continue
        m = _KEYVAL.match(line)
        value = _parse_value(m.group("val")) if m else None
        if m and value is not None and current is not None:
            current[m.group("key")] = value
            continue
        raise ConfigError(f"{where}:{lineno}: cannot parse config line {raw!r}")
    return sections


def _quote_section(name: str) -> str:
    if any(c in name for c in " \"'"):
        return f"['{name}']"
    return f"[{name}]"


def _quote_value(value: str) -> str:
    """Quote as configobj does: empty, commas, `#`, or spaces/quotes at either end."""
    if not value:
        return '""'
    plain = value[0] not in _QUOTE_ENDS and value[-1] not in _QUOTE_ENDS
    if plain and "," not in value and "#" not in value:
        return value
    if "'" in value and '"' in value:
        return f"'''{value}'''"
    return f"'{value}'" if '"' in value else f'"{value}"'


def dump_config_text(sections: Sections) -> str:
    """Render sections as configobj writes them (4-space indented keys)."""
    out: list[str] = []
    for name, values in sections.items():
        out.append(_quote_section(name))
        for key, val in values.items():
            out.append(f"    {key} = {_quote_value(val)}")
    return "\n".join(out) + ("\n" if out else "")


def dvc_order(sections: Sections) -> Sections:
    """Sections as DVC writes them: plain ones in file order, then named; no empty ones."""

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        index, section = item
        m = NAMED_SECTION.match(section)
        return (1 + NAMED_KINDS.index(m.group("kind")) if m else 0, index)

    ordered = sorted(enumerate(sections), key=rank)
    return {name: dict(sections[name]) for _i, name in ordered if sections[name]}


def read_config_file(path: Path) -> Sections:
    """Sections of one config file; a missing file is empty."""
    readlog.note(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_config_text(text, str(path))


def write_config_file(path: Path, sections: Sections) -> None:
    """Atomically rewrite one config file in DVC's order (configobj writes "\\n" when empty)."""
    atomic_write_text(path, dump_config_text(dvc_order(sections)) or "\n")


def global_config_path() -> Path:
    """`~/.config/dvc/config` (or $DVC_GLOBAL_CONFIG_DIR/config)."""
    base = os.environ.get("DVC_GLOBAL_CONFIG_DIR")
    if base:
        return Path(base) / "config"
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "dvc" / "config"


def config_path(dvc_dir: Path, local: bool = False) -> Path:
    """The repo (`.dvc/config`) or local (`.dvc/config.local`) config file."""
    return dvc_dir / ("config.local" if local else "config")


def xpt_config_path(dvc_dir: Path, local: bool = False) -> Path:
    """xpt's file of the repo level (`.dvc/xpt.config`) or local one (`.dvc/tmp/xpt/config`)."""
    return dvc_dir / "tmp" / "xpt" / "config" if local else dvc_dir / XPT_CONFIG_NAME


@dataclass(frozen=True)
class ConfigLevel:
    """One level: DVC's file and xpt's sibling for the sections DVC would refuse."""

    name: str  # "global", "repo" or "local"
    dvc_path: Path
    xpt_path: Path

    @property
    def flag(self) -> str:
        """The `xpt config` option that selects this level."""
        return {"global": "--global ", "local": "--local "}.get(self.name, "")


def config_levels(dvc_dir: Path | None) -> list[ConfigLevel]:
    """The levels lowest first: global, then repo and local when inside a project."""
    glob = global_config_path()
    found = [ConfigLevel("global", glob, glob.parent / XPT_CONFIG_NAME)]
    if dvc_dir is not None:
        for name, local in (("repo", False), ("local", True)):
            found.append(
                ConfigLevel(name, config_path(dvc_dir, local), xpt_config_path(dvc_dir, local))
            )
    return found


def project_level(dvc_dir: Path, local: bool = False) -> ConfigLevel:
    """The repo or local level of a project."""
    return config_levels(dvc_dir)[2 if local else 1]


def is_xpt_section(section: str) -> bool:
    """True for the sections only xpt knows (they live in xpt's files)."""
    return section in XPT_SECTIONS


def _split(sections: Sections) -> tuple[Sections, Sections]:
    """(DVC's sections, xpt-only sections)."""
    dvc = {k: v for k, v in sections.items() if not is_xpt_section(k)}
    return dvc, {k: v for k, v in sections.items() if is_xpt_section(k)}


def read_xpt_file(path: Path) -> Sections:
    """One xpt config file; a DVC section there is an error (DVC would never see it)."""
    sections = read_config_file(path)
    for name in sections:
        if not is_xpt_section(name):
            raise ConfigError(
                f"{path}: section [{name}] is DVC's, but DVC does not read this file",
                hint="move it to .dvc/config (`xpt config` writes each option where it belongs)",
            )
    return sections


def _overlay(base: Sections, top: Sections) -> Sections:
    merged = {name: dict(values) for name, values in base.items()}
    for name, values in top.items():
        merged.setdefault(name, {}).update(values)
    return merged


def read_xpt_sections(level: ConfigLevel) -> Sections:
    """The xpt-only sections of a level: xpt's file over those left in DVC's file."""
    _dvc, legacy = _split(read_config_file(level.dvc_path))
    return _overlay(legacy, read_xpt_file(level.xpt_path))


def write_xpt_sections(level: ConfigLevel, sections: Sections) -> None:
    """Write a level's xpt-only sections to xpt's file, then drop any left in DVC's file.

    xpt's file is written first: a crash in between leaves the same values in both.
    """
    stray = [name for name in sections if not is_xpt_section(name)]
    if stray:
        raise ConfigError(f"[{stray[0]}] is not an xpt-only section")
    write_config_file(level.xpt_path, sections)
    dvc, legacy = _split(read_config_file(level.dvc_path))
    if legacy:
        write_config_file(level.dvc_path, dvc)


def write_dvc_sections(level: ConfigLevel, sections: Sections) -> None:
    """Write DVC's file of a level; xpt-only sections in `sections` move to xpt's file."""
    dvc, legacy = _split(sections)
    if legacy:
        write_config_file(level.xpt_path, _overlay(legacy, read_xpt_file(level.xpt_path)))
    write_config_file(level.dvc_path, dvc)


def _warn_legacy(level: ConfigLevel, legacy: Sections, root: Path | None) -> None:
    """Say once per process that DVC refuses this file and how to move the section."""
    if level.dvc_path in _warned:
        return
    _warned.add(level.dvc_path)

    def shown(path: Path) -> str:
        return os.path.relpath(path, root) if root is not None else str(path)

    section = sorted(legacy)[0]
    option, value = next(iter(legacy[section].items()), ("backend", "VALUE"))
    print(
        f"WARNING: {shown(level.dvc_path)} has xpt's [{section}] section, which makes DVC "
        f"refuse the file; move it to {shown(level.xpt_path)} with "
        f"`xpt config {level.flag}{section}.{option} {shlex.quote(value)}` (any `xpt config` change "
        "of that level moves it)",
        file=sys.stderr,
        flush=True,
    )


@dataclass(frozen=True)
class Config:
    """Merged configuration of a project (global < repo < local)."""

    sections: Sections = field(default_factory=dict)

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        return self.sections.get(section, {}).get(key, default)

    def get_bool(self, section: str, key: str, default: bool = False) -> bool:
        value = self.get(section, key)
        if value is None:
            return default
        return value.strip().lower() in ("true", "1", "yes", "on")

    def remotes(self) -> dict[str, dict[str, str]]:
        """{name: options} for every `remote "name"` section."""
        out = {}
        for name, values in self.sections.items():
            m = re.fullmatch(r'remote\s+"(.+)"', name)
            if m:
                out[m.group(1)] = dict(values)
        return out


def load_config(dvc_dir: Path) -> Config:
    """Merge every level, each one's xpt file over its DVC file (see the module docstring)."""
    merged: Sections = {}
    for level in config_levels(dvc_dir):
        sections = read_config_file(level.dvc_path)
        _dvc, legacy = _split(sections)
        if legacy:
            _warn_legacy(level, legacy, None if level.name == "global" else dvc_dir.parent)
        merged = _overlay(_overlay(merged, sections), read_xpt_file(level.xpt_path))
    return Config(merged)


def stored_path(value: str, conf_dir: Path) -> str:
    """A path given relative to the cwd as DVC stores it: relative to the config's folder.

    URLs, `~` paths and absolute paths are kept as given.
    """
    if _URL.match(value) or os.path.expanduser(value) != value or os.path.isabs(value):
        return value
    return Path(os.path.relpath(os.path.abspath(value), os.path.abspath(conf_dir))).as_posix()


def shown_path(value: str, conf_dir: Path) -> str:
    """A stored path as DVC shows it: relative ones resolved against the config's folder."""
    if _URL.match(value):
        return value
    expanded = os.path.expanduser(value)
    if os.path.isabs(expanded):
        return expanded
    return os.path.abspath(os.path.join(conf_dir, value))


def remote_section(name: str) -> str:
    """Section name of a data remote, as DVC writes it."""
    return f'remote "{name}"'


def _remote_value(option: str, value: str, conf_dir: Path) -> str:
    return stored_path(value, conf_dir) if option in REMOTE_PATH_OPTIONS else value


def add_remote(
    dvc_dir: Path,
    name: str,
    url: str,
    *,
    default: bool = False,
    force: bool = False,
    local: bool = False,
) -> None:
    """`remote add`: a new remote section (and `core.remote` with `default`).

    A relative `url` is taken from the cwd and stored relative to `.dvc/`, as DVC does.
    """
    level = project_level(dvc_dir, local)
    sections = read_config_file(level.dvc_path)
    section = remote_section(name)
    if section in sections and not force:
        raise ConfigError(f"remote '{name}' already exists", hint="use `-f` to overwrite it")
    sections[section] = {"url": _remote_value("url", url, dvc_dir)}  # -f: in place, options gone
    if default:
        sections.setdefault("core", {})["remote"] = name
    write_dvc_sections(level, sections)


def modify_remote(
    dvc_dir: Path,
    name: str,
    option: str,
    value: str | None,
    *,
    unset: bool = False,
    local: bool = False,
) -> None:
    """`remote modify`: set or unset one option of an existing remote (paths as in add)."""
    level = project_level(dvc_dir, local)
    sections = read_config_file(level.dvc_path)
    section = remote_section(name)
    if section not in sections and not local:
        merged = load_config(dvc_dir)
        if name not in merged.remotes():
            raise ConfigError(f"remote '{name}' does not exist", hint="see `xpt remote list`")
    values = sections.setdefault(section, {})
    if unset:
        values.pop(option, None)
    else:
        if value is None:
            raise ConfigError(
                f"no value given for '{option}'", hint="`xpt remote modify NAME OPTION VALUE`"
            )
        values[option] = _remote_value(option, value, dvc_dir)
    write_dvc_sections(level, sections)


def _retarget_default(
    dvc_dir: Path, name: str, new: str | None, local: bool, edit: Callable[[Sections], None]
) -> None:
    """Apply `edit` to the level's file, then repoint `core.remote` = `name` to `new`.

    DVC does that in the level and every level above it (None drops the option), and
    writes each of those files, even unchanged.
    """
    levels = config_levels(dvc_dir)[2 if local else 1 :]
    edited = []
    for index, level in enumerate(levels):
        sections = read_config_file(level.dvc_path)
        if index == 0:
            edit(sections)
        core = sections.get("core", {})
        if core.get("remote") == name:
            if new is None:
                del core["remote"]
            else:
                core["remote"] = new
        edited.append((level, sections))
    for level, sections in edited:
        write_dvc_sections(level, sections)


def _pop_remote(sections: Sections, name: str) -> dict[str, str]:
    if remote_section(name) not in sections:
        raise ConfigError(f"remote '{name}' does not exist", hint="see `xpt remote list`")
    return sections.pop(remote_section(name))


def remove_remote(dvc_dir: Path, name: str, *, local: bool = False) -> None:
    """`remote remove`: drop the section, and `core.remote` where it named it (DVC's way)."""

    def edit(sections: Sections) -> None:
        _pop_remote(sections, name)

    _retarget_default(dvc_dir, name, None, local, edit)


def rename_remote(dvc_dir: Path, name: str, new: str, *, local: bool = False) -> None:
    """`remote rename`: the renamed section goes last and `core.remote` follows it."""

    def edit(sections: Sections) -> None:
        sections[remote_section(new)] = _pop_remote(sections, name)

    _retarget_default(dvc_dir, name, new, local, edit)


def set_default_remote(dvc_dir: Path, name: str | None, *, local: bool = False) -> None:
    """`remote default NAME` / `remote default -u`."""
    level = project_level(dvc_dir, local)
    sections = read_config_file(level.dvc_path)
    if name is None:
        sections.get("core", {}).pop("remote", None)
    else:
        if name not in load_config(dvc_dir).remotes():
            raise ConfigError(
                f"remote '{name}' does not exist", hint="add it with `xpt remote add`"
            )
        sections.setdefault("core", {})["remote"] = name
    write_dvc_sections(level, sections)
