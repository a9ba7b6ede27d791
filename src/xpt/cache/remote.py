"""Data remotes: where cache objects are pushed to and pulled from (DVC 3 layout).

A remote stores objects exactly like the local cache (`files/md5/XX/YYYY…`, legacy
`XX/YYYY…`), so DVC and xpt share remotes. A local or mounted folder is built in;
other URLs (s3://…) go through fsspec when it is installed (`pip install xpt[s3]`).
Uploads and downloads go through a temporary name and a rename; every download is
verified against its md5 before it may enter the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any, Protocol

from xpt.errors import CacheError, RemoteError


def object_relpath(md5: str, legacy: bool = False) -> str:
    """Relative path of an object inside a cache or remote."""
    rest = md5[2:]
    return f"{md5[:2]}/{rest}" if legacy else f"files/md5/{md5[:2]}/{rest}"


class Remote(Protocol):
    """What transfers need from a storage backend."""

    url: str

    def exists(self, relpath: str) -> bool: ...

    def upload(self, src: Path, relpath: str) -> None: ...

    def download(self, relpath: str, dest: Path) -> None: ...


class LocalRemote:
    """A folder (local disk or mounted share)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def exists(self, relpath: str) -> bool:
        return (self.root / relpath).exists()

    def upload(self, src: Path, relpath: str) -> None:
        dest = self.root / relpath
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.xpt-tmp-{os.getpid()}")
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o444)  # read-only like cache objects (DVC does the same)
            os.replace(tmp, dest)
        except OSError as exc:
            raise RemoteError(
                f"cannot write to remote '{self.url}': {exc.strerror or exc}"
            ) from exc

    def download(self, relpath: str, dest: Path) -> None:
        try:
            shutil.copyfile(self.root / relpath, dest)
        except FileNotFoundError:
            raise CacheError(f"object '{relpath}' is missing on remote '{self.url}'") from None
        except OSError as exc:
            raise RemoteError(
                f"cannot read from remote '{self.url}': {exc.strerror or exc}"
            ) from exc


class FsspecRemote:
    """Any fsspec filesystem (S3 through s3fs)."""

    def __init__(self, url: str, options: dict[str, str]) -> None:
        try:
            import fsspec
        except ImportError:
            raise RemoteError(
                f"remote '{url}' needs fsspec", hint="install the extra: `pip install 'xpt[s3]'`"
            ) from None
        protocol = url.split("://", 1)[0]
        kwargs: dict[str, Any] = {}
        if options.get("endpointurl"):
            kwargs["client_kwargs"] = {"endpoint_url": options["endpointurl"]}
        if options.get("profile"):
            kwargs["profile"] = options["profile"]
        if options.get("access_key_id"):
            kwargs["key"] = options["access_key_id"]
            kwargs["secret"] = options.get("secret_access_key")
        self.fs = fsspec.filesystem(protocol, **kwargs)
        self.url = url.rstrip("/")
        self.base = self.url.split("://", 1)[1]

    def exists(self, relpath: str) -> bool:
        return bool(self.fs.exists(f"{self.base}/{relpath}"))

    def upload(self, src: Path, relpath: str) -> None:
        try:
            self.fs.put_file(str(src), f"{self.base}/{relpath}")
        except Exception as exc:  # noqa: BLE001 - fsspec backends raise anything
            raise RemoteError(f"cannot upload to '{self.url}': {exc}") from exc

    def download(self, relpath: str, dest: Path) -> None:
        try:
            self.fs.get_file(f"{self.base}/{relpath}", str(dest))
        except FileNotFoundError:
            raise CacheError(f"object '{relpath}' is missing on remote '{self.url}'") from None
        except Exception as exc:  # noqa: BLE001
            raise RemoteError(f"cannot download from '{self.url}': {exc}") from exc


def open_remote(url: str, options: dict[str, str], config_dir: Path) -> Remote:
    """A backend for a remote URL; relative paths are relative to the config's folder."""
    if "://" in url and not url.startswith("file://"):
        return FsspecRemote(url, options)
    path = Path(url.removeprefix("file://")).expanduser()
    if not path.is_absolute():
        path = (config_dir / path).resolve()
    return LocalRemote(path)


def md5_of(path: Path) -> str:
    """md5 of a downloaded file (verification before it enters the cache)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
