"""The plots page draws every plot in headless Chromium with the network off."""

from __future__ import annotations

from typing import Any

from tests.helpers import TmpRepo
from tests.plots_project import PLOT_IDS, build

pytest_plugins = ["tests.browser"]

# For each plot <div>: how many drawn marks (SVG paths with geometry) and images it holds.
COUNT_MARKS = """
() => Array.from(document.querySelectorAll('body > div[id]')).map(div => ({
    id: div.id,
    marks: Array.from(div.querySelectorAll('g.role-mark path, g.role-mark rect'))
        .filter(el => (el.getAttribute('d') || '').length > 2
                      || parseFloat(el.getAttribute('width') || '0') > 0).length,
    images: Array.from(div.querySelectorAll('img'))
        .filter(img => img.complete && img.naturalWidth > 0).length,
    svg: div.querySelectorAll('svg.marks').length,
}))
"""


def test_every_plot_draws_marks_offline(project: TmpRepo, xpt, browser_page) -> None:  # type: ignore[no-untyped-def]
    build(project, xpt, {"low": 0.2, "high": 0.3})
    xpt("plots", "diff", "low", "high", "HEAD")
    page = browser_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((project / "dvc_plots" / "index.html").as_uri())
    page.wait_for_function("() => window.xptPlots && window.xptPlots.length === 6")
    page.evaluate("() => Promise.all(window.xptPlots).then(() => true)")
    found: list[dict[str, Any]] = page.evaluate(COUNT_MARKS)
    by_id = {f["id"]: f for f in found}
    assert len(by_id) == len(PLOT_IDS)
    for plot_id in PLOT_IDS:
        div_id = "".join("_" if c in "/.:@" else c for c in plot_id)
        got = by_id[div_id]
        if plot_id.endswith(".png"):
            assert got["images"] == 3, got  # one per revision
        else:
            assert got["svg"] == 1 and got["marks"] > 0, got
    assert errors == []
    assert page.blocked == []  # nothing tried to reach the network
