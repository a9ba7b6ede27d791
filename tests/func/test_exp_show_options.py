"""`exp show` output options end to end: --pcp page, --no-pager fitted to the terminal."""

from __future__ import annotations

import pytest

from tests.helpers import TmpRepo


def test_pcp_writes_an_offline_page(f1: TmpRepo, xpt) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-S", "foo=2", "-n", "two")
    res = xpt("exp", "show", "--pcp", "-o", "pages")
    page = f1 / "pages" / "index.html"
    assert res.out.strip() == page.as_uri()
    text = page.read_text()
    assert "<svg" in text and "<script" not in text and "[two]" in text
    xpt("exp", "show", "--pcp")
    assert (f1 / "dvc_plots" / "index.html").exists()


def test_no_pager_fits_the_terminal(f1: TmpRepo, xpt, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    xpt("exp", "run", "-S", "foo=2", "-n", "a-rather-long-experiment-name")
    monkeypatch.setenv("COLUMNS", "50")
    lines = xpt("exp", "show", "--no-pager").out.splitlines()
    assert max(len(line) for line in lines) <= 50
    assert "…" in lines[1]
    monkeypatch.setenv("COLUMNS", "300")
    wide = xpt("exp", "show", "--no-pager").out
    assert "…" not in wide and "foo" in wide
