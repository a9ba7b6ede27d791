"""The public API is short and deliberate."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import xpt
import xpt.api


def test_curated_public_names() -> None:
    assert xpt.__all__ == ["__version__", "api"]
    assert xpt.api.__all__ == [
        "make_checkpoint",
        "exp_show",
        "signal_file",
        "metrics_show",
        "params_show",
    ]


def test_make_checkpoint_is_a_noop_outside_experiments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DVC_CHECKPOINT", raising=False)
    xpt.api.make_checkpoint(timeout=0.1)


def test_make_checkpoint_blocks_until_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_CHECKPOINT", "1")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    signal = xpt.api.signal_file()
    released = []

    def release() -> None:
        while not signal.exists():
            time.sleep(0.001)
        time.sleep(0.05)
        released.append(time.monotonic())
        os.unlink(signal)

    t = threading.Thread(target=release)
    t.start()
    xpt.api.make_checkpoint(timeout=5)
    done = time.monotonic()
    t.join()
    assert released and done >= released[0]
    assert not signal.exists()
