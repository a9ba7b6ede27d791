"""queue.db: atomic claims across processes, reaping of dead runs, name uniqueness."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from xpt.errors import QueueError
from xpt.experiments.queue_db import State, open_queue


def _claim_all(path: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    import os

    db = open_queue(Path(path))
    got = []
    while (entry := db.claim(os.getpid())) is not None:
        got.append(entry.id)
        db.finish(entry.id, ok=True, returncode=0)
    out.put(got)


def test_concurrent_claims_never_share_an_entry(tmp_path: Path) -> None:
    db = open_queue(tmp_path)
    for i in range(60):
        db.add(name=f"e{i}", baseline="b" * 40, snapshot="s" * 40, options={})
    out: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    procs = [
        multiprocessing.get_context("fork").Process(target=_claim_all, args=(str(tmp_path), out))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    claimed = [i for _ in procs for i in out.get(timeout=30)]
    for p in procs:
        p.join()
    assert sorted(claimed) == sorted(e.id for e in db.entries())
    assert len(claimed) == len(set(claimed)) == 60
    assert all(e.state == State.SUCCESS for e in db.entries())


def test_dead_running_entry_is_reaped(tmp_path: Path) -> None:
    db = open_queue(tmp_path)
    db.add(name="x", baseline="b" * 40, snapshot="s" * 40, options={})
    entry = db.claim(2**22 + 12345)
    assert entry is not None
    (reaped,) = db.entries()
    assert reaped.state == State.FAILED and "died" in (reaped.error or "")


def test_same_name_cannot_be_queued_twice(tmp_path: Path) -> None:
    db = open_queue(tmp_path)
    db.add(name="twin", baseline="b" * 40, snapshot="s" * 40, options={})
    with pytest.raises(QueueError, match="twin"):
        db.add(name="twin", baseline="b" * 40, snapshot="t" * 40, options={})
