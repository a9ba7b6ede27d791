"""`.dvc/config` reading and writing in DVC's configobj dialect.

Levels merge in DVC's order (global, repo, local; later wins). Sections are
`core`, `cache`, `remote "name"`, `exp`, `queue`, ...; values stay strings here and
are interpreted by the module that uses them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from xpt.errors import ConfigError
from xpt.utils.fsutil import atomic_write_text

Sections = dict[str, dict[str, str]]

_SECTION = re.compile(r"^\s*\[\s*(?P<q>['\"]?)(?P<name>.*?)(?P=q)\s*\]\s*$")
_KEYVAL = re.compile(r"^\s*(?P<key>[^=]+?)\s*=\s*(?P<val>.*?)\s*$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


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
        if m and current is not None:
            current[m.group("key")] = _unquote(m.group("val"))
            continue
        raise ConfigError(f"{where}:{lineno}: cannot parse config line {raw!r}")
    return sections


def _quote_section(name: str) -> str:
    if any(c in name for c in " \"'"):
        return f"['{name}']"
    return f"[{name}]"


def _quote_value(value: str) -> str:
    if "," in value or value != value.strip():
        return f'"{value}"'
    return value


def dump_config_text(sections: Sections) -> str:
    """Render sections as configobj writes them (4-space indented keys)."""
    out: list[str] = []
    for name, values in sections.items():
        out.append(_quote_section(name))
        for key, val in values.items():
            out.append(f"    {key} = {_quote_value(val)}")
    return "\n".join(out) + ("\n" if out else "")


def read_config_file(path: Path) -> Sections:
    """Sections of one config file; a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_config_text(text, str(path))


def write_config_file(path: Path, sections: Sections) -> None:
    """Atomically rewrite one config file."""
    atomic_write_text(path, dump_config_text(sections))


def global_config_path() -> Path:
    """`~/.config/dvc/config` (or $DVC_GLOBAL_CONFIG_DIR/config)."""
    base = os.environ.get("DVC_GLOBAL_CONFIG_DIR")
    if base:
        return Path(base) / "config"
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "dvc" / "config"


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
    """Merge global, repo (`.dvc/config`) and local (`.dvc/config.local`) levels."""
    merged: Sections = {}
    for path in (global_config_path(), dvc_dir / "config", dvc_dir / "config.local"):
        for name, values in read_config_file(path).items():
            merged.setdefault(name, {}).update(values)
    return Config(merged)


def config_path(dvc_dir: Path, local: bool = False) -> Path:
    """The repo (`.dvc/config`) or local (`.dvc/config.local`) config file."""
    return dvc_dir / ("config.local" if local else "config")


def remote_section(name: str) -> str:
    """Section name of a data remote, as DVC writes it."""
    return f'remote "{name}"'


def add_remote(
    dvc_dir: Path,
    name: str,
    url: str,
    *,
    default: bool = False,
    force: bool = False,
    local: bool = False,
) -> None:
    """`remote add`: a new remote section (and `core.remote` with `default`)."""
    path = config_path(dvc_dir, local)
    sections = read_config_file(path)
    section = remote_section(name)
    if section in sections and not force:
        raise ConfigError(f"remote '{name}' already exists", hint="use `-f` to overwrite it")
    if default and "core" not in sections:
        sections = {"core": {}, **sections}
    sections[section] = {"url": url}
    if default:
        sections["core"]["remote"] = name
    write_config_file(path, sections)


def modify_remote(
    dvc_dir: Path,
    name: str,
    option: str,
    value: str | None,
    *,
    unset: bool = False,
    local: bool = False,
) -> None:
    """`remote modify`: set or unset one option of an existing remote."""
    path = config_path(dvc_dir, local)
    sections = read_config_file(path)
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
        values[option] = value
    write_config_file(path, sections)


def remove_remote(dvc_dir: Path, name: str, *, local: bool = False) -> None:
    """`remote remove`: drop the section (and `core.remote` if it named it)."""
    path = config_path(dvc_dir, local)
    sections = read_config_file(path)
    if remote_section(name) not in sections:
        raise ConfigError(f"remote '{name}' does not exist", hint="see `xpt remote list`")
    del sections[remote_section(name)]
    if sections.get("core", {}).get("remote") == name:
        del sections["core"]["remote"]
        if not sections["core"]:
            del sections["core"]
    write_config_file(path, sections)


def rename_remote(dvc_dir: Path, name: str, new: str, *, local: bool = False) -> None:
    """`remote rename`."""
    path = config_path(dvc_dir, local)
    sections = read_config_file(path)
    old = remote_section(name)
    if old not in sections:
        raise ConfigError(f"remote '{name}' does not exist", hint="see `xpt remote list`")
    sections = {(remote_section(new) if k == old else k): v for k, v in sections.items()}
    if sections.get("core", {}).get("remote") == name:
        sections["core"]["remote"] = new
    write_config_file(path, sections)


def set_default_remote(dvc_dir: Path, name: str | None, *, local: bool = False) -> None:
    """`remote default NAME` / `remote default -u`."""
    path = config_path(dvc_dir, local)
    sections = read_config_file(path)
    if name is None:
        sections.get("core", {}).pop("remote", None)
        if "core" in sections and not sections["core"]:
            del sections["core"]
    else:
        if name not in load_config(dvc_dir).remotes():
            raise ConfigError(
                f"remote '{name}' does not exist", hint="add it with `xpt remote add`"
            )
        sections.setdefault("core", {})["remote"] = name
    write_config_file(path, sections)
