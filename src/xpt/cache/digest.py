"""Content hashes exactly as DVC computes them (docs/dvc-formats.md §4).

DVC 3 hashes raw bytes (`hash: md5`); DVC 2 entries (no `hash:` key) used md5 of the
content with CRLF turned into LF for files that look like text. Directories hash to the
md5 of a canonical JSON listing (the `.dir` object) plus the suffix `.dir`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from xpt.utils.oids import DIR_SUFFIX as DIR_SUFFIX  # the id format is oids.py's

CHUNK = 1 << 20
"""Read size; hashlib releases the GIL for buffers this big, so threads hash in parallel."""

EMPTY_DIR_MD5 = "d751713988987e9331980363e24189ce.dir"

_TEXT_BYTES = frozenset(range(0x20, 0x7F)) | frozenset(b"\n\r\t\f\b")
_TEXT_PROBE = 512
_MAX_NONTEXT_RATIO = 0.30


@dataclass(frozen=True)
class HashInfo:
    """What a lock entry records about one file or directory."""

    md5: str
    """32 hex digits; trees end with `.dir`."""
    size: int
    nfiles: int | None = None
    isexec: bool = False
    legacy: bool = False
    """True for 2.x `md5-dos2unix` hashes (objects in the legacy cache location)."""

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(DIR_SUFFIX)


class Recorded(Protocol):
    """What a lock entry's item records (`pipeline.lockformat.LockItem`)."""

    @property
    def md5(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def nfiles(self) -> int | None: ...
    @property
    def isexec(self) -> bool: ...
    @property
    def legacy(self) -> bool: ...


def info_from_entry(item: Recorded) -> HashInfo | None:
    """HashInfo of a dvc.lock / `.dvc` dep or out item; None when it records no hash."""
    if item.md5 is None:
        return None
    return HashInfo(item.md5, item.size or 0, item.nfiles, item.isexec, item.legacy)


class TreeEntry(NamedTuple):
    """One file of a directory output; `relpath` is '/'-separated, relative to the dir."""

    relpath: str
    md5: str
    size: int
    isexec: bool


def md5_bytes(data: bytes) -> str:
    """Hex md5 of an in-memory buffer."""
    return hashlib.md5(data).hexdigest()


def md5_file(path: str | os.PathLike[str]) -> str:
    """Raw md5 of a file's bytes (DVC 3 `hash: md5`)."""
    with open(path, "rb", buffering=0) as f:
        return md5_fd(f.fileno())


def md5_fd(fd: int) -> str:
    """md5 of the whole file open as `fd`, read by offset: the fd's position is not used,
    so another thread may copy from the same fd meanwhile."""
    digest = hashlib.md5()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    offset = 0
    while n := os.preadv(fd, [buf], offset):
        digest.update(view[:n])
        offset += n
    return digest.hexdigest()


def looks_like_text(head: bytes) -> bool:
    """DVC's text heuristic on (at most) the first 512 bytes of a buffer."""
    probe = head[:_TEXT_PROBE]
    if not probe:
        return True
    if b"\x00" in probe:
        return False
    nontext = sum(1 for byte in probe if byte not in _TEXT_BYTES)
    return nontext / len(probe) <= _MAX_NONTEXT_RATIO


def md5_file_dos2unix(path: str | os.PathLike[str]) -> str:
    """Legacy 2.x hash: CRLF -> LF in each 1 MiB chunk whose first 512 bytes look like text.

    This is DVC 3's reading of legacy hashes (the text test is repeated per chunk); it
    differs from 2.x itself only for pathological files bigger than 1 MiB.
    """
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if looks_like_text(chunk):
                chunk = chunk.replace(b"\r\n", b"\n")
            digest.update(chunk)
    return digest.hexdigest()


def md5_bytes_dos2unix(data: bytes) -> str:
    """`md5_file_dos2unix` of an in-memory buffer (same per-chunk text test)."""
    digest = hashlib.md5()
    for start in range(0, len(data), CHUNK):
        chunk = data[start : start + CHUNK]
        digest.update(chunk.replace(b"\r\n", b"\n") if looks_like_text(chunk) else chunk)
    return digest.hexdigest()


def tree_object(entries: Iterable[TreeEntry]) -> tuple[bytes, str]:
    """The exact `.dir` bytes for `entries` and the tree id `<md5>.dir` (docs/dvc-formats.md §4.2)."""
    listing = sorted((e.relpath, e.md5) for e in entries)
    data = json.dumps(
        [{"md5": md5, "relpath": relpath} for relpath, md5 in listing],
        sort_keys=True,
        ensure_ascii=True,
    ).encode("utf-8")
    return data, md5_bytes(data) + DIR_SUFFIX


def tree_info(entries: list[TreeEntry]) -> tuple[bytes, HashInfo]:
    """`.dir` bytes plus the HashInfo a lock entry records for the directory."""
    data, oid = tree_object(entries)
    return data, HashInfo(md5=oid, size=sum(e.size for e in entries), nfiles=len(entries))
