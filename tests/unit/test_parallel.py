"""Forked workers: results in order, failures reported (never hidden), fork only when safe."""

from __future__ import annotations

import os
import threading

from xpt.utils.parallel import can_fork, fork_map, fork_start


def _square(x: int) -> int:
    return x * x


def test_fork_start_returns_the_childs_results() -> None:
    parent = os.getpid()
    job = fork_start(lambda x: (x * 2, os.getpid() != parent), [1, 2, 3])
    assert job is not None
    assert job.result() == [(2, True), (4, True), (6, True)]  # computed in another process


def test_fork_start_reports_a_failure_as_none() -> None:
    def fail(x: int) -> int:
        raise ValueError(x)

    job = fork_start(fail, [1])
    assert job is not None and job.result() is None


def test_fork_start_big_results_and_close_twice() -> None:
    job = fork_start(lambda x: b"x" * x, [3 << 20, 1])
    assert job is not None
    assert [len(r) for r in job.result() or []] == [3 << 20, 1]
    job.close()  # idempotent


def test_no_fork_while_another_thread_runs() -> None:
    found: list[object] = []
    thread = threading.Thread(target=lambda: found.extend([can_fork(), fork_start(_square, [2])]))
    thread.start()
    thread.join()
    assert found == [False, None]
    release = threading.Event()
    waiting = threading.Thread(target=release.wait)
    waiting.start()
    try:
        assert not can_fork() and fork_start(_square, [2]) is None  # even from this thread
    finally:
        release.set()
        waiting.join()
    assert can_fork(), threading.enumerate()  # another test left a thread running


def test_fork_map_keeps_order_and_redoes_a_failed_part() -> None:
    parent = os.getpid()

    def only_here(x: int) -> int:
        if os.getpid() != parent and x == 150:
            raise RuntimeError("child failure")
        return x * x

    items = list(range(200))
    assert fork_map(_square, items, jobs=3) == [x * x for x in items]
    assert fork_map(only_here, items, jobs=2) == [x * x for x in items]
    assert fork_map(_square, [1, 2], jobs=2) == [1, 4]  # too few: serial
