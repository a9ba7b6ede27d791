"""The `--reset` rules live in the core request, so the CLI, the queue and the Python API
share them."""

from __future__ import annotations

import pytest

from xpt.errors import ExperimentError
from xpt.experiments.run import ExpRunRequest, refuse_rev_with_force
from xpt.repro.options import ReproOptions


def test_reset_implies_force() -> None:
    assert ExpRunRequest(reset=True).repro.force
    assert not ExpRunRequest().repro.force


def test_rev_with_reset_is_refused_when_the_request_is_made() -> None:
    with pytest.raises(ExperimentError, match="cannot be combined"):
        ExpRunRequest(rev="exp-1", reset=True)


def test_rev_with_force_is_refused_by_the_shared_check() -> None:
    refuse_rev_with_force(ExpRunRequest(rev="exp-1"))
    with pytest.raises(ExperimentError, match="cannot be combined"):
        refuse_rev_with_force(ExpRunRequest(rev="exp-1", repro=ReproOptions(force=True)))
