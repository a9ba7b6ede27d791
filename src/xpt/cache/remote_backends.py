"""Data remotes: where cache objects are pushed to and pulled from (DVC 3 layout).

A remote stores objects exactly like the local cache (`files/md5/XX/YYYY…`, legacy
`XX/YYYY…`), so DVC and xpt share remotes. A local or mounted folder is built in;
other URLs (s3://…) go through fsspec when it is installed (`pip install xpt[s3]`).
A download returns the md5 of the bytes it wrote, computed in the same pass, so the
caller can refuse a corrupted object without reading it twice. A local download of a big
object can also fill a second file (the caller's spare workspace copy) while it hashes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, NoReturn, Protocol

from xpt.cache.digest import CHUNK, md5_fd, md5_file
from xpt.cache.odb import copy_fd
from xpt.errors import CacheError, CorruptObject, RemoteError, XptError
from xpt.utils.litter import remove_litter, temp_owner

REMOTE_CHUNK = 8 << 20
"""Read size when streaming from fsspec: one ranged GET per chunk on S3."""

KERNEL_COPY_ABOVE = 8 << 20
"""From this size a local download is copied by the kernel while Python hashes it."""

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})

Twin = Callable[[], "int | None"]
"""Asked by a download for a second file to write the object into: an fd open for writing
(or None for no twin). Only big local objects ask; the file ends up a full copy or short."""


class Readable(Protocol):
    """What a download copies from: a file, or the body of one S3 GET (`_S3Body`)."""

    def read(self, size: int, /) -> bytes: ...


def copy_hashing(src: Readable, dst: IO[bytes], chunk: int = CHUNK) -> str:
    """Copy `src` into the cache file `dst`; return the md5 of what was copied (one pass).

    Write errors are the cache's (CacheError); read errors propagate for the caller to
    blame on the remote.
    """
    h = hashlib.md5()
    buf = bytearray(chunk)
    view = memoryview(buf)
    readinto = getattr(src, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            if not n:
                break
            data: Any = view[:n]
        else:
            data = src.read(chunk)
            if not data:
                break
        h.update(data)
        try:
            dst.write(data)
        except OSError as exc:
            raise _cache_write_error(getattr(dst, "name", "?"), exc) from exc
    return h.hexdigest()


def corrupt_object(path: str | os.PathLike[str], md5: str, actual: str) -> CorruptObject:
    """A cache object whose bytes no longer match its name (changed in place)."""
    return CorruptObject(
        f"cache object '{path}' is corrupted: its content hashes to {actual}, not {md5}",
        hint="run `xpt cache verify` to move bad objects aside, then `xpt pull` or `xpt repro`",
    )


class SourceChanged(Exception):
    """A file being downloaded was modified meanwhile (size, mtime or ctime moved)."""


def copy_local(src: IO[bytes], dst: IO[bytes], twin: Twin | None = None) -> str:
    """Copy a local file into `dst` and return its md5, each byte read from disk once.

    Small files: one buffered pass (read, hash, write). Big ones: the kernel copies the
    file in a thread while this thread hashes the same pages, already in the page cache;
    a 500 MB object costs about one md5 instead of a copy plus a re-read plus an md5.
    With `twin`, big files are then copied again, from `dst`, into the file it gives,
    still during the md5 (a failed twin is left short, never an error).
    """
    before = os.fstat(src.fileno())
    if before.st_size < KERNEL_COPY_ABOVE:
        return copy_hashing(src, dst, max(4096, before.st_size + 1))
    dst.flush()
    with ThreadPoolExecutor(max_workers=1) as pool:
        copying = pool.submit(_copy_and_twin, src.fileno(), dst.fileno(), twin)
        try:
            digest = md5_fd(src.fileno())
        finally:
            copying.result()
    if _identity(before) != _identity(os.fstat(src.fileno())):
        raise SourceChanged()  # the copy and the md5 read it separately: they may differ
    return digest


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _copy_and_twin(src: int, dst: int, twin: Twin | None) -> None:
    copy_fd(src, dst)
    fd = twin() if twin is not None else None
    if fd is None:
        return
    try:
        copy_fd(dst, fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)


def _chunk_for(src: Readable, cap: int) -> int:
    """A buffer no bigger than the file (most objects are small; a zeroed MiB each adds up)."""
    size = getattr(src, "size", None)  # fsspec files and S3 bodies know their size
    if not isinstance(size, int):
        try:
            size = os.fstat(src.fileno()).st_size  # type: ignore[attr-defined]
        except (OSError, AttributeError, ValueError):
            return cap
    return max(4096, min(cap, size + 1))


def _cache_write_error(dest: object, exc: OSError) -> CacheError:
    return CacheError(
        f"cannot write to the cache ({dest}): {exc.strerror or exc}",
        hint="check free space and permissions of the cache folder",
    )


def _open_dest(dest: Path) -> IO[bytes]:
    """The temp file a download writes into, readable too (a twin is copied from it).

    Never opened with O_TRUNC: ext4 flushes a file truncated to empty when it is closed
    (`auto_da_alloc`), which costs a 500 MB download a synchronous write-out.
    """
    try:
        fd = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise _cache_write_error(dest, exc) from exc
    try:
        if os.fstat(fd).st_size:
            os.ftruncate(fd, 0)
        return open(fd, "r+b")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        os.close(fd)
        raise _cache_write_error(dest, exc) from exc


class Remote(Protocol):
    """What transfers, `status -c` and `gc -c` need from a storage backend."""

    url: str

    def exists(self, relpath: str) -> bool: ...

    def upload(self, src: Path, relpath: str, md5: str | None = None) -> None:
        """Store the file `src` at `relpath`; with `md5`, only if its bytes hash to it.

        The bytes are hashed as they are read for the upload, so a cache object changed
        in place (mode still read-only) never reaches the remote: CacheError instead.
        """
        ...

    def download(self, relpath: str, dest: Path, twin: Twin | None = None) -> str:
        """Write the object into `dest` and return the md5 of the bytes written.

        `twin` may be asked for a second file to fill with the same bytes (see `Twin`);
        backends that cannot do it for free never ask.
        """
        ...

    def list_files(self, prefix: str = "") -> list[str]:
        """Relative paths of every file under `prefix` (none when it does not exist)."""
        ...

    def remove(self, relpaths: list[str]) -> None:
        """Delete these files; ones already gone are fine."""
        ...

    def litter_in(self, folders: set[str]) -> list[str]:
        """Relative paths of xpt temp files in these folders (`utils/litter.py`)."""
        ...

    def remove_litter(self, relpaths: list[str]) -> list[str]:
        """Delete the temp files among `relpaths` whose writers are gone; those removed."""
        ...


class LocalRemote:
    """A folder (local disk or mounted share)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def exists(self, relpath: str) -> bool:
        return (self.root / relpath).exists()

    def upload(self, src: Path, relpath: str, md5: str | None = None) -> None:
        dest = self.root / relpath
        tmp = dest.with_name(f".{dest.name}.xpt-tmp-{os.getpid()}")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(src, "rb") as fin, open(tmp, "w+b") as fout:
                actual = copy_local(fin, fout)
            if md5 is not None and actual != md5:
                os.unlink(tmp)
                raise corrupt_object(src, md5, actual)
            os.chmod(tmp, 0o444)  # read-only like cache objects (DVC does the same)
            os.replace(tmp, dest)
        except SourceChanged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise CacheError(f"cache object '{src}' changed while it was pushed") from None
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise RemoteError(
                f"cannot write to remote '{self.url}': {exc.strerror or exc}"
            ) from exc

    def download(self, relpath: str, dest: Path, twin: Twin | None = None) -> str:
        try:
            src = open(self.root / relpath, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise CacheError(f"object '{relpath}' is missing on remote '{self.url}'") from None
        except OSError as exc:
            raise RemoteError(
                f"cannot read from remote '{self.url}': {exc.strerror or exc}"
            ) from exc
        with src, _open_dest(dest) as out:
            try:
                return copy_local(src, out, twin)
            except SourceChanged:
                raise RemoteError(
                    f"object '{relpath}' changed on remote '{self.url}' while it was downloaded",
                    hint="run the command again once nothing writes to the remote",
                ) from None
            except OSError as exc:
                if exc.errno in _DISK_FULL:
                    raise _cache_write_error(dest, exc) from exc
                raise RemoteError(
                    f"cannot read from remote '{self.url}': {exc.strerror or exc}"
                ) from exc

    def list_files(self, prefix: str = "") -> list[str]:
        base = self.root / prefix if prefix else self.root
        found: list[str] = []
        for folder, _dirs, files in os.walk(base):
            rel = os.path.relpath(folder, self.root)
            rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            found.extend(rel + name for name in files)
        return found

    def remove(self, relpaths: list[str]) -> None:
        for relpath in relpaths:
            try:
                os.unlink(self.root / relpath)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise RemoteError(
                    f"cannot delete '{relpath}' from remote '{self.url}': {exc.strerror or exc}"
                ) from exc

    def litter_in(self, folders: set[str]) -> list[str]:
        found: list[str] = []
        for folder in sorted(folders):
            try:
                names = os.listdir(self.root / folder)
            except OSError:
                continue
            found.extend(f"{folder}/{n}" for n in names if temp_owner(n) is not None)
        return found

    def remove_litter(self, relpaths: list[str]) -> list[str]:
        removed = remove_litter([str(self.root / r) for r in relpaths])
        return [os.path.relpath(p, self.root).replace(os.sep, "/") for p in removed]


_UNREACHABLE = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ClientConnectorError",
        "ServerDisconnectedError",
    }
)
_NO_CREDENTIALS = frozenset({"NoCredentialsError", "PartialCredentialsError"})


def s3_options(options: dict[str, str]) -> dict[str, Any]:
    """s3fs keyword arguments from DVC's S3 remote options (`remote modify NAME OPTION`)."""
    kwargs: dict[str, Any] = {}
    client: dict[str, Any] = {}
    config: dict[str, Any] = {}
    if options.get("endpointurl"):
        client["endpoint_url"] = options["endpointurl"]
    if options.get("region"):
        client["region_name"] = options["region"]
    if options.get("ssl_verify"):
        verify = options["ssl_verify"]
        client["verify"] = _truthy(verify) if verify.lower() in _BOOLS else verify
    if options.get("profile"):
        kwargs["profile"] = options["profile"]
    if options.get("access_key_id"):
        kwargs["key"] = options["access_key_id"]
    if options.get("secret_access_key"):
        kwargs["secret"] = options["secret_access_key"]
    if options.get("session_token"):
        kwargs["token"] = options["session_token"]
    if options.get("use_ssl"):
        kwargs["use_ssl"] = _truthy(options["use_ssl"])
    for key in ("connect_timeout", "read_timeout"):
        if options.get(key):
            config[key] = float(options[key])
    if client:
        kwargs["client_kwargs"] = client
    if config:
        kwargs["config_kwargs"] = config
    return kwargs


_BOOLS = frozenset({"true", "false", "yes", "no", "1", "0"})


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1")


class FsspecRemote:
    """Any fsspec filesystem (S3 through s3fs).

    Each remote gets its own filesystem instance without a listings cache: s3fs would
    otherwise reuse a process-wide instance whose cached listings can say an object is
    missing after another clone uploaded it.
    """

    def __init__(self, url: str, options: dict[str, str]) -> None:
        try:
            import fsspec
        except ImportError:
            raise RemoteError(
                f"remote '{url}' needs fsspec", hint="install the extra: `pip install 'xpt[s3]'`"
            ) from None
        protocol = url.split("://", 1)[0]
        kwargs: dict[str, Any] = s3_options(options) if protocol in ("s3", "s3a") else {}
        self.url = url.rstrip("/")
        try:
            self.fs = fsspec.filesystem(
                "s3" if protocol == "s3a" else protocol,
                skip_instance_cache=True,
                use_listings_cache=False,
                **kwargs,
            )
        except ImportError as exc:
            raise RemoteError(
                f"remote '{url}' needs the fsspec backend for '{protocol}': {exc}",
                hint="install the extra: `pip install 'xpt[s3]'`",
            ) from exc
        except ValueError as exc:
            raise RemoteError(f"remote '{url}' is not a supported URL: {exc}") from exc
        self.base = str(self.fs._strip_protocol(self.url)).rstrip("/")
        """The remote's root as the filesystem spells paths (`bucket/path`)."""

    def _path(self, relpath: str) -> str:
        return f"{self.base}/{relpath}" if relpath else self.base

    def _fail(self, exc: BaseException, action: str) -> NoReturn:
        """Translate whatever fsspec/botocore raised into a RemoteError naming the remote."""
        raise self._error(exc, action) from exc

    def _error(self, exc: BaseException, action: str) -> RemoteError:
        names = {cls.__name__ for cls in type(exc).__mro__}
        text = str(exc)
        if names & _UNREACHABLE or isinstance(exc, ConnectionError):
            return RemoteError(
                f"remote '{self.url}' is unreachable: {text}",
                hint="check the network, and the remote's URL and endpointurl (`xpt remote list`)",
            )
        if names & _NO_CREDENTIALS:
            return RemoteError(
                f"no credentials for remote '{self.url}'",
                hint="set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or "
                "`xpt remote modify --local NAME profile PROFILE`",
            )
        if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
            bucket = self.base.strip("/").split("/", 1)[0]
            return RemoteError(
                f"bucket '{bucket}' of remote '{self.url}' does not exist",
                hint="create the bucket, or fix the URL with `xpt remote modify NAME url s3://BUCKET/PATH`",
            )
        if isinstance(exc, PermissionError):
            return RemoteError(
                f"access to remote '{self.url}' denied: {text}",
                hint="check the credentials and the bucket's permissions",
            )
        return RemoteError(f"cannot {action} remote '{self.url}': {text}")

    def _missing(self, exc: FileNotFoundError, relpath: str, action: str) -> XptError:
        """A missing object is the cache's problem (CacheError); a missing bucket is not."""
        if "bucket" in str(exc).lower():
            return self._error(exc, action)
        return CacheError(f"object '{relpath}' is missing on remote '{self.url}'")

    @property
    def batches(self) -> bool:
        """True when `download_many`/`upload_many` work (S3: requests on fsspec's loop)."""
        return hasattr(self.fs, "_call_s3")

    def download_many(
        self, relpaths: list[str], store: Callable[[int, bytes], None], jobs: int
    ) -> tuple[list[int], dict[int, XptError]]:
        """GET objects on fsspec's event loop, `jobs` requests at a time, with no thread
        per object: each whole body goes to `store(i, body)` (on the loop's thread, so it
        must be quick: verify and write a small file). Objects above `REMOTE_CHUNK` are
        not read; their indexes come back first, for `download`. Then {index: error}."""
        big: list[int] = []

        async def one(i: int) -> None:
            bucket, key, _version = self.fs.split_path(self._path(relpaths[i]))
            resp = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
            body, size = resp["Body"], resp.get("ContentLength")
            try:
                if not isinstance(size, int) or size > REMOTE_CHUNK:
                    big.append(i)
                    body.close()
                    return
                data = await body.read()  # read to the end: the connection goes back to the pool
            except BaseException:
                body.close()
                raise
            store(i, bytes(data))

        failed = self._each(len(relpaths), one, relpaths, "download from", jobs)
        return big, failed

    def upload_many(
        self, items: list[tuple[Path, str, str | None]], jobs: int
    ) -> tuple[list[int], dict[int, XptError]]:
        """PUT files (src, relpath, md5 or None) on fsspec's event loop, `jobs` at a time.

        Each file is read once; with an md5, the bytes sent are the bytes hashed. Files
        above `REMOTE_CHUNK` are left to `upload` (multipart); their indexes come first."""
        big: list[int] = []

        async def one(i: int) -> None:
            src, relpath, md5 = items[i]
            try:
                with open(src, "rb") as fin:
                    data = fin.read(REMOTE_CHUNK + 1)
            except OSError as exc:
                raise CacheError(f"cannot read cache object '{src}': {exc.strerror}") from exc
            if len(data) > REMOTE_CHUNK:
                big.append(i)
                return
            if md5 is not None:
                actual = hashlib.md5(data).hexdigest()
                if actual != md5:
                    raise corrupt_object(src, md5, actual)
            bucket, key, _version = self.fs.split_path(self._path(relpath))
            await self.fs._call_s3("put_object", Bucket=bucket, Key=key, Body=data)

        failed = self._each(len(items), one, [r for _s, r, _m in items], "upload to", jobs)
        return big, failed

    def _each(
        self,
        count: int,
        one: Callable[[int], Any],
        relpaths: list[str],
        action: str,
        jobs: int,
    ) -> dict[int, XptError]:
        """Run the coroutine `one(i)` for every index, `jobs` at once; {index: error}."""
        import asyncio

        from fsspec.asyn import sync

        failed: dict[int, XptError] = {}
        pending = iter(range(count))

        async def worker() -> None:
            for i in pending:
                try:
                    await one(i)
                except XptError as exc:
                    failed[i] = exc
                except FileNotFoundError as exc:
                    failed[i] = self._missing(exc, relpaths[i], action)
                except Exception as exc:  # noqa: BLE001 - fsspec backends raise anything
                    failed[i] = self._error(exc, action)

        async def run_all() -> None:
            await asyncio.gather(*(worker() for _ in range(max(1, min(jobs, count)))))

        if count:
            sync(self.fs.loop, run_all)
        return failed

    def exists(self, relpath: str) -> bool:
        try:
            return bool(self.fs.exists(self._path(relpath)))
        except Exception as exc:  # noqa: BLE001 - fsspec backends raise anything
            self._fail(exc, "query")

    def upload(self, src: Path, relpath: str, md5: str | None = None) -> None:
        if md5 is not None:  # the network costs more than this second read of the file
            try:
                actual = md5_file(src)
            except OSError as exc:
                raise CacheError(f"cannot read cache object '{src}': {exc.strerror}") from exc
            if actual != md5:
                raise corrupt_object(src, md5, actual)
        try:
            self.fs.put_file(str(src), self._path(relpath))
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "upload to")

    def download(self, relpath: str, dest: Path, twin: Twin | None = None) -> str:
        """Stream the object (`twin` is never asked: the bytes cross the network once)."""
        try:
            src = self._open_object(relpath)
        except FileNotFoundError as exc:
            raise self._missing(exc, relpath, "download from") from None
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "download from")
        try:
            with src, _open_dest(dest) as out:
                return copy_hashing(src, out, _chunk_for(src, REMOTE_CHUNK))
        except XptError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "download from")

    def _open_object(self, relpath: str) -> Any:
        """The object to read from. On S3 one GET and nothing else (`fs.open` would first
        ask for the size: a HEAD per object, half the requests of a pull of small files);
        a single response is a single version of the object, so a file replaced meanwhile
        arrives whole (old or new, and a new one fails the caller's md5 check), never mixed."""
        path = self._path(relpath)
        if hasattr(self.fs, "_call_s3"):
            return _S3Body(self.fs, path)
        return self.fs.open(path, "rb", block_size=REMOTE_CHUNK, cache_type="none")

    def list_files(self, prefix: str = "") -> list[str]:
        root = self._path(prefix.rstrip("/"))
        try:
            found = self.fs.find(root)
        except FileNotFoundError as exc:
            if "bucket" in str(exc).lower():
                self._fail(exc, "list")
            return []
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "list")
        cut = len(self.base) + 1
        return [str(p)[cut:] for p in found if str(p).startswith(self.base + "/")]

    def remove(self, relpaths: list[str]) -> None:
        if not relpaths:
            return
        try:
            self.fs.rm([self._path(r) for r in relpaths])
        except FileNotFoundError:
            self._remove_each(relpaths)  # a backend that stops at the first missing file
        except Exception as exc:  # noqa: BLE001
            self._fail(exc, "delete from")

    def litter_in(self, folders: set[str]) -> list[str]:
        return []  # uploads to object stores are atomic: no temp files

    def remove_litter(self, relpaths: list[str]) -> list[str]:
        return []

    def _remove_each(self, relpaths: list[str]) -> None:
        for relpath in relpaths:
            try:
                self.fs.rm_file(self._path(relpath))
            except FileNotFoundError:
                continue
            except Exception as exc:  # noqa: BLE001
                self._fail(exc, "delete from")


class _S3Body:
    """The body of one S3 GET as a file to `read` from any thread: the request and the
    first chunk take one trip to fsspec's event loop (a small object needs no other)."""

    def __init__(self, fs: Any, path: str) -> None:
        from fsspec.asyn import sync

        self._sync = sync
        self._loop = fs.loop
        bucket, key, _version = fs.split_path(path)
        self._body, self.size, self._first = sync(self._loop, self._get, fs, bucket, key)
        """`size` is the object's (for `_chunk_for`: a small object gets a small buffer)."""

    @staticmethod
    async def _get(fs: Any, bucket: str, key: str) -> tuple[Any, int | None, bytes]:
        resp = await fs._call_s3("get_object", Bucket=bucket, Key=key)
        body, size = resp["Body"], resp.get("ContentLength")
        try:
            return body, size, await body.read(REMOTE_CHUNK)
        except BaseException:
            body.close()
            raise

    def read(self, size: int) -> bytes:
        if self._first:
            data, self._first = self._first, b""
            return data
        return bytes(self._sync(self._loop, self._body.read, size))

    def __enter__(self) -> _S3Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self._body.close()


def open_remote(url: str, options: dict[str, str], config_dir: Path) -> Remote:
    """A backend for a remote URL; relative paths are relative to the config's folder."""
    if "://" in url and not url.startswith("file://"):
        return FsspecRemote(url, options)
    path = Path(url.removeprefix("file://")).expanduser()
    if not path.is_absolute():
        path = (config_dir / path).resolve()
    return LocalRemote(path)
