"""Checkpoint signal monitor: turns `$ROOT/.dvc/tmp/DVC_CHECKPOINT` into callbacks.

The stage's program creates the file and blocks until it disappears; we poll every
few milliseconds (DVC polls once a second), run the callback (hash, cache, lock,
commit), then delete the file to release the program. A failing callback is
remembered and re-raised when the stage ends; the file is still removed so the
program never hangs.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from xpt.utils.dvcnames import DVC_DIR

SIGNAL_NAME = "DVC_CHECKPOINT"


def signal_path(root: Path) -> Path:
    """The signal file of the workspace at `root` (DVC's place for it, in `.dvc/tmp/`)."""
    return root / DVC_DIR / "tmp" / SIGNAL_NAME


class CheckpointMonitor:
    """A polling thread calling `on_signal` for each checkpoint signal."""

    def __init__(self, root: Path, on_signal: Callable[[], None], interval: float = 0.002) -> None:
        self.path = signal_path(root)
        self.on_signal = on_signal
        self.interval = interval
        self.error: BaseException | None = None
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xpt-checkpoint", daemon=True)

    def _handle(self) -> None:
        try:
            if self.error is None:
                self.on_signal()
                self.count += 1
        except BaseException as exc:  # noqa: BLE001 - reported after the stage
            self.error = exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.path.exists():
                self._handle()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.path.exists():
            self._handle()


@contextlib.contextmanager
def monitoring(root: Path, on_signal: Callable[[], None]) -> Iterator[CheckpointMonitor]:
    """Run the monitor for the duration of a stage."""
    mon = CheckpointMonitor(root, on_signal)
    mon.start()
    try:
        yield mon
    finally:
        mon.stop()
