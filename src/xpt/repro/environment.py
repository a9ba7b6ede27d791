"""What `xpt version` reports: versions, link types that work, filesystems, remotes."""

from __future__ import annotations

import contextlib
import os
import platform
import tempfile
from dataclasses import dataclass, field
from importlib import metadata

from xpt import __version__
from xpt.cache import links
from xpt.config import global_config_path
from xpt.project import Project

_LIBRARIES = ("pygit2", "ruamel.yaml", "rich", "dvc-render", "fsspec", "s3fs", "celery")


@dataclass(frozen=True)
class Environment:
    version: str
    platform: str
    libraries: dict[str, str]
    supports: list[str]
    global_config: str
    project: ProjectEnv | None = None


@dataclass(frozen=True)
class ProjectEnv:
    link_types: list[str]
    cache_dir: str
    cache_fs: str
    workspace_fs: str
    remotes: list[str] = field(default_factory=list)
    git: bool = True


def _library_versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def filesystem_of(path: str) -> str:
    """`ext4 on /dev/vda`: the mount holding `path`, from /proc/mounts."""
    real = os.path.realpath(path)
    best = ("", "unknown", "unknown")
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                device, mount, fstype = parts[0], parts[1].replace("\\040", " "), parts[2]
                inside = real == mount or real.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best[0]):
                    best = (mount, fstype, device)
    except OSError:
        return "unknown"
    return f"{best[1]} on {best[2]}"


def probe_link_types(cache_dir: str, workspace: str) -> list[str]:
    """The link types that work from the cache into the workspace (test files, removed)."""
    works = []
    os.makedirs(cache_dir, exist_ok=True)
    fd, src = tempfile.mkstemp(dir=cache_dir, prefix=".xpt-probe-")
    os.write(fd, b"probe")
    os.close(fd)
    try:
        for link_type in ("reflink", "hardlink", "symlink"):
            dst = os.path.join(workspace, f".xpt-probe-{os.getpid()}-{link_type}")
            try:
                links.make(src, dst, link_type)
                works.append(link_type)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(dst)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(src)
    return works


def _remote_kinds(project: Project) -> list[str]:
    kinds = []
    for options in project.config.remotes().values():
        url = options.get("url", "")
        scheme = url.split("://", 1)[0] if "://" in url else "local"
        if scheme not in kinds:
            kinds.append(scheme)
    return kinds


def environment(project: Project | None) -> Environment:
    libs = _library_versions()
    supports = ["local"] + (["s3"] if "s3fs" in libs else [])
    proj = None
    if project is not None:
        cache_dir = str(project.cache_dir)
        proj = ProjectEnv(
            link_types=probe_link_types(cache_dir, str(project.tmp_dir)),
            cache_dir=cache_dir,
            cache_fs=filesystem_of(cache_dir),
            workspace_fs=filesystem_of(str(project.root)),
            remotes=_remote_kinds(project),
            git=(project.root / ".git").exists(),
        )
    return Environment(
        version=__version__,
        platform=f"Python {platform.python_version()} on {platform.platform()}",
        libraries=libs,
        supports=supports,
        global_config=str(global_config_path().parent),
        project=proj,
    )
