"""Big cache objects written around the page cache (`O_DIRECT`), while the device keeps up.

A buffered copy of a big output costs CPU three times: new page-cache pages are
allocated, the bytes are copied into them, and the kernel's flusher writes them out
later. Saving outputs is CPU-bound on small machines (md5 takes a core per ~600 MB/s),
so for big files the object's bytes go straight from the source file's cached pages
(mapped, not copied) to the device. A device slower than `_MIN_RATE` would make that
synchronous write the bottleneck: the first `_PROBE` bytes are timed and, if too slow,
the rest is copied the buffered way. Where `O_DIRECT` or the mapping is refused (by
`fcntl`, `mmap` or the first write), nothing is written and the caller copies as before.
"""

from __future__ import annotations

import mmap
import os
import time

MIN_SIZE = 64 << 20
"""Smaller files are copied the buffered way: the saving is small and the object is
likely read again soon (page cache)."""
_ALIGN = 4096
_CHUNK = 8 << 20
_PROBE = 64 << 20
_MIN_RATE = 400 << 20
"""Bytes per second below which a buffered copy (written back later) is faster."""
_O_DIRECT = getattr(os, "O_DIRECT", 0)


def copy_direct(
    src: int,
    dst: int,
    size: int,
    *,
    min_size: int = MIN_SIZE,
    probe: int = _PROBE,
    min_rate: float = _MIN_RATE,
) -> int:
    """Copy the first bytes of `src` into the empty `dst` with `O_DIRECT`.

    Returns how many bytes were written (a multiple of the block alignment, at the same
    offsets as in `src`); the caller copies the rest, from that offset, the usual way.
    0 when `O_DIRECT` cannot be used here. `dst` is left without `O_DIRECT`. When the
    first `probe` bytes went slower than `min_rate` bytes/s, it stops there.
    """
    aligned = size - size % _ALIGN
    if not _O_DIRECT or aligned < min_size or aligned <= 0:
        return 0
    import fcntl

    flags = fcntl.fcntl(dst, fcntl.F_GETFL)
    try:
        fcntl.fcntl(dst, fcntl.F_SETFL, flags | _O_DIRECT)
    except OSError:
        return 0
    done = 0
    try:
        with mmap.mmap(src, aligned, prot=mmap.PROT_READ) as mapped:
            view = memoryview(mapped)
            try:
                start = time.monotonic()
                while done < aligned:
                    end = min(done + _CHUNK, aligned)
                    n = os.pwrite(dst, view[done:end], done)
                    done += n
                    if done != end:
                        break  # a short write: the caller goes on from an aligned offset
                    probed = done >= probe and done - _CHUNK < probe
                    if probed and done / max(time.monotonic() - start, 1e-6) < min_rate:
                        break  # a slow device: buffered from here on
            finally:
                view.release()
    except OSError:
        if done == 0:
            return 0
        raise
    finally:
        fcntl.fcntl(dst, fcntl.F_SETFL, flags)
    return done - done % _ALIGN
