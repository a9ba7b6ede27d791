"""A byte-counting progress bar on stderr, shown only when work takes a while.

Nothing is drawn when stderr is not a terminal (tests, CI, pipes) or for small jobs,
and rich is imported only when a bar is actually shown.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Any

MIN_BYTES = 256 << 20
MIN_ITEMS = 5000
DELAY = 0.5


class ByteProgress:
    """Context manager; call `advance(nbytes)` from any thread."""

    def __init__(self, label: str, total: int, items: int) -> None:
        self.label = label
        self.total = total
        self.enabled = sys.stderr.isatty() and (total >= MIN_BYTES or items >= MIN_ITEMS)
        self._start = time.monotonic()
        self._done = 0
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ByteProgress:
        return self

    def advance(self, nbytes: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._done += nbytes
            if self._bar is None:
                if time.monotonic() - self._start < DELAY:
                    return
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    DownloadColumn,
                    Progress,
                    TextColumn,
                    TransferSpeedColumn,
                )

                self._bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
                self._bar.start()
                self._task = self._bar.add_task(self.label, total=self.total)
            self._bar.update(self._task, completed=self._done)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
