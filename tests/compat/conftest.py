"""Fixtures of the compatibility suite; the DVC oracles come from tests/oracle_fixtures.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.compat.goldens import Goldens


@pytest.fixture
def goldens(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Goldens:
    """Scenario repos shared by every test of this run (and every xdist worker)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return Goldens(root / "compat-goldens", tmp_path, monkeypatch)
